// Named failpoints for crash-safety tests. Compiled in only with STEWARD_FAILPOINTS; a test arms
// them through the environment: STEWARD_FAILPOINTS="update.after_switch=crash,fetch.write=error".
// Actions: `crash` (_exit(137) at once, as kill -9 would leave things), `error` (the step
// returns an injected error), `off`. The names are listed in docs/failpoints.md.
#pragma once

#include <string_view>

namespace steward {

enum class FailAction { none, crash, error };

#ifdef STEWARD_FAILPOINTS
// Returns the action armed for `name`, performing `crash` itself.
FailAction Failpoint(std::string_view name);
#else
inline FailAction Failpoint(std::string_view) { return FailAction::none; }
#endif

}  // namespace steward
