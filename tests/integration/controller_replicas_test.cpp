// Two real controllers sharing one store, on each backend: a SQLite file, and a PostgreSQL
// server started for the test. A change made through either one -- a release published, a
// rollout set, paused or resumed, halted by rollbacks reported to one of them, flags changed, a
// node enrolled -- is in the other's answers without a restart (each polls the store's
// generation every 250 ms).
#include <gtest/gtest.h>

#include "common/files.hpp"
#include "tests/integration/controller_support.hpp"
#include "tests/support/postgres.hpp"

namespace steward::test {
namespace {

const auto kWithin = std::chrono::seconds(5);  // the promise is 1 s; generous under load

class ControllerReplicas : public testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() != "postgresql") return;
    postgres.emplace();
    if (!postgres->Skipped().empty()) GTEST_SKIP() << postgres->Skipped();
  }

  // Starts a, then b with a's config: the same store, root and tokens.
  void StartBoth(const std::string& extra_config = "") {
    a.emplace(extra_config);
    if (postgres) {
      ASSERT_NO_FATAL_FAILURE(a->UseStore(postgres->Url()));
    }
    ASSERT_NO_FATAL_FAILURE(a->Start());
    b.emplace();
    auto shared = files::ReadFile(a->config(), 1 << 20);
    ASSERT_TRUE(shared);
    b->dir.Write("controller.toml", *shared);
    ASSERT_NO_FATAL_FAILURE(b->Start());
  }

  std::optional<TempPostgres> postgres;  // first: it outlives the controllers
  std::optional<Controller> a;
  std::optional<Controller> b;
};

INSTANTIATE_TEST_SUITE_P(Stores, ControllerReplicas, testing::Values("sqlite", "postgresql"),
                         [](const testing::TestParamInfo<std::string>& p) { return p.param; });

TEST_P(ControllerReplicas, AChangeThroughOneIsInTheOthersAnswers) {
  ASSERT_NO_FATAL_FAILURE(StartBoth());
  const Node node = b->Enroll("m1");
  const auto offered_by_b = [&] {
    return Controller::Offered(b->Checkin(node, StableAgent("1.0.0")), "agent");
  };

  // Published and rolled out through a: b offers it.
  a->PublishVersion("agent", "stable", "2.0.0", 1);
  ASSERT_EQ(
      a->Admin("PUT", "rollouts/agent/stable", json{{"version", "2.0.0"}, {"percent", 100}}).status,
      200);
  EXPECT_TRUE(Eventually([&] { return offered_by_b() == "2.0.0"; }, kWithin)) << b->proc->Stderr();

  // Paused through a: b stops offering it, and says so.
  ASSERT_EQ(a->Admin("PUT", "rollouts/agent/stable", json{{"paused", true}}).status, 200);
  EXPECT_TRUE(Eventually([&] { return offered_by_b().empty(); }, kWithin));
  EXPECT_EQ(b->Admin("GET", "rollouts").body["rollouts"][0]["paused"], true);

  // Resumed through b: a offers it again to a node it has never seen (enrolled through b).
  ASSERT_EQ(b->Admin("PUT", "rollouts/agent/stable", json{{"paused", false}}).status, 200);
  EXPECT_TRUE(Eventually(
      [&] {
        return Controller::Offered(a->Checkin(node, StableAgent("1.0.0")), "agent") == "2.0.0";
      },
      kWithin));

  // Flags set through a reach b's check-in answers.
  ASSERT_EQ(
      a->Admin("PUT", "flags", json{{"scope", "global"}, {"set", {{"replicas", true}}}}).status,
      200);
  EXPECT_TRUE(Eventually(
      [&] {
        return b->Checkin(node, StableAgent("1.0.0")).body["flags"] == json{{"replicas", true}};
      },
      kWithin));
  EXPECT_NE(b->proc->Stderr().find("reloaded them"), std::string::npos);

  // Enrolled through a, the node checks in at b under the same id (once a's queued write of
  // the enrollment reached the store, within 100 ms).
  const Node other = a->Enroll("m2");
  EXPECT_TRUE(
      Eventually([&] { return b->Checkin(other, StableAgent("1.0.0")).status == 200; }, kWithin));
  auto shown = b->Admin("GET", "nodes/" + other.id);
  EXPECT_EQ(shown.status, 200) << shown.raw;
  EXPECT_EQ(shown.body.value("machine_id", ""), "m2") << shown.raw;
}

// Rollbacks reported to a halt the rollout there; b stops offering it and shows why.
TEST_P(ControllerReplicas, AHaltThroughOneStopsTheOther) {
  ASSERT_NO_FATAL_FAILURE(
      StartBoth("[rollout]\nhalt_rollback_rate = 0.25\nhalt_min_attempts = 4\n"));
  a->PublishVersion("agent", "stable", "1.0.0", 1);
  a->PublishVersion("agent", "stable", "2.0.0", 2);
  ASSERT_EQ(a->Admin("PUT", "rollouts/agent/stable",
                     json{{"version", "2.0.0"}, {"percent", 100}, {"immediate", true}})
                .status,
            200);
  std::vector<Node> nodes;
  for (int i = 0; i < 5; ++i) nodes.push_back(a->Enroll("m" + std::to_string(i)));
  const auto offered_by_b = [&] {
    return Controller::Offered(b->Checkin(nodes[4], StableAgent("1.0.0")), "agent");
  };
  ASSERT_TRUE(Eventually([&] { return offered_by_b() == "2.0.0"; }, kWithin)) << b->proc->Stderr();

  a->Checkin(nodes[0], StableAgent("2.0.0", UpdateTo200("committed")));
  a->Checkin(nodes[1], StableAgent("1.0.0", UpdateTo200("rolled_back")));
  a->Checkin(nodes[2], StableAgent("2.0.0", UpdateTo200("committed")));
  a->Checkin(nodes[3], StableAgent("1.0.0", UpdateTo200("rolled_back")));  // 2 of 4: 50 % > 25 %
  ASSERT_EQ(a->Admin("GET", "rollouts").body["rollouts"][0]["paused"], true);

  EXPECT_TRUE(Eventually([&] { return offered_by_b().empty(); }, kWithin));
  const std::string why = b->Admin("GET", "rollouts").body["rollouts"][0]["halt_reason"];
  EXPECT_NE(why.find("2 of 4 nodes (50.0%) rolled back from 2.0.0"), std::string::npos) << why;
}

}  // namespace
}  // namespace steward::test
