// Paced rollouts (docs/controller.md "Waves"): how many nodes a rollout may move at a time, and
// the failure signals that halt it on their own. Percent says *who* may update; a WaveState says
// *how many at once*: a canary wave, then waves doubling in size, each starting when the one
// before has committed (or its bake time passed with enough of it committed), with at most
// `max_in_flight` nodes between the answer that offered them and their result. Everything here
// is pure: times are passed in, the caller persists what it is told to.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace steward::controller {

// What an operator may set per rollout; 0 means the default for the fleet's size.
struct WaveSettings {
  std::int64_t canary = 0;
  std::int64_t max_in_flight = 0;
  std::int64_t bake_s = 0;
  bool immediate = false;  // no waves: everyone in the percent at once (an emergency fix)
  bool operator==(const WaveSettings&) const = default;
};

inline constexpr std::int64_t kDefaultBakeS = 30 * 60;
inline constexpr std::int64_t kCanaryMaxInFlight = 20;
inline constexpr double kBakeCommittedShare = 0.9;  // "enough committed" once the bake passed
inline constexpr int kSilentIntervals = 3;          // no check-in for longer: gone silent
inline constexpr std::int64_t kMinSilenceS = 10;    // …and never less (second-long test intervals)
inline constexpr std::size_t kHaltNodeIds = 10;     // node ids a halt reason names

// The settings resolved for a channel of `channel_nodes` nodes.
struct WaveLimits {
  std::int64_t canary = 5;            // max(5, 0.05 % of the nodes)
  std::int64_t canary_in_flight = 5;  // at most 20, and never more than max_in_flight
  std::int64_t max_in_flight = 20;    // max(20, 1 % of the nodes)
  std::int64_t bake_s = kDefaultBakeS;
};
WaveLimits ResolveLimits(const WaveSettings& settings, std::int64_t channel_nodes);

// Wave 0 is the canary; wave k holds canary * 2^k nodes (saturating).
std::int64_t WaveSize(const WaveLimits& limits, std::int64_t wave);
// A wave that has nodes in flight past this (seconds from its start) halts the rollout: a bake
// for every batch of max_in_flight nodes it holds, plus one.
std::int64_t WaveDeadline(const WaveLimits& limits, std::int64_t wave);

// What ends a node's time in flight. The failures are the halt signals.
enum class Outcome { in_flight, committed, done, rolled_back, environment, crash_loop, silent };
bool IsFailure(Outcome o);
const char* OutcomeName(Outcome o);

struct HaltRule {
  double max_rate = 0.05;  // later waves: failures / results past this halts
  std::int64_t min_attempts = 20;
};

// What the caller must act on after a call: persist the new wave, halt with a reason.
struct WaveEvent {
  bool wave_started = false;
  std::optional<std::string> halt;
};

class WaveState {
 public:
  WaveState(std::int64_t wave, std::int64_t wave_started_at)
      : wave_(wave), started_at_(wave_started_at) {}

  // Rebuilding after a restart: an offer from the store, then the results reported since.
  // Restored nodes count as seen at `now`: silence is measured from the restart on.
  void RestoreOffer(const std::string& node_id, std::int64_t wave, std::int64_t offered_at,
                    std::int64_t now);
  void RestoreOutcome(const std::string& node_id, Outcome outcome);

  bool Offered(const std::string& node_id) const { return nodes_.contains(node_id); }

  // A node that may take the target and has not been offered it asks: true when the current
  // wave (started first when the previous one is finished) has room and the in-flight cap
  // allows; the node is then in flight from `now`.
  // A wave that finishes with failures over the rate halts instead of growing.
  bool Admit(const std::string& node_id, const WaveLimits& limits, const HaltRule& rule,
             std::int64_t now, WaveEvent& event);

  // What an offered node's check-in says.
  struct Sighting {
    bool on_target = false;   // it runs the target
    bool crash_loop = false;  // it reports the component crash-looping
  };
  // An offered node checked in. Crash-looping on the target within its bake is a failure
  // signal. Still not on the target a whole bake after its offer, it declined it (held,
  // pinned, refused): it leaves the in-flight count without a failure.
  void Seen(const std::string& node_id, std::int64_t now, Sighting sighting,
            const WaveLimits& limits, const HaltRule& rule, WaveEvent& event);

  // An offered node reported a result (committed, done, rolled_back or environment); one that
  // had declined (above) may still report the result of a late attempt.
  void Reported(const std::string& node_id, Outcome outcome, const HaltRule& rule,
                WaveEvent& event);

  // A paused wave resumes: its bake and deadline count from `now`.
  void Resume(std::int64_t now) { started_at_ = now; }

  // Periodic: nodes gone silent within their bake time, the wave's deadline, and starting the
  // next wave once this one is finished.
  void Tick(const WaveLimits& limits, const HaltRule& rule, std::int64_t now,
            std::int64_t checkin_interval_s, WaveEvent& event);

  std::int64_t wave() const { return wave_; }
  std::int64_t wave_started_at() const { return started_at_; }
  std::int64_t in_flight() const { return in_flight_; }
  std::int64_t committed() const { return committed_; }
  std::int64_t failed() const { return failed_; }
  std::int64_t offered() const { return static_cast<std::int64_t>(nodes_.size()); }

 private:
  struct Node {
    std::int64_t wave = 0;
    std::int64_t offered_at = 0;
    std::int64_t last_seen = 0;
    Outcome outcome = Outcome::in_flight;
  };
  struct Tally {
    std::int64_t offered = 0, in_flight = 0, committed = 0;
  };

  void Settle(const std::string& id, Node& node, Outcome outcome, const HaltRule& rule,
              WaveEvent& event);
  void MaybeAdvance(const WaveLimits& limits, const HaltRule& rule, std::int64_t now,
                    WaveEvent& event);
  std::string Reason(std::string_view signal, std::int64_t wave) const;
  Tally& Of(std::int64_t wave) { return tallies_[wave]; }

  std::int64_t wave_;
  std::int64_t started_at_;
  std::unordered_map<std::string, Node> nodes_;
  std::unordered_map<std::int64_t, Tally> tallies_;
  std::deque<std::string> watch_;        // offered nodes in offer order, while silence may matter
  std::vector<std::string> failed_ids_;  // the first kHaltNodeIds failures
  std::unordered_map<int, std::int64_t> by_signal_;
  std::int64_t in_flight_ = 0, committed_ = 0, failed_ = 0, results_ = 0;
};

}  // namespace steward::controller
