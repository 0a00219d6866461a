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

Rollouts::Live Rollouts::Start(RolloutRecord record) {
  const auto wave = record.wave;
  const auto started = record.wave_started_at;
  return Live{std::move(record), WaveState(wave, started), {}, 0};
}

namespace {

// What a reported result means to the waves.
Outcome OutcomeOf(UpdateResult result) {
  switch (result) {
    case UpdateResult::committed:
      return Outcome::committed;
    case UpdateResult::rolled_back:
      return Outcome::rolled_back;
    case UpdateResult::environment:
      return Outcome::environment;
    default:
      return Outcome::done;  // failed before switching, or superseded: no longer in flight
  }
}

}  // namespace

// A restarted controller resumes the same wave: who was offered and when, and what they
// reported, come back from the store.
void Rollouts::Restore(Live& live, std::int64_t now) {
  const auto& r = live.record;
  auto offers = store_.ListOffers(r.seed, r.component);
  auto results = store_.ListUpdateResults(r.seed, r.component);
  if (!offers || !results) {
    log::Get("rollout").error("component={} channel={}: cannot read its waves from the store",
                              r.component, r.channel);
    return;
  }
  for (const auto& o : *offers) live.waves.RestoreOffer(o.node_id, o.wave, o.offered_at, now);
  for (const auto& u : *results) {
    if (u.update.result) live.waves.RestoreOutcome(u.node_id, OutcomeOf(*u.update.result));
  }
}

Result<void> Rollouts::Load() {
  auto rollouts = store_.ListRollouts();
  if (!rollouts) return std::unexpected(rollouts.error());
  const auto now = UnixSeconds(clock_.Now());
  std::lock_guard lock(mu_);
  for (auto& r : *rollouts) {
    const std::pair key{r.component, r.channel};
    // Our own writes come back here too (the store's generation moved): the waves in memory
    // are those. A record another controller changed is taken with its waves from the store.
    if (auto it = rollouts_.find(key); it != rollouts_.end() && it->second.record == r) continue;
    auto& live = rollouts_.insert_or_assign(key, Start(std::move(r))).first->second;
    Restore(live, now);
  }
  return {};
}

