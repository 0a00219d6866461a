// Two controllers share one SQLite store; the one the nodes talk to is killed. The nodes fail
// over to the survivor, keep their node ids (the survivor finds nodes enrolled by its peer in
// the store) and keep updating from it.
#include <gtest/gtest.h>

#include "tests/e2e/fleet.hpp"

namespace steward::test::e2e {
namespace {

TEST(Failover, NodesFailOverToTheSurvivorAndKeepUpdating) {
  auto a = MakeController();
  a->Start();
  // b: the same store, blob dir, root and tokens, on an address of its own.
  auto b = MakeController(FreePort());
  auto shared = files::ReadFile(a->config(), 1 << 20);
  ASSERT_TRUE(shared);
  std::string b_config = *shared;
  auto b_own = files::ReadFile(b->config(), 1 << 20);
  ASSERT_TRUE(b_own);
  const auto listen = [](const std::string& text) {
    const auto at = text.find("listen = ");
    return text.substr(at, text.find('\n', at) - at);
  };
  b_config.replace(b_config.find(listen(b_config)), listen(b_config).size(), listen(*b_own));
  b->dir.Write("controller.toml", b_config);
  b->Start();
  // Artifacts are listed at both controllers: the survivor serves them too.
  Publish(*a, "agent", "1.0.0", 1, {b->url});
  Publish(*a, "agent", "1.1.0", 2, {b->url});
  SetRollout(*a, "1.0.0", 100);
  // Each controller reads releases and rollouts from the store when it starts: b is restarted
  // (same address) to see what was published through a. The nodes enroll after that, through
  // a, so b learns of them only from the store.
  b->Restart();

  auto hosts = MakeHosts(2);
  const std::string root = (a->dir / "root.json").string();
  for (auto& h : hosts) h->Start({a->url, b->url}, root);
  for (auto& h : hosts) {
    ASSERT_TRUE(h->WaitRunning("1.0.0")) << h->Logs();
    EXPECT_EQ(h->Status()["checkin"]["controller"], a->url);
  }
  const auto ids = NodeIds(*a, hosts);
  for (const auto& id : ids) ASSERT_FALSE(id.empty());

  Kill9(*a);
  // The operator goes on with the survivor.
  SetRollout(*b, "1.1.0", 100);
  for (auto& host : hosts) {
    Host& h = *host;
    ASSERT_TRUE(h.WaitRunning("1.1.0")) << h.Logs();
    EXPECT_EQ(h.Status()["checkin"]["controller"], b->url);
    EXPECT_EQ(h.AgentProcesses().size(), 1u);
  }
  ASSERT_TRUE(Eventually([&] { return FleetCount(*b, "1.1.0") == 2; }, 20s))
      << b->Admin("GET", "fleet").raw;
  // Still one node per host, under the ids they enrolled with.
  EXPECT_EQ(b->Admin("GET", "nodes").body["nodes"].size(), 2u) << b->Admin("GET", "nodes").raw;
  EXPECT_EQ(StoreNodeCount(*a), 2);  // the shared store lives in a's directory
  EXPECT_EQ(NodeIds(*b, hosts), ids);
  const auto r = Rollout(*b);
  EXPECT_EQ(r["nodes_on_target"], 2) << r.dump();
  EXPECT_EQ(r["update_attempts"], 2) << r.dump();
}

}  // namespace
}  // namespace steward::test::e2e
