// Two real controllers sharing one SQLite store: a change made through either one -- a release
// published, a rollout set, paused or resumed, flags changed, a node enrolled -- is in the
// other's answers without a restart (each polls the store's generation every 250 ms).
#include <gtest/gtest.h>

#include "common/files.hpp"
#include "tests/integration/controller_support.hpp"

namespace steward::test {
namespace {

json Agent(const std::string& running) {
  return json::array({Controller::Component("agent", "stable", running, nullptr)});
}

TEST(ControllerReplicas, AChangeThroughOneIsInTheOthersAnswers) {
  Controller a;
  a.Start();
  Controller b;
  auto shared = files::ReadFile(a.config(), 1 << 20);
  ASSERT_TRUE(shared);
  b.dir.Write("controller.toml", *shared);  // same store, root and tokens
  b.Start();
  const Node node = b.Enroll("m1");
  const auto offered_by_b = [&] {
    return Controller::Offered(b.Checkin(node, Agent("1.0.0")), "agent");
  };
  const auto within = std::chrono::seconds(5);  // the promise is 1 s; generous under load

  // Published and rolled out through a: b offers it.
  a.PublishVersion("agent", "stable", "2.0.0", 1);
  ASSERT_EQ(
      a.Admin("PUT", "rollouts/agent/stable", json{{"version", "2.0.0"}, {"percent", 100}}).status,
      200);
  EXPECT_TRUE(Eventually([&] { return offered_by_b() == "2.0.0"; }, within)) << b.proc->Stderr();

  // Paused through a: b stops offering it, and says so.
  ASSERT_EQ(a.Admin("PUT", "rollouts/agent/stable", json{{"paused", true}}).status, 200);
  EXPECT_TRUE(Eventually([&] { return offered_by_b().empty(); }, within));
  EXPECT_EQ(b.Admin("GET", "rollouts").body["rollouts"][0]["paused"], true);

  // Resumed through b: a offers it again to a node it has never seen.
  ASSERT_EQ(b.Admin("PUT", "rollouts/agent/stable", json{{"paused", false}}).status, 200);
  EXPECT_TRUE(Eventually(
      [&] { return Controller::Offered(a.Checkin(node, Agent("1.0.0")), "agent") == "2.0.0"; },
      within));

  // Flags set through a reach b's check-in answers.
  ASSERT_EQ(
      a.Admin("PUT", "flags", json{{"scope", "global"}, {"set", {{"replicas", true}}}}).status,
      200);
  EXPECT_TRUE(Eventually(
      [&] {
        return b.Checkin(node, Agent("1.0.0")).body["flags"] == json{{"replicas", true}};
      },
      within));
  EXPECT_NE(b.proc->Stderr().find("reloaded them"), std::string::npos);
}

}  // namespace
}  // namespace steward::test
