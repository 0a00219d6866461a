#include "updater/state_db.hpp"

#include <sqlite3.h>
#include <sys/stat.h>

#include <algorithm>
#include <array>

#include "common/files.hpp"

namespace steward::updater {

namespace {

constexpr std::string_view kMigration1 = R"sql(
CREATE TABLE component (
  name TEXT PRIMARY KEY,
  desired TEXT,
  stop_intent INTEGER NOT NULL DEFAULT 0,
  pid INTEGER NOT NULL DEFAULT 0,
  restarts INTEGER NOT NULL DEFAULT 0,
  consecutive_failures INTEGER NOT NULL DEFAULT 0,
  streak_start_ms INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE exit_history (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  component TEXT NOT NULL,
  at_ms INTEGER NOT NULL,
  kind TEXT NOT NULL,
  code INTEGER,
  signal INTEGER,
  core_dumped INTEGER NOT NULL DEFAULT 0,
  oom INTEGER NOT NULL DEFAULT 0,
  pid INTEGER NOT NULL,
  runtime_ms INTEGER NOT NULL,
  failure INTEGER NOT NULL
);
CREATE INDEX exit_history_by_component ON exit_history(component, at_ms);
)sql";

// Update transactions (one row per attempt; docs/updates.md), versions marked bad, the trust
// floor per component and channel, and small settings (node identity, learned controllers).
constexpr std::string_view kMigration2 = R"sql(
CREATE TABLE txn (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  component TEXT NOT NULL,
  channel TEXT NOT NULL,
  from_version TEXT NOT NULL,
  from_dir TEXT NOT NULL,
  prev_dir TEXT NOT NULL,
  to_version TEXT NOT NULL,
  to_dir TEXT NOT NULL,
  manifest BLOB NOT NULL,
  signatures TEXT NOT NULL,
  state TEXT NOT NULL,
  result TEXT NOT NULL DEFAULT '',
  error_code TEXT NOT NULL DEFAULT '',
  error TEXT NOT NULL DEFAULT '',
  healthy_ms INTEGER NOT NULL DEFAULT 0,
  closed INTEGER NOT NULL DEFAULT 0,
  started_at_ms INTEGER NOT NULL,
  updated_at_ms INTEGER NOT NULL
);
CREATE INDEX txn_by_component ON txn(component, id);
CREATE TABLE bad_version (
  component TEXT NOT NULL,
  version TEXT NOT NULL,
  reason TEXT NOT NULL,
  at_ms INTEGER NOT NULL,
  PRIMARY KEY (component, version)
);
CREATE TABLE trust_floor (
  component TEXT NOT NULL,
  channel TEXT NOT NULL,
  root_version INTEGER NOT NULL,
  sequence INTEGER NOT NULL,
  manifest_sha256 TEXT NOT NULL,
  time_floor_ms INTEGER NOT NULL,
  PRIMARY KEY (component, channel)
);
CREATE TABLE setting (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
)sql";

// Self-update: how often the updater re-executed itself into a transaction's new version.
constexpr std::string_view kMigration3 = R"sql(
ALTER TABLE txn ADD COLUMN swaps INTEGER NOT NULL DEFAULT 0;
)sql";

// Supersede: the version a transaction replaced before that one ever ran (reported at check-in).
constexpr std::string_view kMigration4 = R"sql(
ALTER TABLE txn ADD COLUMN superseded TEXT NOT NULL DEFAULT '';
)sql";

// Delta updates: how a transaction's new version was downloaded (reported at check-in).
constexpr std::string_view kMigration5 = R"sql(
ALTER TABLE txn ADD COLUMN download TEXT NOT NULL DEFAULT '';
)sql";

constexpr std::array<std::string_view, 5> kMigrations = {kMigration1, kMigration2, kMigration3,
                                                         kMigration4, kMigration5};

// Rows kept per component; older exits are deleted every kTrimEvery exits (of any component),
// so a component has at most kHistoryKept + kTrimEvery rows.
constexpr int kHistoryKept = 1000;
constexpr int kTrimEvery = 100;

}  // namespace

std::int64_t ToMillis(WallTime t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}
WallTime FromMillis(std::int64_t ms) { return WallTime(std::chrono::milliseconds(ms)); }

std::span<const std::string_view> StateDb::Migrations() { return kMigrations; }

Result<StateDb> StateDb::Open(const std::string& state_dir) {
  if (auto r = files::MakeDirs(state_dir, 0755); !r) return std::unexpected(r.error());
  auto db = OpenPath(state_dir + "/state.db");
  // It holds the node's controller token: readable by the updater's user only.
  if (db) {
    for (const char* suffix : {"", "-wal", "-shm"}) {
      ::chmod((state_dir + "/state.db" + suffix).c_str(), 0600);
    }
  }
  return db;
}

