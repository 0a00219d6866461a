// The PostgreSQL backend of Store, for several controllers sharing one database. The schema is
// SQLite's in PostgreSQL types, migrated by version under an advisory lock so replicas starting
// together migrate once. Statements are prepared once per connection.
//
// One connection, guarded by a mutex, serves every call: the controller answers check-ins from
// memory (controller/service.hpp), so the database sees only the batched node and offer writes
// (one multi-row upsert per 100 ms, through the WriteQueue), update results, admin writes, the
// heartbeat and the generation poll; none waits on another long. A connection that broke is
// connected again by the next call, so Ping (/readyz) fails while the database is away and
// recovers with it; queued node writes wait in memory meanwhile.
#include <charconv>
#include <mutex>

#include "common/hash.hpp"
#include "common/pg.hpp"
#include "controller/pg_schema.hpp"
#include "controller/store_backend.hpp"

namespace steward::controller {
namespace {

using pg::Param;

// Any constant: the advisory lock replicas take to migrate one at a time.
constexpr std::string_view kMigrationLock = "7265746177617264";

Param Int(std::int64_t v) { return std::to_string(v); }
Param Bool(bool v) { return v ? "true" : "false"; }

Param Double(double v) {
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);  // shortest text that reads back
  return std::string(buf, end);
}

double ReadDouble(const std::string& text) {
  double out = 0;
  std::from_chars(text.data(), text.data() + text.size(), out);
  return out;
}

// bytea's input form: \x and hex.
Param Bytes(std::string_view bytes) {
  return "\\x" +
         HexEncode(std::span(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()));
}

// A one-dimensional array's input form: {"a","b\"c"} (each element quoted, " and \ escaped).
Param Array(const std::vector<std::string>& items) {
  std::string out = "{";
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i) out += ',';
    out += '"';
    for (const char c : items[i]) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  return out + "}";
}

// libpq passes text parameters as C strings: a NUL byte would cut the value short, so a value
// holding one is refused, never stored cut.
constexpr std::string_view kNulRefused = "a NUL byte, which PostgreSQL text cannot hold";

Result<void> NoNul(std::string_view what, std::span<const Param> params) {
  for (const auto& p : params) {
    if (p && p->find('\0') != std::string::npos) {
      return Fail(ErrorCode::bad_request, std::string(what) + ": " + std::string(kNulRefused));
    }
  }
  return {};
}

// A node's record is checked when it is queued, so one bad record cannot hold up its batch.
Result<void> NoNul(const NodeRecord& n) {
  const Param fields[] = {n.id, n.token_hash, n.hostname, n.machine_id, n.platform, n.report};
  return NoNul("node " + n.id.substr(0, n.id.find('\0')), fields);
}

NodeRecord ReadNode(const pg::Rows& rows, int i) {
  return NodeRecord{rows.Text(i, 0), rows.Text(i, 1), rows.Text(i, 2), rows.Text(i, 3),
                    rows.Text(i, 4), rows.Int(i, 5),  rows.Int(i, 6),  rows.Text(i, 7)};
}

constexpr std::string_view kNodeColumns =
    "id, token_hash, hostname, machine_id, platform, enrolled_at, last_seen, report";

class PgStore final : public Store {
 public:
  explicit PgStore(pg::Conn conn) : conn_(std::move(conn)) {}

  Result<void> SaveNode(const NodeRecord& node) override {
    if (auto r = NoNul(node); !r) return r;
    queue_.SaveNode(node);
    return {};
  }

  Result<std::vector<NodeRecord>> ListNodes() override {
    if (auto r = Flush(); !r) return std::unexpected(r.error());
    auto rows =
        Run("list_nodes",
            "SELECT " + std::string(kNodeColumns) + " FROM nodes ORDER BY id COLLATE \"C\"", {});
    if (!rows) return std::unexpected(rows.error());
    std::vector<NodeRecord> out;
    for (int i = 0; i < rows->size(); ++i) out.push_back(ReadNode(*rows, i));
    return out;
  }

  Result<std::optional<NodeRecord>> GetNode(const std::string& id) override {
    if (auto queued = queue_.Pending(id)) return queued;
    const Param p[] = {id};
    auto rows =
        Run("get_node", "SELECT " + std::string(kNodeColumns) + " FROM nodes WHERE id = $1", p);
    if (!rows) return std::unexpected(rows.error());
    if (rows->size() == 0) return std::optional<NodeRecord>{};
    return std::optional<NodeRecord>{ReadNode(*rows, 0)};
  }

