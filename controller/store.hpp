// The controller's store: nodes, releases, rollouts, update results, feature flags and
// controller membership.
// Callers see only this interface; SQLite is the embedded backend (sqlite_store.cpp), PostgreSQL
// the one for several replicas (pg_store.cpp). All state a restarted controller needs lives
// here. Node writes (enrollments and check-ins) may be batched: SaveNode returns once the write
// is queued and Flush makes every queued write durable.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.hpp"
#include "common/codes.hpp"
#include "common/error.hpp"
#include "controller/waves.hpp"

namespace steward::controller {

struct NodeRecord {
  std::string id;
  std::string token_hash;  // hex SHA-256 of the node token
  std::string hostname;
  std::string machine_id;
  std::string platform;
  std::int64_t enrolled_at = 0;  // unix seconds
  std::int64_t last_seen = 0;    // unix seconds, 0: never checked in
  std::string report;            // the last check-in body as JSON, "" before the first
};

struct ReleaseRecord {
  std::string component;
  std::string channel;
  std::string version;
  std::uint64_t sequence = 0;
  std::uint64_t root_version = 0;
  std::string manifest;                 // the exact signed bytes
  std::vector<std::string> signatures;  // .minisig texts
  std::string manifest_sha256;          // hex
  std::int64_t published_at = 0;
  std::int64_t expires = 0;
};

struct RolloutRecord {
  std::string component;
  std::string channel;
  std::string version;  // the target
  std::string minimum;  // "" for none: nodes below it go there first
  double percent = 0;   // 0..100
  bool paused = false;
  std::string halt_reason;  // set when the rollout paused itself
  std::string seed;         // hex, 32 random bytes; new for every new target
  std::int64_t updated_at = 0;
  WaveSettings waves;                // the operator's pacing (controller/waves.hpp)
  std::int64_t wave = 0;             // the wave in progress, 0 the canary
  std::int64_t wave_started_at = 0;  // unix seconds
  bool operator==(const RolloutRecord&) const = default;
};

// A node its rollout's waves offered the target to; the wave's in-flight count starts here.
struct OfferRecord {
  std::string seed;
  std::string component;
  std::string node_id;
  std::int64_t wave = 0;
  std::int64_t offered_at = 0;  // unix seconds
};

// A node's last update as its check-in reports it (docs/protocol.md `last_update`).
struct LastUpdate {
  std::string from;
  std::string to;
  std::optional<UpdateResult> result;  // nullopt: the transaction is still in progress
  std::string error_code;
  bool operator==(const LastUpdate&) const = default;
};

// A result as check-ins and the store name it: its UpdateResultName, or "in_progress".
std::string_view ResultName(const std::optional<UpdateResult>& result);
// The reverse; bad_request for a name that is neither.
Result<std::optional<UpdateResult>> ResultFromName(std::string_view name);

// The first result one node reported towards one rollout; the halt counts these.
struct UpdateRecord {
  std::string node_id;
  std::string component;
  std::string seed;  // the rollout it counts towards
  LastUpdate update;
  std::int64_t at = 0;
};

struct UpdateCounts {
  std::int64_t attempts = 0;     // distinct nodes that reported a result
  std::int64_t rolled_back = 0;  // of those, the ones that rolled back
  std::int64_t environment = 0;  // of those, the ones whose environment failed
};

// One feature flag in one scope (controller/flags.hpp).
struct FlagRecord {
  std::string channel;  // "" for the global scope
  std::string name;
  std::string value;  // the scalar as compact JSON text: true, 3, 0.5, "text"
  std::int64_t updated_at = 0;
};

// A channel's maintenance windows (controller/windows.hpp): their text form, and how long an
// update may wait for one (0: no limit).
struct WindowsRecord {
  std::string channel;
  std::vector<std::string> windows;
  std::int64_t max_wait_s = 0;
  std::int64_t updated_at = 0;
  bool operator==(const WindowsRecord&) const = default;
};

struct Member {
  std::string url;
  std::int64_t heartbeat = 0;  // unix seconds
};

class Store {
 public:
  virtual ~Store() = default;

