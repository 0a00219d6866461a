// The version every Steward binary reports; set at build time (STEWARD_VERSION).
#pragma once

#include <string_view>

namespace steward {
std::string_view BuildVersion();
}  // namespace steward
