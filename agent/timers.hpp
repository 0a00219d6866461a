// The agent's main loop waits on signals with a timeout taken from a few named deadlines
// (watchdog ping, end of loading, test failure, console restart). Time comes from a Clock, so
// the schedule is tested with a FakeClock.
#pragma once

#include <array>
#include <optional>
#include <vector>

#include "common/clock.hpp"

namespace steward::agent {

enum class Timer { watchdog, loaded, test_fail, console_restart, kCount };

// systemd's advice, which the updater follows too: ping at half the watchdog interval.
inline Duration WatchdogPeriod(Duration watchdog_usec) { return watchdog_usec / 2; }

class Timers {
 public:
  void Set(Timer t, MonoTime at) { at_[Index(t)] = at; }
  void Clear(Timer t) { at_[Index(t)].reset(); }
  bool IsSet(Timer t) const { return at_[Index(t)].has_value(); }
  // How long until the earliest deadline (zero when one is due), or `idle` when none is set.
  Duration Until(MonoTime now, Duration idle) const {
    std::optional<MonoTime> next;
    for (const auto& at : at_) {
      if (at && (!next || *at < *next)) next = at;
    }
    if (!next) return idle;
    return *next <= now ? Duration::zero() : *next - now;
  }
  // The timers due at `now`, cleared; the caller re-arms the periodic ones.
  std::vector<Timer> TakeDue(MonoTime now) {
    std::vector<Timer> due;
    for (std::size_t i = 0; i < at_.size(); ++i) {
      if (at_[i] && *at_[i] <= now) {
        at_[i].reset();
        due.push_back(static_cast<Timer>(i));
      }
    }
    return due;
  }

 private:
  static std::size_t Index(Timer t) { return static_cast<std::size_t>(t); }
  std::array<std::optional<MonoTime>, static_cast<std::size_t>(Timer::kCount)> at_{};
};

}  // namespace steward::agent
