// Token files (admin, enroll): one token per line; blank lines and lines starting with '#' are
// skipped, surrounding white space is trimmed. Shared by the controller, which accepts every
// token in the file, and the clients, which send the first.
#pragma once

#include <string>
#include <vector>

#include "common/error.hpp"

namespace steward {

// Every token in the file; config_invalid when it holds none or one shorter than 16 characters.
Result<std::vector<std::string>> ReadTokenFile(const std::string& path);

}  // namespace steward
