// Durations as config strings: "90s", "10m", "1h30m", "250ms", "0s".
#pragma once

#include <string>
#include <string_view>

#include "common/clock.hpp"
#include "common/error.hpp"

namespace steward {

// Units: ms, s, m, h, d; terms may be concatenated ("1h30m"). Whole numbers only.
Result<Duration> ParseDuration(std::string_view text);
// The shortest exact form: 90s -> "90s", 600s -> "10m", 5400s -> "1h30m".
std::string FormatDuration(Duration d);

}  // namespace steward
