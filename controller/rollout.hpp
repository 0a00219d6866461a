// Rollout decisions, as pure functions (ARCHITECTURE §3): which nodes are in a percent rollout
// (HMAC-SHA256(seed, node_id) buckets, stable for a seed), the minimum version first, pause,
// and when the rollback rate halts a rollout.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "common/hash.hpp"
#include "common/semver.hpp"
#include "controller/store.hpp"

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

// `bytes` random bytes from the kernel, hex-encoded: node ids, node tokens, rollout seeds.
std::string RandomHex(std::size_t bytes);
// A fresh random seed, 32 bytes as hex.
std::string NewSeed();

}  // namespace steward::controller
