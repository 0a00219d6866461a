// When the updater checks in with its controller: the first check-in at start, then every
// interval (the controller's `checkin_interval_s` when its last answer gave one, else
// `[controller] checkin_interval`) with ±20 % jitter so a fleet started together spreads out,
// and at once when asked (`POST /v1/check`, an update transaction that ended). One check-in is
// out at a time. Also keeps how check-ins went (for status) and the identity that persists
// between them (the settings table of the state database).
//
// Failures: a failed check-in is retried after the configured interval, like a successful one
// without an interval of its own; there is no backoff beyond the jitter yet.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "common/clock.hpp"
#include "common/jitter.hpp"
#include "common/error.hpp"
#include "updater/checkin.hpp"
#include "updater/state_db.hpp"

namespace steward::updater {

// How check-ins went, for status (an updater with a controller).
struct CheckinFacts {
  std::uint64_t count = 0;  // check-ins answered
  std::string last_at, last_error, controller;
};

class CheckinScheduler {
 public:
  // `interval`: the configured one. `uniform` gives values in [-1, 1] (the jitter's source).
  CheckinScheduler(Clock& clock, Duration interval, std::function<double()> uniform);

  // Makes a check-in due now; one already out is not repeated (its answer schedules the next).
  void CheckNow();
  // When the loop must wake for the next check-in; none while one is out or after Stop().
  std::optional<MonoTime> NextDeadline() const;
  // True when a check-in is due and none is out: the caller starts one, which is now out.
  bool StartIfDue();
  // The check-in that was out ended with `answer`: records it and schedules the next.
  void Finished(const Result<CheckinAnswer>& answer);
  // The configured interval changed (a reload): it applies from the next schedule on.
  void SetInterval(Duration interval) { interval_ = interval; }
  // No check-in starts any more (the updater is stopping).
  void Stop() { stopped_ = true; }

  const CheckinFacts& facts() const { return facts_; }

 private:
  Clock& clock_;
  Duration interval_;
  std::function<double()> uniform_;
  std::optional<MonoTime> due_;
  bool in_flight_ = false;
  bool stopped_ = false;
  CheckinFacts facts_;
};

// The check-in identity and learned controllers, as kept in the settings table (empty when
// none was saved).
CheckinState LoadCheckinState(StateDb& db);
Result<void> SaveCheckinState(StateDb& db, const CheckinState& state);

}  // namespace steward::updater
