// The Store's behaviour, the same on both backends: every test here runs against SQLite (a file
// in a temp dir) and PostgreSQL (a database of its own on one server started for the test
// program, tests/support/postgres.hpp). Backend-specific behaviour follows at the end.
#include "controller/store.hpp"

#include <gtest/gtest.h>

#include <atomic>

#include "common/pg.hpp"
#include "tests/support/postgres.hpp"
#include "tests/support/temp_dir.hpp"

namespace steward::controller {
namespace {

// One server for every PostgreSQL test in this program, stopped when the program ends.
test::TempPostgres& SharedPostgres() {
  static test::TempPostgres server;
  return server;
}

// A fresh database on the shared server; "" when it could not be made (the failure is reported).
std::string NewDatabase() {
  static std::atomic<int> next = 0;
  const std::string name = "store_" + std::to_string(::getpid()) + "_" + std::to_string(next++);
  auto admin = pg::Conn::Open(SharedPostgres().ConnInfo());
  if (!admin) {
    ADD_FAILURE() << admin.error().message;
    return "";
  }
  if (auto r = admin->Exec("CREATE DATABASE " + pg::QuoteIdentifier(name)); !r) {
    ADD_FAILURE() << r.error().message;
    return "";
  }
  return SharedPostgres().Url(name);
}

NodeRecord Node(const std::string& id) {
  return NodeRecord{id, "hash-" + id, "host", "machine-" + id, "linux-x86_64", 10, 0, ""};
}

class StoreTest : public testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "sqlite") {
      url_ = "sqlite:" + (dir_ / "c.db").string();
      return;
    }
    if (!SharedPostgres().Skipped().empty()) GTEST_SKIP() << SharedPostgres().Skipped();
    url_ = NewDatabase();
    ASSERT_FALSE(url_.empty());
  }

  // The test's store; opened again, it is another replica on the same data (or the same
  // controller after a restart).
  Result<std::unique_ptr<Store>> Open() const { return OpenStore(url_); }

  test::TempDir dir_;
  std::string url_;
};

INSTANTIATE_TEST_SUITE_P(Backends, StoreTest, testing::Values("sqlite", "postgresql"),
                         [](const testing::TestParamInfo<std::string>& p) { return p.param; });

TEST_P(StoreTest, NodeWritesAreBatchedAndSurviveReopen) {
  {
    auto s = Open();
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
  auto s = Open();
  ASSERT_TRUE(s);
  auto nodes = (*s)->ListNodes();
  ASSERT_TRUE(nodes);
  ASSERT_EQ(nodes->size(), 2u);
  EXPECT_EQ((*nodes)[1].report, "{}");
  EXPECT_FALSE(*(*s)->GetNode("zzz"));
}

TEST_P(StoreTest, ReleasesAreUniquePerVersionAndSequence) {
  auto s = Open();
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

  // The manifest is kept as the exact signed bytes, whatever they are.
  const char raw[] = "{\"m\":2}\0\xff\r\n\\x00'";
  const std::string bytes(raw, sizeof raw - 1);
  ASSERT_TRUE((*s)->InsertRelease({"agent", "stable", "2.0.0", 2, 1, bytes, {}, "cd", 5, 6}));
  list = (*s)->ListReleases();
  ASSERT_TRUE(list);
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[1].manifest, bytes);
  EXPECT_TRUE((*list)[1].signatures.empty());
}