  Result<void> InsertRelease(const ReleaseRecord& r) override {
    const Param p[] = {r.component,
                       r.channel,
                       r.version,
                       Int(static_cast<std::int64_t>(r.sequence)),
                       Int(static_cast<std::int64_t>(r.root_version)),
                       Bytes(r.manifest),
                       JoinList(r.signatures, kSigSeparator),
                       r.manifest_sha256,
                       Int(r.published_at),
                       Int(r.expires)};
    auto run = Run("insert_release",
                   "INSERT INTO releases (component, channel, version, sequence, root_version, "
                   "manifest, signatures, manifest_sha256, published_at, expires) "
                   "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                   p);
    if (!run && run.error().code == ErrorCode::db_constraint) {
      return Fail(ErrorCode::already_exists,
                  "a release of " + r.component + "/" + r.channel + " with version " + r.version +
                      " or sequence " + std::to_string(r.sequence) + " is already published");
    }
    if (!run) return std::unexpected(run.error());
    return {};
  }

  Result<std::vector<ReleaseRecord>> ListReleases() override {
    auto rows = Run("list_releases",
                    "SELECT component, channel, version, sequence, root_version, "
                    "encode(manifest, 'hex'), signatures, manifest_sha256, published_at, expires "
                    "FROM releases ORDER BY component COLLATE \"C\", channel COLLATE \"C\", "
                    "sequence",
                    {});
    if (!rows) return std::unexpected(rows.error());
    std::vector<ReleaseRecord> out;
    for (int i = 0; i < rows->size(); ++i) {
      const auto manifest = HexDecode(rows->Text(i, 5));
      if (!manifest) return Fail(ErrorCode::db_corrupt, "a release's manifest does not read back");
      out.push_back(ReleaseRecord{rows->Text(i, 0), rows->Text(i, 1), rows->Text(i, 2),
                                  static_cast<std::uint64_t>(rows->Int(i, 3)),
                                  static_cast<std::uint64_t>(rows->Int(i, 4)),
                                  std::string(manifest->begin(), manifest->end()),
                                  SplitList(rows->Text(i, 6), kSigSeparator), rows->Text(i, 7),
                                  rows->Int(i, 8), rows->Int(i, 9)});
    }
    return out;
  }

  Result<void> PutRollout(const RolloutRecord& r) override {
    const Param p[] = {r.component,
                       r.channel,
                       r.version,
                       r.minimum,
                       Double(r.percent),
                       Bool(r.paused),
                       r.halt_reason,
                       r.seed,
                       Int(r.updated_at),
                       Int(r.waves.canary),
                       Int(r.waves.max_in_flight),
                       Int(r.waves.bake_s),
                       Bool(r.waves.immediate),
                       Int(r.wave),
                       Int(r.wave_started_at)};
    return Done(Run("put_rollout",
                    "INSERT INTO rollouts (component, channel, version, minimum, percent, paused, "
                    "halt_reason, seed, updated_at, canary, max_in_flight, bake_s, immediate, "
                    "wave, wave_started_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, "
                    "$12, $13, $14, $15) ON CONFLICT (component, channel) DO UPDATE SET "
                    "version = $3, minimum = $4, percent = $5, paused = $6, halt_reason = $7, "
                    "seed = $8, updated_at = $9, canary = $10, max_in_flight = $11, bake_s = $12, "
                    "immediate = $13, wave = $14, wave_started_at = $15",
                    p));
  }

  Result<bool> HaltRollout(const std::string& component, const std::string& channel,
                           const std::string& seed, const std::string& reason,
                           std::int64_t now) override {
    const Param p[] = {component, channel, seed, reason, Int(now)};
    auto rows = Run("halt_rollout",
                    "UPDATE rollouts SET paused = true, halt_reason = $4, updated_at = $5 "
                    "WHERE component = $1 AND channel = $2 AND seed = $3 AND NOT paused",
                    p);
    if (!rows) return std::unexpected(rows.error());
    return rows->Affected() > 0;
  }

  Result<bool> AdvanceWave(const std::string& component, const std::string& channel,
                           const std::string& seed, std::int64_t wave,
                           std::int64_t started_at) override {
    const Param p[] = {component, channel, seed, Int(wave), Int(started_at)};
    auto rows = Run("advance_wave",
                    "UPDATE rollouts SET wave = $4, wave_started_at = $5 "
                    "WHERE component = $1 AND channel = $2 AND seed = $3 AND NOT paused "
                    "AND wave <= $4",
                    p);
    if (!rows) return std::unexpected(rows.error());
    return rows->Affected() > 0;
  }

  Result<std::vector<RolloutRecord>> ListRollouts() override {
    auto rows = Run("list_rollouts",
                    "SELECT component, channel, version, minimum, percent, paused, halt_reason, "
                    "seed, updated_at, canary, max_in_flight, bake_s, immediate, wave, "
                    "wave_started_at FROM rollouts "
                    "ORDER BY component COLLATE \"C\", channel COLLATE \"C\"",
                    {});
    if (!rows) return std::unexpected(rows.error());
    std::vector<RolloutRecord> out;
    for (int i = 0; i < rows->size(); ++i) {
      const auto& s = *rows;
      out.push_back(RolloutRecord{s.Text(i, 0),
                                  s.Text(i, 1),
                                  s.Text(i, 2),
                                  s.Text(i, 3),
                                  ReadDouble(s.Text(i, 4)),
                                  s.Text(i, 5) == "t",
                                  s.Text(i, 6),
                                  s.Text(i, 7),
                                  s.Int(i, 8),
                                  {s.Int(i, 9), s.Int(i, 10), s.Int(i, 11), s.Text(i, 12) == "t"},
                                  s.Int(i, 13),
                                  s.Int(i, 14)});
    }
    return out;
  }

  Result<bool> RecordUpdateResult(const UpdateRecord& u) override {
    const Param p[] = {u.seed,
                       u.node_id,
                       u.component,
                       u.update.from,
                       u.update.to,
                       std::string(ResultName(u.update.result)),
                       u.update.error_code,
                       Int(u.at)};
    auto rows = Run("record_update_result",
                    "INSERT INTO update_results (seed, node_id, component, from_version, "
                    "to_version, result, error_code, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) "
                    "ON CONFLICT DO NOTHING",
                    p);
    if (!rows) return std::unexpected(rows.error());
    return rows->Affected() > 0;
  }

  Result<UpdateCounts> CountUpdateResults(const std::string& seed,
                                          const std::string& component) override {
    const Param p[] = {seed, component, std::string(ResultName(UpdateResult::rolled_back)),
                       std::string(ResultName(UpdateResult::environment))};
    auto rows = Run("count_update_results",
                    "SELECT COUNT(*), COUNT(*) FILTER (WHERE result = $3), "
                    "COUNT(*) FILTER (WHERE result = $4) "
                    "FROM update_results WHERE seed = $1 AND component = $2",
                    p);
    if (!rows) return std::unexpected(rows.error());
    return UpdateCounts{rows->Int(0, 0), rows->Int(0, 1), rows->Int(0, 2)};
  }

  Result<std::vector<UpdateRecord>> ListUpdateResults(const std::string& seed,
                                                      const std::string& component) override {
    const Param p[] = {seed, component};
    auto rows = Run("list_update_results",
                    "SELECT node_id, from_version, to_version, result, error_code, at "
                    "FROM update_results WHERE seed = $1 AND component = $2",
                    p);
    if (!rows) return std::unexpected(rows.error());
    std::vector<UpdateRecord> out;
    for (int i = 0; i < rows->size(); ++i) {
      auto result = ResultFromName(rows->Text(i, 3));
      if (!result) continue;  // a name this version does not know counts for nothing
      out.push_back(
          UpdateRecord{rows->Text(i, 0), component, seed,
                       LastUpdate{rows->Text(i, 1), rows->Text(i, 2), *result, rows->Text(i, 4)},
                       rows->Int(i, 5)});
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
    const Param p[] = {seed, component};
    auto rows = Run("list_offers",
                    "SELECT node_id, wave, offered_at FROM rollout_offers "
                    "WHERE seed = $1 AND component = $2 ORDER BY offered_at, made",
                    p);
    if (!rows) return std::unexpected(rows.error());
    std::vector<OfferRecord> out;
    for (int i = 0; i < rows->size(); ++i) {
      out.push_back(
          OfferRecord{seed, component, rows->Text(i, 0), rows->Int(i, 1), rows->Int(i, 2)});
    }
    return out;
  }

  Result<std::vector<UpdateRecord>> ListNodeUpdates(const std::string& node_id,
                                                    std::size_t limit) override {
    const Param p[] = {node_id, Int(static_cast<std::int64_t>(limit))};
    auto rows = Run("list_node_updates",
                    "SELECT seed, component, from_version, to_version, result, error_code, at "
                    "FROM update_results WHERE node_id = $1 "
                    "ORDER BY at DESC, component COLLATE \"C\" LIMIT $2",
                    p);
    if (!rows) return std::unexpected(rows.error());
    std::vector<UpdateRecord> out;
    for (int i = 0; i < rows->size(); ++i) {
      auto result = ResultFromName(rows->Text(i, 4));
      out.push_back(UpdateRecord{node_id, rows->Text(i, 1), rows->Text(i, 0),
                                 LastUpdate{rows->Text(i, 2), rows->Text(i, 3),
                                            result ? *result : std::nullopt, rows->Text(i, 5)},
                                 rows->Int(i, 6)});
    }
    return out;
  }

  Result<void> UpdateFlags(const std::vector<FlagRecord>& set,
                           const std::vector<FlagRecord>& unset) override {
    std::lock_guard lock(mu_);
    return Lost(WriteFlags(set, unset));
  }

  Result<std::vector<FlagRecord>> ListFlags() override {
    auto rows = Run("list_flags",
                    "SELECT channel, name, value, updated_at FROM flags "
                    "ORDER BY channel COLLATE \"C\", name COLLATE \"C\"",
                    {});
    if (!rows) return std::unexpected(rows.error());
    std::vector<FlagRecord> out;
    for (int i = 0; i < rows->size(); ++i) {
      out.push_back(
          FlagRecord{rows->Text(i, 0), rows->Text(i, 1), rows->Text(i, 2), rows->Int(i, 3)});
    }
    return out;
  }

  Result<void> PutWindows(const WindowsRecord& w) override {
    if (w.windows.empty()) {
      const Param p[] = {w.channel};
      return Done(Run("delete_windows", "DELETE FROM windows WHERE channel = $1", p));
    }
    const Param p[] = {w.channel, JoinList(w.windows, kLineSeparator), Int(w.max_wait_s),
                       Int(w.updated_at)};
    return Done(Run("put_windows",
                    "INSERT INTO windows (channel, windows, max_wait_s, updated_at) "
                    "VALUES ($1, $2, $3, $4) ON CONFLICT (channel) DO UPDATE SET "
                    "windows = $2, max_wait_s = $3, updated_at = $4",
                    p));
  }

  Result<std::vector<WindowsRecord>> ListWindows() override {
    auto rows = Run("list_windows",
                    "SELECT channel, windows, max_wait_s, updated_at FROM windows "
                    "ORDER BY channel COLLATE \"C\"",
                    {});
    if (!rows) return std::unexpected(rows.error());
    std::vector<WindowsRecord> out;
    for (int i = 0; i < rows->size(); ++i) {
      out.push_back(WindowsRecord{rows->Text(i, 0), SplitList(rows->Text(i, 1), kLineSeparator),
                                  rows->Int(i, 2), rows->Int(i, 3)});
    }
    return out;
  }

  Result<void> Heartbeat(const std::string& url, std::int64_t now) override {
    const Param p[] = {url, Int(now)};
    return Done(Run("heartbeat",
                    "INSERT INTO members (url, heartbeat) VALUES ($1, $2) "
                    "ON CONFLICT (url) DO UPDATE SET heartbeat = $2",
                    p));
  }

  Result<std::vector<Member>> ListMembers(std::int64_t since) override {
    const Param p[] = {Int(since)};
    auto rows = Run("list_members",
                    "SELECT url, heartbeat FROM members WHERE heartbeat >= $1 "
                    "ORDER BY url COLLATE \"C\"",
                    p);
    if (!rows) return std::unexpected(rows.error());
    std::vector<Member> out;
    for (int i = 0; i < rows->size(); ++i) out.push_back(Member{rows->Text(i, 0), rows->Int(i, 1)});
    return out;
  }

  Result<std::int64_t> Generation() override {
    auto rows = Run("generation", "SELECT value FROM generation WHERE id = 1", {});
    if (!rows) return std::unexpected(rows.error());
    if (rows->size() == 0) return Fail(ErrorCode::db_corrupt, "the generation row is missing");
    return rows->Int(0, 0);
  }

  Result<void> Ping() override { return Done(Run("ping", "SELECT COUNT(*) FROM rollouts", {})); }

  Result<void> Flush() override { return queue_.Flush(); }

 private:
  // One change of flags in one transaction. Call with mu_ held.
  Result<void> WriteFlags(const std::vector<FlagRecord>& set,
                          const std::vector<FlagRecord>& unset) {
    if (auto r = Connected(); !r) return r;
    auto tx = pg::Transaction::Begin(conn_);
    if (!tx) return std::unexpected(tx.error());
    for (const auto& f : set) {
      const Param p[] = {f.channel, f.name, f.value, Int(f.updated_at)};
      if (auto r = NoNul("flag " + f.name.substr(0, f.name.find('\0')), p); !r) return r;
      if (auto r = conn_.ExecPrepared("put_flag",
                                      "INSERT INTO flags (channel, name, value, updated_at) "
                                      "VALUES ($1, $2, $3, $4) ON CONFLICT (channel, name) "
                                      "DO UPDATE SET value = $3, updated_at = $4",
                                      p);
          !r) {
        return std::unexpected(r.error());
      }
    }
    for (const auto& f : unset) {
      const Param p[] = {f.channel, f.name};
      if (auto r = conn_.ExecPrepared("delete_flag",
                                      "DELETE FROM flags WHERE channel = $1 AND name = $2", p);
          !r) {
        return std::unexpected(r.error());
      }
    }
    return tx->Commit();
  }

  static Result<void> Done(const Result<pg::Rows>& r) {
    if (!r) return std::unexpected(r.error());
    return {};
  }

  // Connects again when the last call found the server gone. Call with mu_ held.
  Result<void> Connected() {
    if (conn_.Ok()) return {};
    return conn_.Reset();
  }

  Result<pg::Rows> Run(const std::string& name, std::string_view sql,
                       std::span<const Param> params) {
    if (auto r = NoNul(name, params); !r) return std::unexpected(r.error());
    std::lock_guard lock(mu_);
    if (auto r = Connected(); !r) return std::unexpected(r.error());
    return Lost(conn_.ExecPrepared(name, sql, params));
  }

  // A statement that failed because the server went away is db_open (unavailable, 503), not a
  // bad query. Call with mu_ held.
  template <class T>
  Result<T> Lost(Result<T> r) const {
    if (!r && !conn_.Ok()) r.error().code = ErrorCode::db_open;
    return r;
  }

  // One batch in one transaction: all nodes in one multi-row upsert, all offers in one insert,
  // each passed as arrays (one round trip per statement, whatever the batch's size).
  Result<void> WriteBatch(const std::map<std::string, NodeRecord>& nodes,
                          const std::vector<OfferRecord>& offers) {
    std::lock_guard lock(mu_);
    return Lost(WriteNodesAndOffers(nodes, offers));
  }

  Result<void> WriteNodesAndOffers(const std::map<std::string, NodeRecord>& nodes,
                                   const std::vector<OfferRecord>& offers) {
    if (auto r = Connected(); !r) return r;
    auto tx = pg::Transaction::Begin(conn_);
    if (!tx) return std::unexpected(tx.error());
    if (!nodes.empty()) {
      std::vector<std::string> columns[8];
      for (const auto& [id, n] : nodes) {
        const std::string values[] = {n.id,
                                      n.token_hash,
                                      n.hostname,
                                      n.machine_id,
                                      n.platform,
                                      std::to_string(n.enrolled_at),
                                      std::to_string(n.last_seen),
                                      n.report};
        for (int c = 0; c < 8; ++c) columns[c].push_back(values[c]);
      }
      const Param p[] = {Array(columns[0]), Array(columns[1]), Array(columns[2]),
                         Array(columns[3]), Array(columns[4]), Array(columns[5]),
                         Array(columns[6]), Array(columns[7])};
      if (auto r = conn_.ExecPrepared(
              "save_nodes",
              "INSERT INTO nodes (" + std::string(kNodeColumns) +
                  ") SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], "
                  "$5::text[], $6::bigint[], $7::bigint[], $8::text[]) "
                  "ON CONFLICT (id) DO UPDATE SET token_hash = EXCLUDED.token_hash, "
                  "hostname = EXCLUDED.hostname, machine_id = EXCLUDED.machine_id, "
                  "platform = EXCLUDED.platform, enrolled_at = EXCLUDED.enrolled_at, "
                  "last_seen = EXCLUDED.last_seen, report = EXCLUDED.report",
              p);
          !r) {
        return std::unexpected(r.error());
      }
    }
    if (!offers.empty()) {
      std::vector<std::string> columns[5];
      for (const auto& o : offers) {
        const std::string values[] = {o.seed, o.component, o.node_id, std::to_string(o.wave),
                                      std::to_string(o.offered_at)};
        for (int c = 0; c < 5; ++c) columns[c].push_back(values[c]);
      }
      const Param p[] = {Array(columns[0]), Array(columns[1]), Array(columns[2]), Array(columns[3]),
                         Array(columns[4])};
      if (auto r = conn_.ExecPrepared(
              "save_offers",
              "INSERT INTO rollout_offers (seed, component, node_id, wave, offered_at) "
              "SELECT seed, component, node_id, wave, offered_at FROM unnest($1::text[], "
              "$2::text[], $3::text[], $4::bigint[], $5::bigint[]) WITH ORDINALITY "
              "AS o (seed, component, node_id, wave, offered_at, n) ORDER BY n "
              "ON CONFLICT DO NOTHING",
              p);
          !r) {
        return std::unexpected(r.error());
      }
    }
    return tx->Commit();
  }

  pg::Conn conn_;
  std::mutex mu_;
  // Last: stopped (and its queue written) before the connection closes.
  WriteQueue queue_{
      [this](const auto& nodes, const auto& offers) { return WriteBatch(nodes, offers); }};
};

Result<void> Migrate(pg::Conn& conn) {
  auto tx = pg::Transaction::Begin(conn);
  if (!tx) return std::unexpected(tx.error());
  const Param lock[] = {std::string(kMigrationLock)};
  if (auto r = conn.Exec("SELECT pg_advisory_xact_lock($1::bigint)", lock); !r) {
    return std::unexpected(r.error());
  }
  // "already exists, skipping" is not worth a notice on every start.
  if (auto r = conn.Exec("SET LOCAL client_min_messages = warning"); !r) {
    return std::unexpected(r.error());
  }
  if (auto r = conn.Exec("CREATE TABLE IF NOT EXISTS steward_schema (version INTEGER NOT NULL); "
                         "INSERT INTO steward_schema (version) SELECT 0 "
                         "WHERE NOT EXISTS (SELECT 1 FROM steward_schema)");
      !r) {
    return std::unexpected(r.error());
  }
  auto version = conn.Exec("SELECT version FROM steward_schema");
  if (!version) return std::unexpected(version.error());
  const auto known = static_cast<std::int64_t>(PgMigrations().size());
  const std::int64_t at = version->Int(0, 0);
  if (at > known) {
    return Fail(ErrorCode::db_migration, "PostgreSQL: schema version " + std::to_string(at) +
                                             " is newer than this program knows (" +
                                             std::to_string(known) +
                                             "); run the newer version or restore a backup");
  }
  for (auto v = at; v < known; ++v) {
    if (auto r = conn.Exec(PgMigrations()[static_cast<std::size_t>(v)]); !r) {
      return Fail(ErrorCode::db_migration, "migration to schema version " + std::to_string(v + 1) +
                                               ": " + r.error().message);
    }
  }
  const Param reached[] = {std::to_string(known)};
  if (auto r = conn.Exec("UPDATE steward_schema SET version = $1", reached); !r) {
    return std::unexpected(r.error());
  }
  return tx->Commit();
}

}  // namespace

Result<std::unique_ptr<Store>> OpenPgStore(const std::string& conninfo) {
  auto conn = pg::Conn::Open(conninfo);
  if (!conn) return std::unexpected(conn.error());
  if (auto r = Migrate(*conn); !r) return std::unexpected(r.error());
  return std::unique_ptr<Store>(new PgStore(std::move(*conn)));
}

}  // namespace steward::controller
