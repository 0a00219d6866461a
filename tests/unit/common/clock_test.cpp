#include "common/clock.hpp"

#include <gtest/gtest.h>

namespace steward {
namespace {

using namespace std::chrono_literals;

TEST(FakeClock, AdvancesBothClocks) {
  FakeClock clock;
  const auto wall = clock.Now();
  const auto mono = clock.Monotonic();
  clock.Advance(90s);
  EXPECT_EQ(clock.Now() - wall, 90s);
  EXPECT_EQ(clock.Monotonic() - mono, 90s);
}

TEST(FakeClock, WallJumpsLeaveMonotonicAlone) {
  FakeClock clock;
  const auto mono = clock.Monotonic();
  const auto wall = clock.Now();
  clock.JumpWall(-1h);
  EXPECT_EQ(clock.Monotonic(), mono);
  EXPECT_EQ(wall - clock.Now(), 1h);
}

TEST(SystemClock, MonotonicNeverGoesBack) {
  auto& clock = SystemClock::Instance();
  const auto a = clock.Monotonic();
  const auto b = clock.Monotonic();
  EXPECT_LE(a, b);
}

}  // namespace
}  // namespace steward
