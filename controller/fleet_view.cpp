// The fleet as the admin API lists it (controller/fleet.hpp): node pages with filters and the
// per-component, per-channel overview the dashboard's fleet page draws. Reads only what the
// fleet keeps in memory; nothing here touches the store or the check-in path.
#include <algorithm>
#include <tuple>

#include "controller/fleet.hpp"

namespace steward::controller {

namespace {

constexpr std::int64_t kLateAfter = 3;     // check-in intervals
constexpr std::int64_t kSilentAfter = 30;  // check-in intervals

char Lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

// `lower_needle` is already lower case: a scan of the whole fleet lowers only the hostnames.
bool ContainsIgnoringCase(std::string_view haystack, std::string_view lower_needle) {
  if (lower_needle.size() > haystack.size()) return false;
  for (std::size_t i = 0; i + lower_needle.size() <= haystack.size(); ++i) {
    std::size_t j = 0;
    while (j < lower_needle.size() && Lower(haystack[i + j]) == lower_needle[j]) ++j;
    if (j == lower_needle.size()) return true;
  }
  return false;
}

// f.hostname in lower case.
bool Matches(const NodeFilter& f, const NodeState& st, std::int64_t now, std::int64_t interval) {
  if (!f.hostname.empty() && !ContainsIgnoringCase(st.record.hostname, f.hostname)) return false;
  if (f.checkin && FreshnessOf(st.record.last_seen, now, interval) != *f.checkin) return false;
  if (f.component.empty() && f.channel.empty() && f.version.empty() && f.state.empty()) {
    return true;
  }
  return std::ranges::any_of(st.components, [&](const ComponentReport& c) {
    return (f.component.empty() || c.name == f.component) &&
           (f.channel.empty() || c.channel == f.channel) &&
           (f.version.empty() || c.running_version == f.version) &&
           (f.state.empty() || c.state == f.state);
  });
}

}  // namespace

std::string_view FreshnessName(Freshness c) {
  switch (c) {
    case Freshness::ok:
      return "ok";
    case Freshness::late:
      return "late";
    case Freshness::silent:
      return "silent";
  }
  return "ok";
}

std::optional<Freshness> FreshnessFromName(std::string_view name) {
  for (auto c : {Freshness::ok, Freshness::late, Freshness::silent}) {
    if (FreshnessName(c) == name) return c;
  }
  return std::nullopt;
}

Freshness FreshnessOf(std::int64_t last_seen, std::int64_t now, std::int64_t interval_s) {
  if (last_seen == 0) return Freshness::silent;
  const auto missed = (now - last_seen) / std::max<std::int64_t>(interval_s, 1);
  if (missed >= kSilentAfter) return Freshness::silent;
  return missed >= kLateAfter ? Freshness::late : Freshness::ok;
}

NodePage Fleet::Find(const NodeQuery& query) const {
  NodePage out;
  NodeQuery q = query;
  std::ranges::transform(q.filter.hostname, q.filter.hostname.begin(), Lower);
  const auto now = UnixSeconds(clock_.Now());
  std::lock_guard lock(mu_);
  for (auto it = ids_.upper_bound(q.after); it != ids_.end(); ++it) {
    const auto& st = nodes_.at(*it);
    if (!Matches(q.filter, st, now, opt_.checkin_interval_s)) continue;
    if (q.limit != 0 && out.nodes.size() == q.limit) {
      out.next = out.nodes.back().record.id;
      break;
    }
    out.nodes.push_back(st);
  }
  return out;
}

// One pass over the fleet under the lock. A fleet has a handful of (component, channel)
// groups: a linear search that usually hits the previous node's group beats a map keyed by
// string pairs at 100 000 nodes.
FleetOverview Fleet::Overview() const {
  FleetOverview out;
  out.checkin_interval_s = opt_.checkin_interval_s;
  const auto now = UnixSeconds(clock_.Now());
  auto& groups = out.groups;
  std::size_t last = 0;
  auto group_of = [&](const ComponentReport& c) -> FleetGroup& {
    if (last < groups.size() && groups[last].component == c.name &&
        groups[last].channel == c.channel) {
      return groups[last];
    }
    auto it = std::ranges::find_if(groups, [&](const FleetGroup& g) {
      return g.component == c.name && g.channel == c.channel;
    });
    if (it == groups.end()) {
      FleetGroup g;
      g.component = c.name;
      g.channel = c.channel;
      it = groups.insert(groups.end(), std::move(g));
    }
    last = static_cast<std::size_t>(it - groups.begin());
    return *it;
  };
  auto count = [](std::map<std::string, std::int64_t>& m, const std::string& key,
                  const char* if_empty) {
    if (key.empty()) {
      ++m[if_empty];
    } else if (auto it = m.find(key); it != m.end()) {
      ++it->second;
    } else {
      m.emplace(key, 1);
    }
  };
  {
    std::lock_guard lock(mu_);
    for (const auto& [id, st] : nodes_) {
      const auto checkin = FreshnessOf(st.record.last_seen, now, opt_.checkin_interval_s);
      ++(checkin == Freshness::ok ? out.ok : checkin == Freshness::late ? out.late : out.silent);
      for (const auto& c : st.components) {
        auto& g = group_of(c);
        ++g.nodes;
        count(g.versions, c.running_version, "none");
        count(g.states, c.state, "unknown");
        if (checkin == Freshness::late) ++g.late;
        if (checkin == Freshness::silent) ++g.silent;
      }
    }
  }
  std::ranges::sort(groups, {},
                    [](const FleetGroup& g) { return std::tie(g.component, g.channel); });
  return out;
}

FleetCounts CountsOf(const FleetOverview& overview) {
  FleetCounts out;
  out.nodes = static_cast<std::size_t>(overview.ok + overview.late + overview.silent);
  for (const auto& g : overview.groups) {
    for (const auto& [v, n] : g.versions) out.versions[g.component][v] += n;
    for (const auto& [s, n] : g.states) out.states[g.component][s] += n;
  }
  return out;
}

}  // namespace steward::controller
