// Time zones from the system's zone data: the UTC offset of a named zone ("Europe/Berlin") at
// an instant, read from the TZif file (RFC 8536) the system keeps for it, including the POSIX
// rule in its footer for instants after the last listed transition (slim files list none).
// Maintenance windows are given in local time and decided with this; nothing else needs zones.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"

namespace steward {

using Seconds = std::chrono::sys_seconds;

class TimeZone {
 public:
  // A zone by its IANA name from $TZDIR or the system's zone directory; "UTC" needs no file.
  // invalid_argument for a name that is not a plain relative path; not_found when the system
  // has no such zone; invalid_argument naming what is wrong for a file that is not TZif.
  static Result<TimeZone> Load(std::string_view name);
  // The zone from a TZif file's bytes (versions 1 to 4). Leap-second records are skipped.
  static Result<TimeZone> Parse(std::string_view name, std::string_view tzif);
  static TimeZone Utc();

  const std::string& name() const { return name_; }
  // Local time minus UTC at the instant t.
  std::chrono::seconds OffsetAt(Seconds t) const;

  // A rule of a POSIX TZ string ("CET-1CEST,M3.5.0,M10.5.0/3"): standard offset, and when it
  // has daylight time, the daylight offset and the two moments of change.
  struct Rule {
    struct Change {
      enum class Kind : std::uint8_t { month_week_day, julian_no_leap, day_of_year } kind{};
      int month = 0, week = 0, weekday = 0;  // Mm.w.d
      int day = 0;                           // Jn (1..365) or n (0..365)
      std::int32_t time_s = 7200;            // local time of the change, may be negative or > 24h
    };
    std::int32_t std_offset_s = 0;
    bool has_dst = false;
    std::int32_t dst_offset_s = 0;
    Change start, end;
  };
  // A POSIX TZ string as in a TZif footer; invalid_argument naming what is wrong.
  static Result<Rule> ParseRule(std::string_view text);

 private:
  std::string name_;
  std::vector<std::int64_t> transitions_;  // UTC seconds, ascending
  std::vector<std::int32_t> offsets_;      // offsets_[i] holds from transitions_[i] on
  std::int32_t initial_offset_s_ = 0;      // before the first transition
  bool has_rule_ = false;
  Rule rule_;  // after the last transition, when has_rule_
};

}  // namespace steward
