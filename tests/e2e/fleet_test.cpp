// Fleet scenarios end to end: a real steward-controller and several hosts, each a real
// steward-updater supervising a real steward-agent release, on loopback. Releases are the
// agent (and updater) built as 1.0.0, 1.1.0 and 1.2.0, signed by a fresh root, published and
// rolled out through the controller's admin API; the hosts enroll, check in every second and
// update themselves. Each test waits on the hosts' local status or the controller's API, never
// on time.
#include "tests/e2e/fleet.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

namespace steward::test::e2e {
namespace {

class Fleet : public ::testing::Test {
 protected:
  // Starts the controller (on `port`, 0: any) and publishes agent 1.0.0 and 1.1.0.
  void StartController(std::uint16_t port = 0) {
    controller_ = MakeController(port);
    controller_->Start();
    Publish(*controller_, "agent", "1.0.0", 1);
    Publish(*controller_, "agent", "1.1.0", 2);
  }

  std::string Root() const { return (controller_->dir / "root.json").string(); }

  // `n` hosts checking in with the controller, each committed and running 1.0.0.
  void StartHostsOn100(int n, const std::string& agent_keys = "") {
    SetRollout(*controller_, "1.0.0", 100);
    hosts_ = MakeHosts(n);
    for (auto& h : hosts_) {
      h->WriteAgentConfig(agent_keys);
      h->Start({controller_->url}, Root());
    }
    for (auto& h : hosts_) ASSERT_TRUE(h->WaitRunning("1.0.0")) << h->Logs();
  }

  std::unique_ptr<Controller> controller_;
  std::vector<std::unique_ptr<Host>> hosts_;
};

// 1. Three new hosts enroll and install 1.0.0 from a 100 % rollout.
TEST_F(Fleet, FirstInstallOfThreeNodes) {
  StartController();
  SetRollout(*controller_, "1.0.0", 100);
  hosts_ = MakeHosts(3);
  for (auto& h : hosts_) {
    h->Start({controller_->url}, Root());
    EXPECT_EQ(h->Agent()["state"], "not_installed");
  }
  for (auto& h : hosts_) {
    ASSERT_TRUE(h->WaitRunning("1.0.0")) << h->Logs();
    EXPECT_EQ(h->AgentProcesses().size(), 1u);
    EXPECT_EQ(h->Status()["checkin"]["controller"], controller_->url);
  }
  ASSERT_TRUE(Eventually([&] { return FleetCount(*controller_, "1.0.0") == 3; }, 20s))
      << controller_->Admin("GET", "fleet").raw;
  const auto fleet = controller_->Admin("GET", "fleet");
  EXPECT_EQ(fleet.body["nodes"], 3);
  EXPECT_EQ(fleet.body["states"]["agent"]["running"], 3) << fleet.raw;
  // One node per host, each known by its own machine id.
  const auto ids = NodeIds(*controller_, hosts_);
  EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), 3u);
  for (const auto& id : ids) EXPECT_FALSE(id.empty());
}

