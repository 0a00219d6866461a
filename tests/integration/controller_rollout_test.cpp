// Rollouts on the real controller: percent buckets, the minimum version first, pause, the
// automatic halt on rollbacks, and a restart in the middle of a rollout resuming it exactly.
#include <gtest/gtest.h>

#include <set>

#include "tests/integration/controller_support.hpp"

namespace steward::test {
namespace {

// Starts `c` with agent 1.0.0 and 2.0.0 published and 2.0.0 rolled out to every node
// (`immediate`: all at once, without waves).
void RollOut2(Controller& c, bool immediate = false) {
  c.Start();
  c.PublishVersion("agent", "stable", "1.0.0", 1);
  c.PublishVersion("agent", "stable", "2.0.0", 2);
  ASSERT_EQ(c.Admin("PUT", "rollouts/agent/stable",
                    json{{"version", "2.0.0"}, {"percent", 100}, {"immediate", immediate}})
                .status,
            200);
}

TEST(ControllerRollout, MinimumVersionComesFirst) {
  Controller c;
  c.Start();
  c.PublishVersion("agent", "stable", "1.0.0", 1);
  c.PublishVersion("agent", "stable", "1.1.0", 2);
  c.PublishVersion("agent", "stable", "2.0.0", 3);
  auto r = c.Admin("PUT", "rollouts/agent/stable",
                   json{{"version", "2.0.0"}, {"percent", 100}, {"minimum", "1.1.0"}});
  ASSERT_EQ(r.status, 200) << r.raw;

  auto old_node = c.Enroll("old");
  auto mid_node = c.Enroll("mid");
  EXPECT_EQ(Controller::Offered(c.Checkin(old_node, StableAgent("1.0.0")), "agent"), "1.1.0");
  EXPECT_EQ(Controller::Offered(c.Checkin(mid_node, StableAgent("1.1.0")), "agent"), "2.0.0");
  // Once the old node reached the minimum, it goes on to the target.
  EXPECT_EQ(Controller::Offered(c.Checkin(old_node, StableAgent("1.1.0")), "agent"), "2.0.0");

  // A minimum or target that is not published, or a minimum not below the target, is refused.
  r = c.Admin("PUT", "rollouts/agent/stable", json{{"version", "3.0.0"}});
  EXPECT_EQ(r.status, 404);
  EXPECT_NE(r.message().find("publish it first"), std::string::npos) << r.raw;
  r = c.Admin("PUT", "rollouts/agent/stable", json{{"minimum", "2.0.0"}});
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.message().find("must be below the target"), std::string::npos) << r.raw;
  r = c.Admin("PUT", "rollouts/agent/stable", json{{"percent", 101}});
  EXPECT_EQ(r.status, 400);
  r = c.Admin("PUT", "rollouts/agent/beta", json{{"percent", 10}});
  EXPECT_NE(r.message().find("needs 'version' and 'percent'"), std::string::npos) << r.raw;
  r = c.Admin("PUT", "rollouts/agent/stable", json{{"seed", "mine"}});
  EXPECT_NE(r.message().find("unknown field 'seed'"), std::string::npos) << r.raw;
}

// Who is in the percent, seen all at once: an immediate rollout (waves would pace it).
TEST(ControllerRollout, PercentPicksAStableShareAndPauseStopsIt) {
  Controller c;
  c.Start();
  c.PublishVersion("agent", "stable", "2.0.0", 1);
  ASSERT_EQ(c.Admin("PUT", "rollouts/agent/stable",
                    json{{"version", "2.0.0"}, {"percent", 30}, {"immediate", true}})
                .status,
            200);
  std::vector<Node> nodes;
  std::set<std::string> in;
  for (int i = 0; i < 200; ++i) nodes.push_back(c.Enroll("m" + std::to_string(i)));
  for (const auto& n : nodes) {
    if (Controller::Offered(c.Checkin(n, StableAgent("1.0.0")), "agent") == "2.0.0")
      in.insert(n.id);
  }
  EXPECT_GT(in.size(), 30u);  // 60 expected; far outside this is a broken bucket
  EXPECT_LT(in.size(), 90u);
  // Asking again gives the same answer; raising the percent keeps everyone who was in.
  ASSERT_EQ(c.Admin("PUT", "rollouts/agent/stable", json{{"percent", 60}}).status, 200);
  std::size_t now_in = 0;
  for (const auto& n : nodes) {
    const bool offered =
        Controller::Offered(c.Checkin(n, StableAgent("1.0.0")), "agent") == "2.0.0";
    if (in.count(n.id)) {
      EXPECT_TRUE(offered) << n.id;
    }
    now_in += offered;
  }
  EXPECT_GT(now_in, in.size());

  // Paused: nobody moves; a node already on the target keeps it.
  ASSERT_EQ(c.Admin("PUT", "rollouts/agent/stable", json{{"paused", true}}).status, 200);
  for (const auto& id : in) {
    const auto& n = *std::find_if(nodes.begin(), nodes.end(), [&](auto& x) { return x.id == id; });
    EXPECT_EQ(Controller::Offered(c.Checkin(n, StableAgent("1.0.0")), "agent"), "");
    EXPECT_EQ(Controller::Offered(c.Checkin(n, StableAgent("2.0.0")), "agent"), "2.0.0");
    break;
  }
  auto fleet = c.Admin("GET", "fleet");
  EXPECT_EQ(fleet.body["nodes"], 200);
  EXPECT_EQ(fleet.body["rollouts"][0]["paused"], true);
}

// The rate rule over at least halt_min_attempts results, as an immediate rollout keeps it (a
// paced one halts on its canary's first failure: controller_waves_test).
TEST(ControllerRollout, HaltsItselfWhenTooManyRollBack) {
  Controller c("[rollout]\nhalt_rollback_rate = 0.25\nhalt_min_attempts = 4\n");
  ASSERT_NO_FATAL_FAILURE(RollOut2(c, true));
  std::vector<Node> nodes;
  for (int i = 0; i < 5; ++i) nodes.push_back(c.Enroll("m" + std::to_string(i)));
  c.Checkin(nodes[0], StableAgent("2.0.0", UpdateTo200("committed")));
  c.Checkin(nodes[1], StableAgent("1.0.0", UpdateTo200("rolled_back")));
  c.Checkin(nodes[1],
            StableAgent("1.0.0", UpdateTo200("rolled_back")));  // the same report twice counts once
  c.Checkin(nodes[2], StableAgent("2.0.0", UpdateTo200("committed")));
  auto before = c.Admin("GET", "rollouts");
  EXPECT_EQ(before.body["rollouts"][0]["paused"], false) << before.raw;
  EXPECT_EQ(before.body["rollouts"][0]["update_attempts"], 3);
  // 4th attempt, 2 of 4 rolled back: 50 % > 25 %.
  c.Checkin(nodes[3], StableAgent("1.0.0", UpdateTo200("rolled_back")));
  auto after = c.Admin("GET", "rollouts");
  ASSERT_EQ(after.body["rollouts"][0]["paused"], true) << after.raw;
  const std::string why = after.body["rollouts"][0]["halt_reason"];
  EXPECT_NE(why.find("2 of 4 nodes (50.0%) rolled back from 2.0.0"), std::string::npos) << why;
  EXPECT_EQ(Controller::Offered(c.Checkin(nodes[4], StableAgent("1.0.0")), "agent"), "");

  // The halt survives a restart; resuming clears it.
  c.Restart();
  EXPECT_EQ(c.Admin("GET", "rollouts").body["rollouts"][0]["paused"], true);
  auto resumed = c.Admin("PUT", "rollouts/agent/stable", json{{"paused", false}});
  EXPECT_EQ(resumed.body["halt_reason"], "");
  EXPECT_EQ(Controller::Offered(c.Checkin(nodes[4], StableAgent("1.0.0")), "agent"), "2.0.0");
}

TEST(ControllerRollout, RestartInTheMiddleResumesExactly) {
  Controller c;
  c.Start();
  c.PublishVersion("agent", "stable", "1.0.0", 1);
  c.PublishVersion("agent", "stable", "2.0.0", 2);
  ASSERT_EQ(c.Admin("PUT", "rollouts/agent/stable",
                    json{{"version", "2.0.0"}, {"percent", 50}, {"minimum", "1.0.0"}})
                .status,
            200);
  std::vector<Node> nodes;
  std::map<std::string, std::string> offered;
  for (int i = 0; i < 40; ++i) nodes.push_back(c.Enroll("m" + std::to_string(i)));
  for (const auto& n : nodes) {
    offered[n.id] = Controller::Offered(c.Checkin(n, StableAgent("1.0.0")), "agent");
  }
  const auto rollouts_before = c.Admin("GET", "rollouts").body;
  c.Restart();
  // Same tokens valid, same answers, same rollout.
  for (const auto& n : nodes) {
    auto r = c.Checkin(n, StableAgent("1.0.0"));
    ASSERT_EQ(r.status, 200) << r.raw;
    EXPECT_EQ(Controller::Offered(r, "agent"), offered[n.id]) << n.id;
  }
  const auto rollouts_after = c.Admin("GET", "rollouts").body;
  EXPECT_EQ(rollouts_after["rollouts"][0]["percent"], 50);
  EXPECT_EQ(rollouts_after["rollouts"][0]["minimum"], "1.0.0");
  EXPECT_EQ(rollouts_after["rollouts"][0]["nodes_in_bucket"],
            rollouts_before["rollouts"][0]["nodes_in_bucket"]);
  EXPECT_EQ(c.Admin("GET", "nodes").body["nodes"].size(), 40u);
  EXPECT_EQ(c.Admin("GET", "releases").body["releases"].size(), 2u);
}

TEST(ControllerMembership, CheckinListsEveryLiveController) {
  Controller a;
  a.Start();
  // A second controller on the same store registers itself too.
  Controller b;
  std::filesystem::copy_file(a.dir / "root.json", b.dir / "root.json",
                             std::filesystem::copy_options::overwrite_existing);
  std::filesystem::copy_file(a.dir / "root.json.root1.minisig", b.dir / "root.json.root1.minisig",
                             std::filesystem::copy_options::overwrite_existing);
  b.dir.Write("controller.toml",
              "listen = \"127.0.0.1:0\"\nstore = \"sqlite:" + (a.dir / "controller.db").string() +
                  "\"\nroot = \"" + (b.dir / "root.json").string() + "\"\nadmin_token_file = \"" +
                  (b.dir / "admin-token").string() + "\"\nenroll_token_file = \"" +
                  (b.dir / "enroll-token").string() + "\"\nblob_dir = \"" +
                  (b.dir / "blobs").string() + "\"\n");
  b.Start();
  auto node = b.Enroll("m1");
  auto r = b.Checkin(node, json::array());
  ASSERT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(r.body["controllers"].size(), 2u) << r.raw;
}

// Found by the fleet soak: a node checks in while its update is still open (result
// "in_progress"), then reports the rollback. The rollback must count, and halt the rollout.
TEST(ControllerRollout, AnUpdateReportedInProgressThenRolledBackCounts) {
  Controller c("[rollout]\nhalt_rollback_rate = 0.5\nhalt_min_attempts = 2\n");
  ASSERT_NO_FATAL_FAILURE(RollOut2(c));
  std::vector<Node> nodes;
  for (int i = 0; i < 2; ++i) nodes.push_back(c.Enroll("m" + std::to_string(i)));
  for (auto& n : nodes) {
    c.Checkin(n, StableAgent("1.0.0", UpdateTo200("in_progress")));
    c.Checkin(n, StableAgent("1.0.0", UpdateTo200("rolled_back", "health_gate_failed")));
  }
  const auto r = c.Admin("GET", "rollouts");
  EXPECT_EQ(r.body["rollouts"][0]["rolled_back"], 2) << r.raw;
  EXPECT_EQ(r.body["rollouts"][0]["paused"], true) << r.raw;
}

}  // namespace
}  // namespace steward::test
