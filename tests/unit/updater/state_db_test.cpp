#include "updater/state_db.hpp"

#include <gtest/gtest.h>

#include <fstream>

#include "tests/support/temp_dir.hpp"

namespace steward::updater {
namespace {

using namespace std::chrono_literals;

const WallTime t0 = FromMillis(1'700'000'000'000);

ExitInfo Crash(WallTime at) {
  ExitInfo crash;
  crash.kind = ExitKind::crash;
  crash.signal = 11;
  crash.core_dumped = true;
  crash.at = at;
  return crash;
}

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

TEST(StateDb, ExitHistoryGivesTheRecentFailures) {
  test::TempDir dir;
  auto db = StateDb::OpenPath((dir / "s.db").string()).value();
  ExitInfo clean;
  clean.kind = ExitKind::clean;
  clean.code = 0;
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(db.RecordExit("a", Crash(t0 + std::chrono::minutes(i)), 100 + i, 5s, i + 1));
  }
  clean.at = t0 + 5min;
  ASSERT_TRUE(db.RecordExit("a", clean, 200, 1h, 3));
  EXPECT_EQ(db.RecentFailures("a", t0, 10).value(),
            (std::vector<WallTime>{t0, t0 + 1min, t0 + 2min}));
  EXPECT_EQ(db.RecentFailures("a", t0 + 1min, 10).value(),
            (std::vector<WallTime>{t0 + 1min, t0 + 2min}));
  EXPECT_EQ(db.RecentFailures("a", t0, 2).value(), (std::vector<WallTime>{t0 + 1min, t0 + 2min}));
  EXPECT_TRUE(db.RecentFailures("b", t0, 10).value().empty());
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

TEST(StateDb, ExitHistoryIsTrimmedToTheNewestThousandPerComponent) {
  test::TempDir dir;
  auto db = StateDb::OpenPath((dir / "s.db").string()).value();
  {
    StateDb::Batch batch(db);
    for (int i = 0; i < 2450; ++i) {
      const auto crash = Crash(t0 + std::chrono::seconds(i));
      ASSERT_TRUE(db.RecordExit(i % 3 == 0 ? "b" : "a", crash, 100 + i, 5s, i));
    }
    ASSERT_TRUE(batch.Commit());
  }
  auto count = [&](std::string_view name) {
    auto q = db.db().Prepare("SELECT count(*), min(at_ms) FROM exit_history WHERE component = ?1");
    q->Bind(1, name);
    EXPECT_TRUE(q->Step().value());
    return std::pair{q->Int(0), q->Int(1)};
  };
  // 1633 exits of "a", 817 of "b"; trimmed to 1000 each at every 100th row: at most 1100.
  const auto [a, a_oldest] = count("a");
  EXPECT_GE(a, 1000);
  EXPECT_LE(a, 1100);
  EXPECT_EQ(count("b").first, 817);
  // The oldest rows went, the newest stayed.
  EXPECT_GT(a_oldest, ToMillis(t0));
  EXPECT_EQ(db.LastExit("a").value()->at, t0 + std::chrono::seconds(2449));
  EXPECT_EQ(db.RecentFailures("a", t0, 1).value(),
            (std::vector<WallTime>{t0 + std::chrono::seconds(2449)}));
}

TEST(StateDb, ADeferredBatchCommitsAndLeavesTheSafetyLevelFull) {
  test::TempDir dir;
  const std::string path = (dir / "s.db").string();
  auto synchronous = [](StateDb& db) {
    auto q = db.db().Prepare("PRAGMA synchronous");
    EXPECT_TRUE(q->Step().value());
    return q->Int(0);
  };
  {
    auto db = StateDb::OpenPath(path).value();
    ASSERT_EQ(synchronous(db), 2);  // FULL
    {
      StateDb::Batch batch(db, StateDb::Sync::deferred);
      ASSERT_TRUE(db.SetPid("a", 42));
      {
        StateDb::Batch nested(db);  // joins the deferred one
        ASSERT_TRUE(db.CountRestart("a"));
      }
      EXPECT_EQ(synchronous(db), 1);  // NORMAL while it is open
      ASSERT_TRUE(batch.Commit());
    }
    EXPECT_EQ(synchronous(db), 2);
    // Nested in a full batch, a deferred one is full.
    {
      StateDb::Batch outer(db);
      StateDb::Batch inner(db, StateDb::Sync::deferred);
      EXPECT_EQ(synchronous(db), 2);
    }
  }
  auto db = StateDb::OpenPath(path).value();
  EXPECT_EQ(db.Load("a")->pid, 42);
  EXPECT_EQ(db.Load("a")->restarts, 1);
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
