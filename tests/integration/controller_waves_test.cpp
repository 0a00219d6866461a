// Paced rollouts on the real controller: a plain `percent 100` on a fleet bigger than the canary
// offers the canary only, the next wave once the canary committed, and the canary's first
// rollback halts the rollout with a reason naming the signal and the node; the admin body's
// pacing fields, and what is wrong with a bad one.
#include <gtest/gtest.h>

#include "tests/integration/controller_support.hpp"

namespace steward::test {
namespace {

// 40 nodes on 1.0.0, 2.0.0 published and rolled out to 100 % with `pacing` added.
struct Fleet {
  Controller c;
  std::vector<Node> nodes;

  void Start(const json& pacing) {
    c.Start();
    c.PublishVersion("agent", "stable", "1.0.0", 1);
    c.PublishVersion("agent", "stable", "2.0.0", 2);
    json body{{"version", "2.0.0"}, {"percent", 100}};
    body.update(pacing);
    auto r = c.Admin("PUT", "rollouts/agent/stable", body);
    ASSERT_EQ(r.status, 200) << r.raw;
    for (int i = 0; i < 40; ++i) nodes.push_back(c.Enroll("m" + std::to_string(i)));
  }

  // Every node not in `skip` checks in on 1.0.0; the ones offered 2.0.0.
  std::vector<Node> Offered(const std::vector<Node>& skip = {}) {
    std::vector<Node> out;
    for (const auto& n : nodes) {
      if (std::any_of(skip.begin(), skip.end(), [&](auto& s) { return s.id == n.id; })) continue;
      if (Controller::Offered(c.Checkin(n, StableAgent("1.0.0")), "agent") == "2.0.0")
        out.push_back(n);
    }
    return out;
  }

