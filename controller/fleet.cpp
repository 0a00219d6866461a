#include "controller/fleet.hpp"

#include <array>
#include <span>

#include "common/log.hpp"
#include "common/protocol.hpp"
#include "controller/secrets.hpp"
#include "controller/wire.hpp"

namespace steward::controller {

namespace {
// The same components on the same channels, in the same order (a node's usual check-in).
bool SameChannels(const std::vector<ComponentReport>& a, const std::vector<ComponentReport>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i].name != b[i].name || a[i].channel != b[i].channel) return false;
  }
  return true;
}
}  // namespace

Fleet::Fleet(Store& store, Clock& clock, Rollouts& rollouts, const Releases& releases,
             const Flags& flags, const Windows& windows, Membership& membership,
             FleetOptions options)
    : store_(store),
      clock_(clock),
      rollouts_(rollouts),
      releases_(releases),
      flags_(flags),
      windows_(windows),
      membership_(membership),
      opt_(std::move(options)) {}

Result<void> Fleet::Load() {
  auto nodes = store_.ListNodes();
  if (!nodes) return std::unexpected(nodes.error());
  std::lock_guard lock(mu_);
  for (auto& n : *nodes) {
    NodeState st;
    st.components = ComponentsOfReport(n.report);
    st.record = std::move(n);
    IndexNode(st.record);
    CountChannels(st.components, 1);
    nodes_.emplace(st.record.id, std::move(st));
  }
  return {};
}

Result<Enrollment> Fleet::Enroll(const EnrollRequest& req) {
  Enrollment out;
  out.node_token = RandomHex(32);
  NodeRecord rec;
  {
    std::lock_guard lock(mu_);
    // A machine id is what the host says it is, so it proves nothing: a node enrolling again
    // keeps its id only when it shows its current node token. Anyone else claiming that
    // machine id (a copied disk image, a guess) gets a node of its own.
    const NodeState* same = nullptr;
    if (auto it = req.proof.empty() ? by_token_.end() : by_token_.find(TokenHash(req.proof));
        it != by_token_.end() && nodes_.at(it->second).record.machine_id == req.machine_id) {
      same = &nodes_.at(it->second);
    }
    out.refused_takeover = same == nullptr && by_machine_.contains(req.machine_id);
    if (same != nullptr) {
      by_token_.erase(same->record.token_hash);
      rec = same->record;
    } else {
      rec.id = "n-" + RandomHex(12);
      rec.enrolled_at = UnixSeconds(clock_.Now());
    }
    rec.token_hash = TokenHash(out.node_token);
    rec.hostname = req.hostname;
    rec.machine_id = req.machine_id;
    rec.platform = req.platform;
    if (auto r = store_.SaveNode(rec); !r) return std::unexpected(r.error());
    nodes_[rec.id].record = rec;
    IndexNode(rec);
  }
  if (out.refused_takeover) {
    log::Get("controller")
        .warn(
            "enroll for machine_id={} without that node's token: enrolled as a new node={} "
            "remote={} hostname={}",
            req.machine_id, rec.id, req.remote, rec.hostname);
  }
  log::Get("controller")
      .debug("enrolled node={} hostname={} platform={}", rec.id, rec.hostname, rec.platform);
  out.node_id = rec.id;
  return out;
}

Result<CheckinAnswer> Fleet::Checkin(std::string_view node_token, CheckinReport report) {
  const std::string hash = TokenHash(node_token);
  std::lock_guard lock(mu_);
  auto owner = by_token_.find(hash);
  if (owner == by_token_.end()) {
    // A store that does not answer says nothing about the token: the node tries again later
    // (or another controller) rather than enroll anew.
    auto adopted = AdoptFromStore(report.node_id, hash);
    if (!adopted) return std::unexpected(adopted.error());
    owner = *adopted;
  }
  if (owner == by_token_.end()) {
    return Fail(ErrorCode::unauthorized, "the node token is not valid; enroll again");
  }
  auto& st = nodes_.at(owner->second);
  if (!SecretEquals(st.record.token_hash, hash)) {
    return Fail(ErrorCode::unauthorized, "the node token is not valid; enroll again");
  }
  if (st.record.id != report.node_id) {
    return Fail(ErrorCode::forbidden, "this token belongs to node " + st.record.id + ", not " +
                                          report.node_id + "; a node can only report for itself");
  }
  const auto now = UnixSeconds(clock_.Now());
  RecordUpdates(st, report.components, now);
  st.record.last_seen = now;
  st.record.report = std::move(report.body);
  const bool moved = !SameChannels(st.components, report.components);
  if (moved) CountChannels(st.components, -1);
  st.components = std::move(report.components);
  if (moved) CountChannels(st.components, 1);
  if (auto r = store_.SaveNode(st.record); !r) return std::unexpected(r.error());
  return Answer(st, now);
}

