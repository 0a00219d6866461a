#include "controller/store.hpp"

#include <gtest/gtest.h>

#include "tests/support/temp_dir.hpp"

namespace steward::controller {
namespace {

std::string Url(const test::TempDir& dir) { return "sqlite:" + (dir / "c.db").string(); }

NodeRecord Node(const std::string& id) {
  return NodeRecord{id, "hash-" + id, "host", "machine-" + id, "linux-x86_64", 10, 0, ""};
}

TEST(SqliteStore, NodeWritesAreBatchedAndSurviveReopen) {
  test::TempDir dir;
  {
    auto s = OpenStore(Url(dir));
    ASSERT_TRUE(s) << s.error().message;
    ASSERT_TRUE((*s)->SaveNode(Node("a")));
    auto n = Node("b");
    ASSERT_TRUE((*s)->SaveNode(n));
    n.last_seen = 99;
    n.report = "{}";
    ASSERT_TRUE((*s)->SaveNode(n));  // the newest write wins
    auto got = (*s)->GetNode("b");   // seen before the flush
    ASSERT_TRUE(got && *got);
    EXPECT_EQ((*got)->last_seen, 99);
  }  // closing flushes
  auto s = OpenStore(Url(dir));
  ASSERT_TRUE(s);
  auto nodes = (*s)->ListNodes();
  ASSERT_TRUE(nodes);
  ASSERT_EQ(nodes->size(), 2u);
  EXPECT_EQ((*nodes)[1].report, "{}");
  EXPECT_FALSE(*(*s)->GetNode("zzz"));
}

TEST(SqliteStore, ReleasesAreUniquePerVersionAndSequence) {
  test::TempDir dir;
  auto s = OpenStore(Url(dir));
  ASSERT_TRUE(s);
  ReleaseRecord r{"agent", "stable", "1.0.0", 1, 1, "{\"m\":1}", {"sig a", "sig\nb"}, "ab", 5, 6};
  ASSERT_TRUE((*s)->InsertRelease(r));
  auto dup = (*s)->InsertRelease(r);
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().code, ErrorCode::already_exists);
  EXPECT_NE(dup.error().message.find("already published"), std::string::npos);
  r.version = "1.0.1";  // same sequence
  EXPECT_FALSE((*s)->InsertRelease(r));
  auto list = (*s)->ListReleases();
  ASSERT_TRUE(list);
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].signatures, (std::vector<std::string>{"sig a", "sig\nb"}));
  EXPECT_EQ((*list)[0].manifest, "{\"m\":1}");
}

TEST(SqliteStore, RolloutsResultsAndMembers) {
  test::TempDir dir;
  auto s = OpenStore(Url(dir));
  ASSERT_TRUE(s);
  RolloutRecord r{"agent", "stable", "2.0.0", "1.0.0", 12.5, false, "", "seed", 7, {}, 0, 0};
  ASSERT_TRUE((*s)->PutRollout(r));
  r.paused = true;
  r.halt_reason = "why";
  r.waves = {3, 40, 600, true};
  r.wave = 2;
  r.wave_started_at = 99;
  ASSERT_TRUE((*s)->PutRollout(r));
  auto list = (*s)->ListRollouts();
  ASSERT_TRUE(list);
  ASSERT_EQ(list->size(), 1u);
  EXPECT_TRUE((*list)[0].paused);
  EXPECT_EQ((*list)[0].percent, 12.5);
  EXPECT_EQ((*list)[0].halt_reason, "why");
  EXPECT_EQ((*list)[0].waves, (WaveSettings{3, 40, 600, true}));
  EXPECT_EQ((*list)[0].wave, 2);
  EXPECT_EQ((*list)[0].wave_started_at, 99);

  UpdateRecord u{
      "n1", "agent", "seed", {"1.0.0", "2.0.0", UpdateResult::rolled_back, "crash_loop"}, 1};
  EXPECT_TRUE(*(*s)->RecordUpdateResult(u));
  EXPECT_FALSE(*(*s)->RecordUpdateResult(u));  // one per node and rollout
  u.node_id = "n2";
  u.update.result = UpdateResult::committed;
  EXPECT_TRUE(*(*s)->RecordUpdateResult(u));
  auto counts = (*s)->CountUpdateResults("seed", "agent");
  ASSERT_TRUE(counts);
  EXPECT_EQ(counts->attempts, 2);
  EXPECT_EQ(counts->rolled_back, 1);
  EXPECT_EQ((*s)->CountUpdateResults("other", "agent")->attempts, 0);

  ASSERT_TRUE((*s)->Heartbeat("http://a", 100));
  ASSERT_TRUE((*s)->Heartbeat("http://b", 50));
  auto live = (*s)->ListMembers(90);
  ASSERT_TRUE(live);
  ASSERT_EQ(live->size(), 1u);
  EXPECT_EQ((*live)[0].url, "http://a");
  EXPECT_TRUE((*s)->Ping());
}

