// The controller's domain wired as the Service wires it, over a FakeStore and a FakeClock, for
// tests that call fleet, releases and rollouts directly. Fill `store` before Load().
#pragma once

#include <gtest/gtest.h>

#include "controller/fleet.hpp"
#include "tests/unit/controller/fake_store.hpp"

namespace steward::controller {

// An artifact probe that answers what the test says and counts the manifests it was asked.
class FakeProbe final : public ArtifactProbe {
 public:
  Result<void> answer;
  int checks = 0;
  Result<void> Check(const trust::Manifest&) override {
    ++checks;
    return answer;
  }
};

struct Domain {
  explicit Domain(HaltPolicy halt = {}, trust::Root trust_root = {})
      : halt_policy(halt), root(std::move(trust_root)) {}

  FakeStore store;
  FakeClock clock;
  FakeProbe probe;
  HaltPolicy halt_policy;
  trust::Root root;
  Membership membership{store, clock, "http://self:1", std::chrono::seconds(30)};
  Flags flags{store, clock};
  Windows windows{store, clock};
  Releases releases{store, clock, root, probe};
  Rollouts rollouts{store, clock, releases, halt_policy};
  Fleet fleet{store, clock, rollouts, releases, flags, windows, membership, FleetOptions{42, "[]"}};

  void Load() {
    ASSERT_TRUE(releases.Load());
    ASSERT_TRUE(rollouts.Load());
    ASSERT_TRUE(flags.Load());
    ASSERT_TRUE(windows.Load());
    ASSERT_TRUE(fleet.Load());
  }

  std::int64_t Now() const { return UnixSeconds(clock.Now()); }

  // What node `node_id` running `running` of agent/stable is offered, in a channel of
  // `channel_nodes` nodes.
  // `stable`'s maintenance windows apply, as a check-in's.
  std::optional<std::string> Offer(const std::string& running, const std::string& node_id,
                                   std::int64_t channel_nodes = 1, bool crash_loop = false) {
    const std::string component = "agent";
    const std::string channel = "stable";
    const auto held = windows.For(channel);
    auto o = rollouts.Offer({component, channel, running, node_id, crash_loop, channel_nodes, Now(),
                             held ? &held->schedule : nullptr});
    return o ? std::optional(o->version) : std::nullopt;
  }
};

}  // namespace steward::controller