Result<StateDb> StateDb::OpenPath(const std::string& path) {
  // Only the running updater uses its state: no locking system calls while a node restarts.
  sqlite::OpenOptions options;
  options.exclusive = true;
  auto db = sqlite::Db::Open(path, options);
  if (!db) return std::unexpected(db.error());
  if (auto r = db->Migrate(kMigrations); !r) return std::unexpected(r.error());
  return StateDb(std::move(*db));
}

Result<ComponentRecord> StateDb::Load(std::string_view name) {
  auto ins = db_.Prepare("INSERT INTO component(name) VALUES(?1) ON CONFLICT(name) DO NOTHING");
  if (!ins) return std::unexpected(ins.error());
  if (auto r = ins->Bind(1, name).Run(); !r) return std::unexpected(r.error());
  auto q = db_.Prepare(
      "SELECT desired, stop_intent, pid, restarts, consecutive_failures, streak_start_ms "
      "FROM component WHERE name = ?1");
  if (!q) return std::unexpected(q.error());
  q->Bind(1, name);
  auto row = q->Step();
  if (!row) return std::unexpected(row.error());
  ComponentRecord rec;
  if (*row) {
    if (!q->IsNull(0)) rec.desired = q->Text(0);
    rec.stop_intent = q->Int(1) != 0;
    rec.pid = static_cast<pid_t>(q->Int(2));
    rec.restarts = q->Int(3);
    rec.consecutive_failures = static_cast<int>(q->Int(4));
    rec.streak_start = FromMillis(q->Int(5));
  }
  return rec;
}

namespace {

template <class Bind>
Result<void> Update(sqlite::Db& db, std::string_view sql, std::string_view name, Bind bind) {
  auto ins = db.Prepare("INSERT INTO component(name) VALUES(?1) ON CONFLICT(name) DO NOTHING");
  if (!ins) return std::unexpected(ins.error());
  if (auto r = ins->Bind(1, name).Run(); !r) return std::unexpected(r.error());
  auto st = db.Prepare(sql);
  if (!st) return std::unexpected(st.error());
  st->Bind(1, name);
  bind(*st);
  return st->Run();
}

}  // namespace

Result<void> StateDb::SetDesired(std::string_view name, std::optional<std::string_view> desired) {
  return Update(db_, "UPDATE component SET desired = ?2 WHERE name = ?1", name,
                [&](sqlite::Stmt& s) {
                  if (desired) {
                    s.Bind(2, *desired);
                  } else {
                    s.Bind(2, std::nullopt);
                  }
                });
}

Result<void> StateDb::SetStopIntent(std::string_view name, bool intent) {
  return Update(db_, "UPDATE component SET stop_intent = ?2 WHERE name = ?1", name,
                [&](sqlite::Stmt& s) { s.Bind(2, std::int64_t{intent ? 1 : 0}); });
}

Result<void> StateDb::SetPid(std::string_view name, pid_t pid) {
  return Update(db_, "UPDATE component SET pid = ?2 WHERE name = ?1", name,
                [&](sqlite::Stmt& s) { s.Bind(2, std::int64_t{pid}); });
}

Result<void> StateDb::CountRestart(std::string_view name) {
  return Update(db_, "UPDATE component SET restarts = restarts + 1 WHERE name = ?1", name,
                [](sqlite::Stmt&) {});
}

Result<void> StateDb::RecordExit(std::string_view name, const ExitInfo& info, pid_t pid,
                                 Duration runtime, int consecutive_failures) {
  // Its own transaction, unless it is part of a Batch already.
  std::optional<sqlite::Transaction> tx;
  if (sqlite3_get_autocommit(db_.Raw()) != 0) {
    auto t = sqlite::Transaction::Begin(db_);
    if (!t) return std::unexpected(t.error());
    tx.emplace(std::move(*t));
  }
  auto ins = db_.Prepare(
      "INSERT INTO exit_history(component, at_ms, kind, code, signal, core_dumped, oom, pid, "
      "runtime_ms, failure) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)");
  if (!ins) return std::unexpected(ins.error());
  ins->Bind(1, name).Bind(2, ToMillis(info.at)).Bind(3, ExitKindName(info.kind));
  if (info.code) {
    ins->Bind(4, std::int64_t{*info.code});
  } else {
    ins->Bind(4, std::nullopt);
  }
  if (info.signal) {
    ins->Bind(5, std::int64_t{*info.signal});
  } else {
    ins->Bind(5, std::nullopt);
  }
  ins->Bind(6, std::int64_t{info.core_dumped ? 1 : 0})
      .Bind(7, std::int64_t{info.oom ? 1 : 0})
      .Bind(8, std::int64_t{pid})
      .Bind(9, std::chrono::duration_cast<std::chrono::milliseconds>(runtime).count())
      .Bind(10, std::int64_t{IsFailure(info.kind) ? 1 : 0});
  if (auto r = ins->Run(); !r) return r;
  if (db_.LastInsertRowid() % kTrimEvery == 0) {
    // Every component's rows beyond its newest kHistoryKept; now and then, not at each exit.
    auto trim = db_.Prepare(
        "DELETE FROM exit_history WHERE id IN (SELECT id FROM (SELECT id, row_number() OVER "
        "(PARTITION BY component ORDER BY id DESC) AS n FROM exit_history) WHERE n > ?1)");
    if (!trim) return std::unexpected(trim.error());
    if (auto r = trim->Bind(1, std::int64_t{kHistoryKept}).Run(); !r) return r;
  }
  auto upd = Update(db_,
                    "UPDATE component SET pid = 0, stop_intent = 0, consecutive_failures = ?2 "
                    "WHERE name = ?1",
                    name, [&](sqlite::Stmt& s) { s.Bind(2, std::int64_t{consecutive_failures}); });
  if (!upd) return upd;
  return tx ? tx->Commit() : Result<void>{};
}