// 2. 34 % then 100 %: at 34 % exactly the nodes in the controller's buckets move.
TEST_F(Fleet, RollingUpdateMovesTheBucketedNodesThenAll) {
  StartController();
  StartHostsOn100(3);
  const auto ids = NodeIds(*controller_, hosts_);
  SetRollout(*controller_, "1.1.0", 34);
  const auto seed = RolloutSeed(*controller_);
  std::vector<bool> in;
  for (const auto& id : ids) in.push_back(InBucket(seed, id, 34));
  const auto expected_in = std::count(in.begin(), in.end(), true);
  EXPECT_EQ(Rollout(*controller_)["nodes_in_bucket"], expected_in);

  for (std::size_t i = 0; i < hosts_.size(); ++i) {
    if (in[i]) {
      ASSERT_TRUE(hosts_[i]->WaitRunning("1.1.0")) << hosts_[i]->Logs();
    }
  }
  // The others checked in a few more times and were offered nothing new.
  for (std::size_t i = 0; i < hosts_.size(); ++i) {
    if (in[i]) continue;
    ASSERT_TRUE(hosts_[i]->WaitCheckins(3));
    const auto u = hosts_[i]->Agent();
    EXPECT_EQ(u["running_version"], "1.0.0") << "node " << ids[i] << " is outside the bucket";
    EXPECT_EQ(u["update"]["to"], "1.0.0");
  }
  ASSERT_TRUE(Eventually([&] { return FleetCount(*controller_, "1.1.0") == expected_in; }, 20s));
  EXPECT_EQ(FleetCount(*controller_, "1.0.0"), 3 - expected_in);

  SetRollout(*controller_, "1.1.0", 100);
  for (auto& h : hosts_) ASSERT_TRUE(h->WaitRunning("1.1.0")) << h->Logs();
  ASSERT_TRUE(Eventually([&] { return FleetCount(*controller_, "1.1.0") == 3; }, 20s))
      << controller_->Admin("GET", "fleet").raw;
  const auto r = Rollout(*controller_);
  EXPECT_EQ(r["nodes_on_target"], 3) << r.dump();
  EXPECT_EQ(r["rolled_back"], 0) << r.dump();
}

// 3. A node whose operator stopped its agent is updated, stays stopped, and is verified when
//    it is started again.
TEST_F(Fleet, StoppedNodeIsUpdatedAndVerifiedAtItsNextStart) {
  StartController();
  StartHostsOn100(2);
  Host& stopped = *hosts_[1];
  ASSERT_EQ(stopped.updater.Cli({"stop", "agent"}).status.code(), 0);
  ASSERT_TRUE(
      stopped.updater.WaitUnit("agent", [](const json& u) { return u["state"] == "stopped"; }));

  SetRollout(*controller_, "1.1.0", 100);
  ASSERT_TRUE(hosts_[0]->WaitRunning("1.1.0")) << hosts_[0]->Logs();
  ASSERT_TRUE(stopped.updater.WaitUnit("agent", [](const json& u) {
    return u["update"]["to"] == "1.1.0" && u["update"]["state"] == "verifying";
  })) << stopped.Logs();
  auto u = stopped.Agent();
  EXPECT_EQ(u["state"], "stopped");
  EXPECT_EQ(u["installed_version"], "1.1.0");
  EXPECT_TRUE(u["update"]["result"].is_null()) << u.dump();
  EXPECT_TRUE(stopped.AgentProcesses().empty());
  // It stays stopped over further check-ins.
  ASSERT_TRUE(stopped.WaitCheckins(2));
  EXPECT_EQ(stopped.Agent()["state"], "stopped");
  EXPECT_TRUE(stopped.AgentProcesses().empty());

  ASSERT_EQ(stopped.updater.Cli({"start", "agent"}).status.code(), 0);
  ASSERT_TRUE(stopped.WaitRunning("1.1.0")) << stopped.Logs();
  EXPECT_EQ(stopped.AgentProcesses().size(), 1u);
  ASSERT_TRUE(Eventually([&] { return FleetCount(*controller_, "1.1.0") == 2; }, 20s))
      << controller_->Admin("GET", "fleet").raw;
}

