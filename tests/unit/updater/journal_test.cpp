// The update journal against a temporary state database: transactions written, saved, read
// back for resuming and status, closed and trimmed; the trust floor that only rises in time;
// bad marks set once and cleared by the operator.
#include "updater/journal.hpp"

#include <gtest/gtest.h>

#include "common/hash.hpp"
#include "tests/support/temp_dir.hpp"

namespace steward::updater {
namespace {

using namespace std::chrono_literals;

const WallTime t0 = FromMillis(1'700'000'000'000);

class JournalTest : public ::testing::Test {
 protected:
  TxnRecord Txn(const std::string& component, const std::string& to) {
    TxnRecord t;
    t.view.component = component;
    t.view.from_version = "1.0.0";
    t.view.to_version = to;
    t.view.state = TxnState::fetching;
    t.channel = "stable";
    t.from_dir = "1.0.0-aaaaaaaa";
    t.prev_dir = "0.9.0-bbbbbbbb";
    t.to_dir = to + "-cccccccc";
    t.manifest = "{\"manifest\": true}";
    t.signatures = {"sig one", "sig two"};
    return t;
  }

  test::TempDir dir;
  StateDb db = StateDb::OpenPath((dir / "state.db").string()).value();
  Journal journal{db};
};

TEST_F(JournalTest, ATransactionIsReadBackAsItWasSaved) {
  TxnRecord t = Txn("agent", "1.1.0");
  t.view.id = journal.Begin(t, t0).value();
  EXPECT_GT(t.view.id, 0);
  t.view.state = TxnState::verifying;
  t.view.healthy = 90s;
  t.view.error_code = "health_gate_failed";
  t.view.error = "crashed";
  t.swaps = 1;
  ASSERT_TRUE(journal.Save(t, t0 + 1min));

  auto open = journal.Unfinished().value();
  ASSERT_EQ(open.size(), 1u);
  EXPECT_TRUE(open[0].readable);
  const TxnRecord& r = open[0].txn;
  EXPECT_EQ(r.view.id, t.view.id);
  EXPECT_EQ(r.view.component, "agent");
  EXPECT_EQ(r.view.from_version, "1.0.0");
  EXPECT_EQ(r.view.to_version, "1.1.0");
  EXPECT_EQ(r.view.state, TxnState::verifying);
  EXPECT_FALSE(r.view.result);
  EXPECT_EQ(r.view.healthy, 90s);
  EXPECT_EQ(r.view.error_code, "health_gate_failed");
  EXPECT_EQ(r.view.error, "crashed");
  EXPECT_EQ(r.channel, "stable");
  EXPECT_EQ(r.from_dir, "1.0.0-aaaaaaaa");
  EXPECT_EQ(r.prev_dir, "0.9.0-bbbbbbbb");
  EXPECT_EQ(r.to_dir, "1.1.0-cccccccc");
  EXPECT_EQ(r.manifest, t.manifest);
  EXPECT_EQ(r.signatures, t.signatures);
  EXPECT_EQ(r.swaps, 1);

  t.view.state = TxnState::committed;
  t.view.result = UpdateResult::committed;
  ASSERT_TRUE(journal.Save(t, t0 + 2min));
  ASSERT_TRUE(journal.Close(t.view.id));
  EXPECT_TRUE(journal.Unfinished().value().empty());
  auto last = journal.Last("agent").value();
  ASSERT_TRUE(last);
  EXPECT_EQ(last->id, t.view.id);
  EXPECT_EQ(last->result, UpdateResult::committed);
  EXPECT_EQ(last->Report().result, UpdateResult::committed);
  EXPECT_FALSE(journal.Last("other").value());
}

TEST_F(JournalTest, ARowThatCannotBeResumedIsSaidSo) {
  TxnRecord t = Txn("agent", "1.1.0");
  t.view.id = journal.Begin(t, t0).value();
  ASSERT_TRUE(db.db().Exec("UPDATE txn SET state = 'from_the_future'"));
  auto open = journal.Unfinished().value();
  ASSERT_EQ(open.size(), 1u);
  EXPECT_FALSE(open[0].readable);
  EXPECT_EQ(open[0].state_name, "from_the_future");
  EXPECT_EQ(open[0].txn.view.id, t.view.id);

  ASSERT_TRUE(db.db().Exec("UPDATE txn SET state = 'staged', signatures = '{}'"));
  EXPECT_FALSE(journal.Unfinished().value()[0].readable);
  ASSERT_TRUE(db.db().Exec("UPDATE txn SET signatures = '[1]'"));
  EXPECT_FALSE(journal.Unfinished().value()[0].readable);
}

TEST_F(JournalTest, TrimKeepsTheNewestClosedAndEveryOpenTransaction) {
  std::vector<std::int64_t> ids;
  for (int i = 0; i < 5; ++i) {
    ids.push_back(journal.Begin(Txn("agent", "1." + std::to_string(i) + ".0"), t0).value());
    if (i < 4) {
      ASSERT_TRUE(journal.Close(ids.back()));
    }
  }
  const auto other = journal.Begin(Txn("other", "2.0.0"), t0).value();
  ASSERT_TRUE(journal.Close(other));
  ASSERT_TRUE(journal.Trim("agent", 2));
  auto count = [&](std::string_view component) {
    auto q = db.db().Prepare("SELECT count(*) FROM txn WHERE component = ?1").value();
    q.Bind(1, component);
    EXPECT_TRUE(q.Step().value());
    return q.Int(0);
  };
  EXPECT_EQ(count("agent"), 2);  // the open one and the newest closed one
  EXPECT_EQ(count("other"), 1);
  EXPECT_EQ(journal.Unfinished().value().at(0).txn.view.id, ids.back());
}

TEST_F(JournalTest, TheFloorRisesWithEachAcceptedManifestAndItsTimeNeverFalls) {
  auto none = journal.Floor("agent", "stable").value();
  EXPECT_EQ(none.sequence, 0u);
  EXPECT_FALSE(none.manifest_sha256);

  trust::VerifiedRelease accepted;
  accepted.manifest.root_version = 1;
  accepted.manifest.sequence = 7;
  accepted.manifest.issued_at = t0;
  accepted.manifest_sha256 = Sha256Of("manifest 7");
  ASSERT_TRUE(journal.RaiseFloor("agent", "stable", accepted));
  auto floor = journal.Floor("agent", "stable").value();
  EXPECT_EQ(floor.root_version, 1u);
  EXPECT_EQ(floor.sequence, 7u);
  EXPECT_EQ(floor.manifest_sha256, accepted.manifest_sha256);
  EXPECT_EQ(floor.time_floor, t0);

  accepted.manifest.sequence = 8;
  accepted.manifest.issued_at = t0 - 1h;  // issued earlier: the time floor stays
  ASSERT_TRUE(journal.RaiseFloor("agent", "stable", accepted));
  floor = journal.Floor("agent", "stable").value();
  EXPECT_EQ(floor.sequence, 8u);
  EXPECT_EQ(floor.time_floor, t0);
  EXPECT_EQ(journal.Floor("agent", "beta").value().sequence, 0u);  // per channel
}

TEST_F(JournalTest, ABadMarkKeepsItsFirstReasonUntilCleared) {
  EXPECT_FALSE(journal.BadReason("agent", "1.1.0").value());
  ASSERT_TRUE(journal.MarkBad("agent", "1.1.0", "health_gate_failed", t0));
  ASSERT_TRUE(journal.MarkBad("agent", "1.1.0", "something else", t0 + 1h));
  EXPECT_EQ(journal.BadReason("agent", "1.1.0").value(), "health_gate_failed");
  EXPECT_FALSE(journal.BadReason("other", "1.1.0").value());
  EXPECT_TRUE(journal.ClearBad("agent", "1.1.0").value());
  EXPECT_FALSE(journal.BadReason("agent", "1.1.0").value());
  EXPECT_FALSE(journal.ClearBad("agent", "1.1.0").value());
}

}  // namespace
}  // namespace steward::updater
