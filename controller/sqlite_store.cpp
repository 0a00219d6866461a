// The SQLite backend of Store. One connection, WAL, synchronous=FULL. Node writes are the hot
// path (every check-in): they go to the WriteQueue (store_backend.hpp), newest write per node
// wins, which commits them in one transaction every 100 ms, so many check-ins share one fsync.
// Offers made by rollout waves (also on the check-in path) share that queue. Releases, rollouts,
// update results, flags and heartbeats are written at once.
#include <map>
#include <mutex>

#include "common/sqlite.hpp"
#include "controller/store_backend.hpp"

namespace steward::controller {
namespace {

constexpr std::string_view kMigrations[] = {
    R"sql(
CREATE TABLE nodes (
  id TEXT PRIMARY KEY,
  token_hash TEXT NOT NULL,
  hostname TEXT NOT NULL,
  machine_id TEXT NOT NULL,
  platform TEXT NOT NULL,
  enrolled_at INTEGER NOT NULL,
  last_seen INTEGER NOT NULL,
  report TEXT NOT NULL
);
CREATE TABLE releases (
  component TEXT NOT NULL,
  channel TEXT NOT NULL,
  version TEXT NOT NULL,
  sequence INTEGER NOT NULL,
  root_version INTEGER NOT NULL,
  manifest BLOB NOT NULL,
  signatures TEXT NOT NULL,
  manifest_sha256 TEXT NOT NULL,
  published_at INTEGER NOT NULL,
  expires INTEGER NOT NULL,
  PRIMARY KEY (component, channel, version),
  UNIQUE (component, channel, sequence)
);
CREATE TABLE rollouts (
  component TEXT NOT NULL,
  channel TEXT NOT NULL,
  version TEXT NOT NULL,
  minimum TEXT NOT NULL,
  percent REAL NOT NULL,
  paused INTEGER NOT NULL,
  halt_reason TEXT NOT NULL,
  seed TEXT NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (component, channel)
);
CREATE TABLE update_results (
  seed TEXT NOT NULL,
  node_id TEXT NOT NULL,
  component TEXT NOT NULL,
  from_version TEXT NOT NULL,
  to_version TEXT NOT NULL,
  result TEXT NOT NULL,
  error_code TEXT NOT NULL,
  at INTEGER NOT NULL,
  PRIMARY KEY (seed, node_id, component)
);
CREATE TABLE members (
  url TEXT PRIMARY KEY,
  heartbeat INTEGER NOT NULL
);
)sql",
    R"sql(
CREATE TABLE flags (
  channel TEXT NOT NULL,
  name TEXT NOT NULL,
  value TEXT NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (channel, name)
);
)sql",
    // Replicas sharing the file see each other's changes by this number (Store::Generation).
    R"sql(
CREATE TABLE generation (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  value INTEGER NOT NULL
);
INSERT INTO generation (id, value) VALUES (1, 0);
CREATE TRIGGER releases_generation AFTER INSERT ON releases
  BEGIN UPDATE generation SET value = value + 1; END;
CREATE TRIGGER rollouts_insert_generation AFTER INSERT ON rollouts
  BEGIN UPDATE generation SET value = value + 1; END;
CREATE TRIGGER rollouts_update_generation AFTER UPDATE ON rollouts
  BEGIN UPDATE generation SET value = value + 1; END;
CREATE TRIGGER flags_insert_generation AFTER INSERT ON flags
  BEGIN UPDATE generation SET value = value + 1; END;
CREATE TRIGGER flags_update_generation AFTER UPDATE ON flags
  BEGIN UPDATE generation SET value = value + 1; END;
CREATE TRIGGER flags_delete_generation AFTER DELETE ON flags
  BEGIN UPDATE generation SET value = value + 1; END;
)sql",
    // Waves: the operator's pacing and where each rollout is, and who was offered when.
    R"sql(