  json Rollout() { return c.Admin("GET", "rollouts").body["rollouts"][0]; }
};

TEST(ControllerWaves, OffersTheCanaryFirstThenTheNextWaveAfterItCommits) {
  Fleet f;
  ASSERT_NO_FATAL_FAILURE(f.Start(json::object()));  // nothing to configure
  const auto canary = f.Offered();
  ASSERT_EQ(canary.size(), 5u);  // max(5, 0.05 % of 40)
  EXPECT_EQ(f.Offered(canary).size(), 0u);
  auto r = f.Rollout();
  EXPECT_EQ(r["wave"], 0);
  EXPECT_EQ(r["in_flight"], 5);
  EXPECT_EQ(r["committed"], 0);

  for (const auto& n : canary) f.c.Checkin(n, StableAgent("2.0.0", UpdateTo200("committed")));
  r = f.Rollout();
  EXPECT_EQ(r["committed"], 5);
  EXPECT_EQ(r["in_flight"], 0);
  const auto wave1 = f.Offered(canary);
  EXPECT_EQ(wave1.size(), 10u);  // twice the canary
  r = f.Rollout();
  EXPECT_EQ(r["wave"], 1);
  EXPECT_EQ(r["in_flight"], 10);

  // A restart resumes the same wave: the same nodes keep their offer, nobody new gets one.
  f.c.Restart();
  r = f.Rollout();
  EXPECT_EQ(r["wave"], 1);
  EXPECT_EQ(r["in_flight"], 10);
  std::vector<Node> both = canary;
  both.insert(both.end(), wave1.begin(), wave1.end());
  EXPECT_EQ(f.Offered(both).size(), 0u);
  for (const auto& n : wave1) {
    EXPECT_EQ(Controller::Offered(f.c.Checkin(n, StableAgent("1.0.0")), "agent"), "2.0.0") << n.id;
  }
}

TEST(ControllerWaves, TheCanarysFirstRollbackHaltsTheRolloutNamingTheNode) {
  Fleet f;
  ASSERT_NO_FATAL_FAILURE(f.Start(json{{"canary", 3}}));
  const auto canary = f.Offered();
  ASSERT_EQ(canary.size(), 3u);
  f.c.Checkin(canary[0], StableAgent("2.0.0", UpdateTo200("committed")));
  f.c.Checkin(canary[1], StableAgent("1.0.0", UpdateTo200("rolled_back")));
  const auto r = f.Rollout();
  ASSERT_EQ(r["paused"], true) << r;
  const std::string why = r["halt_reason"];
  EXPECT_NE(why.find("the canary wave failed on rolled_back"), std::string::npos) << why;
  EXPECT_NE(why.find(canary[1].id), std::string::npos) << why;
  EXPECT_EQ(r["canary"], 3);
  EXPECT_EQ(f.Offered(canary).size(), 0u);  // nobody new
  // The node still in flight is not offered it any more either; one on the target keeps it.
  EXPECT_EQ(Controller::Offered(f.c.Checkin(canary[2], StableAgent("1.0.0")), "agent"), "");
  EXPECT_EQ(Controller::Offered(f.c.Checkin(canary[0], StableAgent("2.0.0")), "agent"), "2.0.0");
}

TEST(ControllerWaves, PacingFieldsAreSetShownAndCheckedByName) {
  Fleet f;
  ASSERT_NO_FATAL_FAILURE(
      f.Start(json{{"canary", 2}, {"max_in_flight", 30}, {"bake", 600}, {"immediate", false}}));
  auto r = f.Rollout();
  EXPECT_EQ(r["canary"], 2);
  EXPECT_EQ(r["max_in_flight"], 30);
  EXPECT_EQ(r["bake"], 600);
  EXPECT_EQ(r["immediate"], false);
  EXPECT_EQ(f.Offered().size(), 2u);
  ASSERT_EQ(f.c.Admin("PUT", "rollouts/agent/stable", json{{"immediate", true}}).status, 200);
  EXPECT_EQ(f.Offered().size(), 40u);  // an emergency fix goes to everyone in the percent

  for (const auto& [field, value, says] :
       {std::tuple{"canary", json(-1), "'canary' must be a whole number from 0"},
        std::tuple{"max_in_flight", json(1.5), "'max_in_flight' must be a whole number"},
        std::tuple{"bake", json("30m"), "'bake' must be a whole number from 0 to 2592000"},
        std::tuple{"immediate", json(1), "'immediate' must be a boolean"}}) {
    auto bad = f.c.Admin("PUT", "rollouts/agent/stable", json{{field, value}});
    EXPECT_EQ(bad.status, 400) << field;
    EXPECT_NE(bad.message().find(says), std::string::npos) << bad.raw;
  }
}

TEST(ControllerWaves, StewardctlSetsThePacingAndListsTheWave) {
  Fleet f;
  ASSERT_NO_FATAL_FAILURE(f.Start(json::object()));
  Child::Options env;
  env.env["STEWARD_CONTROLLER"] = f.c.url;
  env.env["STEWARD_TOKEN"] = kAdminToken;
  const std::vector<std::string> set{Bin("stewardctl"), "rollout",   "set",    "--component",
                                     "agent",           "--channel", "stable", "--version",
                                     "2.0.0",           "--percent", "100"};
  auto with = [&](std::vector<std::string> extra) {
    auto args = set;
    args.insert(args.end(), extra.begin(), extra.end());
    return RunProgram(args, env);
  };
  auto r = with({"--canary", "2", "--max-in-flight", "7", "--bake", "30m"});
  ASSERT_EQ(r.status.code(), 0) << r.err;
  EXPECT_NE(r.out.find("waves (canary 2, max in flight 7, bake 30m)"), std::string::npos) << r.out;
  auto x = f.Rollout();
  EXPECT_EQ(x["bake"], 1800);
  EXPECT_EQ(x["max_in_flight"], 7);
  EXPECT_EQ(f.Offered().size(), 2u);

  r = RunProgram({Bin("stewardctl"), "rollout", "list"}, env);
  ASSERT_EQ(r.status.code(), 0) << r.err;
  EXPECT_NE(r.out.find("WAVE"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("IN FLIGHT"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("COMMITTED"), std::string::npos) << r.out;

  r = with({"--bake", "soon"});
  EXPECT_NE(r.status.code(), 0);
  EXPECT_NE(r.err.find("--bake soon"), std::string::npos) << r.err;
  EXPECT_EQ(f.Rollout()["bake"], 1800);  // unchanged

  r = with({"--immediate"});
  ASSERT_EQ(r.status.code(), 0) << r.err;
  EXPECT_NE(r.out.find("immediate (no waves)"), std::string::npos) << r.out;
  EXPECT_EQ(f.Offered().size(), 40u);
}

}  // namespace
}  // namespace steward::test
