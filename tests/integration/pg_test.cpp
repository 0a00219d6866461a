// The libpq layer (common/pg.hpp) against a real PostgreSQL server started for the test:
// statements with parameters and NULLs, prepared statements, constraint errors, transactions,
// LISTEN/NOTIFY between two connections, and a server that goes away.
#include "common/pg.hpp"

#include <gtest/gtest.h>

#include "tests/support/postgres.hpp"

namespace steward::test {
namespace {

using pg::Conn;
using pg::Param;

TEST(Postgres, StatementsPreparedStatementsConstraintsAndTransactions) {
  TempPostgres server;
  if (!server.Skipped().empty()) GTEST_SKIP() << server.Skipped();
  auto conn = Conn::Open(server.ConnInfo());
  ASSERT_TRUE(conn) << conn.error().message;
  ASSERT_TRUE(conn->Exec("CREATE TABLE t (k TEXT PRIMARY KEY, n BIGINT, note TEXT)"));

  const std::string insert = "INSERT INTO t (k, n, note) VALUES ($1, $2, $3)";
  for (int i = 0; i < 3; ++i) {
    const Param params[] = {"k" + std::to_string(i), std::to_string(i * 10), std::nullopt};
    auto r = conn->ExecPrepared("insert_t", insert, params);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->Affected(), 1);
  }
  const Param dup[] = {"k1", "0", "again"};
  auto refused = conn->ExecPrepared("insert_t", insert, dup);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::db_constraint);
  EXPECT_NE(refused.error().message.find("duplicate key"), std::string::npos)
      << refused.error().message;

  const Param which[] = {"k2"};
  auto rows = conn->Exec("SELECT k, n, note FROM t WHERE k = $1", which);
  ASSERT_TRUE(rows) << rows.error().message;
  ASSERT_EQ(rows->size(), 1);
  EXPECT_EQ(rows->Text(0, 0), "k2");
  EXPECT_EQ(rows->Int(0, 1), 20);
  EXPECT_TRUE(rows->Null(0, 2));

  {
    auto tx = pg::Transaction::Begin(*conn);
    ASSERT_TRUE(tx);
    ASSERT_TRUE(conn->Exec("DELETE FROM t"));
  }  // not committed: rolled back
  EXPECT_EQ(conn->Exec("SELECT count(*) FROM t")->Int(0, 0), 3);
  {
    auto tx = pg::Transaction::Begin(*conn);
    ASSERT_TRUE(tx);
    ASSERT_TRUE(conn->Exec("DELETE FROM t WHERE k = 'k0'"));
    ASSERT_TRUE(tx->Commit());
  }
  EXPECT_EQ(conn->Exec("SELECT count(*) FROM t")->Int(0, 0), 2);

  auto bad = conn->Exec("SELECT * FROM no_such_table");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::db_query);
  EXPECT_NE(bad.error().message.find("no_such_table"), std::string::npos) << bad.error().message;
  EXPECT_TRUE(conn->Ok()) << "an error in a statement leaves the connection usable";
}

TEST(Postgres, ANotificationReachesAListeningConnection) {
  TempPostgres server;
  if (!server.Skipped().empty()) GTEST_SKIP() << server.Skipped();
  auto listener = Conn::Open(server.ConnInfo());
  auto sender = Conn::Open(server.ConnInfo());
  ASSERT_TRUE(listener && sender);
  ASSERT_TRUE(listener->Listen("steward_changes"));
  auto none = listener->Notifications(std::chrono::milliseconds(0));
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());
  const Param payload[] = {"rollouts"};
  ASSERT_TRUE(sender->Exec("SELECT pg_notify('steward_changes', $1)", payload));
  auto got = listener->Notifications(std::chrono::seconds(10));
  ASSERT_TRUE(got) << got.error().message;
  ASSERT_EQ(got->size(), 1u);
  EXPECT_EQ((*got)[0].channel, "steward_changes");
  EXPECT_EQ((*got)[0].payload, "rollouts");
}

TEST(Postgres, AServerThatIsNotThereOrGoesAwayIsAClearError) {
  TempPostgres server;
  if (!server.Skipped().empty()) GTEST_SKIP() << server.Skipped();
  auto nodb = Conn::Open(server.ConnInfo("no_such_db"));
  ASSERT_FALSE(nodb);
  EXPECT_EQ(nodb.error().code, ErrorCode::db_open);
  EXPECT_NE(nodb.error().message.find("no_such_db"), std::string::npos) << nodb.error().message;
  EXPECT_NE(nodb.error().message.find("check the store URL"), std::string::npos);

  auto conn = Conn::Open(server.ConnInfo());
  ASSERT_TRUE(conn) << conn.error().message;
  server.Stop();
  auto r = conn->Exec("SELECT 1");
  ASSERT_FALSE(r);
  EXPECT_FALSE(conn->Ok());
  auto again = conn->Reset();
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::db_open);
}

}  // namespace
}  // namespace steward::test