ALTER TABLE rollouts ADD COLUMN canary INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollouts ADD COLUMN max_in_flight INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollouts ADD COLUMN bake_s INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollouts ADD COLUMN immediate INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollouts ADD COLUMN wave INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollouts ADD COLUMN wave_started_at INTEGER NOT NULL DEFAULT 0;
CREATE TABLE rollout_offers (
  seed TEXT NOT NULL,
  component TEXT NOT NULL,
  node_id TEXT NOT NULL,
  wave INTEGER NOT NULL,
  offered_at INTEGER NOT NULL,
  PRIMARY KEY (seed, component, node_id)
);
)sql",
    // A node's update history (GET /v1/admin/nodes/{id}) without a scan of every result.
    R"sql(
CREATE INDEX update_results_by_node ON update_results (node_id, at);
)sql",
    // Maintenance windows per channel: their texts joined by newlines (a text has none).
    R"sql(
CREATE TABLE windows (
  channel TEXT PRIMARY KEY,
  windows TEXT NOT NULL,
  max_wait_s INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE TRIGGER windows_insert_generation AFTER INSERT ON windows
  BEGIN UPDATE generation SET value = value + 1; END;
CREATE TRIGGER windows_update_generation AFTER UPDATE ON windows
  BEGIN UPDATE generation SET value = value + 1; END;
CREATE TRIGGER windows_delete_generation AFTER DELETE ON windows
  BEGIN UPDATE generation SET value = value + 1; END;
)sql",
};

NodeRecord ReadNode(const sqlite::Stmt& s) {
  return NodeRecord{s.Text(0), s.Text(1), s.Text(2), s.Text(3),
                    s.Text(4), s.Int(5),  s.Int(6),  s.Text(7)};
}

constexpr std::string_view kNodeColumns =
    "id, token_hash, hostname, machine_id, platform, enrolled_at, last_seen, report";

class SqliteStore final : public Store {
 public:
  explicit SqliteStore(sqlite::Db db) : db_(std::move(db)) {}

  Result<void> SaveNode(const NodeRecord& node) override {
    queue_.SaveNode(node);
    return {};
  }

  Result<std::vector<NodeRecord>> ListNodes() override {
    if (auto r = Flush(); !r) return std::unexpected(r.error());
    std::lock_guard lock(db_mu_);
    auto s = db_.Prepare("SELECT " + std::string(kNodeColumns) + " FROM nodes ORDER BY id");
    if (!s) return std::unexpected(s.error());
    std::vector<NodeRecord> out;
    while (true) {
      auto row = s->Step();
      if (!row) return std::unexpected(row.error());
      if (!*row) break;
      out.push_back(ReadNode(*s));
    }
    return out;
  }

  Result<std::optional<NodeRecord>> GetNode(const std::string& id) override {
    if (auto queued = queue_.Pending(id)) return queued;
    std::lock_guard lock(db_mu_);
    auto s = db_.Prepare("SELECT " + std::string(kNodeColumns) + " FROM nodes WHERE id = ?1");
    if (!s) return std::unexpected(s.error());
    s->Bind(1, id);
    auto row = s->Step();
    if (!row) return std::unexpected(row.error());
    if (!*row) return std::optional<NodeRecord>{};
    return std::optional<NodeRecord>{ReadNode(*s)};
  }

  Result<void> InsertRelease(const ReleaseRecord& r) override {
    std::lock_guard lock(db_mu_);
    auto s = db_.Prepare(
        "INSERT INTO releases (component, channel, version, sequence, root_version, manifest, "
        "signatures, manifest_sha256, published_at, expires) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)");
    if (!s) return std::unexpected(s.error());
    s->Bind(1, r.component)
        .Bind(2, r.channel)
        .Bind(3, r.version)
        .Bind(4, static_cast<std::int64_t>(r.sequence))
        .Bind(5, static_cast<std::int64_t>(r.root_version))
        .Bind(6, r.manifest)
        .Bind(7, JoinList(r.signatures, kSigSeparator))
        .Bind(8, r.manifest_sha256)
        .Bind(9, r.published_at)
        .Bind(10, r.expires);
    auto run = s->Run();
    if (!run && run.error().code == ErrorCode::db_constraint) {
      return Fail(ErrorCode::already_exists,
                  "a release of " + r.component + "/" + r.channel + " with version " + r.version +
                      " or sequence " + std::to_string(r.sequence) + " is already published");
    }
    return run;
  }