// What a restarted controller rebuilds a rollout's waves from: its offers (written in batches
// like the nodes) and its results.
TEST(SqliteStore, OffersAndResultsOfARolloutSurviveReopen) {
  test::TempDir dir;
  {
    auto s = OpenStore(Url(dir));
    ASSERT_TRUE(s) << s.error().message;
    ASSERT_TRUE((*s)->SaveOffer({"seed", "agent", "n2", 0, 5}));
    ASSERT_TRUE((*s)->SaveOffer({"seed", "agent", "n1", 0, 6}));
    ASSERT_TRUE((*s)->SaveOffer({"seed", "agent", "n3", 1, 9}));
    ASSERT_TRUE((*s)->SaveOffer({"other", "agent", "n1", 0, 1}));
    ASSERT_TRUE((*s)->RecordUpdateResult(
        {"n2", "agent", "seed", {"1.0.0", "2.0.0", UpdateResult::environment, "x"}, 7}));
    EXPECT_EQ((*s)->CountUpdateResults("seed", "agent")->environment, 1);
  }
  auto s = OpenStore(Url(dir));
  ASSERT_TRUE(s);
  auto offers = (*s)->ListOffers("seed", "agent");
  ASSERT_TRUE(offers) << offers.error().message;
  ASSERT_EQ(offers->size(), 3u);
  EXPECT_EQ((*offers)[0].node_id, "n2");  // in the order they were made
  EXPECT_EQ((*offers)[2].node_id, "n3");
  EXPECT_EQ((*offers)[2].wave, 1);
  EXPECT_EQ((*offers)[2].offered_at, 9);
  auto results = (*s)->ListUpdateResults("seed", "agent");
  ASSERT_TRUE(results);
  ASSERT_EQ(results->size(), 1u);
  EXPECT_EQ((*results)[0].node_id, "n2");
  EXPECT_EQ((*results)[0].update.result, UpdateResult::environment);
}

TEST(SqliteStore, FlagChangesAreAtomicAndSurviveReopen) {
  test::TempDir dir;
  {
    auto s = OpenStore(Url(dir));
    ASSERT_TRUE(s) << s.error().message;
    ASSERT_TRUE((*s)->UpdateFlags({{"", "a", "true", 1}, {"beta", "a", "\"x\"", 1}}, {}));
    ASSERT_TRUE((*s)->UpdateFlags({{"", "b", "2.5", 2}, {"", "a", "false", 2}},
                                  {{"beta", "a", "", 2}, {"beta", "never-set", "", 2}}));
  }
  auto s = OpenStore(Url(dir));
  ASSERT_TRUE(s);
  auto flags = (*s)->ListFlags();
  ASSERT_TRUE(flags) << flags.error().message;
  ASSERT_EQ(flags->size(), 2u);
  EXPECT_EQ((*flags)[0].name, "a");
  EXPECT_EQ((*flags)[0].value, "false");
  EXPECT_EQ((*flags)[0].updated_at, 2);
  EXPECT_EQ((*flags)[1].name, "b");
  EXPECT_EQ((*flags)[1].value, "2.5");
  EXPECT_TRUE((*flags)[1].channel.empty());
}

// Two controllers on one file: each write of a release, rollout or flag by one changes the
// generation the other reads; node check-ins, heartbeats and update results do not.
TEST(SqliteStore, TheGenerationTellsAReplicaWhatAnotherChanged) {
  test::TempDir dir;
  auto mine = OpenStore(Url(dir));
  auto other = OpenStore(Url(dir));
  ASSERT_TRUE(mine && other);
  auto generation = [&] { return (*mine)->Generation().value(); };
  std::int64_t seen = generation();
  const auto changed = [&] {
    const auto now = generation();
    const bool moved = now != seen;
    seen = now;
    return moved;
  };
  ASSERT_TRUE((*other)->SaveNode(Node("a")));
  ASSERT_TRUE((*other)->Flush());
  ASSERT_TRUE((*other)->Heartbeat("http://b", 5));
  ASSERT_TRUE((*other)->RecordUpdateResult(
      {"a", "agent", "seed", {"1.0.0", "2.0.0", UpdateResult::committed, ""}, 1}));
  EXPECT_FALSE(changed()) << "the check-in path does not make replicas reload";
  ASSERT_TRUE(
      (*other)->InsertRelease({"agent", "stable", "1.0.0", 1, 1, "{}", {"sig"}, "ab", 5, 6}));
  EXPECT_TRUE(changed());
  RolloutRecord r{"agent", "stable", "1.0.0", "", 10, false, "", "seed", 7, {}, 0, 0};
  ASSERT_TRUE((*other)->PutRollout(r));
  EXPECT_TRUE(changed());
  r.paused = true;
  ASSERT_TRUE((*other)->PutRollout(r));
  EXPECT_TRUE(changed()) << "a pause";
  ASSERT_TRUE((*other)->UpdateFlags({{"", "a", "true", 1}}, {}));
  EXPECT_TRUE(changed());
  ASSERT_TRUE((*other)->UpdateFlags({}, {{"", "a", "", 2}}));
  EXPECT_TRUE(changed()) << "a flag unset";
}

TEST(SqliteStore, RefusesOtherSchemesAndCorruptFiles) {
  auto pg = OpenStore("postgresql://db/steward");
  ASSERT_FALSE(pg);
  EXPECT_EQ(pg.error().code, ErrorCode::unsupported);
  EXPECT_NE(pg.error().message.find("only sqlite:"), std::string::npos);
  test::TempDir dir;
  dir.Write("c.db", std::string(8192, 'x'));
  auto bad = OpenStore(Url(dir));
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("c.db"), std::string::npos) << bad.error().message;
}

}  // namespace
}  // namespace steward::controller
