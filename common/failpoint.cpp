#include "common/failpoint.hpp"

#ifdef STEWARD_FAILPOINTS
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

namespace steward {

namespace {

FailAction Lookup(std::string_view spec, std::string_view name) {
  while (!spec.empty()) {
    const auto comma = spec.find(',');
    const std::string_view item = spec.substr(0, comma);
    spec = comma == std::string_view::npos ? std::string_view{} : spec.substr(comma + 1);
    const auto eq = item.find('=');
    if (item.substr(0, eq) != name) continue;
    const std::string_view action = eq == std::string_view::npos ? "crash" : item.substr(eq + 1);
    if (action == "crash") return FailAction::crash;
    if (action == "error") return FailAction::error;
    return FailAction::none;
  }
  return FailAction::none;
}

}  // namespace

FailAction Failpoint(std::string_view name) {
  const char* spec = std::getenv("STEWARD_FAILPOINTS");
  if (spec == nullptr || *spec == '\0') return FailAction::none;
  const FailAction action = Lookup(spec, name);
  if (action == FailAction::crash) {
    std::fprintf(stderr, "failpoint %.*s: crash\n", static_cast<int>(name.size()), name.data());
    std::fflush(stderr);
    _exit(137);
  }
  return action;
}

}  // namespace steward
#endif
