#include "updater/checkin_scheduler.hpp"

#include <gtest/gtest.h>

#include "tests/support/temp_dir.hpp"

namespace steward::updater {
namespace {

using namespace std::chrono_literals;

CheckinAnswer Answered(std::optional<Duration> interval = std::nullopt) {
  CheckinAnswer a;
  a.controller = "https://c1.example";
  a.interval = interval;
  return a;
}

Result<CheckinAnswer> Failed() {
  return Fail(ErrorCode::http_transport, "https://c1.example: connection refused");
}

struct Scheduler : ::testing::Test {
  FakeClock clock;
  double uniform = 0.0;
  CheckinScheduler s{clock, 60s, [this] { return uniform; }};

  // Starts the check-in that is due and ends it with `answer`.
  void CheckIn(const Result<CheckinAnswer>& answer) {
    ASSERT_TRUE(s.StartIfDue());
    s.Finished(answer);
  }
};

TEST_F(Scheduler, NothingIsDueUntilAsked) {
  EXPECT_FALSE(s.NextDeadline());
  EXPECT_FALSE(s.StartIfDue());
  s.CheckNow();
  EXPECT_EQ(s.NextDeadline(), clock.Monotonic());
  EXPECT_TRUE(s.StartIfDue());
}

TEST_F(Scheduler, TheNextCheckinIsDueAfterTheIntervalAndNotBefore) {
  s.CheckNow();
  CheckIn(Answered());
  EXPECT_EQ(s.NextDeadline(), clock.Monotonic() + 60s);
  clock.Advance(60s - 1ms);
  EXPECT_FALSE(s.StartIfDue());
  clock.Advance(1ms);
  EXPECT_TRUE(s.StartIfDue());
}

TEST_F(Scheduler, TheControllersIntervalReplacesTheConfiguredOne) {
  s.CheckNow();
  CheckIn(Answered(10s));
  EXPECT_EQ(s.NextDeadline(), clock.Monotonic() + 10s);
}

TEST_F(Scheduler, JitterSpreadsTheIntervalByTwentyPercent) {
  s.CheckNow();
  uniform = 1.0;
  CheckIn(Answered());
  EXPECT_EQ(s.NextDeadline(), clock.Monotonic() + 72s);
  clock.Advance(72s);
  uniform = -1.0;
  CheckIn(Answered());
  EXPECT_EQ(s.NextDeadline(), clock.Monotonic() + 48s);
  EXPECT_EQ(Jittered(100s, 0.5), 110s);
}

TEST_F(Scheduler, AFailedCheckinIsRetriedAfterTheConfiguredIntervalAndASuccessClearsTheError) {
  s.CheckNow();
  CheckIn(Answered(10s));
  clock.Advance(10s);
  CheckIn(Failed());
  // The controller's shorter interval is not kept once it stops answering.
  EXPECT_EQ(s.NextDeadline(), clock.Monotonic() + 60s);
  EXPECT_EQ(s.facts().count, 1u);
  EXPECT_NE(s.facts().last_error.find("connection refused"), std::string::npos);
  EXPECT_EQ(s.facts().controller, "https://c1.example");
  clock.Advance(60s);
  CheckIn(Answered());
  EXPECT_EQ(s.facts().count, 2u);
  EXPECT_EQ(s.facts().last_error, "");
  EXPECT_EQ(s.NextDeadline(), clock.Monotonic() + 60s);
}

TEST_F(Scheduler, OneCheckinIsOutAtATime) {
  s.CheckNow();
  ASSERT_TRUE(s.StartIfDue());
  s.CheckNow();  // asked again while the first is out
  EXPECT_FALSE(s.NextDeadline()) << "the loop must not wake for it until the answer";
  EXPECT_FALSE(s.StartIfDue());
  s.Finished(Answered());
  EXPECT_EQ(s.NextDeadline(), clock.Monotonic() + 60s);
}

TEST_F(Scheduler, NoCheckinStartsOnceStopped) {
  s.CheckNow();
  s.Stop();
  EXPECT_FALSE(s.NextDeadline());
  EXPECT_FALSE(s.StartIfDue());
}

TEST_F(Scheduler, FactsSayWhenTheLastCheckinEnded) {
  s.CheckNow();
  CheckIn(Answered());
  EXPECT_FALSE(s.facts().last_at.empty());
}

TEST(CheckinState, IsSavedAndLoadedAgain) {
  test::TempDir dir;
  auto db = StateDb::Open((dir / "state").string());
  ASSERT_TRUE(db) << db.error().message;
  EXPECT_EQ(LoadCheckinState(*db), CheckinState{});
  const CheckinState st{"node-1", "token-1", {"https://c2.example", "https://c1.example"}};
  ASSERT_TRUE(SaveCheckinState(*db, st));
  EXPECT_EQ(LoadCheckinState(*db), st);
}

TEST(CheckinState, AControllerListThatDoesNotParseIsDropped) {
  test::TempDir dir;
  auto db = StateDb::Open((dir / "state").string());
  ASSERT_TRUE(db) << db.error().message;
  ASSERT_TRUE(db->SetSetting("node_id", "node-1"));
  ASSERT_TRUE(db->SetSetting("controllers", "not json"));
  const CheckinState st = LoadCheckinState(*db);
  EXPECT_EQ(st.node_id, "node-1");
  EXPECT_TRUE(st.controllers.empty());
}

}  // namespace
}  // namespace steward::updater
