#include "controller/waves.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

namespace steward::controller {

namespace {

std::int64_t ShareOf(std::int64_t nodes, double share) {
  return static_cast<std::int64_t>(std::ceil(static_cast<double>(nodes) * share));
}

constexpr Outcome kFailures[] = {Outcome::rolled_back, Outcome::environment, Outcome::crash_loop,
                                 Outcome::silent};

}  // namespace

WaveLimits ResolveLimits(const WaveSettings& s, std::int64_t channel_nodes) {
  WaveLimits out;
  out.canary = s.canary > 0 ? s.canary : std::max<std::int64_t>(5, ShareOf(channel_nodes, 0.0005));
  out.max_in_flight = s.max_in_flight > 0
                          ? s.max_in_flight
                          : std::max<std::int64_t>(20, ShareOf(channel_nodes, 0.01));
  out.canary_in_flight = std::min({out.canary, kCanaryMaxInFlight, out.max_in_flight});
  out.bake_s = s.bake_s > 0 ? s.bake_s : kDefaultBakeS;
  return out;
}

std::int64_t WaveSize(const WaveLimits& limits, std::int64_t wave) {
  constexpr auto kMax = std::numeric_limits<std::int64_t>::max() / 2;
  std::int64_t size = limits.canary;
  for (std::int64_t i = 0; i < wave && size < kMax; ++i) size *= 2;
  return std::min(size, kMax);
}

std::int64_t WaveDeadline(const WaveLimits& limits, std::int64_t wave) {
  const auto cap = wave == 0 ? limits.canary_in_flight : limits.max_in_flight;
  const auto batches = std::min<std::int64_t>((WaveSize(limits, wave) + cap - 1) / cap, 1'000'000);
  return limits.bake_s * (batches + 1);
}

bool IsFailure(Outcome o) {
  return std::find(std::begin(kFailures), std::end(kFailures), o) != std::end(kFailures);
}

const char* OutcomeName(Outcome o) {
  switch (o) {
    case Outcome::in_flight:
      return "in_flight";
    case Outcome::committed:
      return "committed";
    case Outcome::done:
      return "done";
    case Outcome::rolled_back:
      return "rolled_back";
    case Outcome::environment:
      return "environment";
    case Outcome::crash_loop:
      return "crash_loop";
    case Outcome::silent:
      return "silent";
  }
  return "?";
}

void WaveState::RestoreOffer(const std::string& node_id, std::int64_t wave, std::int64_t offered_at,
                             std::int64_t now) {
  if (!nodes_.try_emplace(node_id, Node{wave, offered_at, now, Outcome::in_flight}).second) return;
  auto& t = Of(wave);
  ++t.offered;
  ++t.in_flight;
  ++in_flight_;
  watch_.push_back(node_id);
}

void WaveState::RestoreOutcome(const std::string& node_id, Outcome outcome) {
  auto it = nodes_.find(node_id);
  if (it == nodes_.end() || it->second.outcome != Outcome::in_flight) return;
  WaveEvent ignored;  // the halt, if any, is in the stored rollout already
  Settle(it->first, it->second, outcome, HaltRule{}, ignored);
}

bool WaveState::Admit(const std::string& node_id, const WaveLimits& limits, const HaltRule& rule,
                      std::int64_t now, WaveEvent& event) {
  if (nodes_.contains(node_id)) return true;
  MaybeAdvance(limits, rule, now, event);
  if (event.halt) return false;
  auto& t = Of(wave_);
  if (t.offered >= WaveSize(limits, wave_)) return false;
  const auto cap = wave_ == 0 ? limits.canary_in_flight : limits.max_in_flight;
  if (in_flight_ >= cap) return false;
  if (t.offered == 0 && started_at_ != now) {
    // A wave's clocks (bake, deadline) start at its first offer: nodes may be admitted hours
    // after the wave began (maintenance windows, a percent raised later).
    started_at_ = now;
    event.wave_started = true;
  }
  nodes_.emplace(node_id, Node{wave_, now, now, Outcome::in_flight});
  ++t.offered;
  ++t.in_flight;
  ++in_flight_;
  watch_.push_back(node_id);
  return true;
}

void WaveState::Seen(const std::string& node_id, std::int64_t now, Sighting sighting,
                     const WaveLimits& limits, const HaltRule& rule, WaveEvent& event) {
  auto it = nodes_.find(node_id);
  if (it == nodes_.end()) return;
  auto& n = it->second;
  n.last_seen = now;
  const bool in_bake = now <= n.offered_at + limits.bake_s;
  if (n.outcome == Outcome::in_flight && !sighting.on_target && !in_bake) {
    Settle(it->first, n, Outcome::done, rule, event);
    return;
  }
  // A node that took the target and crash-loops after its health gate passed (or before it
  // reports) is a failure while its bake lasts; later it is the node's own trouble.
  const bool live = n.outcome == Outcome::in_flight || n.outcome == Outcome::committed;
  if (sighting.on_target && sighting.crash_loop && live && in_bake) {
    Settle(it->first, n, Outcome::crash_loop, rule, event);
  }
}

void WaveState::Reported(const std::string& node_id, Outcome outcome, const HaltRule& rule,
                         WaveEvent& event) {
  auto it = nodes_.find(node_id);
  if (it == nodes_.end()) return;
  if (it->second.outcome != Outcome::in_flight && it->second.outcome != Outcome::done) return;
  Settle(it->first, it->second, outcome, rule, event);
}

void WaveState::Settle(const std::string& id, Node& n, Outcome outcome, const HaltRule& rule,
                       WaveEvent& event) {
  auto& t = Of(n.wave);
  if (n.outcome == Outcome::in_flight) {
    --t.in_flight;
    --in_flight_;
    ++results_;
  } else if (n.outcome == Outcome::committed) {
    --t.committed;
    --committed_;
  }
  n.outcome = outcome;
  if (outcome == Outcome::committed) {
    ++t.committed;
    ++committed_;
  }
  if (!IsFailure(outcome)) return;
  ++failed_;
  ++by_signal_[static_cast<int>(outcome)];
  if (failed_ids_.size() < kHaltNodeIds) failed_ids_.push_back(id);
  if (event.halt) return;
  if (n.wave == 0) {
    // The canary is small on purpose: its first failure is the signal (a rate over a few nodes
    // would let the whole wave fail first).
    event.halt = Reason(OutcomeName(outcome), 0);
    return;
  }
  const double rate = static_cast<double>(failed_) / static_cast<double>(results_);
  const bool enough =
      results_ >= rule.min_attempts ||
      static_cast<double>(failed_) > rule.max_rate * static_cast<double>(rule.min_attempts);
  if (rate > rule.max_rate && enough) {
    char buf[96];
    std::snprintf(buf, sizeof buf, "failure rate %.1f%% over the limit %.1f%%", rate * 100,
                  rule.max_rate * 100);
    event.halt = Reason(buf, n.wave);
  }
}

void WaveState::Tick(const WaveLimits& limits, const HaltRule& rule, std::int64_t now,
                     std::int64_t checkin_interval_s, WaveEvent& event) {
  const auto quiet = std::max(kSilentIntervals * checkin_interval_s, kMinSilenceS);
  // Offers are in time order: past its bake (and the silence that could have begun in it), a
  // node is no longer watched.
  while (!watch_.empty()) {
    const auto& n = nodes_.at(watch_.front());
    if (now <= n.offered_at + limits.bake_s + quiet && !IsFailure(n.outcome)) break;
    watch_.pop_front();
  }
  for (const auto& id : watch_) {
    auto& n = nodes_.at(id);
    const bool live = n.outcome == Outcome::in_flight || n.outcome == Outcome::committed;
    if (live && now - n.last_seen > quiet && n.last_seen <= n.offered_at + limits.bake_s) {
      Settle(id, n, Outcome::silent, rule, event);
    }
  }
  if (event.halt) return;
  if (Of(wave_).in_flight > 0 && now > started_at_ + WaveDeadline(limits, wave_)) {
    std::vector<std::string> late;
    for (const auto& [id, n] : nodes_) {
      if (n.wave == wave_ && n.outcome == Outcome::in_flight && late.size() < kHaltNodeIds) {
        late.push_back(id);
      }
    }
    std::sort(late.begin(), late.end());
    std::string why = "halted automatically: wave " + std::to_string(wave_) +
                      " did not finish in its deadline of " +
                      std::to_string(WaveDeadline(limits, wave_)) +
                      "s: " + std::to_string(Of(wave_).in_flight) + " of " +
                      std::to_string(Of(wave_).offered) + " nodes still in flight; nodes:";
    for (const auto& id : late) why += " " + id;
    event.halt = std::move(why);
    return;
  }
  MaybeAdvance(limits, rule, now, event);
}

void WaveState::MaybeAdvance(const WaveLimits& limits, const HaltRule& rule, std::int64_t now,
                             WaveEvent& event) {
  const auto& t = Of(wave_);
  if (t.offered == 0) return;
  const bool all_in = t.offered >= WaveSize(limits, wave_) && t.in_flight == 0;
  const bool baked =
      now >= started_at_ + limits.bake_s &&
      static_cast<double>(t.committed) >= kBakeCommittedShare * static_cast<double>(t.offered);
  if (!all_in && !baked) return;
  // Too few results to halt on the rate while the wave ran, but the next wave would be twice
  // as big: a wave that ends over the rate stops here.
  if (failed_ > 0 && static_cast<double>(failed_) > rule.max_rate * static_cast<double>(results_)) {
    char buf[96];
    std::snprintf(buf, sizeof buf, "finished with failure rate %.1f%% over the limit %.1f%%",
                  100.0 * static_cast<double>(failed_) / static_cast<double>(results_),
                  rule.max_rate * 100);
    event.halt = Reason(buf, wave_);
    return;
  }
  ++wave_;
  started_at_ = now;
  event.wave_started = true;
}

std::string WaveState::Reason(std::string_view signal, std::int64_t wave) const {
  std::string out = "halted automatically: ";
  out += wave == 0 ? "the canary wave failed on " : "wave " + std::to_string(wave) + ": ";
  out += signal;
  out += "; " + std::to_string(failed_) + " failed of " + std::to_string(results_) + " results, " +
         std::to_string(offered()) + " offered (";
  bool first = true;
  for (const auto o : kFailures) {
    auto it = by_signal_.find(static_cast<int>(o));
    if (it == by_signal_.end()) continue;
    out += (first ? "" : " ") + std::string(OutcomeName(o)) + "=" + std::to_string(it->second);
    first = false;
  }
  out += "); nodes:";
  for (const auto& id : failed_ids_) out += " " + id;
  return out;
}

}  // namespace steward::controller
