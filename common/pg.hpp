// PostgreSQL through libpq, one RAII type per handle, for the controller's PostgreSQL store:
// a connection (a libpq connection string or URL; PG* environment variables apply as libpq
// reads them), statements with text parameters (prepared once by name, or run once), the rows
// they return, transactions, and LISTEN/NOTIFY. Errors are steward Errors carrying the server's
// message: db_open when connecting fails, db_constraint for a unique or check violation (SQLSTATE
// class 23), db_query otherwise. Not thread-safe: one connection per thread, or a lock.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/clock.hpp"
#include "common/error.hpp"

struct pg_conn;
struct pg_result;

namespace steward::pg {

// A statement's parameter: its text form, or SQL NULL.
using Param = std::optional<std::string>;

// The rows of one statement's result.
class Rows {
 public:
  explicit Rows(pg_result* result) : result_(result) {}
  Rows(Rows&& o) noexcept : result_(std::exchange(o.result_, nullptr)) {}
  Rows& operator=(Rows&& o) noexcept;
  Rows(const Rows&) = delete;
  Rows& operator=(const Rows&) = delete;
  ~Rows();

  int size() const;
  bool Null(int row, int column) const;
  std::string Text(int row, int column) const;  // "" for NULL
  // The column as a 64-bit integer; 0 for NULL or text that is not one.
  std::int64_t Int(int row, int column) const;
  // Rows changed by an INSERT, UPDATE or DELETE.
  std::int64_t Affected() const;

 private:
  pg_result* result_ = nullptr;
};

struct Notification {
  std::string channel;
  std::string payload;
};

class Conn {
 public:
  // Connects; `conninfo` is "postgresql://user@host/db?…" or "host=… dbname=…". Passwords come
  // from ~/.pgpass, PGPASSFILE or the string's passfile= (never put one in the string itself).
  static Result<Conn> Open(const std::string& conninfo,
                           Duration timeout = std::chrono::seconds(10));
  Conn(Conn&& o) noexcept
      : conn_(std::exchange(o.conn_, nullptr)), prepared_(std::move(o.prepared_)) {}
  Conn& operator=(Conn&& o) noexcept;
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;
  ~Conn();

  // Runs one statement with parameters ($1, $2…), or several without.
  Result<Rows> Exec(std::string_view sql, std::span<const Param> params = {});
  // Prepares `sql` under `name` on this connection once; later calls run the prepared one.
  Result<Rows> ExecPrepared(const std::string& name, std::string_view sql,
                            std::span<const Param> params);

  // Starts listening on `channel` (an identifier: letters, digits, underscores).
  Result<void> Listen(std::string_view channel);
  // Notifications received, waiting up to `wait` for the first when none is queued.
  Result<std::vector<Notification>> Notifications(Duration wait);

  // The connection is up (false after the server went away).
  bool Ok() const;
  // Connects again with the same parameters (prepared statements are gone: prepared anew).
  Result<void> Reset();

 private:
  explicit Conn(pg_conn* conn) : conn_(conn) {}
  Error LastError(std::string_view what, pg_result* result) const;
  Result<Rows> Check(std::string_view what, pg_result* result) const;
  pg_conn* conn_ = nullptr;
  std::vector<std::string> prepared_;
};

// BEGIN … COMMIT; a transaction neither committed nor moved away rolls back when it ends.
class Transaction {
 public:
  static Result<Transaction> Begin(Conn& conn);
  Transaction(Transaction&& o) noexcept : conn_(std::exchange(o.conn_, nullptr)) {}
  Transaction& operator=(Transaction&&) = delete;
  ~Transaction();
  Result<void> Commit();

 private:
  explicit Transaction(Conn* conn) : conn_(conn) {}
  Conn* conn_ = nullptr;
};

// `text` quoted as a SQL identifier ("a""b").
std::string QuoteIdentifier(std::string_view text);

}  // namespace steward::pg
