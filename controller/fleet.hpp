// The fleet (docs/protocol.md `enroll`, `checkin`): enrolling nodes, their check-ins and the
// answer each check-in gets. Nodes are kept in memory (loaded at start, written through to the
// Store) so a check-in costs no store read; a node that enrolled through another controller
// sharing the store is looked up there the first time its token is seen.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/clock.hpp"
#include "common/error.hpp"
#include "controller/flags.hpp"
#include "controller/membership.hpp"
#include "controller/releases.hpp"
#include "controller/rollout.hpp"
#include "controller/store.hpp"
#include "controller/windows.hpp"

namespace steward::controller {

struct EnrollRequest {
  std::string hostname;
  std::string machine_id;
  std::string platform;
  std::string proof;   // the node token shown when enrolling again, "" for none
  std::string remote;  // the peer, for the log
};

struct Enrollment {
  std::string node_id;
  std::string node_token;
  // The machine id belongs to an enrolled node whose token was not shown: a new node was made.
  bool refused_takeover = false;
};

// One component of a check-in report.
struct ComponentReport {
  std::string name;
  std::string channel;
  std::string running_version;
  std::string state;
  std::optional<LastUpdate> last_update;  // none also when it named no result we know
  bool crash_loop = false;
};

struct CheckinReport {
  std::string node_id;
  std::vector<ComponentReport> components;
  std::string body;  // the report as sent (one JSON object), kept as the node's last report
};

struct CheckinAnswer {
  std::vector<std::shared_ptr<const PublishedRelease>> releases;  // offered, by component
  std::string flags;        // the node's effective flags, a JSON object
  std::string controllers;  // the live controllers, a JSON array
  std::int64_t checkin_interval_s = 0;
  std::string_view roots;  // a JSON array; lives as long as the Fleet
  std::string windows;     // protocol::UpdateWindows of the offers windows govern; "" for none
};

struct NodeState {
  NodeRecord record;
  std::vector<ComponentReport> components;  // as of the last check-in
};

// How far a rollout reached among the nodes reporting its component and channel.
struct RolloutReach {
  std::int64_t nodes = 0;
  std::int64_t in_bucket = 0;
  std::int64_t on_target = 0;
};

// Per component: how many nodes run each version ("none": unknown) and are in each state
// ("unknown" when not reported).
struct FleetCounts {
  std::size_t nodes = 0;
  std::map<std::string, std::map<std::string, std::int64_t>> versions;
  std::map<std::string, std::map<std::string, std::int64_t>> states;
};

// How recently a node checked in, in check-in intervals: late after 3 missed check-ins, silent
// after 30 (or never checked in). Shown apart from failures: a late node may be fine and cut off.
enum class Freshness { ok, late, silent };
std::string_view FreshnessName(Freshness c);
std::optional<Freshness> FreshnessFromName(std::string_view name);
Freshness FreshnessOf(std::int64_t last_seen, std::int64_t now, std::int64_t interval_s);

// GET /v1/admin/nodes filters; empty fields match everything. A node matches when one of its
// components matches component, channel, version and state together.
struct NodeFilter {
  std::string component;
  std::string channel;
  std::string version;  // running version
  std::string state;
  std::string hostname;  // a substring, ASCII case ignored
  std::optional<Freshness> checkin;
};

struct NodeQuery {
  NodeFilter filter;
  std::string after;      // the cursor: ids greater than this
  std::size_t limit = 0;  // 0: every match
};

struct NodePage {
  std::vector<NodeState> nodes;  // ordered by id
  std::string next;              // the cursor of the next page, "" after the last
};

// One component on one channel across the fleet: nodes per running version and per state, and
// the nodes among them that are late or silent.
struct FleetGroup {
  std::string component;
  std::string channel;
  std::int64_t nodes = 0;
  std::map<std::string, std::int64_t> versions;
  std::map<std::string, std::int64_t> states;
  std::int64_t late = 0;
  std::int64_t silent = 0;
};

struct FleetOverview {
  std::vector<FleetGroup> groups;  // by component, then channel
  std::int64_t ok = 0;             // nodes by check-in freshness
  std::int64_t late = 0;
  std::int64_t silent = 0;
  std::int64_t checkin_interval_s = 0;
};

// The per-component counts of GET fleet (FleetCounts), summed from the overview's groups, so
// the fleet view walks the nodes once.
FleetCounts CountsOf(const FleetOverview& overview);

struct FleetOptions {
  std::int64_t checkin_interval_s = 60;
  std::string roots_json = "[]";
};

class Fleet {
 public:
  Fleet(Store& store, Clock& clock, Rollouts& rollouts, const Releases& releases,
        const Flags& flags, const Windows& windows, Membership& membership, FleetOptions options);

  // Loads the nodes; before serving.
  Result<void> Load();

  // The caller checked the enroll token. A node enrolling again keeps its id only when it
  // shows its current node token (request.proof); it always gets a new token.
  Result<Enrollment> Enroll(const EnrollRequest& request);

  // unauthorized for a token no node has, forbidden for another node's token. Records newly
  // reported update results towards their rollouts before answering.
  Result<CheckinAnswer> Checkin(std::string_view node_token, CheckinReport report);

  std::optional<NodeState> Node(const std::string& id) const;
  std::size_t size() const;
  RolloutReach Reach(const RolloutRecord& rollout) const;
  // Node listing for the admin API and the dashboard (controller/fleet_view.cpp): a page in id
  // order from an ordered index, so an unfiltered page costs its size, not the fleet's.
  NodePage Find(const NodeQuery& query) const;
  FleetOverview Overview() const;

 private:
  using TokenIndex = std::unordered_map<std::string, std::string>;  // token hash -> node id
  Result<TokenIndex::iterator> AdoptFromStore(const std::string& id, const std::string& hash);
  void RecordUpdates(const NodeState& st, const std::vector<ComponentReport>& reported,
                     std::int64_t now);
  CheckinAnswer Answer(const NodeState& st, std::int64_t now);
  void IndexNode(const NodeRecord& record);  // mu_ held, or before serving
  // Keeps the nodes-per-channel count as a node's components change; mu_ held.
  void CountChannels(const std::vector<ComponentReport>& components, std::int64_t delta);
  std::int64_t ChannelNodes(const ComponentReport& c) const;

  Store& store_;
  Clock& clock_;
  Rollouts& rollouts_;
  const Releases& releases_;
  const Flags& flags_;
  const Windows& windows_;
  Membership& membership_;
  const FleetOptions opt_;

  mutable std::mutex mu_;
  std::unordered_map<std::string, NodeState> nodes_;
  TokenIndex by_token_;
  std::unordered_map<std::string, std::string> by_machine_;  // machine id -> node id
  // "component\0channel" -> nodes reporting it: the waves are sized by it (controller/waves.hpp).
  std::unordered_map<std::string, std::int64_t> on_channel_;
  std::set<std::string> ids_;  // every node id, ordered for paging
};

}  // namespace steward::controller
