#pragma once

#include <string>
#include <vector>

namespace steward::updater {

// The whole program behind main(): args[0] is the program name. Returns the exit code.
int Main(const std::vector<std::string>& args);

}  // namespace steward::updater
