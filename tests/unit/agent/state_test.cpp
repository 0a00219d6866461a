#include "agent/state.hpp"

#include <gtest/gtest.h>

#include <filesystem>

#include "common/sqlite.hpp"
#include "tests/support/temp_dir.hpp"

namespace steward::agent {
namespace {

TEST(AgentState, CountsStartsAndKeepsEvents) {
  test::TempDir dir;
  const std::string state = (dir / "deep" / "state").string();
  FakeClock clock;
  {
    auto store = StateStore::Open(state);
    ASSERT_TRUE(store) << store.error().message;
    EXPECT_EQ(store->RecordStart("1.0.0", clock.Now()).value(), 1);
    ASSERT_TRUE(store->RecordEvent("ready", "version=1.0.0", clock.Now()));
  }
  clock.Advance(std::chrono::hours(1));
  auto store = StateStore::Open(state);
  ASSERT_TRUE(store);
  EXPECT_EQ(store->RecordStart("1.1.0", clock.Now()).value(), 2);

  auto s = ReadState(state, 10);
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(s->boots, 2);
  EXPECT_EQ(s->last_version, "1.1.0");
  EXPECT_NE(s->first_started_at, s->last_started_at);
  ASSERT_EQ(s->events.size(), 3u);
  EXPECT_EQ(s->events[0].kind, "start");
  EXPECT_EQ(s->events[0].detail, "version=1.1.0");
  EXPECT_EQ(s->events[1].kind, "ready");
  EXPECT_EQ(ReadState(state, 1)->events.size(), 1u);
}

TEST(AgentState, KeepsOnlyTheNewestEvents) {
  test::TempDir dir;
  FakeClock clock;
  auto store = StateStore::Open(dir.path().string());
  ASSERT_TRUE(store);
  for (std::size_t i = 0; i < kKeptEvents + 10; ++i) {
    ASSERT_TRUE(store->RecordEvent("reload", std::to_string(i), clock.Now()));
  }
  auto s = ReadState(dir.path().string(), kKeptEvents + 50);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->events.size(), kKeptEvents);
  EXPECT_EQ(s->events.front().detail, std::to_string(kKeptEvents + 9));
}

TEST(AgentState, ReadingMissingStateSaysSo) {
  test::TempDir dir;
  auto s = ReadState(dir.path().string(), 5);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, ErrorCode::not_found);
  EXPECT_NE(s.error().message.find("agent.db"), std::string::npos);
  // Reading never creates it.
  EXPECT_FALSE(std::filesystem::exists(StatePath(dir.path().string())));
}

TEST(AgentState, RejectsAFileThatIsNotADatabase) {
  test::TempDir dir;
  dir.Write("agent.db", std::string(8192, 'x'));
  auto store = StateStore::Open(dir.path().string());
  ASSERT_FALSE(store);
  EXPECT_EQ(store.error().code, ErrorCode::db_corrupt) << store.error().ToString();
  auto s = ReadState(dir.path().string(), 5);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, ErrorCode::db_corrupt) << s.error().ToString();
}

TEST(AgentState, RejectsATamperedBootCount) {
  test::TempDir dir;
  FakeClock clock;
  ASSERT_TRUE(StateStore::Open(dir.path().string())->RecordStart("1.0.0", clock.Now()));
  {
    auto db = sqlite::Db::Open(StatePath(dir.path().string()));
    ASSERT_TRUE(db->Exec("UPDATE meta SET value = 'many' WHERE key = 'boots'"));
  }
  auto s = ReadState(dir.path().string(), 5);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, ErrorCode::db_corrupt);
  EXPECT_NE(s.error().message.find("'many'"), std::string::npos) << s.error().message;
  auto store = StateStore::Open(dir.path().string());
  ASSERT_TRUE(store);
  EXPECT_FALSE(store->RecordStart("1.0.0", clock.Now()));
}

TEST(AgentState, RefusesASchemaNewerThanItKnows) {
  test::TempDir dir;
  {
    auto db = sqlite::Db::Open(StatePath(dir.path().string()));
    ASSERT_TRUE(db->Exec("PRAGMA user_version = 99"));
  }
  auto store = StateStore::Open(dir.path().string());
  ASSERT_FALSE(store);
  EXPECT_EQ(store.error().code, ErrorCode::db_migration) << store.error().ToString();
}

TEST(AgentState, StateDirThatIsAFileIsAnError) {
  test::TempDir dir;
  const auto file = dir.Write("plain", "x");
  auto store = StateStore::Open(file);
  ASSERT_FALSE(store);
  EXPECT_NE(store.error().message.find("state_dir"), std::string::npos) << store.error().message;
}

}  // namespace
}  // namespace steward::agent