  // Queues an insert or replace of the node; durable after the next Flush.
  virtual Result<void> SaveNode(const NodeRecord& node) = 0;
  virtual Result<std::vector<NodeRecord>> ListNodes() = 0;
  virtual Result<std::optional<NodeRecord>> GetNode(const std::string& id) = 0;

  // already_exists when (component, channel, version) or (component, channel, sequence) exists.
  virtual Result<void> InsertRelease(const ReleaseRecord& release) = 0;
  virtual Result<std::vector<ReleaseRecord>> ListReleases() = 0;

  virtual Result<void> PutRollout(const RolloutRecord& rollout) = 0;
  virtual Result<std::vector<RolloutRecord>> ListRollouts() = 0;
  // Pauses the rollout of (component, channel) whose seed is `seed`, with `reason`, in one
  // conditional update: of controllers deciding to halt it together, exactly one acts. False
  // when it is paused already or was replaced by another target (another seed) meanwhile.
  virtual Result<bool> HaltRollout(const std::string& component, const std::string& channel,
                                   const std::string& seed, const std::string& reason,
                                   std::int64_t now) = 0;
  // Records that the rollout with `seed` moved to `wave` at `started_at`, in one conditional
  // update: false when it is paused (a halt another controller made stays) or was replaced.
  virtual Result<bool> AdvanceWave(const std::string& component, const std::string& channel,
                                   const std::string& seed, std::int64_t wave,
                                   std::int64_t started_at) = 0;

  // Keeps the first result per (seed, node, component); true when this one was new.
  virtual Result<bool> RecordUpdateResult(const UpdateRecord& record) = 0;
  virtual Result<UpdateCounts> CountUpdateResults(const std::string& seed,
                                                  const std::string& component) = 0;
  // The results of one rollout, to rebuild its waves after a restart.
  virtual Result<std::vector<UpdateRecord>> ListUpdateResults(const std::string& seed,
                                                              const std::string& component) = 0;

  // Queues an offer (the check-in hot path, batched like SaveNode); durable after Flush.
  virtual Result<void> SaveOffer(const OfferRecord& offer) = 0;
  // One rollout's offers in the order they were made.
  virtual Result<std::vector<OfferRecord>> ListOffers(const std::string& seed,
                                                      const std::string& component) = 0;
  // One node's recorded results, newest first, at most `limit` (a node's update history).
  virtual Result<std::vector<UpdateRecord>> ListNodeUpdates(const std::string& node_id,
                                                            std::size_t limit) = 0;

  // Writes one change of flags at once, all or nothing: `set` rows are inserted or replaced,
  // `unset` rows (channel and name) are deleted.
  virtual Result<void> UpdateFlags(const std::vector<FlagRecord>& set,
                                   const std::vector<FlagRecord>& unset) = 0;
  virtual Result<std::vector<FlagRecord>> ListFlags() = 0;

  // Replaces a channel's windows; a record without windows deletes the channel's row.
  virtual Result<void> PutWindows(const WindowsRecord& windows) = 0;
  virtual Result<std::vector<WindowsRecord>> ListWindows() = 0;  // by channel

  virtual Result<void> Heartbeat(const std::string& url, std::int64_t now) = 0;
  virtual Result<std::vector<Member>> ListMembers(std::int64_t since) = 0;

  // A number that changes whenever a release, rollout, flag or window is written, by this
  // controller or by another one sharing the store: replicas compare it to see that they must
  // reload.
  virtual Result<std::int64_t> Generation() = 0;

  // The store answers (for /readyz).
  virtual Result<void> Ping() = 0;
  // Makes every queued write durable.
  virtual Result<void> Flush() = 0;
};

// Records keep times as unix seconds.
std::int64_t UnixSeconds(WallTime t);

// "sqlite:/path/controller.db", or "postgresql://…" / "postgres://…" (a libpq connection URI,
// PG* environment variables and the password file as libpq reads them); other schemes are
// unsupported.
Result<std::unique_ptr<Store>> OpenStore(const std::string& url);

}  // namespace steward::controller
