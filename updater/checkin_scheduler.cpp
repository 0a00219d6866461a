#include "updater/checkin_scheduler.hpp"

#include <nlohmann/json.hpp>

#include "common/rfc3339.hpp"

namespace steward::updater {

CheckinScheduler::CheckinScheduler(Clock& clock, Duration interval, std::function<double()> uniform)
    : clock_(clock), interval_(interval), uniform_(std::move(uniform)) {}

void CheckinScheduler::CheckNow() { due_ = clock_.Monotonic(); }

std::optional<MonoTime> CheckinScheduler::NextDeadline() const {
  // While one is out its answer sets the next time; waking for a passed `due_` meanwhile would
  // spin the loop until the answer came.
  if (stopped_ || in_flight_) return std::nullopt;
  return due_;
}

bool CheckinScheduler::StartIfDue() {
  if (stopped_ || in_flight_ || !due_ || clock_.Monotonic() < *due_) return false;
  in_flight_ = true;
  due_.reset();
  return true;
}

void CheckinScheduler::Finished(const Result<CheckinAnswer>& answer) {
  in_flight_ = false;
  Duration interval = interval_;
  facts_.last_at = FormatRfc3339(clock_.Now());
  if (!answer) {
    facts_.last_error = answer.error().ToString();
  } else {
    ++facts_.count;
    facts_.last_error.clear();
    facts_.controller = answer->controller;
    if (answer->interval) interval = *answer->interval;
  }
  due_ = clock_.Monotonic() + Jittered(interval, uniform_());
}

CheckinState LoadCheckinState(StateDb& db) {
  CheckinState st;
  if (auto v = db.GetSetting("node_id"); v && *v) st.node_id = **v;
  if (auto v = db.GetSetting("node_token"); v && *v) st.node_token = **v;
  if (auto v = db.GetSetting("controllers"); v && *v) {
    const auto list = nlohmann::json::parse(**v, nullptr, false);
    if (list.is_array()) {
      for (const auto& u : list) {
        if (u.is_string()) st.controllers.push_back(u.get<std::string>());
      }
    }
  }
  return st;
}

Result<void> SaveCheckinState(StateDb& db, const CheckinState& st) {
  StateDb::Batch batch(db);
  if (auto r = db.SetSetting("node_id", st.node_id); !r) return r;
  if (auto r = db.SetSetting("node_token", st.node_token); !r) return r;
  if (auto r = db.SetSetting("controllers", nlohmann::json(st.controllers).dump()); !r) return r;
  return batch.Commit();
}

}  // namespace steward::updater
