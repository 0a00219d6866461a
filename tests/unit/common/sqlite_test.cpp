#include "common/sqlite.hpp"

#include <gtest/gtest.h>

#include <array>
#include <fstream>

#include "tests/support/temp_dir.hpp"

namespace steward::sqlite {
namespace {

constexpr std::array<std::string_view, 2> kMigrations = {
    "CREATE TABLE kv (k TEXT PRIMARY KEY, v TEXT NOT NULL);",
    "ALTER TABLE kv ADD COLUMN n INTEGER NOT NULL DEFAULT 0;",
};

TEST(Sqlite, OpensInWalAndMigrates) {
  test::TempDir dir;
  auto db = Db::Open((dir / "s.db").string());
  ASSERT_TRUE(db) << db.error().message;
  ASSERT_TRUE(db->Migrate(kMigrations));
  EXPECT_EQ(db->UserVersion().value(), 2);
  auto mode = db->Prepare("PRAGMA journal_mode");
  ASSERT_TRUE(mode->Step().value());
  EXPECT_EQ(mode->Text(0), "wal");
  // Migrating again is a no-op.
  ASSERT_TRUE(db->Migrate(kMigrations));
}

TEST(Sqlite, BindsStepsAndReads) {
  test::TempDir dir;
  auto db = Db::Open((dir / "s.db").string()).value();
  ASSERT_TRUE(db.Migrate(kMigrations));
  auto ins = db.Prepare("INSERT INTO kv (k, v, n) VALUES (?1, ?2, ?3)").value();
  ASSERT_TRUE(
      ins.Bind(1, "a").Bind(2, std::string_view("x\0y", 3)).Bind(3, std::int64_t{42}).Run());
  ins.Reset();
  auto dup = ins.Bind(1, "a").Bind(2, "z").Bind(3, std::int64_t{1}).Run();
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().code, ErrorCode::db_constraint);
  auto sel = db.Prepare("SELECT v, n FROM kv WHERE k = ?1").value();
  sel.Bind(1, "a");
  ASSERT_TRUE(sel.Step().value());
  EXPECT_EQ(sel.Text(0), std::string("x\0y", 3));
  EXPECT_EQ(sel.Int(1), 42);
  EXPECT_FALSE(sel.Step().value());
}

TEST(Sqlite, ReusedStatementsStartClean) {
  test::TempDir dir;
  auto db = Db::Open((dir / "s.db").string());
  ASSERT_TRUE(db && db->Migrate(kMigrations));
  for (int i = 0; i < 3; ++i) {
    auto ins = db->Prepare("INSERT INTO kv(k, v) VALUES(?1, ?2)");
    ASSERT_TRUE(ins);
    ASSERT_TRUE(ins->Bind(1, "k" + std::to_string(i)).Bind(2, "v").Run());
  }
  // A reused statement has no bindings left from its last use.
  {
    auto q = db->Prepare("SELECT ?1");
    ASSERT_TRUE(q->Bind(1, std::int64_t{5}).Step().value());
    EXPECT_EQ(q->Int(0), 5);
  }
  {
    auto q = db->Prepare("SELECT ?1");
    ASSERT_TRUE(q->Step().value());
    EXPECT_TRUE(q->IsNull(0));
  }
  // Left in the middle of its rows, it starts from the first row next time; two live copies
  // of the same SQL do not share state.
  {
    auto a = db->Prepare("SELECT k FROM kv ORDER BY k");
    ASSERT_TRUE(a->Step().value());
    ASSERT_TRUE(a->Step().value());
    EXPECT_EQ(a->Text(0), "k1");
    auto b = db->Prepare("SELECT k FROM kv ORDER BY k");
    ASSERT_TRUE(b->Step().value());
    EXPECT_EQ(b->Text(0), "k0");
  }
  auto c = db->Prepare("SELECT k FROM kv ORDER BY k");
  ASSERT_TRUE(c->Step().value());
  EXPECT_EQ(c->Text(0), "k0");
  // A statement that outlives the move of its connection, and then the connection itself
  // (`moved` is destroyed before `c`), still ends cleanly.
  Db moved = std::move(*db);
  c = moved.Prepare("SELECT COUNT(*) FROM kv").value();
  ASSERT_TRUE(c->Step().value());
  EXPECT_EQ(c->Int(0), 3);
}

TEST(Sqlite, AnExclusiveConnectionKeepsOthersOut) {
  test::TempDir dir;
  const std::string path = (dir / "s.db").string();
  OpenOptions exclusive;
  exclusive.exclusive = true;
  auto db = Db::Open(path, exclusive);
  ASSERT_TRUE(db && db->Migrate(kMigrations));
  ASSERT_TRUE(db->Exec("INSERT INTO kv(k, v) VALUES('a', 'b')"));
  OpenOptions other;
  other.busy_timeout = std::chrono::milliseconds(50);
  auto second = Db::Open(path, other);
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code, ErrorCode::db_busy) << second.error().ToString();
  EXPECT_NE(second.error().message.find("locked"), std::string::npos);
  // Closed, it lets the next one in, with everything it wrote.
  *db = Db::Open((dir / "other.db").string()).value();
  auto reopened = Db::Open(path, other);
  ASSERT_TRUE(reopened) << reopened.error().ToString();
  auto q = reopened->Prepare("SELECT v FROM kv WHERE k = 'a'");
  ASSERT_TRUE(q->Step().value());
  EXPECT_EQ(q->Text(0), "b");
}

