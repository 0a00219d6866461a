#include "common/failpoint.hpp"

#include <gtest/gtest.h>

#include <cstdlib>

namespace steward {
namespace {

TEST(Failpoint, ArmedThroughEnvironment) {
  ::setenv("STEWARD_FAILPOINTS", "a.b=error,c.d=off", 1);
  EXPECT_EQ(Failpoint("a.b"), FailAction::error);
  EXPECT_EQ(Failpoint("c.d"), FailAction::none);
  EXPECT_EQ(Failpoint("x.y"), FailAction::none);
  ::unsetenv("STEWARD_FAILPOINTS");
  EXPECT_EQ(Failpoint("a.b"), FailAction::none);
}

TEST(FailpointDeathTest, CrashExitsLikeAKill) {
  EXPECT_EXIT(
      {
        ::setenv("STEWARD_FAILPOINTS", "step.one=crash", 1);
        Failpoint("step.one");
      },
      testing::ExitedWithCode(137), "failpoint step.one: crash");
}

}  // namespace
}  // namespace steward
