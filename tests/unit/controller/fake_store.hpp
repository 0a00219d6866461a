// A Store in memory for the controller's unit tests. It counts reads, so a test can show that
// a check-in is answered from memory, and keeps what was written so a test can look at it.
#pragma once

#include <algorithm>
#include <set>
#include <tuple>

#include "controller/store.hpp"

namespace steward::controller {

class FakeStore final : public Store {
 public:
  std::vector<NodeRecord> saved;
  std::vector<ReleaseRecord> releases;  // loaded at start and inserted
  std::vector<RolloutRecord> rollouts;  // loaded at start; every write is appended
  std::vector<UpdateRecord> updates;
  std::vector<FlagRecord> flags;
  std::vector<WindowsRecord> windows;
  std::vector<OfferRecord> offers;
  bool fail_flag_writes = false;
  int reads = 0;
  std::int64_t generation = 0;  // bumped by release, rollout and flag writes

  Result<void> SaveNode(const NodeRecord& node) override {
    saved.push_back(node);
    return {};
  }
  Result<std::vector<NodeRecord>> ListNodes() override {
    ++reads;
    return std::vector<NodeRecord>{};
  }
  Result<std::optional<NodeRecord>> GetNode(const std::string& id) override {
    ++reads;
    for (auto it = saved.rbegin(); it != saved.rend(); ++it) {
      if (it->id == id) return std::optional<NodeRecord>(*it);
    }
    return std::optional<NodeRecord>{};
  }
  Result<void> InsertRelease(const ReleaseRecord& release) override {
    releases.push_back(release);
    ++generation;
    return {};
  }
  Result<std::vector<ReleaseRecord>> ListReleases() override {
    ++reads;
    return releases;
  }
  Result<void> PutRollout(const RolloutRecord& rollout) override {
    rollouts.push_back(rollout);
    ++generation;
    return {};
  }
  // The latest record of (component, channel) paused, when it still has `seed` and runs.
  Result<bool> HaltRollout(const std::string& component, const std::string& channel,
                           const std::string& seed, const std::string& reason,
                           std::int64_t now) override {
    for (auto it = rollouts.rbegin(); it != rollouts.rend(); ++it) {
      if (it->component != component || it->channel != channel) continue;
      if (it->seed != seed || it->paused) return false;
      RolloutRecord halted = *it;
      halted.paused = true;
      halted.halt_reason = reason;
      halted.updated_at = now;
      return PutRollout(halted).has_value();
    }
    return false;
  }
  Result<bool> AdvanceWave(const std::string& component, const std::string& channel,
                           const std::string& seed, std::int64_t wave,
                           std::int64_t started_at) override {
    for (auto it = rollouts.rbegin(); it != rollouts.rend(); ++it) {
      if (it->component != component || it->channel != channel) continue;
      if (it->seed != seed || it->paused || it->wave > wave) return false;
      RolloutRecord next = *it;
      next.wave = wave;
      next.wave_started_at = started_at;
      return PutRollout(next).has_value();
    }
    return false;
  }
  Result<std::vector<RolloutRecord>> ListRollouts() override {
    ++reads;
    return rollouts;
  }
  // Keeps the first result per (seed, node, component), as the SQLite store does.
  Result<bool> RecordUpdateResult(const UpdateRecord& u) override {
    for (const auto& o : updates) {
      if (o.seed == u.seed && o.node_id == u.node_id && o.component == u.component) return false;
    }
    updates.push_back(u);
    return true;
  }
  Result<std::vector<UpdateRecord>> ListNodeUpdates(const std::string& node_id,
                                                    std::size_t limit) override {
    std::vector<UpdateRecord> out;
    for (auto it = updates.rbegin(); it != updates.rend() && out.size() < limit; ++it) {
      if (it->node_id == node_id) out.push_back(*it);
    }
    return out;
  }
  Result<UpdateCounts> CountUpdateResults(const std::string& seed,
                                          const std::string& component) override {
    ++reads;
    UpdateCounts counts;
    for (const auto& u : updates) {
      if (u.seed != seed || u.component != component) continue;
      ++counts.attempts;
      if (u.update.result == UpdateResult::rolled_back) ++counts.rolled_back;
      if (u.update.result == UpdateResult::environment) ++counts.environment;
    }
    return counts;
  }
  Result<std::vector<UpdateRecord>> ListUpdateResults(const std::string& seed,
                                                      const std::string& component) override {
    ++reads;
    std::vector<UpdateRecord> out;
    for (const auto& u : updates) {
      if (u.seed == seed && u.component == component) out.push_back(u);
    }
    return out;
  }
  Result<void> SaveOffer(const OfferRecord& offer) override {
    offers.push_back(offer);
    return {};
  }
  Result<std::vector<OfferRecord>> ListOffers(const std::string& seed,
                                              const std::string& component) override {
    ++reads;
    std::vector<OfferRecord> out;
    for (const auto& o : offers) {
      if (o.seed == seed && o.component == component) out.push_back(o);
    }
    return out;
  }
  Result<void> UpdateFlags(const std::vector<FlagRecord>& set,
                           const std::vector<FlagRecord>& unset) override {
    if (fail_flag_writes) return Fail(ErrorCode::db_query, "disk full");
    for (const auto& f : set) {
      std::erase_if(
          flags, [&](const FlagRecord& o) { return o.channel == f.channel && o.name == f.name; });
      flags.push_back(f);
    }
    for (const auto& f : unset) {
      std::erase_if(
          flags, [&](const FlagRecord& o) { return o.channel == f.channel && o.name == f.name; });
    }
    ++generation;
    return {};
  }
  Result<std::vector<FlagRecord>> ListFlags() override {
    ++reads;
    return flags;
  }
  Result<void> PutWindows(const WindowsRecord& w) override {
    std::erase_if(windows, [&](const WindowsRecord& o) { return o.channel == w.channel; });
    if (!w.windows.empty()) windows.push_back(w);
    ++generation;
    return {};
  }
  Result<std::vector<WindowsRecord>> ListWindows() override {
    ++reads;
    return windows;
  }
  Result<void> Heartbeat(const std::string&, std::int64_t) override { return {}; }
  Result<std::vector<Member>> ListMembers(std::int64_t) override {
    ++reads;
    return std::vector<Member>{{"http://a:1", 0}, {"http://b:2", 0}};
  }
  Result<std::int64_t> Generation() override { return generation; }
  Result<void> Ping() override { return Fail(ErrorCode::db_open, "store gone"); }
  Result<void> Flush() override { return {}; }
};

}  // namespace steward::controller
