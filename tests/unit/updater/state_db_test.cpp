#include "updater/state_db.hpp"

#include <gtest/gtest.h>

#include <fstream>

#include "tests/support/temp_dir.hpp"

namespace steward::updater {
namespace {

using namespace std::chrono_literals;

TEST(StateDb, ComponentRowsHaveDefaultsAndKeepChanges) {
  test::TempDir dir;
  auto db = StateDb::Open((dir / "state").string());
  ASSERT_TRUE(db) << db.error().message;
  auto rec = db->Load("a").value();
  EXPECT_FALSE(rec.desired);
  EXPECT_FALSE(rec.stop_intent);
  EXPECT_EQ(rec.restarts, 0);
  ASSERT_TRUE(db->SetDesired("a", "stopped"));
  ASSERT_TRUE(db->SetStopIntent("a", true));
  ASSERT_TRUE(db->SetPid("a", 42));
  ASSERT_TRUE(db->CountRestart("a"));
  rec = db->Load("a").value();
  EXPECT_EQ(rec.desired, "stopped");
  EXPECT_TRUE(rec.stop_intent);
  EXPECT_EQ(rec.pid, 42);
  EXPECT_EQ(rec.restarts, 1);
  EXPECT_EQ(db->db().UserVersion().value(),
            static_cast<std::int64_t>(StateDb::Migrations().size()));
}

TEST(StateDb, ExitHistoryCountsFailuresInAWindow) {
  test::TempDir dir;
  auto db = StateDb::OpenPath((dir / "s.db").string()).value();
  const WallTime t0 = FromMillis(1'700'000'000'000);
  ExitInfo crash;
  crash.kind = ExitKind::crash;
  crash.signal = 11;
  crash.core_dumped = true;
  ExitInfo clean;
  clean.kind = ExitKind::clean;
  clean.code = 0;
  for (int i = 0; i < 3; ++i) {
    crash.at = t0 + std::chrono::minutes(i);
    ASSERT_TRUE(db.RecordExit("a", crash, 100 + i, 5s, i + 1));
  }
  clean.at = t0 + 5min;
  ASSERT_TRUE(db.RecordExit("a", clean, 200, 1h, 3));
  EXPECT_EQ(db.FailuresSince("a", t0).value(), 3);
  EXPECT_EQ(db.FailuresSince("a", t0 + 1min).value(), 2);
  EXPECT_EQ(db.FailuresSince("b", t0).value(), 0);
  auto last = db.LastExit("a").value();
  ASSERT_TRUE(last);
  EXPECT_EQ(last->kind, ExitKind::clean);
  EXPECT_EQ(last->code, 0);
  EXPECT_EQ(last->at, clean.at);
  EXPECT_EQ(db.Load("a")->consecutive_failures, 3);
  ASSERT_TRUE(db.ResetStreak("a", t0 + 10min));
  EXPECT_EQ(db.Load("a")->consecutive_failures, 0);
  EXPECT_EQ(db.Load("a")->streak_start, t0 + 10min);
}

TEST(StateDb, CorruptFileIsReportedNotRecreated) {
  test::TempDir dir;
  const std::string path = dir.Write("state.db", std::string(8192, 'x'));
  auto db = StateDb::OpenPath(path);
  ASSERT_FALSE(db);
  EXPECT_TRUE(db.error().code == ErrorCode::db_corrupt || db.error().code == ErrorCode::db_open)
      << db.error().ToString();
  std::ifstream in(path);
  std::string first;
  in >> first;
  EXPECT_EQ(first.substr(0, 4), "xxxx");
}

TEST(StateDb, UnknownExitKindInHistoryIsCorruption) {
  test::TempDir dir;
  auto db = StateDb::OpenPath((dir / "s.db").string()).value();
  ASSERT_TRUE(
      db.db().Exec("INSERT INTO exit_history(component, at_ms, kind, pid, runtime_ms, failure) "
                   "VALUES('a', 1, 'exploded', 1, 1, 1)"));
  auto last = db.LastExit("a");
  ASSERT_FALSE(last);
  EXPECT_EQ(last.error().code, ErrorCode::db_corrupt);
  EXPECT_NE(last.error().message.find("exploded"), std::string::npos);
}

}  // namespace
}  // namespace steward::updater
