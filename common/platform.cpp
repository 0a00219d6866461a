#include "common/platform.hpp"

namespace steward {

std::string_view HostPlatform() {
#if defined(_WIN32)
#define STEWARD_OS "windows"
#elif defined(__APPLE__)
#define STEWARD_OS "darwin"
#elif defined(__linux__)
#define STEWARD_OS "linux"
#else
#define STEWARD_OS "unknown"
#endif
#if defined(__x86_64__) || defined(_M_X64)
#define STEWARD_ARCH "x86_64"
#elif defined(__aarch64__) || defined(_M_ARM64)
#define STEWARD_ARCH "aarch64"
#elif defined(__arm__)
#define STEWARD_ARCH "armv7"
#elif defined(__i386__)
#define STEWARD_ARCH "i686"
#elif defined(__riscv) && __riscv_xlen == 64
#define STEWARD_ARCH "riscv64"
#else
#define STEWARD_ARCH "unknown"
#endif
  return STEWARD_OS "-" STEWARD_ARCH;
#undef STEWARD_OS
#undef STEWARD_ARCH
}

bool IsValidPlatformName(std::string_view name) {
  const auto dash = name.find('-');
  if (dash == std::string_view::npos || dash == 0 || dash + 1 == name.size()) return false;
  if (name.size() > 64) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    if (i == dash) continue;
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  }
  return true;
}

}  // namespace steward
