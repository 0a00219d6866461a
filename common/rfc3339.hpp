// Timestamps in signed documents and the protocol: RFC 3339 in UTC, whole seconds, "Z" only:
// "2026-11-23T15:00:00Z". One text form per instant, so signed bytes stay unambiguous.
#pragma once

#include <string>
#include <string_view>

#include "common/clock.hpp"
#include "common/error.hpp"

namespace steward {

// Truncates to whole seconds.
std::string FormatRfc3339(WallTime t);
// Exactly "YYYY-MM-DDTHH:MM:SSZ", years 1970-2200; invalid_argument otherwise.
Result<WallTime> ParseRfc3339(std::string_view text);

}  // namespace steward
