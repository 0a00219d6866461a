#include "updater/restart_policy.hpp"

#include <gtest/gtest.h>

namespace steward::updater {
namespace {

using namespace std::chrono_literals;

ComponentConfig Policy() {
  ComponentConfig c;
  c.restart_delay = 1s;
  c.restart_delay_max = 8s;
  c.crash_loop_failures = 3;
  c.crash_loop_window = 1min;
  return c;
}

FailureStreak Failures(int n) {
  FailureStreak s;
  s.consecutive = n;
  return s;
}

TEST(BackoffDelay, DoublesWithEachFailureUpToTheCap) {
  const ComponentConfig c = Policy();
  EXPECT_EQ(BackoffDelay(c, Failures(1), 0.0), 1s);
  EXPECT_EQ(BackoffDelay(c, Failures(2), 0.0), 2s);
  EXPECT_EQ(BackoffDelay(c, Failures(3), 0.0), 4s);
  EXPECT_EQ(BackoffDelay(c, Failures(4), 0.0), 8s);
  EXPECT_EQ(BackoffDelay(c, Failures(40), 0.0), 8s);
}

TEST(BackoffDelay, ACrashLoopWaitsTheCapAndJitterNeverExceedsIt) {
  const ComponentConfig c = Policy();
  FailureStreak loop = Failures(1);
  loop.crash_loop = true;
  EXPECT_EQ(BackoffDelay(c, loop, 0.0), 8s);
  EXPECT_EQ(BackoffDelay(c, loop, 1.0), 8s);  // +20 % is clamped to the cap
  EXPECT_EQ(BackoffDelay(c, loop, -1.0), 6400ms);
  EXPECT_EQ(BackoffDelay(c, Failures(1), 1.0), 1200ms);
  EXPECT_EQ(BackoffDelay(c, Failures(1), 7.0), 1200ms);  // jitter beyond [-1, 1] is clamped
}

TEST(FailureStreak, CrashLoopBeginsOnceWithinTheWindow) {
  const ComponentConfig c = Policy();
  FailureStreak s;
  const WallTime t0{std::chrono::hours(1000)};
  EXPECT_FALSE(s.Count(t0, c));
  EXPECT_FALSE(s.Count(t0 + 10s, c));
  EXPECT_TRUE(s.Count(t0 + 20s, c));  // the third within a minute begins it
  EXPECT_TRUE(s.crash_loop);
  EXPECT_FALSE(s.Count(t0 + 30s, c));  // already in one
  EXPECT_EQ(s.consecutive, 4);
  EXPECT_EQ(s.recent.size(), 3u);  // only as many as the rule needs
  s.Reset(t0 + 1h);
  EXPECT_FALSE(s.crash_loop);
  EXPECT_EQ(s.consecutive, 0);
  EXPECT_EQ(s.start, t0 + 1h);
}

TEST(FailureStreak, FailuresSpreadBeyondTheWindowAreNoLoop) {
  const ComponentConfig c = Policy();
  FailureStreak s;
  const WallTime t0{std::chrono::hours(1000)};
  for (int i = 0; i < 10; ++i) EXPECT_FALSE(s.Count(t0 + i * 31s, c)) << i;
  EXPECT_FALSE(s.InCrashLoop(t0 + 10 * 31s, c));
}

TEST(PlanAfterExit, FailuresBackOffCleanExitsWaitTheDelayAndRestartRequestsGoAtOnce) {
  const ComponentConfig c = Policy();
  const ExitPlan crash = PlanAfterExit({ExitKind::crash}, c, Failures(3), 0.0);
  EXPECT_EQ(crash.next, AfterExit::backoff);
  EXPECT_EQ(crash.delay, 4s);
  // A clean exit is no failure: restart_delay whatever the streak, jittered.
  const ExitPlan clean = PlanAfterExit({ExitKind::clean}, c, Failures(3), 1.0);
  EXPECT_EQ(clean.next, AfterExit::backoff);
  EXPECT_EQ(clean.delay, 1200ms);
  EXPECT_EQ(PlanAfterExit({ExitKind::restart_requested}, c, Failures(3), 0.0).next,
            AfterExit::restart);
  ComponentConfig no_delay = c;
  no_delay.restart_delay = 0s;
  EXPECT_EQ(PlanAfterExit({ExitKind::error_exit}, no_delay, Failures(1), 0.0).next,
            AfterExit::restart);
}

TEST(PlanAfterExit, ARequestedStopStaysDownUnlessItWasARestart) {
  const ComponentConfig c = Policy();
  EXPECT_EQ(PlanAfterExit({ExitKind::requested}, c, {}, 0.0).next, AfterExit::stopped);
  EXPECT_EQ(PlanAfterExit({ExitKind::requested, false, true}, c, {}, 0.0).next, AfterExit::restart);
  // A restart whose operator meanwhile asked for a stop: it stays stopped.
  EXPECT_EQ(PlanAfterExit({ExitKind::requested, false, true, false}, c, {}, 0.0).next,
            AfterExit::stopped);
}

TEST(PlanAfterExit, WhatNoRestartOvercomes) {
  const ComponentConfig c = Policy();
  // A broken configuration stays down until an operator starts it.
  EXPECT_EQ(PlanAfterExit({ExitKind::fatal_config}, c, Failures(1), 0.0).next, AfterExit::failed);
  // The operator wants it stopped: any exit leaves it stopped.
  EXPECT_EQ(PlanAfterExit({ExitKind::crash, false, false, false}, c, Failures(1), 0.0).next,
            AfterExit::stopped);
  // The updater is stopping: whatever ended stays down.
  for (const ExitKind kind : {ExitKind::crash, ExitKind::requested, ExitKind::restart_requested}) {
    EXPECT_EQ(PlanAfterExit({kind, true, true}, c, Failures(1), 0.0).next, AfterExit::shutdown)
        << ExitKindName(kind);
  }
}

}  // namespace
}  // namespace steward::updater