// 4. A release that crash-loops after the update is rolled back on the nodes that took it and
//    reported; the canary wave (2 of the 3 nodes here) halts on its first failure, so the
//    node outside the canary is never offered it.
TEST_F(Fleet, CrashLoopIsRolledBackReportedAndHaltsTheRollout) {
  StartController();
  Publish(*controller_, "agent", "1.2.0", 3);
  StartHostsOn100(3, "test_fail = \"crash\"\ntest_fail_versions = [\"1.2.0\"]\n");
  const auto set = controller_->Admin("PUT", "rollouts/agent/stable",
                                      json{{"version", "1.2.0"}, {"percent", 100}, {"canary", 2}});
  ASSERT_EQ(set.status, 200) << set.raw;
  ASSERT_TRUE(Eventually(
      [&] {
        const auto r = Rollout(*controller_);
        return r.is_object() && r["paused"] == true && r["rolled_back"] >= 1;
      },
      40s))
      << Rollout(*controller_).dump();
  // Nodes offered 1.2.0 before the halt finish their attempt; the others are offered nothing.
  int attempted = 0;
  for (auto& h : hosts_) {
    ASSERT_TRUE(h->WaitCheckins(2)) << h->Logs();
    if (h->Agent()["update"]["to"] != "1.2.0") continue;
    ++attempted;
    // Rolled back and marked bad; an offer that came before the halt may have been refused
    // since for that mark, which only a rollback after a failed gate sets.
    ASSERT_TRUE(h->updater.WaitUnit(
        "agent",
        [](const json& u) {
          const auto& up = u["update"];
          return up.is_object() && up["to"] == "1.2.0" &&
                 ((up["result"] == "rolled_back" && up["error_code"] == "health_gate_failed") ||
                  (up["result"] == "failed" && up["error_code"] == "version_bad"));
        }))
        << h->Agent().dump() << h->Logs();
  }
  EXPECT_GE(attempted, 1);
  EXPECT_LE(attempted, 2);  // the canary only
  for (auto& h : hosts_) {
    ASSERT_TRUE(h->updater.WaitUnit("agent", [](const json& x) {
      return x["state"] == "running" && x["running_version"] == "1.0.0";
    })) << h->Logs();
    EXPECT_EQ(h->AgentProcesses().size(), 1u);
  }
  // Every attempt was reported, and each one rolled back.
  ASSERT_TRUE(Eventually(
      [&] {
        const auto r = Rollout(*controller_);
        return r["update_attempts"] == attempted && r["rolled_back"] == attempted;
      },
      20s))
      << Rollout(*controller_).dump();
  const auto r = Rollout(*controller_);
  EXPECT_EQ(r["paused"], true);
  EXPECT_NE(r["halt_reason"].get<std::string>().find(
                "halted automatically: the canary wave failed on rolled_back"),
            std::string::npos)
      << r.dump();
  EXPECT_EQ(r["wave"], 0);
  EXPECT_EQ(FleetCount(*controller_, "1.0.0"), 3);
  EXPECT_EQ(FleetCount(*controller_, "1.2.0"), 0);
  // Marked bad on the nodes that tried it, not offered to the others: all stay on 1.0.0.
  for (auto& h : hosts_) {
    ASSERT_TRUE(h->WaitCheckins(2));
    EXPECT_EQ(h->Agent()["running_version"], "1.0.0");
  }
}

// 6. With the controller down the nodes run on untouched; when it comes back at the same
//    address they pick up the rollout.
TEST_F(Fleet, ControllerDownThenBackAtTheSameAddress) {
  StartController(FreePort());
  StartHostsOn100(2);
  std::vector<json> before;
  for (auto& h : hosts_) before.push_back(h->Agent());
  controller_->Stop();

  for (std::size_t i = 0; i < hosts_.size(); ++i) {
    Host& h = *hosts_[i];
    const auto count = h.Checkins();
    // Check-ins fail (the scheduled ones and one asked for now), and nothing else happens.
    ASSERT_TRUE(Eventually(
        [&] {
          const auto s = h.Status();
          return s.is_object() && s["checkin"]["last_error"].is_string();
        },
        20s));
    (void)h.updater.Cli({"check"});
    const auto s = h.Status();
    EXPECT_NE(s["checkin"]["last_error"].get<std::string>().find(controller_->url),
              std::string::npos)
        << s["checkin"].dump();
    EXPECT_EQ(h.Checkins(), count);
    const auto u = h.Agent();
    EXPECT_EQ(u["pid"], before[i]["pid"]);
    EXPECT_EQ(u["restarts"], 0);
    EXPECT_EQ(u["state"], "running");
    EXPECT_EQ(h.AgentProcesses().size(), 1u);
  }

  controller_->Start();
  SetRollout(*controller_, "1.1.0", 100);
  for (auto& h : hosts_) {
    ASSERT_TRUE(h->WaitRunning("1.1.0")) << h->Logs();
    EXPECT_TRUE(h->Status()["checkin"]["last_error"].is_null());
  }
  ASSERT_TRUE(Eventually([&] { return FleetCount(*controller_, "1.1.0") == 2; }, 20s));
}