// Lists come in the same order from both backends: by bytes, not by a locale's collation.
TEST_P(StoreTest, ListsAreInByteOrderAndHistoryIsNewestFirst) {
  auto s = Open();
  ASSERT_TRUE(s) << s.error().message;
  for (const char* id : {"b", "B", "a", "_", "A"}) ASSERT_TRUE((*s)->SaveNode(Node(id)));
  auto nodes = (*s)->ListNodes();
  ASSERT_TRUE(nodes) << nodes.error().message;
  std::vector<std::string> ids;
  for (const auto& n : *nodes) ids.push_back(n.id);
  EXPECT_EQ(ids, (std::vector<std::string>{"A", "B", "_", "a", "b"}));

  for (int i = 1; i <= 4; ++i) {
    ASSERT_TRUE((*s)->RecordUpdateResult(
        {"n1",
         i % 2 ? "agent" : "tool",
         "seed" + std::to_string(i),
         {"1.0.0", "2.0.0", i == 4 ? std::nullopt : std::optional(UpdateResult::committed), ""},
         100 + i}));
  }
  auto history = (*s)->ListNodeUpdates("n1", 3);
  ASSERT_TRUE(history) << history.error().message;
  ASSERT_EQ(history->size(), 3u);
  EXPECT_EQ((*history)[0].seed, "seed4");
  EXPECT_EQ((*history)[0].component, "tool");
  EXPECT_EQ((*history)[0].update.result, std::nullopt) << "in progress";
  EXPECT_EQ((*history)[2].seed, "seed2");
  EXPECT_EQ((*history)[2].at, 102);
  EXPECT_TRUE((*s)->ListNodeUpdates("n2", 10)->empty());
}

