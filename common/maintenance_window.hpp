// Maintenance windows: when a node may start an update, in the local time of a zone.
// One text form everywhere (the CLI, the controller's store, the check-in answer, status):
//   "mon-fri 02:00 2h Europe/Berlin"   "sat,sun 22:30 90m UTC"   "daily 03:00 1h America/New_York"
// Days are names (mon..sun), ranges (fri-mon wraps) or "daily"; the start is local HH:MM; the
// duration is elapsed time (1m to 7d); the zone is an IANA name from the system's zone data.
//
// Daylight-saving changes: a window opens at its start's local time on each of its days. A
// start that does not exist that day (clocks jumped over it) opens when the clocks land after
// the jump, shifted by the jump (02:30 becomes 03:30); a start that happens twice (clocks went
// back) opens at the first. The duration is elapsed time either way.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"
#include "common/zone.hpp"

namespace steward {

struct MaintenanceWindow {
  std::uint8_t days = 0;  // bit d for weekday d, Sunday = 0
  int start_min = 0;      // minutes after local midnight
  std::chrono::seconds duration{0};
  std::string zone;

  // invalid_argument naming the part that is wrong; the zone is checked by Schedule::Make.
  static Result<MaintenanceWindow> Parse(std::string_view text);
  // The canonical text: days as given in order ("mon-fri", "sat,sun", "daily"), HH:MM, the
  // shortest duration, the zone.
  std::string Format() const;
  bool operator==(const MaintenanceWindow&) const = default;
};

// Windows with their zones loaded, asked whether an update may start now.
class WindowSchedule {
 public:
  // Parses each text and loads its zone; the first error names the window.
  static Result<WindowSchedule> Make(std::span<const std::string> texts);

  struct At {
    bool open = false;
    std::optional<Seconds> closes;     // when open: the end of the window now open (the latest)
    std::optional<Seconds> next_open;  // when closed: the next opening within eight days
  };
  At Check(Seconds now) const;

  const std::vector<MaintenanceWindow>& windows() const { return windows_; }

 private:
  std::vector<MaintenanceWindow> windows_;
  std::vector<TimeZone> zones_;  // zones_[i] for windows_[i]
};

}  // namespace steward