StateDb::Batch::Batch(StateDb& db, Sync sync) : db_(&db) {
  if (sqlite3_get_autocommit(db_->db_.Raw()) == 0) return;
  // SQLite takes the safety level only outside a transaction.
  deferred_ = sync == Sync::deferred && db_->db_.Exec("PRAGMA synchronous=NORMAL").has_value();
  open_ = db_->db_.Exec("BEGIN IMMEDIATE").has_value();
  if (!open_) (void)Restore();
}

StateDb::Batch::~Batch() { (void)Commit(); }

Result<void> StateDb::Batch::Commit() {
  if (!open_) return {};
  open_ = false;
  auto r = db_->db_.Exec("COMMIT");
  if (!r) (void)db_->db_.Exec("ROLLBACK");
  auto restored = Restore();
  return r ? restored : r;
}

Result<void> StateDb::Batch::Restore() {
  if (!deferred_) return {};
  deferred_ = false;
  auto r = db_->db_.Exec("PRAGMA synchronous=FULL");
  if (!r) {
    return std::unexpected(r.error().Wrap(
        "restoring synchronous=FULL after a deferred commit (until it is, commits are not "
        "fsync'd; restart the updater)"));
  }
  return r;
}

Result<void> StateDb::ResetStreak(std::string_view name, WallTime at) {
  return Update(
      db_, "UPDATE component SET consecutive_failures = 0, streak_start_ms = ?2 WHERE name = ?1",
      name, [&](sqlite::Stmt& s) { s.Bind(2, ToMillis(at)); });
}

Result<std::vector<WallTime>> StateDb::RecentFailures(std::string_view name, WallTime since,
                                                      std::int64_t limit) {
  auto q = db_.Prepare(
      "SELECT at_ms FROM exit_history WHERE component = ?1 AND failure = 1 AND at_ms >= ?2 "
      "ORDER BY at_ms DESC, id DESC LIMIT ?3");
  if (!q) return std::unexpected(q.error());
  q->Bind(1, name).Bind(2, ToMillis(since)).Bind(3, limit);
  std::vector<WallTime> out;
  for (;;) {
    auto row = q->Step();
    if (!row) return std::unexpected(row.error());
    if (!*row) break;
    out.push_back(FromMillis(q->Int(0)));
  }
  std::reverse(out.begin(), out.end());
  return out;
}

Result<std::optional<ExitInfo>> StateDb::LastExit(std::string_view name) {
  auto q = db_.Prepare(
      "SELECT at_ms, kind, code, signal, core_dumped, oom FROM exit_history WHERE component = ?1 "
      "ORDER BY id DESC LIMIT 1");
  if (!q) return std::unexpected(q.error());
  q->Bind(1, name);
  auto row = q->Step();
  if (!row) return std::unexpected(row.error());
  if (!*row) return std::optional<ExitInfo>{};
  ExitInfo info;
  info.at = FromMillis(q->Int(0));
  const auto kind = ExitKindFromName(q->Text(1));
  if (!kind) {
    return Fail(ErrorCode::db_corrupt, "exit_history of '" + std::string(name) +
                                           "' holds an unknown exit kind '" + q->Text(1) + "'");
  }
  info.kind = *kind;
  if (!q->IsNull(2)) info.code = static_cast<int>(q->Int(2));
  if (!q->IsNull(3)) info.signal = static_cast<int>(q->Int(3));
  info.core_dumped = q->Int(4) != 0;
  info.oom = q->Int(5) != 0;
  return std::optional<ExitInfo>(info);
}

Result<std::optional<std::string>> StateDb::GetSetting(std::string_view key) {
  auto q = db_.Prepare("SELECT value FROM setting WHERE key = ?1");
  if (!q) return std::unexpected(q.error());
  q->Bind(1, key);
  auto row = q->Step();
  if (!row) return std::unexpected(row.error());
  if (!*row) return std::optional<std::string>{};
  return std::optional<std::string>(q->Text(0));
}

Result<void> StateDb::SetSetting(std::string_view key, std::string_view value) {
  auto q = db_.Prepare(
      "INSERT INTO setting(key, value) VALUES(?1, ?2) ON CONFLICT(key) DO UPDATE SET value = ?2");
  if (!q) return std::unexpected(q.error());
  return q->Bind(1, key).Bind(2, value).Run();
}

}  // namespace steward::updater