  Result<std::vector<ReleaseRecord>> ListReleases() override {
    std::lock_guard lock(db_mu_);
    auto s = db_.Prepare(
        "SELECT component, channel, version, sequence, root_version, manifest, signatures, "
        "manifest_sha256, published_at, expires FROM releases "
        "ORDER BY component, channel, sequence");
    if (!s) return std::unexpected(s.error());
    std::vector<ReleaseRecord> out;
    while (true) {
      auto row = s->Step();
      if (!row) return std::unexpected(row.error());
      if (!*row) break;
      out.push_back(
          ReleaseRecord{s->Text(0), s->Text(1), s->Text(2), static_cast<std::uint64_t>(s->Int(3)),
                        static_cast<std::uint64_t>(s->Int(4)), s->Text(5),
                        SplitList(s->Text(6), kSigSeparator), s->Text(7), s->Int(8), s->Int(9)});
    }
    return out;
  }

  Result<void> PutRollout(const RolloutRecord& r) override {
    std::lock_guard lock(db_mu_);
    auto s = db_.Prepare(
        "INSERT OR REPLACE INTO rollouts (component, channel, version, minimum, percent, paused, "
        "halt_reason, seed, updated_at, canary, max_in_flight, bake_s, immediate, wave, "
        "wave_started_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, "
        "?15)");
    if (!s) return std::unexpected(s.error());
    s->Bind(1, r.component)
        .Bind(2, r.channel)
        .Bind(3, r.version)
        .Bind(4, r.minimum)
        .Bind(5, r.percent)
        .Bind(6, std::int64_t{r.paused ? 1 : 0})
        .Bind(7, r.halt_reason)
        .Bind(8, r.seed)
        .Bind(9, r.updated_at)
        .Bind(10, r.waves.canary)
        .Bind(11, r.waves.max_in_flight)
        .Bind(12, r.waves.bake_s)
        .Bind(13, std::int64_t{r.waves.immediate ? 1 : 0})
        .Bind(14, r.wave)
        .Bind(15, r.wave_started_at);
    return s->Run();
  }

  Result<bool> HaltRollout(const std::string& component, const std::string& channel,
                           const std::string& seed, const std::string& reason,
                           std::int64_t now) override {
    std::lock_guard lock(db_mu_);
    auto s = db_.Prepare(
        "UPDATE rollouts SET paused = 1, halt_reason = ?4, updated_at = ?5 "
        "WHERE component = ?1 AND channel = ?2 AND seed = ?3 AND paused = 0");
    if (!s) return std::unexpected(s.error());
    s->Bind(1, component).Bind(2, channel).Bind(3, seed).Bind(4, reason).Bind(5, now);
    if (auto r = s->Run(); !r) return std::unexpected(r.error());
    return db_.Changes() > 0;
  }

  Result<bool> AdvanceWave(const std::string& component, const std::string& channel,
                           const std::string& seed, std::int64_t wave,
                           std::int64_t started_at) override {
    std::lock_guard lock(db_mu_);
    auto s = db_.Prepare(
        "UPDATE rollouts SET wave = ?4, wave_started_at = ?5 "
        "WHERE component = ?1 AND channel = ?2 AND seed = ?3 AND paused = 0 AND wave <= ?4");
    if (!s) return std::unexpected(s.error());
    s->Bind(1, component).Bind(2, channel).Bind(3, seed).Bind(4, wave).Bind(5, started_at);
    if (auto r = s->Run(); !r) return std::unexpected(r.error());
    return db_.Changes() > 0;
  }

  Result<std::vector<RolloutRecord>> ListRollouts() override {
    std::lock_guard lock(db_mu_);
    auto s = db_.Prepare(
        "SELECT component, channel, version, minimum, percent, paused, halt_reason, seed, "
        "updated_at, canary, max_in_flight, bake_s, immediate, wave, wave_started_at "
        "FROM rollouts ORDER BY component, channel");
    if (!s) return std::unexpected(s.error());
    std::vector<RolloutRecord> out;
    while (true) {
      auto row = s->Step();
      if (!row) return std::unexpected(row.error());
      if (!*row) break;
      out.push_back(RolloutRecord{s->Text(0),
                                  s->Text(1),
                                  s->Text(2),
                                  s->Text(3),
                                  s->Double(4),
                                  s->Int(5) != 0,
                                  s->Text(6),
                                  s->Text(7),
                                  s->Int(8),
                                  {s->Int(9), s->Int(10), s->Int(11), s->Int(12) != 0},
                                  s->Int(13),
                                  s->Int(14)});
    }
    return out;
  }