// Only an update the node did not report at its previous check-in is new.
void Fleet::RecordUpdates(const NodeState& st, const std::vector<ComponentReport>& reported,
                          std::int64_t now) {
  for (const auto& c : reported) {
    if (!c.last_update) continue;
    bool seen = false;
    for (const auto& old : st.components) {
      if (old.name == c.name && old.last_update == c.last_update) seen = true;
    }
    if (!seen) rollouts_.RecordUpdate(st.record.id, c.name, c.channel, *c.last_update, now);
  }
}

CheckinAnswer Fleet::Answer(const NodeState& st, std::int64_t now) {
  CheckinAnswer out;
  std::vector<protocol::UpdateWindows> held;
  for (const auto& c : st.components) {
    const auto windows = windows_.For(c.channel);
    auto offer = rollouts_.Offer({c.name, c.channel, c.running_version, st.record.id, c.crash_loop,
                                  ChannelNodes(c), now, windows ? &windows->schedule : nullptr});
    if (!offer) continue;
    auto rel = releases_.Find(c.name, c.channel, offer->version);
    if (!rel) continue;
    out.releases.push_back(std::move(rel));
    if (windows && !offer->any_time) {
      const auto max_wait = windows->record.max_wait_s;
      held.push_back(
          {c.name, windows->record.windows, max_wait > 0 ? std::optional(max_wait) : std::nullopt});
    }
  }
  if (!held.empty()) out.windows = protocol::Encode(held);
  // A node reports a handful of components: a small array on the stack, no allocation.
  std::array<std::string_view, protocol::kMaxComponents> channels;
  std::size_t n = 0;
  for (const auto& c : st.components) {
    if (n < channels.size()) channels[n++] = c.channel;
  }
  flags_.AppendEffective(out.flags, std::span(channels.data(), n));
  out.controllers = membership_.ControllersJson();
  out.checkin_interval_s = opt_.checkin_interval_s;
  out.roots = opt_.roots_json;
  return out;
}

// A token this controller has not seen may belong to a node that enrolled (or enrolled again)
// through another controller sharing the store: when the store holds node `id` with that
// token, its record replaces what is in memory. by_token_.end() otherwise; unavailable when the
// store could not be asked. mu_ held.
Result<Fleet::TokenIndex::iterator> Fleet::AdoptFromStore(const std::string& id,
                                                          const std::string& hash) {
  auto found = store_.GetNode(id);
  if (!found) {
    return Fail(
        ErrorCode::unavailable,
        "this controller cannot reach its store to look the node up: " + found.error().message);
  }
  if (!*found || !SecretEquals((*found)->token_hash, hash)) return by_token_.end();
  if (auto old = nodes_.find(id); old != nodes_.end()) {
    by_token_.erase(old->second.record.token_hash);
    CountChannels(old->second.components, -1);
  }
  NodeState st;
  st.components = ComponentsOfReport((*found)->report);
  CountChannels(st.components, 1);
  st.record = std::move(**found);
  IndexNode(st.record);
  nodes_[id] = std::move(st);
  log::Get("controller")
      .debug("node={} known from the store (enrolled through another controller)", id);
  return by_token_.find(hash);
}

void Fleet::IndexNode(const NodeRecord& r) {
  by_token_[r.token_hash] = r.id;
  by_machine_.try_emplace(r.machine_id, r.id);  // a machine id names the node that had it first
  ids_.insert(r.id);
}

namespace {
std::string ChannelKey(const ComponentReport& c) {
  std::string key = c.name;
  key += '\0';
  key += c.channel;
  return key;
}
}  // namespace

// A check-in reports a handful of components; the short keys stay in the string's own buffer.
void Fleet::CountChannels(const std::vector<ComponentReport>& components, std::int64_t delta) {
  for (const auto& c : components) {
    auto& n = on_channel_[ChannelKey(c)];
    n += delta;
  }
}

std::int64_t Fleet::ChannelNodes(const ComponentReport& c) const {
  auto it = on_channel_.find(ChannelKey(c));
  return it == on_channel_.end() ? 0 : it->second;
}

std::optional<NodeState> Fleet::Node(const std::string& id) const {
  std::lock_guard lock(mu_);
  auto it = nodes_.find(id);
  if (it == nodes_.end()) return std::nullopt;
  return it->second;
}

std::size_t Fleet::size() const {
  std::lock_guard lock(mu_);
  return nodes_.size();
}

RolloutReach Fleet::Reach(const RolloutRecord& r) const {
  RolloutReach out;
  std::lock_guard lock(mu_);
  for (const auto& [id, st] : nodes_) {
    for (const auto& c : st.components) {
      if (c.name != r.component || c.channel != r.channel) continue;
      ++out.nodes;
      if (c.running_version == r.version) ++out.on_target;
      if (InRollout(Bucket(r.seed, id), r.percent)) ++out.in_bucket;
    }
  }
  return out;
}

}  // namespace steward::controller
