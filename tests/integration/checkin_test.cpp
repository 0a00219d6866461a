// The updater's check-in client against the real steward-controller: enrollment, reuse of the
// identity, re-enrollment on 401, releases with their exact bytes, and failover between two
// controllers sharing one store.
#include "updater/checkin.hpp"

#include <gtest/gtest.h>

#include <csignal>

#include "common/files.hpp"
#include "tests/integration/controller_support.hpp"

namespace steward::test {
namespace {

using updater::CheckinClient;
using updater::CheckinState;
using updater::ComponentReport;

updater::Config UpdaterConfig(const TempDir& state_dir, const std::vector<std::string>& seeds,
                              const std::string& enroll_token_file) {
  updater::Config config;
  config.path = (state_dir / "updater.toml").string();
  config.state_dir = state_dir.path().string();
  config.controller.emplace();
  config.controller->urls = seeds;
  config.controller->enroll_token_file = enroll_token_file;
  return config;
}

std::vector<ComponentReport> Agent(const std::string& running) {
  ComponentReport c;
  c.name = "agent";
  c.channel = "stable";
  c.running_version = running;
  c.installed_version = running;
  c.desired_state = "running";
  c.state = "running";
  return {c};
}

std::vector<std::string> NodeIds(Controller& c) {
  std::vector<std::string> out;
  auto r = c.Admin("GET", "nodes");
  EXPECT_EQ(r.status, 200) << r.raw;
  for (const auto& n : r.body["nodes"]) out.push_back(n.value("id", ""));
  return out;
}

void Kill(Controller& c) {
  c.proc->Signal(SIGKILL);
  ASSERT_TRUE(c.proc->Wait(20s));
  c.proc.reset();
}

TEST(Checkin, EnrollsOnceThenReusesTheIdentity) {
  Controller c;
  c.Start();
  TempDir state_dir;
  CheckinClient client(UpdaterConfig(state_dir, {c.url}, (c.dir / "enroll-token").string()),
                       "0.1.0");
  CheckinState state;
  auto first = client.CheckIn(state, Agent("1.0.0"));
  ASSERT_TRUE(first) << first.error().ToString();
  EXPECT_FALSE(state.node_id.empty());
  EXPECT_FALSE(state.node_token.empty());
  EXPECT_EQ(first->controller, c.url);
  EXPECT_EQ(state.controllers, std::vector<std::string>{c.url});
  EXPECT_TRUE(first->releases.empty());
  EXPECT_EQ(first->flags_json, "{}");
  ASSERT_TRUE(first->interval);
  EXPECT_EQ(NodeIds(c), std::vector<std::string>{state.node_id});

  const CheckinState after_first = state;
  auto second = client.CheckIn(state, Agent("1.0.0"));
  ASSERT_TRUE(second) << second.error().ToString();
  EXPECT_EQ(state, after_first);
  EXPECT_EQ(NodeIds(c), std::vector<std::string>{state.node_id});

  // The controller kept the report as sent.
  auto node = c.Admin("GET", "nodes/" + state.node_id);
  ASSERT_EQ(node.status, 200) << node.raw;
  EXPECT_EQ(node.body["machine_id"], updater::MachineId(state_dir.path().string()));
  const auto& report = node.body["report"];
  EXPECT_EQ(report["updater"]["version"], "0.1.0");
  EXPECT_EQ(report["components"][0]["running_version"], "1.0.0");
  EXPECT_EQ(report["host"]["os"], "linux");
}

TEST(Checkin, WrongEnrollTokenIsUnauthorized) {
  Controller c;
  c.Start();
  TempDir state_dir;
  const auto token_file = state_dir.Write("enroll-token", "not-the-enroll-token-at-all\n");
  CheckinClient client(UpdaterConfig(state_dir, {c.url}, token_file), "0.1.0");
  CheckinState state;
  auto r = client.CheckIn(state, Agent("1.0.0"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::unauthorized);
  EXPECT_NE(r.error().message.find("refused the enroll token in " + token_file + "; check it"),
            std::string::npos)
      << r.error().message;
  EXPECT_EQ(state, CheckinState{});
  EXPECT_TRUE(NodeIds(c).empty());
}

TEST(Checkin, InvalidNodeTokenEnrollsAgain) {
  Controller c;
  c.Start();
  TempDir state_dir;
  CheckinClient client(UpdaterConfig(state_dir, {c.url}, (c.dir / "enroll-token").string()),
                       "0.1.0");
  CheckinState state;
  ASSERT_TRUE(client.CheckIn(state, Agent("1.0.0")));
  const auto id = state.node_id;
  const auto old_token = state.node_token;

  // Someone else enrolling with this machine's id takes nothing from the node.
  c.Enroll(updater::MachineId(state_dir.path().string()));
  ASSERT_TRUE(client.CheckIn(state, Agent("1.0.0")));
  EXPECT_EQ(state.node_id, id);
  EXPECT_EQ(state.node_token, old_token);

  // A token the controller refuses (lost, replaced): the host enrolls again. Without a valid
  // token it cannot prove it was that node, so it gets a new one.
  state.node_token = std::string(64, '0');
  auto r = client.CheckIn(state, Agent("1.0.0"));
  ASSERT_TRUE(r) << r.error().ToString();
  EXPECT_NE(state.node_id, id);
  EXPECT_NE(state.node_token, old_token);
  EXPECT_EQ(NodeIds(c).size(), 3u);
}

TEST(Checkin, StoreResetEnrollsAgain) {
  Controller c;
  c.Start();
  TempDir state_dir;
  const auto token_file = (c.dir / "enroll-token").string();
  CheckinState state;
  {
    CheckinClient client(UpdaterConfig(state_dir, {c.url}, token_file), "0.1.0");
    ASSERT_TRUE(client.CheckIn(state, Agent("1.0.0")));
  }
  const auto old_id = state.node_id;
  c.Stop();
  std::filesystem::remove(c.dir / "controller.db");
  std::filesystem::remove(c.dir / "controller.db-wal");
  std::filesystem::remove(c.dir / "controller.db-shm");
  c.Start();
  ASSERT_TRUE(NodeIds(c).empty());

  // The controller came back on another port: the old URL fails, the seed answers.
  CheckinClient client(UpdaterConfig(state_dir, {c.url}, token_file), "0.1.0");
  auto r = client.CheckIn(state, Agent("1.0.0"));
  ASSERT_TRUE(r) << r.error().ToString();
  EXPECT_NE(state.node_id, old_id);
  EXPECT_EQ(NodeIds(c), std::vector<std::string>{state.node_id});
  EXPECT_EQ(state.controllers, std::vector<std::string>{c.url});
}

TEST(Checkin, ReleaseAtFullRolloutArrivesWithItsExactBytes) {
  Controller c;
  c.Start();
  const auto manifest =
      Controller::Manifest("agent", "stable", "1.1.0", 1, c.Blob("binary of 1.1.0"));
  const auto sig = Controller::Sign(c.release_key, manifest);
  ASSERT_EQ(c.Publish(manifest, {sig}).status, 201);
  auto put = c.Admin("PUT", "rollouts/agent/stable", json{{"version", "1.1.0"}, {"percent", 100}});
  ASSERT_EQ(put.status, 200) << put.raw;

  TempDir state_dir;
  CheckinClient client(UpdaterConfig(state_dir, {c.url}, (c.dir / "enroll-token").string()),
                       "0.1.0");
  CheckinState state;
  auto r = client.CheckIn(state, Agent("1.0.0"));
  ASSERT_TRUE(r) << r.error().ToString();
  ASSERT_EQ(r->releases.size(), 1u);
  EXPECT_EQ(r->releases[0].component, "agent");
  EXPECT_EQ(r->releases[0].manifest, manifest);
  EXPECT_EQ(r->releases[0].signatures, std::vector<std::string>{sig});
}

TEST(Checkin, FailsOverToTheSurvivingController) {
  Controller a;
  a.Start();
  Controller b;
  auto shared = files::ReadFile(a.config(), 1 << 20);
  ASSERT_TRUE(shared);
  b.dir.Write("controller.toml", *shared);  // same store, root and tokens
  b.Start();

  TempDir state_dir;
  // Only b is a seed: a is learned from b's answer (membership lists both).
  CheckinClient client(UpdaterConfig(state_dir, {b.url}, (a.dir / "enroll-token").string()),
                       "0.1.0");
  CheckinState state;
  auto first = client.CheckIn(state, Agent("1.0.0"));
  ASSERT_TRUE(first) << first.error().ToString();
  EXPECT_EQ(first->controller, b.url);
  EXPECT_EQ(state.controllers, (std::vector<std::string>{b.url, a.url}));

  Kill(b);
  auto second = client.CheckIn(state, Agent("1.0.0"));
  ASSERT_TRUE(second) << second.error().ToString();
  EXPECT_EQ(second->controller, a.url);
  ASSERT_FALSE(state.controllers.empty());
  EXPECT_EQ(state.controllers[0], a.url);

  Kill(a);
  const CheckinState before = state;
  auto down = client.CheckIn(state, Agent("1.0.0"));
  ASSERT_FALSE(down);
  EXPECT_NE(down.error().message.find(a.url), std::string::npos) << down.error().message;
  EXPECT_NE(down.error().message.find(b.url), std::string::npos) << down.error().message;
  EXPECT_EQ(down.error().code, ErrorCode::http_transport) << down.error().ToString();
  EXPECT_EQ(state, before);
}

}  // namespace
}  // namespace steward::test