  Result<bool> RecordUpdateResult(const UpdateRecord& u) override {
    std::lock_guard lock(db_mu_);
    auto s = db_.Prepare(
        "INSERT OR IGNORE INTO update_results (seed, node_id, component, from_version, "
        "to_version, result, error_code, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
    if (!s) return std::unexpected(s.error());
    s->Bind(1, u.seed)
        .Bind(2, u.node_id)
        .Bind(3, u.component)
        .Bind(4, u.update.from)
        .Bind(5, u.update.to)
        .Bind(6, ResultName(u.update.result))
        .Bind(7, u.update.error_code)
        .Bind(8, u.at);
    if (auto r = s->Run(); !r) return std::unexpected(r.error());
    return db_.Changes() > 0;
  }

  Result<UpdateCounts> CountUpdateResults(const std::string& seed,
                                          const std::string& component) override {
    std::lock_guard lock(db_mu_);
    auto s = db_.Prepare(
        "SELECT COUNT(*), COALESCE(SUM(result = ?3), 0), COALESCE(SUM(result = ?4), 0) "
        "FROM update_results WHERE seed = ?1 AND component = ?2");
    if (!s) return std::unexpected(s.error());
    s->Bind(1, seed)
        .Bind(2, component)
        .Bind(3, ResultName(UpdateResult::rolled_back))
        .Bind(4, ResultName(UpdateResult::environment));
    auto row = s->Step();
    if (!row) return std::unexpected(row.error());
    return UpdateCounts{s->Int(0), s->Int(1), s->Int(2)};
  }

  Result<std::vector<UpdateRecord>> ListUpdateResults(const std::string& seed,
                                                      const std::string& component) override {
    std::lock_guard lock(db_mu_);
    auto s = db_.Prepare(
        "SELECT node_id, from_version, to_version, result, error_code, at FROM update_results "
        "WHERE seed = ?1 AND component = ?2");
    if (!s) return std::unexpected(s.error());
    s->Bind(1, seed).Bind(2, component);
    std::vector<UpdateRecord> out;
    while (true) {
      auto row = s->Step();
      if (!row) return std::unexpected(row.error());
      if (!*row) break;
      auto result = ResultFromName(s->Text(3));
      if (!result) continue;  // a name this version does not know counts for nothing
      out.push_back(UpdateRecord{s->Text(0), component, seed,
                                 LastUpdate{s->Text(1), s->Text(2), *result, s->Text(4)},
                                 s->Int(5)});
    }
    return out;
  }

  Result<void> SaveOffer(const OfferRecord& offer) override {
    queue_.SaveOffer(offer);
    return {};
  }

  Result<std::vector<OfferRecord>> ListOffers(const std::string& seed,
                                              const std::string& component) override {
    if (auto r = Flush(); !r) return std::unexpected(r.error());
    std::lock_guard lock(db_mu_);
    auto s = db_.Prepare(
        "SELECT node_id, wave, offered_at FROM rollout_offers WHERE seed = ?1 AND component = ?2 "
        "ORDER BY offered_at, rowid");
    if (!s) return std::unexpected(s.error());
    s->Bind(1, seed).Bind(2, component);
    std::vector<OfferRecord> out;
    while (true) {
      auto row = s->Step();
      if (!row) return std::unexpected(row.error());
      if (!*row) break;
      out.push_back(OfferRecord{seed, component, s->Text(0), s->Int(1), s->Int(2)});
    }
    return out;
  }

  Result<std::vector<UpdateRecord>> ListNodeUpdates(const std::string& node_id,
                                                    std::size_t limit) override {
    std::lock_guard lock(db_mu_);
    auto s = db_.Prepare(
        "SELECT seed, component, from_version, to_version, result, error_code, at "
        "FROM update_results WHERE node_id = ?1 ORDER BY at DESC, component LIMIT ?2");
    if (!s) return std::unexpected(s.error());
    s->Bind(1, node_id).Bind(2, static_cast<std::int64_t>(limit));
    std::vector<UpdateRecord> out;
    while (true) {
      auto row = s->Step();
      if (!row) return std::unexpected(row.error());
      if (!*row) break;
      auto result = ResultFromName(s->Text(4));
      out.push_back(UpdateRecord{
          node_id, s->Text(1), s->Text(0),
          LastUpdate{s->Text(2), s->Text(3), result ? *result : std::nullopt, s->Text(5)},
          s->Int(6)});
    }
    return out;
  }

  Result<void> UpdateFlags(const std::vector<FlagRecord>& set,
                           const std::vector<FlagRecord>& unset) override {
    std::lock_guard lock(db_mu_);
    auto tx = sqlite::Transaction::Begin(db_);
    if (!tx) return std::unexpected(tx.error());
    auto put = db_.Prepare(
        "INSERT INTO flags (channel, name, value, updated_at) VALUES (?1, ?2, ?3, ?4) "
        "ON CONFLICT(channel, name) DO UPDATE SET value = ?3, updated_at = ?4");
    if (!put) return std::unexpected(put.error());
    for (const auto& f : set) {
      put->Reset();
      put->Bind(1, f.channel).Bind(2, f.name).Bind(3, f.value).Bind(4, f.updated_at);
      if (auto r = put->Run(); !r) return r;
    }
    auto del = db_.Prepare("DELETE FROM flags WHERE channel = ?1 AND name = ?2");
    if (!del) return std::unexpected(del.error());
    for (const auto& f : unset) {
      del->Reset();
      del->Bind(1, f.channel).Bind(2, f.name);
      if (auto r = del->Run(); !r) return r;
    }
    return tx->Commit();
  }

  Result<void> PutWindows(const WindowsRecord& w) override {
    std::lock_guard lock(db_mu_);
    auto s = w.windows.empty()
                 ? db_.Prepare("DELETE FROM windows WHERE channel = ?1")
                 : db_.Prepare(
                       "INSERT INTO windows (channel, windows, max_wait_s, updated_at) "
                       "VALUES (?1, ?2, ?3, ?4) ON CONFLICT(channel) DO UPDATE SET "
                       "windows = ?2, max_wait_s = ?3, updated_at = ?4");
    if (!s) return std::unexpected(s.error());
    s->Bind(1, w.channel);
    if (!w.windows.empty()) {
      s->Bind(2, JoinList(w.windows, kLineSeparator)).Bind(3, w.max_wait_s).Bind(4, w.updated_at);
    }
    return s->Run();
  }

  Result<std::vector<WindowsRecord>> ListWindows() override {
    std::lock_guard lock(db_mu_);
    auto s = db_.Prepare(
        "SELECT channel, windows, max_wait_s, updated_at FROM windows ORDER BY channel");
    if (!s) return std::unexpected(s.error());
    std::vector<WindowsRecord> out;
    while (true) {
      auto row = s->Step();
      if (!row) return std::unexpected(row.error());
      if (!*row) break;
      out.push_back(
          WindowsRecord{s->Text(0), SplitList(s->Text(1), kLineSeparator), s->Int(2), s->Int(3)});
    }
    return out;
  }

  Result<std::vector<FlagRecord>> ListFlags() override {
    std::lock_guard lock(db_mu_);
    auto s =
        db_.Prepare("SELECT channel, name, value, updated_at FROM flags ORDER BY channel, name");
    if (!s) return std::unexpected(s.error());
    std::vector<FlagRecord> out;
    while (true) {
      auto row = s->Step();
      if (!row) return std::unexpected(row.error());
      if (!*row) break;
      out.push_back(FlagRecord{s->Text(0), s->Text(1), s->Text(2), s->Int(3)});
    }
    return out;
  }

  Result<void> Heartbeat(const std::string& url, std::int64_t now) override {
    std::lock_guard lock(db_mu_);
    auto s = db_.Prepare("INSERT OR REPLACE INTO members (url, heartbeat) VALUES (?1, ?2)");
    if (!s) return std::unexpected(s.error());
    s->Bind(1, url).Bind(2, now);
    return s->Run();
  }

  Result<std::vector<Member>> ListMembers(std::int64_t since) override {
    std::lock_guard lock(db_mu_);
    auto s = db_.Prepare("SELECT url, heartbeat FROM members WHERE heartbeat >= ?1 ORDER BY url");
    if (!s) return std::unexpected(s.error());
    s->Bind(1, since);
    std::vector<Member> out;
    while (true) {
      auto row = s->Step();
      if (!row) return std::unexpected(row.error());
      if (!*row) break;
      out.push_back(Member{s->Text(0), s->Int(1)});
    }
    return out;
  }

  Result<std::int64_t> Generation() override {
    std::lock_guard lock(db_mu_);
    auto s = db_.Prepare("SELECT value FROM generation WHERE id = 1");
    if (!s) return std::unexpected(s.error());
    auto row = s->Step();
    if (!row) return std::unexpected(row.error());
    if (!*row) return Fail(ErrorCode::db_corrupt, "the generation row is missing");
    return s->Int(0);
  }

  Result<void> Ping() override {
    std::lock_guard lock(db_mu_);
    auto s = db_.Prepare("SELECT COUNT(*) FROM rollouts");
    if (!s) return std::unexpected(s.error());
    auto row = s->Step();
    if (!row) return std::unexpected(row.error());
    return {};
  }

  Result<void> Flush() override { return queue_.Flush(); }

 private:
  Result<void> WriteBatch(const std::map<std::string, NodeRecord>& batch,
                          const std::vector<OfferRecord>& offers) {
    std::lock_guard lock(db_mu_);
    auto tx = sqlite::Transaction::Begin(db_);
    if (!tx) return std::unexpected(tx.error());
    // An upsert updates the row in place; REPLACE would delete and insert it again.
    auto s = db_.Prepare("INSERT INTO nodes (" + std::string(kNodeColumns) +
                         ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT(id) DO UPDATE SET "
                         "token_hash = ?2, hostname = ?3, machine_id = ?4, platform = ?5, "
                         "enrolled_at = ?6, last_seen = ?7, report = ?8");
    if (!s) return std::unexpected(s.error());
    for (const auto& [id, n] : batch) {
      s->Reset();
      s->Bind(1, n.id)
          .Bind(2, n.token_hash)
          .Bind(3, n.hostname)
          .Bind(4, n.machine_id)
          .Bind(5, n.platform)
          .Bind(6, n.enrolled_at)
          .Bind(7, n.last_seen)
          .Bind(8, n.report);
      if (auto r = s->Run(); !r) return r;
    }
    if (!offers.empty()) {
      auto o = db_.Prepare(
          "INSERT OR IGNORE INTO rollout_offers (seed, component, node_id, wave, offered_at) "
          "VALUES (?1, ?2, ?3, ?4, ?5)");
      if (!o) return std::unexpected(o.error());
      for (const auto& x : offers) {
        o->Reset();
        o->Bind(1, x.seed)
            .Bind(2, x.component)
            .Bind(3, x.node_id)
            .Bind(4, x.wave)
            .Bind(5, x.offered_at);
        if (auto r = o->Run(); !r) return r;
      }
    }
    return tx->Commit();
  }

  sqlite::Db db_;
  std::mutex db_mu_;
  // Last: stopped (and its queue written) before the connection closes.
  WriteQueue queue_{
      [this](const auto& nodes, const auto& offers) { return WriteBatch(nodes, offers); }};
};

}  // namespace

Result<std::unique_ptr<Store>> OpenSqliteStore(const std::string& path) {
  auto db = sqlite::Db::Open(path);
  if (!db) return std::unexpected(db.error());
  if (auto r = db->Migrate(kMigrations); !r) return std::unexpected(r.error());
  return std::unique_ptr<Store>(new SqliteStore(std::move(*db)));
}

}  // namespace steward::controller
