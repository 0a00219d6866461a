// SQLite, one RAII type per handle. Databases open in WAL mode with a busy timeout; schemas are
// migrated by version number (PRAGMA user_version). A corrupt or unreadable database is an
// error that says so; it is never silently recreated.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "common/clock.hpp"
#include "common/error.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace steward::sqlite {

struct OpenOptions {
  bool create = true;  // create the file when missing
  bool read_only = false;
  bool synchronous_full = true;  // FULL: a committed transaction survives power loss
  bool check_integrity = false;  // run PRAGMA quick_check at open (small databases)
  // One process owns the file: its lock is taken once and held, so a transaction makes no
  // locking system calls; another process opening it meanwhile gets "database is locked".
  bool exclusive = false;
  Duration busy_timeout = std::chrono::seconds(5);
};

class Stmt;

class Db {
 public:
  static Result<Db> Open(const std::string& path, const OpenOptions& options = {});
  Db(Db&& o) noexcept;
  Db& operator=(Db&& o) noexcept;
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;
  ~Db();

  // Runs one or more statements; rows they return are skipped.
  Result<void> Exec(std::string_view sql);
  // Compiled statements are kept by their SQL text and reused: the same few statements run on
  // every restart and check-in, and compiling one costs more than running it.
  Result<Stmt> Prepare(std::string_view sql);

  // Brings the schema to migrations.size(): migration i moves user_version i to i + 1, each in
  // its own transaction. A database newer than this program knows is an error.
  Result<void> Migrate(std::span<const std::string_view> migrations);
  Result<std::int64_t> UserVersion();

  std::int64_t LastInsertRowid() const;
  std::int64_t Changes() const;
  const std::string& Path() const { return path_; }
  sqlite3* Raw() const { return db_; }

  // An Error for the last failure on this connection, with `what` as context.
  Error LastError(std::string_view what, int rc) const;

 private:
  friend class Stmt;
  struct Cache;
  Db(sqlite3* db, std::string path);
  void Close();
  sqlite3* db_ = nullptr;
  std::string path_;
  std::shared_ptr<Cache> cache_;  // shared with live statements, which may outlive the Db
};

class Stmt {
 public:
  Stmt(Stmt&& o) noexcept;
  Stmt& operator=(Stmt&& o) noexcept;
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  ~Stmt();

  // Parameters are 1-based, as in SQL (?1, ?2…). A bind failure is reported by the next Step.
  Stmt& Bind(int index, std::int64_t value);
  Stmt& Bind(int index, std::string_view text);
  Stmt& Bind(int index, const char* text) { return Bind(index, std::string_view(text)); }
  Stmt& Bind(int index, double value);
  Stmt& Bind(int index, std::nullopt_t);
  Stmt& BindBlob(int index, std::span<const std::uint8_t> bytes);

  // true: a row is available; false: done.
  Result<bool> Step();
  // Steps to completion, for statements without rows.
  Result<void> Run();
  // Ready to bind and step again.
  void Reset();

  // Columns are 0-based.
  std::int64_t Int(int col) const;
  double Double(int col) const;
  std::string Text(int col) const;
  bool IsNull(int col) const;

 private:
  friend class Db;
  Stmt(const Db* db, sqlite3_stmt* stmt, std::string sql)
      : db_(db), stmt_(stmt), sql_(std::move(sql)), cache_(db->cache_) {}
  void BindResult(int rc);
  void Release();  // back into the connection's cache, or finalized
  const Db* db_ = nullptr;
  sqlite3_stmt* stmt_ = nullptr;
  std::string sql_;
  std::shared_ptr<Db::Cache> cache_;
  int bind_error_ = 0;
};

// BEGIN IMMEDIATE … COMMIT; rolls back on destruction unless committed.
class Transaction {
 public:
  static Result<Transaction> Begin(Db& db);
  Transaction(Transaction&& o) noexcept : db_(o.db_) { o.db_ = nullptr; }
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  Transaction& operator=(Transaction&&) = delete;
  ~Transaction();
  Result<void> Commit();

 private:
  explicit Transaction(Db* db) : db_(db) {}
  Db* db_;
};

}  // namespace steward::sqlite