// 7. The controller is killed mid-rollout and restarted: the rollout is where it was, and the
//    remaining nodes update once it is widened.
TEST_F(Fleet, ControllerRestartedMidRolloutResumes) {
  StartController(FreePort());
  StartHostsOn100(3);
  const auto ids = NodeIds(*controller_, hosts_);
  SetRollout(*controller_, "1.1.0", 34);
  const auto seed = RolloutSeed(*controller_);
  std::vector<bool> in;
  for (const auto& id : ids) in.push_back(InBucket(seed, id, 34));
  for (std::size_t i = 0; i < hosts_.size(); ++i) {
    if (in[i]) {
      ASSERT_TRUE(hosts_[i]->WaitRunning("1.1.0")) << hosts_[i]->Logs();
    }
  }
  const auto before = Rollout(*controller_);

  Kill9(*controller_);
  controller_->Start();
  const auto after = Rollout(*controller_);
  for (const char* key : {"version", "percent", "paused", "nodes_in_bucket"}) {
    EXPECT_EQ(after[key], before[key]) << key << ": " << after.dump();
  }
  EXPECT_EQ(RolloutSeed(*controller_), seed);
  // Same answers after the restart: the nodes outside stay where they are.
  for (std::size_t i = 0; i < hosts_.size(); ++i) {
    ASSERT_TRUE(hosts_[i]->WaitCheckins(2)) << hosts_[i]->Logs();
    EXPECT_EQ(hosts_[i]->Agent()["running_version"], in[i] ? "1.1.0" : "1.0.0");
  }

  SetRollout(*controller_, "1.1.0", 100);
  for (auto& h : hosts_) ASSERT_TRUE(h->WaitRunning("1.1.0")) << h->Logs();
  ASSERT_TRUE(Eventually([&] { return FleetCount(*controller_, "1.1.0") == 3; }, 20s))
      << controller_->Admin("GET", "fleet").raw;
  // Still the same three nodes.
  EXPECT_EQ(NodeIds(*controller_, hosts_), ids);
}

// 9. The updater dies (kill -9) right after switching links mid-update; restarted, it
//    converges to the new version with exactly one agent process.
TEST_F(Fleet, UpdaterKilledMidUpdateConverges) {
  StartController();
  StartHostsOn100(2);
  Host& crashing = *hosts_[0];
  ASSERT_TRUE(crashing.updater.Stop());
  Child::Options armed;
  armed.env["STEWARD_FAILPOINTS"] = "update.switched=crash";
  crashing.Start({controller_->url}, Root(), armed);

  SetRollout(*controller_, "1.1.0", 100);
  auto st = crashing.updater.proc().Wait(30s);
  ASSERT_TRUE(st && st->exited() && st->code() == 137)
      << "the updater did not die at update.switched\n"
      << crashing.Logs();
  ASSERT_TRUE(hosts_[1]->WaitRunning("1.1.0")) << hosts_[1]->Logs();

  crashing.Start({controller_->url}, Root());
  ASSERT_TRUE(crashing.WaitRunning("1.1.0")) << crashing.Logs();
  const auto u = crashing.Agent();
  const auto procs = crashing.AgentProcesses();
  ASSERT_EQ(procs.size(), 1u) << u.dump();
  EXPECT_EQ(u["pid"], procs[0]);
  EXPECT_EQ(u["installed_version"], "1.1.0");
  ASSERT_TRUE(Eventually([&] { return FleetCount(*controller_, "1.1.0") == 2; }, 20s))
      << controller_->Admin("GET", "fleet").raw;
  EXPECT_EQ(controller_->Admin("GET", "nodes").body["nodes"].size(), 2u);
}