TEST_P(StoreTest, RolloutsResultsAndMembers) {
  auto s = Open();
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
TEST_P(StoreTest, OffersAndResultsOfARolloutSurviveReopen) {
  {
    auto s = Open();
    ASSERT_TRUE(s) << s.error().message;
    ASSERT_TRUE((*s)->SaveOffer({"seed", "agent", "n2", 0, 5}));
    ASSERT_TRUE((*s)->SaveOffer({"seed", "agent", "n1", 0, 6}));
    ASSERT_TRUE((*s)->SaveOffer({"seed", "agent", "n3", 1, 9}));
    ASSERT_TRUE((*s)->SaveOffer({"other", "agent", "n1", 0, 1}));
    ASSERT_TRUE((*s)->RecordUpdateResult(
        {"n2", "agent", "seed", {"1.0.0", "2.0.0", UpdateResult::environment, "x"}, 7}));
    EXPECT_EQ((*s)->CountUpdateResults("seed", "agent")->environment, 1);
  }
  auto s = Open();
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

TEST_P(StoreTest, FlagChangesAreAtomicAndSurviveReopen) {
  {
    auto s = Open();
    ASSERT_TRUE(s) << s.error().message;
    ASSERT_TRUE((*s)->UpdateFlags({{"", "a", "true", 1}, {"beta", "a", "\"x\"", 1}}, {}));
    ASSERT_TRUE((*s)->UpdateFlags({{"", "b", "2.5", 2}, {"", "a", "false", 2}},
                                  {{"beta", "a", "", 2}, {"beta", "never-set", "", 2}}));
  }
  auto s = Open();
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
TEST_P(StoreTest, WindowsRoundTripAndMoveTheGeneration) {
  auto s = Open();
  ASSERT_TRUE(s) << s.error().message;
  const auto g0 = (*s)->Generation().value();
  const WindowsRecord rec{"stable", {"mon-fri 02:00 2h Europe/Berlin", "sat 12:00 1m UTC"}, 60, 7};
  ASSERT_TRUE((*s)->PutWindows(rec));
  ASSERT_TRUE((*s)->PutWindows({"beta", {"daily 03:00 1h UTC"}, 0, 8}));
  const auto g1 = (*s)->Generation().value();
  EXPECT_GT(g1, g0);
  const auto listed = (*s)->ListWindows().value();
  ASSERT_EQ(listed.size(), 2u);
  EXPECT_EQ(listed[1], rec);  // by channel
  ASSERT_TRUE((*s)->PutWindows({"stable", {}, 0, 9}));
  EXPECT_GT((*s)->Generation().value(), g1);
  ASSERT_EQ((*s)->ListWindows().value().size(), 1u);
  EXPECT_EQ((*s)->ListWindows().value()[0].channel, "beta");
}

TEST_P(StoreTest, TheGenerationTellsAReplicaWhatAnotherChanged) {
  auto mine = Open();
  auto other = Open();
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

// The halt is one conditional update: of two replicas halting together one acts, and a halt
// decided on a rollout that was replaced meanwhile (another seed) changes nothing.
TEST_P(StoreTest, OneOfTwoReplicasHaltingARolloutActs) {
  auto mine = Open();
  auto other = Open();
  ASSERT_TRUE(mine && other);
  RolloutRecord r{"agent", "stable", "2.0.0", "", 100, false, "", "seed1", 7, {}, 0, 0};
  ASSERT_TRUE((*mine)->PutRollout(r));
  const auto before = (*mine)->Generation().value();
  auto first = (*mine)->HaltRollout("agent", "stable", "seed1", "mine: 2 of 4", 8);
  auto second = (*other)->HaltRollout("agent", "stable", "seed1", "other: 3 of 5", 9);
  ASSERT_TRUE(first && second) << (first ? second.error().message : first.error().message);
  EXPECT_TRUE(*first);
  EXPECT_FALSE(*second);
  EXPECT_NE((*other)->Generation().value(), before) << "replicas reload the halt";
  auto list = (*other)->ListRollouts();
  ASSERT_TRUE(list);
  ASSERT_EQ(list->size(), 1u);
  EXPECT_TRUE((*list)[0].paused);
  EXPECT_EQ((*list)[0].halt_reason, "mine: 2 of 4");
  EXPECT_EQ((*list)[0].updated_at, 8);
  EXPECT_EQ((*list)[0].version, "2.0.0") << "the rest of the record is kept";

  r.version = "2.0.1";
  r.seed = "seed2";
  ASSERT_TRUE((*other)->PutRollout(r));
  EXPECT_FALSE(*(*mine)->HaltRollout("agent", "stable", "seed1", "stale", 10));
  EXPECT_FALSE((*mine)->ListRollouts()->at(0).paused) << "the new target runs on";
  EXPECT_FALSE(*(*mine)->HaltRollout("tool", "stable", "seed2", "none", 10));
}

TEST_P(StoreTest, AWaveStartNeverUndoesAHaltAnotherReplicaMade) {
  auto mine = Open();
  auto other = Open();
  ASSERT_TRUE(mine && other);
  RolloutRecord r{"agent", "stable", "2.0.0", "", 100, false, "", "seed1", 7, {}, 0, 0};
  ASSERT_TRUE((*mine)->PutRollout(r));
  EXPECT_TRUE(*(*mine)->AdvanceWave("agent", "stable", "seed1", 1, 20));
  EXPECT_FALSE(*(*mine)->AdvanceWave("agent", "stable", "seed1", 0, 30)) << "never backwards";
  ASSERT_TRUE(*(*other)->HaltRollout("agent", "stable", "seed1", "other: canary failed", 21));
  // `mine` has not synced yet and starts wave 2: the halt stays.
  EXPECT_FALSE(*(*mine)->AdvanceWave("agent", "stable", "seed1", 2, 22));
  auto list = (*mine)->ListRollouts().value();
  ASSERT_EQ(list.size(), 1u);
  EXPECT_TRUE(list[0].paused);
  EXPECT_EQ(list[0].halt_reason, "other: canary failed");
  EXPECT_EQ(list[0].wave, 1);
  EXPECT_EQ(list[0].wave_started_at, 20);
  EXPECT_FALSE(*(*mine)->AdvanceWave("agent", "stable", "seed9", 3, 23)) << "another target";
}

TEST(Store, RefusesOtherSchemes) {
  for (const char* url : {"mysql://db/steward", "sqlite:", "postgresql:/db", ""}) {
    auto s = OpenStore(url);
    ASSERT_FALSE(s) << url;
    EXPECT_EQ(s.error().code, ErrorCode::unsupported);
    EXPECT_NE(s.error().message.find("allowed are sqlite:"), std::string::npos)
        << s.error().message;
  }
}

TEST(SqliteStore, RefusesACorruptFile) {
  test::TempDir dir;
  dir.Write("c.db", std::string(8192, 'x'));
  auto bad = OpenStore("sqlite:" + (dir / "c.db").string());
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("c.db"), std::string::npos) << bad.error().message;
}

// libpq passes text as C strings: a NUL byte would cut a value short, so it is refused at once
// (the queued batch stays writable) with a message naming the node.
TEST(PgStore, RefusesANulByteInANodeRecord) {
  if (!SharedPostgres().Skipped().empty()) GTEST_SKIP() << SharedPostgres().Skipped();
  const auto url = NewDatabase();
  ASSERT_FALSE(url.empty());
  auto s = OpenStore(url);
  ASSERT_TRUE(s) << s.error().message;
  auto bad = Node("n1");
  bad.hostname = std::string("host\0name", 9);
  auto refused = (*s)->SaveNode(bad);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::bad_request);
  EXPECT_NE(refused.error().message.find("node n1: a NUL byte"), std::string::npos)
      << refused.error().message;
  ASSERT_TRUE((*s)->SaveNode(Node("n2")));
  ASSERT_TRUE((*s)->Flush());
  EXPECT_EQ((*s)->ListNodes()->size(), 1u);

  // Any other value with one is refused too, never stored cut short.
  auto result =
      (*s)->RecordUpdateResult({"n2",
                                "agent",
                                "seed",
                                {"1.0.0", "2.0.0", UpdateResult::committed, std::string("x\0y", 3)},
                                1});
  ASSERT_FALSE(result);
  EXPECT_NE(result.error().message.find("a NUL byte"), std::string::npos);
  auto flag =
      (*s)->UpdateFlags({{"", "ok", "1", 1}, {"", "bad", std::string("\"a\0\"", 4), 1}}, {});
  ASSERT_FALSE(flag);
  EXPECT_NE(flag.error().message.find("flag bad: a NUL byte"), std::string::npos)
      << flag.error().message;
  EXPECT_TRUE((*s)->ListFlags()->empty()) << "all or nothing";
}

TEST(PgStore, ADatabaseMigratedByANewerVersionIsRefused) {
  if (!SharedPostgres().Skipped().empty()) GTEST_SKIP() << SharedPostgres().Skipped();
  const auto url = NewDatabase();
  ASSERT_FALSE(url.empty());
  ASSERT_TRUE(OpenStore(url));
  ASSERT_TRUE(OpenStore(url)) << "migrated already: opening again changes nothing";
  auto conn = pg::Conn::Open(url);
  ASSERT_TRUE(conn) << conn.error().message;
  ASSERT_TRUE(conn->Exec("UPDATE steward_schema SET version = 99"));
  auto s = OpenStore(url);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, ErrorCode::db_migration);
  EXPECT_NE(s.error().message.find("schema version 99 is newer"), std::string::npos)
      << s.error().message;
}

TEST(PgStore, AServerThatIsNotThereIsAClearError) {
  if (!SharedPostgres().Skipped().empty()) GTEST_SKIP() << SharedPostgres().Skipped();
  auto s = OpenStore(SharedPostgres().Url("no_such_database"));
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, ErrorCode::db_open);
  EXPECT_NE(s.error().message.find("no_such_database"), std::string::npos) << s.error().message;
}