TEST(Sqlite, TransactionRollsBackUnlessCommitted) {
  test::TempDir dir;
  auto db = Db::Open((dir / "s.db").string()).value();
  ASSERT_TRUE(db.Migrate(kMigrations));
  {
    auto tx = Transaction::Begin(db).value();
    ASSERT_TRUE(db.Exec("INSERT INTO kv (k, v) VALUES ('gone', '1')"));
  }
  {
    auto tx = Transaction::Begin(db).value();
    ASSERT_TRUE(db.Exec("INSERT INTO kv (k, v) VALUES ('kept', '1')"));
    ASSERT_TRUE(tx.Commit());
  }
  auto count = db.Prepare("SELECT group_concat(k) FROM kv").value();
  ASSERT_TRUE(count.Step().value());
  EXPECT_EQ(count.Text(0), "kept");
}

TEST(Sqlite, CorruptFileIsAClearErrorAndIsNotRecreated) {
  test::TempDir dir;
  const std::string garbage =
      "this is not a database, but it is long enough to have a header......";
  const auto path = dir.Write("s.db", garbage);
  auto db = Db::Open(path);
  ASSERT_FALSE(db);
  EXPECT_EQ(db.error().code, ErrorCode::db_corrupt);
  EXPECT_NE(db.error().message.find("restore"), std::string::npos) << db.error().message;
  std::ifstream in(path);
  std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(content, garbage);
}

TEST(Sqlite, DamagedPagesFailTheIntegrityCheck) {
  test::TempDir dir;
  const auto path = (dir / "s.db").string();
  {
    auto db = Db::Open(path).value();
    ASSERT_TRUE(db.Migrate(kMigrations));
    auto ins = db.Prepare("INSERT INTO kv (k, v) VALUES (?1, ?2)").value();
    for (int i = 0; i < 200; ++i) {
      ins.Reset();
      ASSERT_TRUE(ins.Bind(1, std::to_string(i)).Bind(2, std::string(100, 'v')).Run());
    }
    ASSERT_TRUE(db.Exec("PRAGMA wal_checkpoint(TRUNCATE)"));
  }
  {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(4096 + 10);  // inside the second page: a b-tree page of kv
    const std::string junk(2000, '\xff');
    f.write(junk.data(), static_cast<std::streamsize>(junk.size()));
  }
  OpenOptions options;
  options.check_integrity = true;
  auto db = Db::Open(path, options);
  ASSERT_FALSE(db);
  EXPECT_EQ(db.error().code, ErrorCode::db_corrupt);
}

TEST(Sqlite, MissingFileWithoutCreateAndUnwritableDirectory) {
  test::TempDir dir;
  OpenOptions options;
  options.create = false;
  auto db = Db::Open((dir / "none.db").string(), options);
  ASSERT_FALSE(db);
  EXPECT_EQ(db.error().code, ErrorCode::db_open);
  auto nodir = Db::Open((dir / "no" / "such" / "dir.db").string());
  ASSERT_FALSE(nodir);
  EXPECT_EQ(nodir.error().code, ErrorCode::db_open);
}

TEST(Sqlite, NewerSchemaThanKnownIsRefused) {
  test::TempDir dir;
  auto db = Db::Open((dir / "s.db").string()).value();
  ASSERT_TRUE(db.Exec("PRAGMA user_version=7"));
  auto r = db.Migrate(kMigrations);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::db_migration);
  EXPECT_NE(r.error().message.find("newer"), std::string::npos);
}

TEST(Sqlite, FailedMigrationLeavesVersionUntouched) {
  test::TempDir dir;
  auto db = Db::Open((dir / "s.db").string()).value();
  constexpr std::array<std::string_view, 2> bad = {"CREATE TABLE t (x);", "CREATE TABLE t (y);"};
  auto r = db.Migrate(bad);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::db_migration);
  EXPECT_EQ(db.UserVersion().value(), 1);
}

}  // namespace
}  // namespace steward::sqlite
