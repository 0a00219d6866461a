// When a supervised component runs again after its process ended: the backoff delay, the crash
// loop, and the state an exit leads to. Pure functions of what the supervisor knows (its
// configuration, the failure streak, a jitter sample), so every rule is tested without a
// process, a clock or a database; supervisor.cpp feeds them and acts on their answer.
#pragma once

#include <deque>

#include "common/clock.hpp"
#include "common/jitter.hpp"
#include "common/codes.hpp"
#include "updater/config.hpp"

namespace steward::updater {

// The failures since the last healthy run (or new version). A crash loop is decided from
// memory, so a restart waits for no query.
struct FailureStreak {
  int consecutive = 0;
  bool crash_loop = false;
  WallTime start{};
  // The newest failures of the streak, oldest first, at most crash_loop_failures of them.
  std::deque<WallTime> recent;

  // Counts a failure at `at`; true when it begins a crash loop.
  bool Count(WallTime at, const ComponentConfig& c);
  // crash_loop_failures failures of the streak within crash_loop_window before `now`.
  bool InCrashLoop(WallTime now, const ComponentConfig& c) const;
  // Backoff and the crash-loop count start over at `now` (a healthy run, a new version).
  void Reset(WallTime now);
};

// The wait before a failed component starts again: restart_delay doubling with each
// consecutive failure up to restart_delay_max, the cap at once in a crash loop, jittered and
// never beyond the cap.
Duration BackoffDelay(const ComponentConfig& c, const FailureStreak& streak, double jitter);

// What an exit leads to.
enum class AfterExit {
  restart,   // start again now
  backoff,   // start again after `delay`
  stopped,   // stay down (asked for, or the operator wants it stopped)
  failed,    // stay down until an operator starts it (its configuration is broken)
  shutdown,  // the updater is stopping: stay down, stop the next component
};

struct ExitPlan {
  AfterExit next = AfterExit::restart;
  Duration delay{};
};

// What the supervisor knew when the process ended, beyond its kind.
struct ExitFacts {
  ExitKind kind = ExitKind::clean;
  bool shutting_down = false;
  bool restart_after_stop = false;  // the stop was a restart (command or update)
  bool wants_running = true;        // the desired state is running
};

// The choice after an exit; `streak` already counts this exit when it is a failure.
ExitPlan PlanAfterExit(const ExitFacts& facts, const ComponentConfig& c,
                       const FailureStreak& streak, double jitter);

}  // namespace steward::updater