// The database goes away: Ping (/readyz) fails, node writes wait in the queue (and are still
// read back), and once the server is back the next call reconnects and the queue is written.
TEST(PgStore, WritesWaitWhileTheDatabaseIsAwayAndReachItWhenItIsBack) {
  test::TempPostgres server;  // its own: this test stops it
  if (!server.Skipped().empty()) GTEST_SKIP() << server.Skipped();
  auto s = OpenStore(server.Url());
  ASSERT_TRUE(s) << s.error().message;
  ASSERT_TRUE((*s)->Ping());
  server.Stop();
  EXPECT_FALSE((*s)->Ping());
  ASSERT_TRUE((*s)->SaveNode(Node("n1")));
  EXPECT_FALSE((*s)->Flush());
  auto queued = (*s)->GetNode("n1");
  ASSERT_TRUE(queued && *queued);
  server.Start();
  ASSERT_TRUE(server.Skipped().empty());
  auto ping = (*s)->Ping();
  EXPECT_TRUE(ping) << ping.error().message;
  auto flushed = (*s)->Flush();
  ASSERT_TRUE(flushed) << flushed.error().message;
  auto other = OpenStore(server.Url());
  ASSERT_TRUE(other) << other.error().message;
  auto stored = (*other)->GetNode("n1");
  ASSERT_TRUE(stored && *stored);
  EXPECT_EQ((*stored)->machine_id, "machine-n1");
}

}  // namespace
}  // namespace steward::controller