Result<RolloutRecord> Rollouts::Apply(const RolloutChange& c) {
  const auto published = [&](const std::string& version) {
    return releases_.Find(c.component, c.channel, version) != nullptr;
  };
  const auto now = UnixSeconds(clock_.Now());
  std::lock_guard lock(mu_);
  auto existing = rollouts_.find({c.component, c.channel});
  RolloutRecord r;
  bool fresh = existing == rollouts_.end();
  if (!fresh) {
    r = existing->second.record;
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
    r.seed = NewSeed();  // a new target is a new rollout: new buckets, new counts, new waves
    r.halt_reason.clear();
    r.paused = false;
    r.wave = 0;
    r.wave_started_at = now;
    fresh = true;
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
  if (c.canary) r.waves.canary = *c.canary;
  if (c.max_in_flight) r.waves.max_in_flight = *c.max_in_flight;
  if (c.bake_s) r.waves.bake_s = *c.bake_s;
  if (c.immediate) r.waves.immediate = *c.immediate;
  bool resumed = false;
  if (c.paused) {
    resumed = r.paused && !*c.paused;
    r.paused = *c.paused;
    if (!*c.paused) r.halt_reason.clear();
  }
  // A resumed wave gets its deadline and bake again from now: the pause was not its fault.
  if (resumed) r.wave_started_at = now;
  r.updated_at = now;
  if (auto res = store_.PutRollout(r); !res) return std::unexpected(res.error());
  if (fresh) {
    rollouts_.insert_or_assign({c.component, c.channel}, Start(r));
  } else {
    auto& live = existing->second;
    live.record = r;
    if (resumed) live.waves.Resume(now);
  }
  log::Get("rollout").info(
      "component={} channel={} version={} percent={} paused={} canary={} max_in_flight={} "
      "bake_s={} immediate={}",
      c.component, c.channel, r.version, r.percent, r.paused, r.waves.canary, r.waves.max_in_flight,
      r.waves.bake_s, r.waves.immediate);
  return r;
}

std::vector<RolloutRecord> Rollouts::List() const {
  std::vector<RolloutRecord> out;
  std::lock_guard lock(mu_);
  for (const auto& [key, live] : rollouts_) out.push_back(live.record);
  return out;
}

std::optional<Offered> Rollouts::Offer(const OfferAsk& ask) {
  std::optional<SemVer> running;
  if (auto v = SemVer::Parse(ask.running_version)) running = *v;
  std::lock_guard lock(mu_);
  auto it = rollouts_.find({ask.component, ask.channel});
  if (it == rollouts_.end()) return std::nullopt;
  auto& live = it->second;
  auto choice = Choose(live.record, running, ask.node_id);
  if (choice.kind == Choice::Kind::none) return std::nullopt;
  if (choice.kind == Choice::Kind::minimum || live.record.waves.immediate) {
    return Offered{std::move(choice.version), true};
  }
  live.limits = ResolveLimits(live.record.waves, ask.channel_nodes);
  const bool on_target = ask.running_version == live.record.version;
  WaveEvent event;
  // The waves' clocks (silence, deadlines, bake) are looked at once a second at most.
  if (ask.now >= live.next_tick && !live.record.paused) {
    live.next_tick = ask.now + 1;
    live.waves.Tick(live.limits, Rule(), ask.now, halt_.checkin_interval_s, event);
  }
  bool offered = true;
  if (event.halt) {
    offered = false;
  } else if (live.waves.Offered(ask.node_id)) {
    live.waves.Seen(ask.node_id, ask.now, {on_target, ask.crash_loop}, live.limits, Rule(), event);
  } else if (!on_target) {
    // A wave is made of nodes that can update now: none waits in it for its window.
    offered = (ask.windows == nullptr ||
               ask.windows->Check(Seconds{std::chrono::seconds{ask.now}}).open) &&
              live.waves.Admit(ask.node_id, live.limits, Rule(), ask.now, event);
    // Queued with the node writes: the check-in does not wait for the disk.
    if (auto r = offered ? store_.SaveOffer({live.record.seed, ask.component, ask.node_id,
                                             live.waves.wave(), ask.now})
                         : Result<void>{};
        !r) {
      log::Get("rollout").error("recording offer node={}: {}", ask.node_id, r.error().message);
    }
  }
  Act(live, event, ask.now);
  // Nodes on the target keep it; a halt offers nobody new.
  if (on_target) return Offered{std::move(choice.version)};
  if (!offered || event.halt) return std::nullopt;
  return Offered{std::move(choice.version)};
}

void Rollouts::RecordUpdate(const std::string& node_id, const std::string& component,
                            const std::string& channel, const LastUpdate& update,
                            std::int64_t now) {
  // A transaction still in progress has no result yet: recording it would take the node's one
  // place in the count, and the rollback it may end in would then go uncounted.
  if (!update.result) return;
  std::lock_guard lock(mu_);
  auto it = rollouts_.find({component, channel});
  if (it == rollouts_.end() || update.to != it->second.record.version) return;
  auto& live = it->second;
  auto& rollout = live.record;
  auto fresh = store_.RecordUpdateResult({node_id, component, rollout.seed, update, now});
  if (!fresh) {
    log::Get("rollout").error("recording update result node={}: {}", node_id,
                              fresh.error().message);
    return;
  }
  if (!*fresh || rollout.paused) return;
  if (!rollout.waves.immediate) {
    WaveEvent event;
    live.waves.Reported(node_id, OutcomeOf(*update.result), Rule(), event);
    Act(live, event, now);
    return;
  }
  // Immediate: today's rule over every result, counted by the store.
  auto counts = store_.CountUpdateResults(rollout.seed, component);
  if (!counts) return;
  if (auto why =
          HaltReason(*counts, halt_.max_rollback_rate, halt_.min_attempts, rollout.version)) {
    Halt(rollout, *why, now);
  }
}

void Rollouts::Act(Live& live, const WaveEvent& event, std::int64_t now) {
  if (event.halt) {
    Halt(live.record, *event.halt, now);
    return;
  }
  if (!event.wave_started) return;
  auto& r = live.record;
  // Conditional: a halt or pause another controller wrote meanwhile is never undone here; this
  // controller then keeps offering only until its next Sync loads that.
  auto moved = store_.AdvanceWave(r.component, r.channel, r.seed, live.waves.wave(),
                                  live.waves.wave_started_at());
  if (!moved) {
    log::Get("rollout").error("recording wave {}: {}", live.waves.wave(), moved.error().message);
    return;
  }
  if (!*moved) {
    log::Get("rollout").info(
        "component={} channel={} wave={} not recorded: the rollout was "
        "paused or replaced through another controller",
        r.component, r.channel, live.waves.wave());
    return;
  }
  r.wave = live.waves.wave();
  r.wave_started_at = live.waves.wave_started_at();
  log::Get("rollout").info("component={} channel={} wave={} started committed={} in_flight={}",
                           live.record.component, live.record.channel, live.record.wave,
                           live.waves.committed(), live.waves.in_flight());
}

// The store decides: of controllers halting the same rollout together, one writes its reason.
// Either way this controller offers it no more; when another acted first (or replaced the
// rollout), the next Sync loads what the store holds.
void Rollouts::Halt(RolloutRecord& rollout, const std::string& why, std::int64_t now) {
  auto acted = store_.HaltRollout(rollout.component, rollout.channel, rollout.seed, why, now);
  if (!acted) {
    log::Get("rollout").error("halting rollout: {}", acted.error().message);
    return;
  }
  rollout.paused = true;
  if (!*acted) {
    log::Get("rollout").info("component={} channel={} halted by another controller already",
                             rollout.component, rollout.channel);
    return;
  }
  rollout.halt_reason = why;
  rollout.updated_at = now;
  log::Get("rollout").warn("component={} channel={} {}", rollout.component, rollout.channel, why);
}

UpdateCounts Rollouts::Counts(const RolloutRecord& rollout) const {
  return store_.CountUpdateResults(rollout.seed, rollout.component).value_or(UpdateCounts{});
}

WaveProgress Rollouts::Progress(const RolloutRecord& rollout) const {
  std::lock_guard lock(mu_);
  auto it = rollouts_.find({rollout.component, rollout.channel});
  if (it == rollouts_.end() || it->second.record.seed != rollout.seed) return {};
  const auto& w = it->second.waves;
  return {w.wave(), w.offered(), w.in_flight(), w.committed(), w.failed()};
}

}  // namespace steward::controller
