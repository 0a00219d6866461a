#include "agent/timers.hpp"

#include <gtest/gtest.h>

namespace steward::agent {
namespace {

using namespace std::chrono_literals;

TEST(AgentTimers, WaitsForTheEarliestAndReportsWhatIsDue) {
  FakeClock clock;
  Timers timers;
  EXPECT_EQ(timers.Until(clock.Monotonic(), 1h), Duration(1h));
  timers.Set(Timer::loaded, clock.Monotonic() + 5s);
  timers.Set(Timer::watchdog, clock.Monotonic() + 2s);
  EXPECT_EQ(timers.Until(clock.Monotonic(), 1h), Duration(2s));
  EXPECT_TRUE(timers.TakeDue(clock.Monotonic()).empty());
  clock.Advance(2s);
  EXPECT_EQ(timers.Until(clock.Monotonic(), 1h), Duration::zero());
  EXPECT_EQ(timers.TakeDue(clock.Monotonic()), std::vector<Timer>{Timer::watchdog});
  EXPECT_FALSE(timers.IsSet(Timer::watchdog));
  EXPECT_EQ(timers.Until(clock.Monotonic(), 1h), Duration(3s));
  clock.Advance(10s);
  EXPECT_EQ(timers.TakeDue(clock.Monotonic()), std::vector<Timer>{Timer::loaded});
  timers.Set(Timer::test_fail, clock.Monotonic() + 1s);
  timers.Clear(Timer::test_fail);
  EXPECT_EQ(timers.Until(clock.Monotonic(), 1h), Duration(1h));
}

TEST(AgentTimers, WatchdogPingsAtHalfTheInterval) {
  EXPECT_EQ(WatchdogPeriod(30s), Duration(15s));
  EXPECT_EQ(WatchdogPeriod(std::chrono::microseconds(400000)), Duration(200ms));
}

}  // namespace
}  // namespace steward::agent