// 10. The controller offers the updater a new version of itself: it re-executes in place
//     (same PID) and the agent keeps running under it with its PID.
TEST_F(Fleet, SelfUpdateFromTheControllerKeepsTheAgentPid) {
  StartController();
  Publish(*controller_, "steward-updater", "1.1.0", 1);
  SetRollout(*controller_, "1.0.0", 100);
  hosts_ = MakeHosts(1);
  Host& h = *hosts_[0];
  h.Start({controller_->url}, Root(), {}, "[self_update]\ngrace = \"1s\"\n");
  ASSERT_TRUE(h.WaitRunning("1.0.0")) << h.Logs();
  const auto agent_pid = h.Agent()["pid"];
  const pid_t updater_pid = h.updater.proc().pid();
  EXPECT_NE(h.Status()["updater"]["version"], "1.1.0");

  SetRollout(*controller_, "1.1.0", 100, "steward-updater");
  ASSERT_TRUE(Eventually(
      [&] {
        const auto s = h.Status();
        return s.is_object() && s["updater"]["version"] == "1.1.0" &&
               s["updater"]["update"].is_object() &&
               s["updater"]["update"]["result"] == "committed";
      },
      40s))
      << h.Logs();
  EXPECT_TRUE(h.updater.proc().running());
  EXPECT_EQ(h.updater.proc().pid(), updater_pid);
  const auto u = h.Agent();
  EXPECT_EQ(u["pid"], agent_pid);
  EXPECT_EQ(u["state"], "running");
  EXPECT_EQ(u["restarts"], 0);
  EXPECT_EQ(h.AgentProcesses().size(), 1u);
  // The new updater goes on checking in and the controller sees it.
  ASSERT_TRUE(
      Eventually([&] { return FleetCount(*controller_, "1.1.0", "steward-updater") == 1; }, 20s))
      << controller_->Admin("GET", "fleet").raw;
}

// 10. Check-ins and downloads run in short-lived helper processes: the updater that installed a
// release and keeps checking in has never mapped libcurl. `http_helper = false` keeps them in
// the updater, as before.
TEST_F(Fleet, HttpRequestsRunInAHelperProcessUnlessTurnedOff) {
  StartController();
  SetRollout(*controller_, "1.0.0", 100);
  hosts_ = MakeHosts(2);
  hosts_[1]->top_level = "http_helper = false\n";
  for (auto& h : hosts_) h->Start({controller_->url}, Root());
  for (auto& h : hosts_) {
    ASSERT_TRUE(h->WaitRunning("1.0.0")) << h->Logs();
    ASSERT_TRUE(h->WaitCheckins(2)) << h->Logs();
  }
  auto maps_libcurl = [](const Host& h) {
    std::ifstream in("/proc/" + std::to_string(h.updater.proc().pid()) + "/maps");
    const std::string maps((std::istreambuf_iterator<char>(in)), {});
    return maps.find("libcurl") != std::string::npos;
  };
  EXPECT_FALSE(maps_libcurl(*hosts_[0]));
  EXPECT_TRUE(maps_libcurl(*hosts_[1]));
  // It runs from /proc/self/exe under the updater's name, so `ps` shows what it is, and it has
  // confined itself (no_new_privs is set just before Landlock's restriction).
  auto helper_status = [](const Host& h) -> std::string {
    std::error_code ec;
    const auto tasks = "/proc/" + std::to_string(h.updater.proc().pid()) + "/task";
    for (const auto& task : std::filesystem::directory_iterator(tasks, ec)) {
      std::ifstream list(task.path() / "children");
      for (pid_t child = 0; list >> child;) {
        const std::string proc = "/proc/" + std::to_string(child);
        std::ifstream in(proc + "/cmdline");
        std::string cmdline((std::istreambuf_iterator<char>(in)), {});
        std::replace(cmdline.begin(), cmdline.end(), '\0', ' ');
        if (cmdline != "steward-updater http-helper ") continue;
        std::ifstream status(proc + "/status");
        return std::string((std::istreambuf_iterator<char>(status)), {});
      }
    }
    return "";
  };
  // A helper read between its exec and its confinement shows 0: look until one shows 1.
  std::string status;
  EXPECT_TRUE(Eventually(
      [&] {
        status = helper_status(*hosts_[0]);
        return status.find("NoNewPrivs:\t1") != std::string::npos;
      },
      20s))
      << status;
}

}  // namespace
}  // namespace steward::test::e2e
