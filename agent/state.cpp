#include "agent/state.hpp"

#include <array>
#include <charconv>
#include <filesystem>
#include <string_view>

#include "common/files.hpp"
#include "common/rfc3339.hpp"

namespace steward::agent {

namespace {

constexpr std::array<std::string_view, 1> kMigrations = {
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
    "CREATE TABLE events (id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL,"
    "                     kind TEXT NOT NULL, detail TEXT NOT NULL);",
};

Result<std::string> Meta(sqlite::Db& db, std::string_view key) {
  auto stmt = db.Prepare("SELECT value FROM meta WHERE key = ?1");
  if (!stmt) return std::unexpected(stmt.error());
  stmt->Bind(1, key);
  auto row = stmt->Step();
  if (!row) return std::unexpected(row.error());
  return *row ? stmt->Text(0) : std::string();
}

// The boot counter as stored; a value that is not a count means the file was altered.
Result<std::int64_t> Count(const std::string& text, const std::string& path) {
  std::int64_t n = 0;
  if (text.empty()) return n;
  const auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc{} || p != text.data() + text.size() || n < 0) {
    return Fail(ErrorCode::db_corrupt,
                path + ": meta 'boots' is '" + text + "', not a count; restore or remove the file");
  }
  return n;
}

}  // namespace

std::string StatePath(const std::string& state_dir) {
  return (std::filesystem::path(state_dir) / "agent.db").string();
}

Result<StateStore> StateStore::Open(const std::string& state_dir) {
  if (auto r = files::MakeDirs(state_dir, 0750); !r)
    return std::unexpected(r.error().Wrap("state_dir"));
  auto db = sqlite::Db::Open(StatePath(state_dir));
  if (!db) return std::unexpected(db.error());
  if (auto r = db->Migrate(kMigrations); !r) return std::unexpected(r.error());
  return StateStore(std::move(*db));
}

Result<void> StateStore::SetMeta(std::string_view key, std::string_view value) {
  auto stmt = db_.Prepare(
      "INSERT INTO meta (key, value) VALUES (?1, ?2) "
      "ON CONFLICT (key) DO UPDATE SET value = excluded.value");
  if (!stmt) return std::unexpected(stmt.error());
  stmt->Bind(1, key).Bind(2, value);
  return stmt->Run();
}

Result<std::int64_t> StateStore::RecordStart(std::string_view version, WallTime at) {
  auto tx = sqlite::Transaction::Begin(db_);
  if (!tx) return std::unexpected(tx.error());
  auto boots_text = Meta(db_, "boots");
  if (!boots_text) return std::unexpected(boots_text.error());
  auto count = Count(*boots_text, db_.Path());
  if (!count) return std::unexpected(count.error());
  const std::int64_t boots = *count + 1;
  const std::string now = FormatRfc3339(at);
  if (auto first = Meta(db_, "first_started_at"); !first) {
    return std::unexpected(first.error());
  } else if (first->empty()) {
    if (auto r = SetMeta("first_started_at", now); !r) return std::unexpected(r.error());
  }
  for (const auto& [k, v] :
       {std::pair<std::string_view, std::string>{"boots", std::to_string(boots)},
        {"last_started_at", now},
        {"last_version", std::string(version)}}) {
    if (auto r = SetMeta(k, v); !r) return std::unexpected(r.error());
  }
  if (auto r = tx->Commit(); !r) return std::unexpected(r.error());
  if (auto r = RecordEvent("start", "version=" + std::string(version), at); !r)
    return std::unexpected(r.error());
  return boots;
}

Result<void> StateStore::RecordEvent(std::string_view kind, std::string_view detail, WallTime at) {
  auto stmt = db_.Prepare("INSERT INTO events (at, kind, detail) VALUES (?1, ?2, ?3)");
  if (!stmt) return std::unexpected(stmt.error());
  stmt->Bind(1, FormatRfc3339(at)).Bind(2, kind).Bind(3, detail);
  if (auto r = stmt->Run(); !r) return r;
  auto trim = db_.Prepare("DELETE FROM events WHERE id <= ?1");
  if (!trim) return std::unexpected(trim.error());
  trim->Bind(1, db_.LastInsertRowid() - static_cast<std::int64_t>(kKeptEvents));
  return trim->Run();
}

Result<StateSummary> ReadState(const std::string& state_dir, std::size_t max_events) {
  const std::string path = StatePath(state_dir);
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    return Fail(ErrorCode::not_found,
                path + " does not exist yet; the agent creates it when it loads");
  }
  sqlite::OpenOptions options;
  options.create = false;
  options.read_only = true;
  auto db = sqlite::Db::Open(path, options);
  if (!db) return std::unexpected(db.error());
  StateSummary out;
  auto boots = Meta(*db, "boots");
  if (!boots) return std::unexpected(boots.error());
  auto count = Count(*boots, path);
  if (!count) return std::unexpected(count.error());
  out.boots = *count;
  for (auto [key, field] : {std::pair{"first_started_at", &out.first_started_at},
                            {"last_started_at", &out.last_started_at},
                            {"last_version", &out.last_version}}) {
    auto v = Meta(*db, key);
    if (!v) return std::unexpected(v.error());
    *field = *v;
  }
  auto stmt = db->Prepare("SELECT id, at, kind, detail FROM events ORDER BY id DESC LIMIT ?1");
  if (!stmt) return std::unexpected(stmt.error());
  stmt->Bind(1, static_cast<std::int64_t>(max_events));
  for (;;) {
    auto row = stmt->Step();
    if (!row) return std::unexpected(row.error());
    if (!*row) break;
    out.events.push_back({stmt->Int(0), stmt->Text(1), stmt->Text(2), stmt->Text(3)});
  }
  return out;
}

}  // namespace steward::agent
