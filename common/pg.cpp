#include "common/pg.hpp"

#include <libpq-fe.h>
#include <poll.h>

#include <algorithm>
#include <charconv>

namespace steward::pg {

namespace {

// libpq's messages end with a newline; ours do not.
std::string Trimmed(const char* message) {
  std::string s = message != nullptr ? message : "";
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

}  // namespace

Rows& Rows::operator=(Rows&& o) noexcept {
  if (this != &o) {
    if (result_ != nullptr) PQclear(result_);
    result_ = std::exchange(o.result_, nullptr);
  }
  return *this;
}

Rows::~Rows() {
  if (result_ != nullptr) PQclear(result_);
}

int Rows::size() const { return result_ != nullptr ? PQntuples(result_) : 0; }

bool Rows::Null(int row, int column) const { return PQgetisnull(result_, row, column) != 0; }

std::string Rows::Text(int row, int column) const {
  return std::string(PQgetvalue(result_, row, column),
                     static_cast<std::size_t>(PQgetlength(result_, row, column)));
}

std::int64_t Rows::Int(int row, int column) const {
  const char* v = PQgetvalue(result_, row, column);
  const auto len = static_cast<std::size_t>(PQgetlength(result_, row, column));
  std::int64_t out = 0;
  if (std::from_chars(v, v + len, out).ec != std::errc{}) return 0;
  return out;
}

std::int64_t Rows::Affected() const {
  const char* n = PQcmdTuples(result_);
  std::int64_t out = 0;
  std::from_chars(n, n + std::char_traits<char>::length(n), out);
  return out;
}

Result<Conn> Conn::Open(const std::string& conninfo, Duration timeout) {
  const std::string seconds = std::to_string(
      std::max<std::int64_t>(1, std::chrono::duration_cast<std::chrono::seconds>(timeout).count()));
  const char* keys[] = {"dbname", "connect_timeout", "application_name", nullptr};
  const char* values[] = {conninfo.c_str(), seconds.c_str(), "steward-controller", nullptr};
  // expand_dbname: `dbname` may be a whole connection string or URL.
  pg_conn* raw = PQconnectdbParams(keys, values, 1);
  if (raw == nullptr) return Fail(ErrorCode::db_open, "PostgreSQL: out of memory");
  Conn conn(raw);
  if (PQstatus(raw) != CONNECTION_OK) {
    return Fail(ErrorCode::db_open,
                "cannot connect to PostgreSQL: " + Trimmed(PQerrorMessage(raw)) +
                    "; check the store URL, that the server runs, and the password file");
  }
  return conn;
}

Conn& Conn::operator=(Conn&& o) noexcept {
  if (this != &o) {
    if (conn_ != nullptr) PQfinish(conn_);
    conn_ = std::exchange(o.conn_, nullptr);
    prepared_ = std::move(o.prepared_);
  }
  return *this;
}

Conn::~Conn() {
  if (conn_ != nullptr) PQfinish(conn_);
}

Error Conn::LastError(std::string_view what, pg_result* result) const {
  const char* state = result != nullptr ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
  // SQLSTATE class 23: integrity constraint violations (unique, check, foreign key, not null).
  const bool constraint = state != nullptr && std::string_view(state).starts_with("23");
  const std::string message =
      Trimmed(result != nullptr ? PQresultErrorMessage(result) : PQerrorMessage(conn_));
  return Error{
      constraint ? ErrorCode::db_constraint : ErrorCode::db_query,
      std::string(what) + ": " + (message.empty() ? "no answer from the server" : message)};
}

Result<Rows> Conn::Check(std::string_view what, pg_result* result) const {
  Rows rows(result);
  const auto status = result != nullptr ? PQresultStatus(result) : PGRES_FATAL_ERROR;
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    return std::unexpected(LastError(what, result));
  }
  return rows;
}

Result<Rows> Conn::Exec(std::string_view sql, std::span<const Param> params) {
  const std::string text(sql);
  if (params.empty()) return Check(text, PQexec(conn_, text.c_str()));
  std::vector<const char*> values;
  for (const auto& p : params) values.push_back(p ? p->c_str() : nullptr);
  return Check(text, PQexecParams(conn_, text.c_str(), static_cast<int>(values.size()), nullptr,
                                  values.data(), nullptr, nullptr, 0));
}

Result<Rows> Conn::ExecPrepared(const std::string& name, std::string_view sql,
                                std::span<const Param> params) {
  if (std::ranges::find(prepared_, name) == prepared_.end()) {
    const std::string text(sql);
    auto r = Check("preparing " + name, PQprepare(conn_, name.c_str(), text.c_str(),
                                                  static_cast<int>(params.size()), nullptr));
    if (!r) return std::unexpected(r.error());
    prepared_.push_back(name);
  }
  std::vector<const char*> values;
  for (const auto& p : params) values.push_back(p ? p->c_str() : nullptr);
  return Check(name, PQexecPrepared(conn_, name.c_str(), static_cast<int>(values.size()),
                                    values.data(), nullptr, nullptr, 0));
}

Result<void> Conn::Listen(std::string_view channel) {
  auto r = Exec("LISTEN " + QuoteIdentifier(channel));
  if (!r) return std::unexpected(r.error());
  return {};
}

Result<std::vector<Notification>> Conn::Notifications(Duration wait) {
  std::vector<Notification> out;
  const auto take = [&] {
    while (pgNotify* n = PQnotifies(conn_)) {
      out.push_back({n->relname, n->extra != nullptr ? n->extra : ""});
      PQfreemem(n);
    }
  };
  if (PQconsumeInput(conn_) == 0)
    return std::unexpected(LastError("reading notifications", nullptr));
  take();
  if (!out.empty() || wait <= Duration::zero()) return out;
  pollfd pfd{PQsocket(conn_), POLLIN, 0};
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(wait).count();
  if (::poll(&pfd, 1, static_cast<int>(ms)) > 0) {
    if (PQconsumeInput(conn_) == 0) {
      return std::unexpected(LastError("reading notifications", nullptr));
    }
    take();
  }
  return out;
}

bool Conn::Ok() const { return conn_ != nullptr && PQstatus(conn_) == CONNECTION_OK; }

Result<void> Conn::Reset() {
  prepared_.clear();
  PQreset(conn_);
  if (PQstatus(conn_) != CONNECTION_OK) {
    return Fail(ErrorCode::db_open,
                "reconnecting to PostgreSQL: " + Trimmed(PQerrorMessage(conn_)));
  }
  return {};
}

Result<Transaction> Transaction::Begin(Conn& conn) {
  if (auto r = conn.Exec("BEGIN"); !r) return std::unexpected(r.error());
  return Transaction(&conn);
}

Transaction::~Transaction() {
  if (conn_ != nullptr) (void)conn_->Exec("ROLLBACK");
}

Result<void> Transaction::Commit() {
  Conn* conn = std::exchange(conn_, nullptr);
  if (auto r = conn->Exec("COMMIT"); !r) return std::unexpected(r.error());
  return {};
}

std::string QuoteIdentifier(std::string_view text) {
  std::string out = "\"";
  for (const char c : text) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

}  // namespace steward::pg
