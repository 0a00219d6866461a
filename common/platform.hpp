// The platform name this build runs on, as release manifests key their artifacts:
// "<os>-<arch>", e.g. "linux-x86_64", "linux-aarch64", "windows-x86_64".
#pragma once

#include <string_view>

namespace steward {

std::string_view HostPlatform();
// True for names of the form "<os>-<arch>" with lower-case letters, digits and '_' only.
bool IsValidPlatformName(std::string_view name);

}  // namespace steward
