// Rollouts (ARCHITECTURE §3). The decisions are pure functions: which nodes are in a percent
// rollout (HMAC-SHA256(seed, node_id) buckets, stable for a seed), the minimum version first,
// pause, and when the rollback rate halts an immediate rollout; how many nodes move at a time
// and the other halt signals are the waves' (controller/waves.hpp). Rollouts keeps the
// rollouts in force and their waves in memory, written through to the Store: admin changes,
// what a node is offered, the waves' progress, and the halt.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/hash.hpp"
#include "common/maintenance_window.hpp"
#include "common/semver.hpp"
#include "controller/releases.hpp"
#include "controller/store.hpp"
#include "controller/waves.hpp"

namespace steward::controller {

// The node's position in [0, 2^64): the first 8 bytes of HMAC-SHA256(seed, node_id), big-endian.
// `seed_hex` is the rollout's hex seed (its bytes are the key).
std::uint64_t Bucket(std::string_view seed_hex, std::string_view node_id);

// In iff bucket < cursor(percent) = percent/100 * 2^64; 0 % is nobody, 100 % everybody.
bool InRollout(std::uint64_t bucket, double percent);

struct Choice {
  enum class Kind { none, target, minimum };
  Kind kind = Kind::none;
  std::string version;  // empty for none
};

// What the node running `running` (nullopt: unknown or unparsable) should run:
//  - below the rollout's minimum: the minimum first;
//  - already on the target: the target (it stays);
//  - in the bucket: the target; otherwise nothing (it keeps what it runs).
// A paused rollout moves nobody: only nodes already on the target or the minimum keep it.
Choice Choose(const RolloutRecord& rollout, const std::optional<SemVer>& running,
              std::string_view node_id);

// Why the rollout should halt now, or nullopt: at least `min_attempts` nodes reported a result
// for it and more than `max_rate` of them rolled back.
std::optional<std::string> HaltReason(const UpdateCounts& counts, double max_rate,
                                      std::int64_t min_attempts, std::string_view version);

// A fresh random seed, 32 bytes as hex.
std::string NewSeed();

// One admin change of a rollout (PUT /v1/admin/rollouts/{component}/{channel}); what is absent
// stays as it is.
struct RolloutChange {
  std::string component;
  std::string channel;
  std::string version;                 // the target; "" keeps it
  std::optional<std::string> minimum;  // "" clears it
  std::optional<double> percent;
  std::optional<bool> paused;
  // Pacing (controller/waves.hpp); 0 for canary, max_in_flight and bake_s means the default.
  std::optional<std::int64_t> canary;
  std::optional<std::int64_t> max_in_flight;
  std::optional<std::int64_t> bake_s;
  std::optional<bool> immediate;
};

struct HaltPolicy {
  double max_rollback_rate = 0.05;
  std::int64_t min_attempts = 20;
  std::int64_t checkin_interval_s = 60;  // silence is measured in check-in intervals
};

// One check-in's question for one component: what may this node run?
struct OfferAsk {
  const std::string& component;
  const std::string& channel;
  const std::string& running_version;
  const std::string& node_id;
  bool crash_loop = false;                  // the node reports the component crash-looping
  std::int64_t channel_nodes = 0;           // nodes reporting the component on the channel
  std::int64_t now = 0;                     // unix seconds
  const WindowSchedule* windows = nullptr;  // the channel's maintenance windows, if any
};

// What a node is offered, and whether maintenance windows govern when it may begin (not for an
// immediate rollout or a minimum).
struct Offered {
  std::string version;
  bool any_time = false;
  bool operator==(const Offered&) const = default;
};

// Where a rollout's waves are (GET /v1/admin/rollouts).
struct WaveProgress {
  std::int64_t wave = 0;
  std::int64_t offered = 0;
  std::int64_t in_flight = 0;
  std::int64_t committed = 0;
  std::int64_t failed = 0;
};

class Rollouts {
 public:
  Rollouts(Store& store, Clock& clock, const Releases& releases, HaltPolicy halt);

  // Loads the rollouts: before serving, and again when another controller sharing the store
  // may have changed them (each record is replaced by the store's).
  Result<void> Load();

  // A new rollout needs a version and a percent; versions must be published. A new target is
  // a new rollout: a new seed (new buckets, new counts), unpaused, no halt reason. Unpausing
  // clears the halt reason. Written to the store before it takes effect.
  Result<RolloutRecord> Apply(const RolloutChange& change);

  // Ordered by component and channel.
  std::vector<RolloutRecord> List() const;

  // The version (Choose) the node is offered for the component and channel; nullopt without a
  // rollout or when it keeps what it runs. Unless the rollout is immediate, a node not on the
  // target gets it only when the waves admit it, which they do only while one of the channel's
  // maintenance windows is open; a node offered it before keeps the offer, and its check-in is
  // watched for the halt signals (crash loop, silence) while its bake lasts.
  std::optional<Offered> Offer(const OfferAsk& ask);

  // A node reported `update` for the first time: its first finished result (not in_progress)
  // counts towards the component and channel's rollout once per node when it went to the
  // target, and may halt it (the waves' signals, or HaltReason for an immediate rollout).
  void RecordUpdate(const std::string& node_id, const std::string& component,
                    const std::string& channel, const LastUpdate& update, std::int64_t now);

  // The results reported towards the rollout; zero when the store cannot say.
  UpdateCounts Counts(const RolloutRecord& rollout) const;
  WaveProgress Progress(const RolloutRecord& rollout) const;

 private:
  struct Live {
    RolloutRecord record;
    WaveState waves;
    WaveLimits limits;           // as of the last check-in (the channel's size moves)
    std::int64_t next_tick = 0;  // unix seconds
  };
  static Live Start(RolloutRecord record);
  void Restore(Live& live, std::int64_t now);                                   // before serving
  void Act(Live& live, const WaveEvent& event, std::int64_t now);               // mu_ held
  void Halt(RolloutRecord& rollout, const std::string& why, std::int64_t now);  // mu_ held
  HaltRule Rule() const { return {halt_.max_rollback_rate, halt_.min_attempts}; }

  Store& store_;
  Clock& clock_;
  const Releases& releases_;
  const HaltPolicy halt_;
  mutable std::mutex mu_;
  std::map<std::pair<std::string, std::string>, Live> rollouts_;  // component, channel
};

}  // namespace steward::controller
