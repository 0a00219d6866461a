#include "updater/restart_policy.hpp"

#include <algorithm>

#include "updater/exit_status.hpp"

namespace steward::updater {

bool FailureStreak::Count(WallTime at, const ComponentConfig& c) {
  ++consecutive;
  recent.push_back(at);
  while (recent.size() > static_cast<std::size_t>(c.crash_loop_failures)) recent.pop_front();
  if (crash_loop || !InCrashLoop(at, c)) return false;
  crash_loop = true;
  return true;
}

bool FailureStreak::InCrashLoop(WallTime now, const ComponentConfig& c) const {
  return recent.size() >= static_cast<std::size_t>(c.crash_loop_failures) &&
         recent.front() >= now - c.crash_loop_window;
}

void FailureStreak::Reset(WallTime now) {
  consecutive = 0;
  crash_loop = false;
  recent.clear();
  start = now;
}

Duration BackoffDelay(const ComponentConfig& c, const FailureStreak& streak, double jitter) {
  Duration d = c.restart_delay;
  if (streak.crash_loop) {
    d = c.restart_delay_max;
  } else {
    for (int i = 1; i < streak.consecutive && d < c.restart_delay_max; ++i) d *= 2;
  }
  d = std::min(d, c.restart_delay_max);
  return std::clamp(Jittered(d, jitter), Duration::zero(), c.restart_delay_max);
}

ExitPlan PlanAfterExit(const ExitFacts& facts, const ComponentConfig& c,
                       const FailureStreak& streak, double jitter) {
  if (facts.shutting_down) return {AfterExit::shutdown};
  if (facts.kind == ExitKind::requested) {
    return {facts.restart_after_stop && facts.wants_running ? AfterExit::restart
                                                            : AfterExit::stopped};
  }
  if (!facts.wants_running) return {AfterExit::stopped};
  if (facts.kind == ExitKind::fatal_config) return {AfterExit::failed};
  // It asked to be restarted (exit code 75): at once, without a penalty.
  if (facts.kind == ExitKind::restart_requested) return {AfterExit::restart};
  // A clean exit is restarted after restart_delay, with no penalty; a failure backs off.
  const Duration delay =
      IsFailure(facts.kind) ? BackoffDelay(c, streak, jitter) : Jittered(c.restart_delay, jitter);
  if (delay <= Duration::zero()) return {AfterExit::restart};
  return {AfterExit::backoff, delay};
}

}  // namespace steward::updater
