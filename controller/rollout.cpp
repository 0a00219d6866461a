#include "controller/rollout.hpp"

#include <cstdio>

#include "common/log.hpp"
#include "controller/secrets.hpp"

namespace steward::controller {

std::uint64_t Bucket(std::string_view seed_hex, std::string_view node_id) {
  const auto key = HexDecode(seed_hex).value_or(std::vector<std::uint8_t>{});
  const auto mac = HmacSha256(key, node_id);
  std::uint64_t b = 0;
  for (int i = 0; i < 8; ++i) b = (b << 8) | mac[static_cast<std::size_t>(i)];
  return b;
}

bool InRollout(std::uint64_t bucket, double percent) {
  if (!(percent > 0)) return false;
  if (percent >= 100) return true;
  const long double cursor = static_cast<long double>(percent) / 100.0L * 18446744073709551616.0L;
  return static_cast<long double>(bucket) < cursor;
}

Choice Choose(const RolloutRecord& rollout, const std::optional<SemVer>& running,
              std::string_view node_id) {
  const auto target = SemVer::Parse(rollout.version);
  if (!target) return {};
  std::optional<SemVer> minimum;
  if (!rollout.minimum.empty()) {
    if (auto m = SemVer::Parse(rollout.minimum)) minimum = *m;
  }
  const bool on_target = running && *running == *target;
  if (rollout.paused) {
    if (on_target) return {Choice::Kind::target, rollout.version};
    if (running && minimum && *running == *minimum) return {Choice::Kind::minimum, rollout.minimum};
    return {};
  }
  if (minimum && (!running || *running < *minimum) && *minimum < *target) {
    return {Choice::Kind::minimum, rollout.minimum};
  }
  if (on_target || InRollout(Bucket(rollout.seed, node_id), rollout.percent)) {
    return {Choice::Kind::target, rollout.version};
  }
  return {};
}

std::optional<std::string> HaltReason(const UpdateCounts& counts, double max_rate,
                                      std::int64_t min_attempts, std::string_view version) {
  if (counts.attempts < min_attempts || counts.attempts == 0) return std::nullopt;
  const double rate =
      static_cast<double>(counts.rolled_back) / static_cast<double>(counts.attempts);
  if (rate <= max_rate) return std::nullopt;
  char buf[256];
  std::snprintf(buf, sizeof buf,
                "halted automatically: %lld of %lld nodes (%.1f%%) rolled back from %.*s; the "
                "limit is %.1f%% with at least %lld attempts",
                static_cast<long long>(counts.rolled_back), static_cast<long long>(counts.attempts),
                rate * 100, static_cast<int>(version.size()), version.data(), max_rate * 100,
                static_cast<long long>(min_attempts));
  return std::string(buf);
}

std::string NewSeed() { return RandomHex(32); }

Rollouts::Rollouts(Store& store, Clock& clock, const Releases& releases, HaltPolicy halt)
    : store_(store), clock_(clock), releases_(releases), halt_(halt) {}

Result<void> Rollouts::Load() {
  auto rollouts = store_.ListRollouts();
  if (!rollouts) return std::unexpected(rollouts.error());
  std::lock_guard lock(mu_);
  for (auto& r : *rollouts) rollouts_[{r.component, r.channel}] = std::move(r);
  return {};
}

Result<RolloutRecord> Rollouts::Apply(const RolloutChange& c) {
  const auto published = [&](const std::string& version) {
    return releases_.Find(c.component, c.channel, version) != nullptr;
  };
  std::lock_guard lock(mu_);
  auto existing = rollouts_.find({c.component, c.channel});
  RolloutRecord r;
  if (existing != rollouts_.end()) {
    r = existing->second;
  } else if (c.version.empty() || !c.percent) {
    return Fail(ErrorCode::bad_request, "a new rollout needs 'version' and 'percent'");
  } else {
    r.component = c.component;
    r.channel = c.channel;
  }
  if (!c.version.empty() && c.version != r.version) {
    if (!published(c.version)) {
      return Fail(ErrorCode::not_found, "no published release " + c.component + "/" + c.channel +
                                            " " + c.version + "; publish it first");
    }
    r.version = c.version;
    r.seed = NewSeed();  // a new target is a new rollout: new buckets, new counts
    r.halt_reason.clear();
    r.paused = false;
  }
  if (c.minimum) {
    if (!c.minimum->empty()) {
      if (!published(*c.minimum)) {
        return Fail(ErrorCode::not_found, "no published release " + c.component + "/" + c.channel +
                                              " " + *c.minimum + " for 'minimum'");
      }
      auto mv = SemVer::Parse(*c.minimum);
      auto tv = SemVer::Parse(r.version);
      if (!mv || !tv || !(*mv < *tv)) {
        return Fail(ErrorCode::bad_request,
                    "'minimum' " + *c.minimum + " must be below the target " + r.version);
      }
    }
    r.minimum = *c.minimum;
  }
  if (c.percent) r.percent = *c.percent;
  if (c.paused) {
    r.paused = *c.paused;
    if (!*c.paused) r.halt_reason.clear();
  }
  r.updated_at = UnixSeconds(clock_.Now());
  if (auto res = store_.PutRollout(r); !res) return std::unexpected(res.error());
  rollouts_[{c.component, c.channel}] = r;
  log::Get("rollout").info("component={} channel={} version={} percent={} paused={}", c.component,
                           c.channel, r.version, r.percent, r.paused);
  return r;
}

std::vector<RolloutRecord> Rollouts::List() const {
  std::vector<RolloutRecord> out;
  std::lock_guard lock(mu_);
  for (const auto& [key, r] : rollouts_) out.push_back(r);
  return out;
}

std::optional<std::string> Rollouts::Offer(const std::string& component, const std::string& channel,
                                           const std::string& running_version,
                                           const std::string& node_id) const {
  std::optional<SemVer> running;
  if (auto v = SemVer::Parse(running_version)) running = *v;
  std::lock_guard lock(mu_);
  auto it = rollouts_.find({component, channel});
  if (it == rollouts_.end()) return std::nullopt;
  auto choice = Choose(it->second, running, node_id);
  if (choice.kind == Choice::Kind::none) return std::nullopt;
  return std::move(choice.version);
}

void Rollouts::RecordUpdate(const std::string& node_id, const std::string& component,
                            const std::string& channel, const LastUpdate& update,
                            std::int64_t now) {
  // A transaction still in progress has no result yet: recording it would take the node's one
  // place in the count, and the rollback it may end in would then go uncounted.
  if (!update.result) return;
  std::lock_guard lock(mu_);
  auto it = rollouts_.find({component, channel});
  if (it == rollouts_.end() || update.to != it->second.version) return;
  auto& rollout = it->second;
  auto fresh = store_.RecordUpdateResult({node_id, component, rollout.seed, update, now});
  if (!fresh) {
    log::Get("rollout").error("recording update result node={}: {}", node_id,
                              fresh.error().message);
    return;
  }
  if (!*fresh || rollout.paused) return;
  auto counts = store_.CountUpdateResults(rollout.seed, component);
  if (!counts) return;
  if (auto why =
          HaltReason(*counts, halt_.max_rollback_rate, halt_.min_attempts, rollout.version)) {
    Halt(rollout, *why, now);
  }
}

void Rollouts::Halt(RolloutRecord& rollout, const std::string& why, std::int64_t now) {
  RolloutRecord halted = rollout;
  halted.paused = true;
  halted.halt_reason = why;
  halted.updated_at = now;
  if (auto r = store_.PutRollout(halted); !r) {
    log::Get("rollout").error("halting rollout: {}", r.error().message);
    return;
  }
  rollout = std::move(halted);
  log::Get("rollout").warn("component={} channel={} {}", rollout.component, rollout.channel, why);
}

UpdateCounts Rollouts::Counts(const RolloutRecord& rollout) const {
  return store_.CountUpdateResults(rollout.seed, rollout.component).value_or(UpdateCounts{});
}

}  // namespace steward::controller
