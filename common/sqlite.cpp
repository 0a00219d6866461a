#include "common/sqlite.hpp"

#include <sqlite3.h>

#include <mutex>
#include <unordered_map>
#include <utility>

namespace steward::sqlite {

namespace {

ErrorCode CodeFor(int rc) {
  switch (rc & 0xff) {
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return ErrorCode::db_corrupt;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return ErrorCode::db_busy;
    case SQLITE_CANTOPEN:
    case SQLITE_PERM:
    case SQLITE_READONLY:
      return ErrorCode::db_open;
    case SQLITE_FULL:
      return ErrorCode::no_space;
    case SQLITE_CONSTRAINT:
      return ErrorCode::db_constraint;
    case SQLITE_IOERR:
      return ErrorCode::io;
    default:
      return ErrorCode::db_query;
  }
}

std::string Advice(ErrorCode code, const std::string& path) {
  switch (code) {
    case ErrorCode::db_corrupt:
      return "; the database is corrupt or not a SQLite file and will not be recreated: "
             "restore it from a backup, or move " +
             path + " aside to start with empty state";
    case ErrorCode::db_open:
      return "; check that the directory exists and is writable by this user";
    case ErrorCode::db_busy:
      return "; another process holds the database locked";
    default:
      return "";
  }
}

}  // namespace

Error Db::LastError(std::string_view what, int rc) const {
  const ErrorCode code = CodeFor(rc);
  std::string msg = "sqlite " + path_ + ": " + std::string(what) + ": " +
                    (db_ != nullptr ? sqlite3_errmsg(db_) : sqlite3_errstr(rc));
  return Error{code, msg + Advice(code, path_)};
}

Result<Db> Db::Open(const std::string& path, const OpenOptions& options) {
  int flags = SQLITE_OPEN_NOFOLLOW;
  if (options.read_only) {
    flags |= SQLITE_OPEN_READONLY;
  } else {
    flags |= SQLITE_OPEN_READWRITE | (options.create ? SQLITE_OPEN_CREATE : 0);
  }
  sqlite3* raw = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  Db db(raw, path);
  if (rc != SQLITE_OK) return std::unexpected(db.LastError("open", rc));
  sqlite3_extended_result_codes(raw, 1);
  sqlite3_busy_timeout(
      raw,
      static_cast<int>(
          std::chrono::duration_cast<std::chrono::milliseconds>(options.busy_timeout).count()));
  if (options.exclusive) {
    if (auto r = db.Exec("PRAGMA locking_mode=EXCLUSIVE"); !r) return std::unexpected(r.error());
  }
  // The first statement reads the header: this is where a file that is not a database fails.
  if (!options.read_only) {
    auto mode = db.Prepare("PRAGMA journal_mode=WAL");
    if (!mode) return std::unexpected(mode.error());
    auto row = mode->Step();
    if (!row) return std::unexpected(row.error());
  }
  const std::string pragmas = std::string("PRAGMA foreign_keys=ON; PRAGMA synchronous=") +
                              (options.synchronous_full ? "FULL" : "NORMAL") + ";";
  if (auto r = db.Exec(pragmas); !r) return std::unexpected(r.error());
  if (options.check_integrity) {
    auto check = db.Prepare("PRAGMA quick_check");
    if (!check) return std::unexpected(check.error());
    auto row = check->Step();
    if (!row) return std::unexpected(row.error());
    if (*row && check->Text(0) != "ok") {
      return Fail(ErrorCode::db_corrupt, "sqlite " + path + ": integrity check failed: " +
                                             check->Text(0) + Advice(ErrorCode::db_corrupt, path));
    }
  }
  return db;
}

// Idle compiled statements by SQL text. Statements may be prepared and released on different
// threads (SQLite itself is serialized), hence the lock.
struct Db::Cache {
  static constexpr std::size_t kMax = 64;  // SQL built at run time must not grow it without end
  std::mutex mu;
  bool open = true;  // false once the connection closed: statements are finalized
  std::unordered_map<std::string, sqlite3_stmt*> idle;
};

Db::Db(sqlite3* db, std::string path)
    : db_(db), path_(std::move(path)), cache_(std::make_shared<Cache>()) {}

Db::Db(Db&& o) noexcept
    : db_(std::exchange(o.db_, nullptr)), path_(std::move(o.path_)), cache_(std::move(o.cache_)) {}

Db& Db::operator=(Db&& o) noexcept {
  if (this != &o) {
    Close();
    db_ = std::exchange(o.db_, nullptr);
    path_ = std::move(o.path_);
    cache_ = std::move(o.cache_);
  }
  return *this;
}

Db::~Db() { Close(); }

void Db::Close() {
  if (cache_) {
    std::lock_guard lock(cache_->mu);
    cache_->open = false;
    for (auto& [sql, stmt] : cache_->idle) sqlite3_finalize(stmt);
    cache_->idle.clear();
  }
  if (db_ != nullptr) sqlite3_close_v2(db_);
  db_ = nullptr;
}

Result<void> Db::Exec(std::string_view sql) {
  // One statement (BEGIN, COMMIT, a PRAGMA: run at every event) is compiled once and kept, as
  // Prepare does; a script of several goes through sqlite3_exec.
  if (sql.find(';') == std::string_view::npos) {
    auto stmt = Prepare(sql);
    if (!stmt) return std::unexpected(stmt.error());
    return stmt->Run();
  }
  const std::string text(sql);
  const int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return std::unexpected(LastError(text.substr(0, 60), rc));
  return {};
}

Result<Stmt> Db::Prepare(std::string_view sql) {
  std::string text(sql);
  {
    std::lock_guard lock(cache_->mu);
    if (auto it = cache_->idle.find(text); it != cache_->idle.end()) {
      sqlite3_stmt* stmt = it->second;
      cache_->idle.erase(it);
      return Stmt(this, stmt, std::move(text));
    }
  }
  sqlite3_stmt* stmt = nullptr;
  const int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                                    SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  if (rc != SQLITE_OK) {
    return std::unexpected(LastError("prepare " + std::string(sql.substr(0, 60)), rc));
  }
  return Stmt(this, stmt, std::move(text));
}

Result<std::int64_t> Db::UserVersion() {
  auto stmt = Prepare("PRAGMA user_version");
  if (!stmt) return std::unexpected(stmt.error());
  auto row = stmt->Step();
  if (!row) return std::unexpected(row.error());
  return stmt->Int(0);
}

Result<void> Db::Migrate(std::span<const std::string_view> migrations) {
  auto version = UserVersion();
  if (!version) return std::unexpected(version.error());
  const auto known = static_cast<std::int64_t>(migrations.size());
  if (*version > known) {
    return Fail(ErrorCode::db_migration,
                "sqlite " + path_ + ": schema version " + std::to_string(*version) +
                    " is newer than this program knows (" + std::to_string(known) +
                    "); run the newer version or restore a backup");
  }
  for (auto v = *version; v < known; ++v) {
    auto tx = Transaction::Begin(*this);
    if (!tx) return std::unexpected(tx.error());
    if (auto r = Exec(migrations[static_cast<std::size_t>(v)]); !r) {
      return std::unexpected(
          Error{ErrorCode::db_migration,
                "migration to schema version " + std::to_string(v + 1) + ": " + r.error().message});
    }
    if (auto r = Exec("PRAGMA user_version=" + std::to_string(v + 1)); !r) return r;
    if (auto r = tx->Commit(); !r) return r;
  }
  return {};
}

std::int64_t Db::LastInsertRowid() const { return sqlite3_last_insert_rowid(db_); }
std::int64_t Db::Changes() const { return sqlite3_changes64(db_); }

Stmt::Stmt(Stmt&& o) noexcept
    : db_(o.db_),
      stmt_(std::exchange(o.stmt_, nullptr)),
      sql_(std::move(o.sql_)),
      cache_(std::move(o.cache_)),
      bind_error_(o.bind_error_) {}

Stmt& Stmt::operator=(Stmt&& o) noexcept {
  if (this != &o) {
    Release();
    db_ = o.db_;
    stmt_ = std::exchange(o.stmt_, nullptr);
    sql_ = std::move(o.sql_);
    cache_ = std::move(o.cache_);
    bind_error_ = o.bind_error_;
  }
  return *this;
}

Stmt::~Stmt() { Release(); }

void Stmt::Release() {
  if (stmt_ == nullptr) return;
  sqlite3_stmt* stmt = std::exchange(stmt_, nullptr);
  if (cache_) {
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
    std::lock_guard lock(cache_->mu);
    if (cache_->open && cache_->idle.size() < Db::Cache::kMax &&
        cache_->idle.emplace(sql_, stmt).second) {
      return;
    }
  }
  sqlite3_finalize(stmt);
}

void Stmt::BindResult(int rc) {
  if (rc != SQLITE_OK && bind_error_ == 0) bind_error_ = rc;
}

Stmt& Stmt::Bind(int index, std::int64_t value) {
  BindResult(sqlite3_bind_int64(stmt_, index, value));
  return *this;
}

Stmt& Stmt::Bind(int index, std::string_view text) {
  BindResult(
      sqlite3_bind_text64(stmt_, index, text.data(), text.size(), SQLITE_TRANSIENT, SQLITE_UTF8));
  return *this;
}

Stmt& Stmt::Bind(int index, double value) {
  BindResult(sqlite3_bind_double(stmt_, index, value));
  return *this;
}

Stmt& Stmt::Bind(int index, std::nullopt_t) {
  BindResult(sqlite3_bind_null(stmt_, index));
  return *this;
}

Stmt& Stmt::BindBlob(int index, std::span<const std::uint8_t> bytes) {
  BindResult(sqlite3_bind_blob64(stmt_, index, bytes.data(), bytes.size(), SQLITE_TRANSIENT));
  return *this;
}

Result<bool> Stmt::Step() {
  if (bind_error_ != 0) {
    const int rc = std::exchange(bind_error_, 0);
    return std::unexpected(db_->LastError("bind", rc));
  }
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  const std::string sql = sqlite3_sql(stmt_) != nullptr ? sqlite3_sql(stmt_) : "";
  Error err = db_->LastError("step " + sql.substr(0, 60), rc);
  sqlite3_reset(stmt_);
  return std::unexpected(std::move(err));
}

Result<void> Stmt::Run() {
  for (;;) {
    auto row = Step();
    if (!row) return std::unexpected(row.error());
    if (!*row) return {};
  }
}

void Stmt::Reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
  bind_error_ = 0;
}

std::int64_t Stmt::Int(int col) const { return sqlite3_column_int64(stmt_, col); }
double Stmt::Double(int col) const { return sqlite3_column_double(stmt_, col); }
bool Stmt::IsNull(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }

std::string Stmt::Text(int col) const {
  const auto* p = sqlite3_column_text(stmt_, col);
  const int n = sqlite3_column_bytes(stmt_, col);
  return p == nullptr ? std::string()
                      : std::string(reinterpret_cast<const char*>(p), static_cast<std::size_t>(n));
}

Result<Transaction> Transaction::Begin(Db& db) {
  if (auto r = db.Exec("BEGIN IMMEDIATE"); !r) return std::unexpected(r.error());
  return Transaction(&db);
}

Result<void> Transaction::Commit() {
  Db* db = std::exchange(db_, nullptr);
  return db->Exec("COMMIT");
}

Transaction::~Transaction() {
  if (db_ != nullptr) (void)db_->Exec("ROLLBACK");
}

}  // namespace steward::sqlite
