// Update transactions end to end on one host: a real steward-updater runs real steward-agent
// releases (bin/releases/<v>/steward-agent, each reporting its own version), signed releases are
// offered with `steward-updater apply` and downloaded from a real controller's artifact store.
// Covers updates while running, stopped and crash-looping; automatic rollback of a version that
// crashes at start, never becomes ready or crashes later; and kill -9 of the updater at every
// failpoint of the transaction, after which a restart converges to one consistent state.
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <set>

#include "tests/integration/controller_support.hpp"
#include "tests/integration/supervision_harness.hpp"
#include "updater/launcher.hpp"
#include "updater/layout.hpp"

namespace steward::test {
namespace {

namespace fs = std::filesystem;

class Update : public ::testing::Test {
 protected:
  void SetUp() override { controller_.Start(); }

  // Signs release `version` of the agent (or of the updater itself, built beside it in
  // bin/releases/) and writes the manifest and its signature into the test dir; returns the
  // manifest's path.
  std::string Release(const std::string& version, int sequence,
                      const std::string& component = "agent") {
    const std::string program = component == "agent" ? "steward-agent" : component;
    const auto bytes = files::ReadFile(Bin("releases/" + version + "/" + program), 1 << 30);
    EXPECT_TRUE(bytes);
    const auto m =
        Controller::Manifest(component, "stable", version, sequence, controller_.Blob(*bytes));
    const std::string name = component + "-" + version + ".json";
    dir_.Write(name, m);
    dir_.Write(name + ".minisig",
               Controller::Sign(signer_ != nullptr ? *signer_ : controller_.release_key, m));
    return (dir_ / name).string();
  }

  // The updater config: one managed agent component with short timers.
  std::string Components(const std::string& grace) const {
    return "[trust]\nroot = \"" + root_ +
           "\"\n[[component]]\nname = \"agent\"\nbinary = \"steward-agent\"\nargs = " +
           Args({"run", "--config", (dir_ / "agent.toml").string()}) +
           "\nreadiness = \"notify\"\ngrace = \"" + grace +
           "\"\nstart_timeout = \"3s\"\n"
           "stop_timeout = \"5s\"\nrestart_delay = \"100ms\"\nrestart_delay_max = \"200ms\"\n"
           "crash_loop_failures = 2\nreload_on_flags = true\n[self_update]\ngrace = \"1s\"\n";
  }

  void WriteAgentConfig(const std::string& test_keys = "") {
    dir_.Write("agent.toml", "listen = \"127.0.0.1:0\"\nstate_dir = \"" +
                                 (dir_ / "agent-state").string() + "\"\nflags_file = \"" +
                                 (dir_ / "state" / "flags.json").string() + "\"\n" + test_keys);
  }

  void StartUpdater(const Child::Options& options = {}) {
    updater_.Start(extra_ + Components(grace_), options);
  }

  RunResult Apply(const std::string& manifest) {
    return updater_.Cli({"apply", "agent", "--manifest", manifest});
  }

  // Waits for the agent's update transaction to end; returns its status entry.
  json WaitResult(std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
    EXPECT_TRUE(updater_.WaitUnit(
        "agent",
        [](const json& u) { return u["update"].is_object() && u["update"]["result"].is_string(); },
        timeout))
        << updater_.Logs();
    return updater_.Unit("agent");
  }

  // Installs `version` and waits until it is committed and running.
  void Install(const std::string& version, int sequence) {
    auto r = Apply(Release(version, sequence));
    ASSERT_EQ(r.status.code(), 0) << r.err;
    ASSERT_TRUE(updater_.WaitUnit("agent", [&](const json& u) {
      return u["update"].is_object() && u["update"]["to"] == version &&
             u["update"]["result"] == "committed" && u["state"] == "running";
    })) << updater_.Logs();
  }

  updater::ComponentLayout Layout() const { return {dir_ / "state", "agent"}; }
  fs::path ComponentDir() const { return Layout().Dir(); }
  updater::ComponentLayout SelfLayout() const {
    return {dir_ / "state", updater::kUpdaterComponent};
  }

  std::set<std::string> VersionDirs() const {
    std::set<std::string> out;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(Layout().Versions(), ec)) {
      out.insert(e.path().filename().string());
    }
    return out;
  }

  std::string LinkDir(updater::Pointer p) const { return Layout().PointedDir(p); }

  // Live processes running a binary from this host's version directories.
  std::vector<pid_t> AgentProcesses() const {
    return ProcessesRunningFrom(ComponentDir().string() + "/");
  }

  // The host converged: the transaction ended, one agent process runs (or none, when stopped),
  // the links name verified versions only, nothing stray is left in versions/ or staging/.
  void ExpectConsistent(const json& unit, const std::string& expect_version, bool running) {
    EXPECT_EQ(unit["installed_version"], expect_version) << unit.dump();
    std::set<std::string> expected{LinkDir(updater::Pointer::current)};
    if (!LinkDir(updater::Pointer::previous).empty()) {
      expected.insert(LinkDir(updater::Pointer::previous));
    }
    EXPECT_EQ(VersionDirs(), expected);
    std::error_code ec;
    EXPECT_TRUE(fs::is_empty(dir_ / "state" / "staging", ec) || ec) << "staging not empty";
    const auto procs = AgentProcesses();
    if (running) {
      ASSERT_EQ(procs.size(), 1u) << unit.dump();
      EXPECT_EQ(unit["pid"], procs[0]);
      EXPECT_EQ(unit["running_version"], expect_version);
    } else {
      EXPECT_TRUE(procs.empty());
    }
  }

  std::string grace_ = "1s";
  std::string extra_;                            // config tables before the components
  const minisign::SecretKey* signer_ = nullptr;  // signs releases; null: the controller's key
  TempDir dir_;
  Controller controller_;
  std::string root_ = (controller_.dir / "root.json").string();  // the host's root
  UpdaterProcess updater_{dir_};
};

TEST_F(Update, FirstInstallThenUpdateWhileRunning) {
  WriteAgentConfig();
  StartUpdater();
  EXPECT_EQ(updater_.Unit("agent")["state"], "not_installed");
  Install("1.0.0", 1);
  const auto first = updater_.Unit("agent");
  EXPECT_EQ(first["running_version"], "1.0.0");

  Install("1.1.0", 2);
  const auto second = updater_.Unit("agent");
  EXPECT_EQ(second["running_version"], "1.1.0");
  EXPECT_EQ(second["previous_version"], "1.0.0");
  EXPECT_NE(second["pid"], first["pid"]);
  ExpectConsistent(second, "1.1.0", true);

  // An older signed manifest replayed: refused, the node untouched.
  auto r = Apply((dir_ / "agent-1.0.0.json").string());
  EXPECT_NE(r.status.code(), 0);
  EXPECT_NE(r.err.find("sequence_rollback"), std::string::npos) << r.err;
  EXPECT_EQ(updater_.Unit("agent")["pid"], second["pid"]);
  // The same release again: nothing to do.
  r = Apply((dir_ / "agent-1.1.0.json").string());
  EXPECT_EQ(r.status.code(), 0) << r.err;
  EXPECT_NE(r.out.find("already installed"), std::string::npos) << r.out;
}

TEST_F(Update, BadSignatureIsRefusedAndChangesNothing) {
  WriteAgentConfig();
  StartUpdater();
  Install("1.0.0", 1);
  const auto before = updater_.Unit("agent");
  const std::string m = Release("1.1.0", 2);
  // Signed by a key the root does not name.
  dir_.Write("agent-1.1.0.json.minisig",
             Controller::Sign(minisign::SecretKey::Generate(), *files::ReadFile(m, 1 << 20)));
  auto r = Apply(m);
  EXPECT_NE(r.status.code(), 0) << r.err;
  EXPECT_NE(r.err.find("threshold"), std::string::npos) << r.err;
  const auto after = updater_.Unit("agent");
  EXPECT_EQ(after["pid"], before["pid"]);
  EXPECT_EQ(after["update"]["result"], "failed");
  EXPECT_EQ(after["update"]["error_code"], "threshold_not_met");
  ExpectConsistent(after, "1.0.0", true);
}

TEST_F(Update, WhileStoppedStaysStoppedAndIsVerifiedAtNextStart) {
  WriteAgentConfig();
  StartUpdater();
  Install("1.0.0", 1);
  ASSERT_EQ(updater_.Cli({"stop", "agent"}).status.code(), 0);
  ASSERT_TRUE(updater_.WaitUnit("agent", [](const json& u) { return u["state"] == "stopped"; }));

  ASSERT_EQ(Apply(Release("1.1.0", 2)).status.code(), 0);
  ASSERT_TRUE(updater_.WaitUnit("agent", [](const json& u) {
    return u["update"]["to"] == "1.1.0" && u["update"]["state"] == "verifying";
  })) << updater_.Logs();
  auto u = updater_.Unit("agent");
  EXPECT_EQ(u["state"], "stopped");
  EXPECT_EQ(u["installed_version"], "1.1.0");
  EXPECT_TRUE(AgentProcesses().empty());

  ASSERT_EQ(updater_.Cli({"start", "agent"}).status.code(), 0);
  u = WaitResult();
  EXPECT_EQ(u["update"]["result"], "committed");
  ExpectConsistent(u, "1.1.0", true);
}

TEST_F(Update, WhileCrashLoopingOnTheOldVersion) {
  WriteAgentConfig();
  StartUpdater();
  Install("1.0.0", 1);
  WriteAgentConfig("test_fail = \"crash\"\ntest_fail_versions = [\"1.0.0\"]\n");
  ASSERT_EQ(updater_.Cli({"restart", "agent"}).status.code(), 0);
  ASSERT_TRUE(updater_.WaitUnit("agent", [](const json& u) { return u["crash_loop"] == true; }))
      << updater_.Logs();
  ASSERT_EQ(Apply(Release("1.1.0", 2)).status.code(), 0);
  const auto u = WaitResult();
  EXPECT_EQ(u["update"]["result"], "committed") << u.dump();
  EXPECT_EQ(u["crash_loop"], false);
  ExpectConsistent(u, "1.1.0", true);
}

// A node stopped by its operator takes every newer release while it is stopped: 1.1.0 is
// installed unverified, 1.2.0 supersedes it, and `previous` keeps naming 1.0.0, the version
// that passed its gate.
class Supersede : public Update {
 protected:
  void StopWithUnverified110() {
    Install("1.0.0", 1);
    ASSERT_EQ(updater_.Cli({"stop", "agent"}).status.code(), 0);
    ASSERT_TRUE(updater_.WaitUnit("agent", [](const json& u) { return u["state"] == "stopped"; }));
    ASSERT_EQ(Apply(Release("1.1.0", 2)).status.code(), 0);
    ASSERT_TRUE(WaitUnverified("1.1.0")) << updater_.Logs();
  }
  bool WaitUnverified(const std::string& version) {
    return updater_.WaitUnit("agent", [&](const json& u) {
      // "stopped" also after a first install into a stopped node.
      return u["update"]["to"] == version && u["update"]["state"] == "verifying" &&
             u["state"] == "stopped";
    });
  }
  // Stopped on 1.2.0, unverified; 1.0.0 the rollback target; nothing else on disk.
  void ExpectSupersededBy120() {
    const auto u = updater_.Unit("agent");
    EXPECT_EQ(u["installed_version"], "1.2.0") << u.dump();
    EXPECT_EQ(u["previous_version"], "1.0.0") << u.dump();
    EXPECT_EQ(u["update"]["from"], "1.0.0") << u.dump();
    EXPECT_EQ(u["update"]["superseded"], "1.1.0") << u.dump();
    EXPECT_TRUE(u["update"]["result"].is_null()) << u.dump();
    EXPECT_EQ(VersionDirs(), (std::set<std::string>{LinkDir(updater::Pointer::current),
                                                    LinkDir(updater::Pointer::previous)}));
    std::error_code ec;
    EXPECT_TRUE(fs::is_empty(dir_ / "state" / "staging", ec) || ec) << "staging not empty";
    EXPECT_TRUE(AgentProcesses().empty());
  }
};

TEST_F(Supersede, ANewerReleaseReplacesTheUnverifiedOneAndIsGatedAtStart) {
  WriteAgentConfig();
  StartUpdater();
  StopWithUnverified110();
  auto r = Apply(Release("1.2.0", 3));
  ASSERT_EQ(r.status.code(), 0) << r.err;
  EXPECT_NE(r.out.find("supersede"), std::string::npos) << r.out;
  ASSERT_TRUE(WaitUnverified("1.2.0")) << updater_.Logs();
  ExpectSupersededBy120();
  EXPECT_NE(updater_.Logs().find("update to 1.1.0 superseded by 1.2.0"), std::string::npos);

  ASSERT_EQ(updater_.Cli({"start", "agent"}).status.code(), 0);
  const auto u = WaitResult();
  EXPECT_EQ(u["update"]["result"], "committed") << u.dump();
  ExpectConsistent(u, "1.2.0", true);
}

TEST_F(Supersede, WhenTheNewestFailsItsGateTheNodeGoesBackToTheVerifiedVersion) {
  WriteAgentConfig("test_fail = \"crash\"\ntest_fail_versions = [\"1.2.0\"]\n");
  StartUpdater();
  StopWithUnverified110();
  ASSERT_EQ(Apply(Release("1.2.0", 3)).status.code(), 0);
  ASSERT_TRUE(WaitUnverified("1.2.0")) << updater_.Logs();
  ASSERT_EQ(updater_.Cli({"start", "agent"}).status.code(), 0);
  const auto u = WaitResult();
  EXPECT_EQ(u["update"]["result"], "rolled_back") << u.dump();
  ASSERT_TRUE(updater_.WaitUnit("agent", [](const json& x) { return x["state"] == "running"; }))
      << updater_.Logs();
  // 1.0.0, which passed its gate, not 1.1.0, which never ran.
  ExpectConsistent(updater_.Unit("agent"), "1.0.0", true);
}

TEST_F(Supersede, ADownloadThatFailsLeavesTheUnverifiedUpdateAsItWas) {
  WriteAgentConfig();
  StartUpdater();
  StopWithUnverified110();
  const auto before = updater_.Unit("agent");
  // 1.2.0, properly signed, whose artifact the server no longer has.
  const auto bytes = files::ReadFile(Bin("releases/1.2.0/steward-agent"), 1 << 30);
  ASSERT_TRUE(bytes);
  const json artifact = controller_.Blob(*bytes);
  fs::remove(controller_.dir / "blobs" / artifact["sha256"].get<std::string>());
  const auto m = Controller::Manifest("agent", "stable", "1.2.0", 3, artifact);
  dir_.Write("agent-1.2.0.json", m);
  dir_.Write("agent-1.2.0.json.minisig", Controller::Sign(controller_.release_key, m));
  ASSERT_EQ(Apply((dir_ / "agent-1.2.0.json").string()).status.code(), 0);
  ASSERT_TRUE(Eventually(
      [&] {
        return updater_.Logs().find("fetching 1.2.0 to supersede") != std::string::npos &&
               updater_.Logs().find("the node stays as it was") != std::string::npos;
      },
      std::chrono::seconds(30)))
      << updater_.Logs();
  const auto u = updater_.Unit("agent");
  EXPECT_EQ(u["update"], before["update"]) << u.dump();
  EXPECT_EQ(u["installed_version"], "1.1.0");
  EXPECT_EQ(u["previous_version"], "1.0.0");
  EXPECT_TRUE(AgentProcesses().empty());
  // Its next start still runs the gate of the version it has.
  ASSERT_EQ(updater_.Cli({"start", "agent"}).status.code(), 0);
  const auto done = WaitResult();
  EXPECT_EQ(done["update"]["to"], "1.1.0");
  EXPECT_EQ(done["update"]["result"], "committed") << done.dump();
  ExpectConsistent(done, "1.1.0", true);
}

TEST_F(Supersede, FromAFirstInstallNothingUnverifiedIsKept) {
  WriteAgentConfig();
  StartUpdater();
  ASSERT_EQ(updater_.Cli({"stop", "agent"}).status.code(), 0);
  ASSERT_EQ(Apply(Release("1.0.0", 1)).status.code(), 0);
  ASSERT_TRUE(WaitUnverified("1.0.0")) << updater_.Logs();
  ASSERT_EQ(Apply(Release("1.1.0", 2)).status.code(), 0);
  ASSERT_TRUE(WaitUnverified("1.1.0")) << updater_.Logs();
  ASSERT_EQ(Apply(Release("1.2.0", 3)).status.code(), 0);
  ASSERT_TRUE(WaitUnverified("1.2.0")) << updater_.Logs();
  EXPECT_EQ(VersionDirs(), std::set<std::string>{LinkDir(updater::Pointer::current)});
  EXPECT_EQ(LinkDir(updater::Pointer::previous), "");
  EXPECT_TRUE(AgentProcesses().empty());
  ASSERT_EQ(updater_.Cli({"start", "agent"}).status.code(), 0);
  const auto u = WaitResult();
  EXPECT_EQ(u["update"]["result"], "committed") << u.dump();
  ExpectConsistent(u, "1.2.0", true);
}

TEST_F(Supersede, ARefusedOfferNamesTheSignedVersion) {
  WriteAgentConfig();
  StartUpdater();
  Install("1.1.0", 2);
  // Signed, but older than what this host accepted: refused, and the report says which.
  auto r = Apply(Release("1.0.0", 1));
  EXPECT_NE(r.status.code(), 0);
  const auto u = updater_.Unit("agent");
  EXPECT_EQ(u["update"]["result"], "failed") << u.dump();
  EXPECT_EQ(u["update"]["error_code"], "sequence_rollback");
  EXPECT_EQ(u["update"]["to"], "1.0.0");
  // Not signed by a release key: no version is repeated from it.
  const std::string m = Release("1.2.0", 3);
  dir_.Write("agent-1.2.0.json.minisig",
             Controller::Sign(minisign::SecretKey::Generate(), *files::ReadFile(m, 1 << 20)));
  EXPECT_NE(Apply(m).status.code(), 0);
  EXPECT_TRUE(updater_.Unit("agent")["update"]["to"].is_null()) << updater_.Unit("agent").dump();
}

// Kill -9 at each step of a supersede, then restart: the node converges to 1.2.0, stopped and
// unverified, with 1.0.0 as its rollback target.
class SupersedeCrashAt : public Supersede, public ::testing::WithParamInterface<const char*> {};

TEST_P(SupersedeCrashAt, RestartConverges) {
  WriteAgentConfig();
  StartUpdater();
  StopWithUnverified110();
  const auto manifest = Release("1.2.0", 3);
  ASSERT_TRUE(updater_.Stop());
  Child::Options armed;
  armed.env["STEWARD_FAILPOINTS"] = std::string(GetParam()) + "=crash";
  StartUpdater(armed);
  (void)Apply(manifest);
  auto st = updater_.proc().Wait(std::chrono::seconds(30));
  ASSERT_TRUE(st && st->exited() && st->code() == 137)
      << "the updater did not stop at " << GetParam() << "\n"
      << updater_.Logs();

  StartUpdater();
  // The offer comes again (as the next check-in would bring it): taken, or already installed.
  auto r = Apply(manifest);
  ASSERT_EQ(r.status.code(), 0) << r.err;
  ASSERT_TRUE(WaitUnverified("1.2.0")) << updater_.Logs();
  ExpectSupersededBy120();
}

INSTANTIATE_TEST_SUITE_P(Failpoints, SupersedeCrashAt,
                         ::testing::Values("install.before_rename", "update.supersede.installed",
                                           "update.staged", "update.switching",
                                           "update.switch.between_links", "update.switched",
                                           "update.verifying"),
                         [](const auto& p) {
                           std::string n = p.param;
                           for (char& ch : n) {
                             if (ch == '.') ch = '_';
                           }
                           return n;
                         });

struct BadVersion {
  const char* name;
  const char* agent_keys;
};

class Rollback : public Update, public ::testing::WithParamInterface<BadVersion> {};

TEST_P(Rollback, BadVersionIsRolledBackMarkedAndNotRetried) {
  WriteAgentConfig(std::string(GetParam().agent_keys) + "test_fail_versions = [\"1.2.0\"]\n");
  grace_ = "3s";  // longer than the crash after ready, twice
  StartUpdater();
  Install("1.0.0", 1);
  const auto release = Release("1.2.0", 3);
  ASSERT_EQ(Apply(release).status.code(), 0);
  const auto u = WaitResult();
  EXPECT_EQ(u["update"]["result"], "rolled_back") << u.dump();
  EXPECT_EQ(u["update"]["error_code"], "health_gate_failed");
  ASSERT_TRUE(updater_.WaitUnit("agent", [](const json& x) { return x["state"] == "running"; }));
  ExpectConsistent(updater_.Unit("agent"), "1.0.0", true);
  EXPECT_EQ(VersionDirs().size(), 1u);  // the bad version is gone

  auto again = Apply(release);
  EXPECT_NE(again.status.code(), 0);
  EXPECT_NE(again.err.find("version_bad"), std::string::npos) << again.err;

  // The operator clears the mark: offered again, it is tried again.
  EXPECT_EQ(updater_.Cli({"clear-bad", "agent", "1.1.9"}).status.code(), exit_code::kFailure);
  ASSERT_EQ(updater_.Cli({"clear-bad", "agent", "1.2.0"}).status.code(), 0);
  again = Apply(release);
  EXPECT_EQ(again.status.code(), 0) << again.err;
  EXPECT_NE(again.out.find("started"), std::string::npos) << again.out;
}

INSTANTIATE_TEST_SUITE_P(
    Kinds, Rollback,
    ::testing::Values(BadVersion{"CrashesAtStart", "test_fail = \"crash\"\n"},
                      BadVersion{"NeverReady", "test_fail = \"never_ready\"\n"},
                      BadVersion{"CrashesAfterReady",
                                 "test_fail = \"crash\"\ntest_fail_after = \"1s\"\n"}),
    [](const auto& p) { return std::string(p.param.name); });

TEST_F(Update, WhenTheOldVersionFailsTooTheEnvironmentIsBlamed) {
  WriteAgentConfig();
  StartUpdater();
  Install("1.0.0", 1);
  // From their next start on, both versions crash: the host is broken, not the release.
  WriteAgentConfig("test_fail = \"crash\"\ntest_fail_versions = [\"1.0.0\", \"1.2.0\"]\n");
  const auto release = Release("1.2.0", 3);
  ASSERT_EQ(Apply(release).status.code(), 0);
  const auto u = WaitResult();
  EXPECT_EQ(u["update"]["result"], "environment") << u.dump();
  EXPECT_EQ(u["update"]["error_code"], "environment");
  EXPECT_EQ(u["installed_version"], "1.0.0");
  // Not marked bad: offered again, it is tried again.
  auto again = Apply(release);
  EXPECT_EQ(again.status.code(), 0) << again.err;
  EXPECT_NE(again.out.find("started"), std::string::npos) << again.out;
}

TEST_F(Update, FromTheControllerEnrollInstallAndRollOut) {
  WriteAgentConfig();
  const auto m1 = Release("1.0.0", 1);
  auto sig = [&](const std::string& m) { return *files::ReadFile(m + ".minisig", 1 << 16); };
  ASSERT_EQ(controller_.Publish(*files::ReadFile(m1, 1 << 20), {sig(m1)}).status, 201);
  ASSERT_EQ(controller_
                .Admin("PUT", "rollouts/agent/stable",
                       json{{"version", "1.0.0"}, {"percent", 100}, {"paused", false}})
                .status,
            200);
  dir_.Write("enroll-token", std::string(kEnrollToken) + "\n");
  extra_ = "[controller]\nurls = [\"" + controller_.url + "\"]\nenroll_token_file = \"" +
           (dir_ / "enroll-token").string() + "\"\ncheckin_interval = \"1h\"\n";
  StartUpdater();
  // Enrolled, offered 1.0.0 at the first check-in, installed and verified.
  ASSERT_TRUE(updater_.WaitUnit("agent", [](const json& u) {
    return u["update"].is_object() && u["update"]["result"] == "committed";
  })) << updater_.Logs();
  auto nodes = controller_.Admin("GET", "nodes");
  ASSERT_EQ(nodes.body["nodes"].size(), 1u) << nodes.raw;
  EXPECT_EQ(*files::ReadFile(dir_ / "state" / "flags.json", 1 << 16), "{}\n");

  // A feature flag set on the controller: written for the agent, which is told to reload.
  ASSERT_EQ(
      controller_
          .Admin("PUT", "flags", json{{"scope", "global"}, {"set", {{"console.embedded", false}}}})
          .status,
      200);
  ASSERT_EQ(updater_.Cli({"check"}).status.code(), 0);
  ASSERT_TRUE(updater_.proc().WaitForOutput("reloaded outcome=\"ok\"", 20s)) << updater_.Logs();
  EXPECT_EQ(*files::ReadFile(dir_ / "state" / "flags.json", 1 << 16),
            "{\"console.embedded\":false}\n");
  EXPECT_EQ(updater_.Unit("agent")["restarts"], 0);  // reloaded, not restarted

  // A new release rolled out to everyone; `check` makes the node ask now, not in an hour.
  const auto m2 = Release("1.1.0", 2);
  ASSERT_EQ(controller_.Publish(*files::ReadFile(m2, 1 << 20), {sig(m2)}).status, 201);
  ASSERT_EQ(controller_
                .Admin("PUT", "rollouts/agent/stable",
                       json{{"version", "1.1.0"}, {"percent", 100}, {"paused", false}})
                .status,
            200);
  ASSERT_EQ(updater_.Cli({"check"}).status.code(), 0);
  ASSERT_TRUE(updater_.WaitUnit("agent", [](const json& u) {
    return u["update"]["to"] == "1.1.0" && u["update"]["result"] == "committed";
  })) << updater_.Logs();
  ExpectConsistent(updater_.Unit("agent"), "1.1.0", true);
  // The controller heard the result at the next check-in.
  ASSERT_EQ(updater_.Cli({"check"}).status.code(), 0);
  ASSERT_TRUE(Eventually(
      [&] {
        auto n = controller_.Admin("GET", "nodes");
        return n.raw.find("\"1.1.0\"") != std::string::npos;
      },
      20s));
}

TEST_F(Update, ControllerDownTheWholeTimeTheNodeRunsOn) {
  WriteAgentConfig();
  dir_.Write("enroll-token", std::string(kEnrollToken) + "\n");
  extra_ = "[controller]\nurls = [\"http://127.0.0.1:9\"]\nenroll_token_file = \"" +
           (dir_ / "enroll-token").string() + "\"\ncheckin_interval = \"1s\"\n";
  StartUpdater();
  Install("1.0.0", 1);
  const auto pid = updater_.Unit("agent")["pid"];
  ASSERT_TRUE(Eventually(
      [&] {
        const auto s = updater_.Status();
        return s.is_object() && s["checkin"]["last_error"].is_string() &&
               s["checkin"]["count"] == 0;
      },
      20s));
  ASSERT_EQ(updater_.Cli({"check"}).status.code(), 0);
  const auto u = updater_.Unit("agent");
  EXPECT_EQ(u["pid"], pid);
  EXPECT_EQ(u["restarts"], 0);
  EXPECT_EQ(u["state"], "running");
}

TEST_F(Update, RootRotationFromTheControllerTrustsANewReleaseKey) {
  // The host ships root 1; the controller moved on to root 2, whose release key is new.
  for (const char* f : {"root.json", "root.json.root1.minisig"}) {
    dir_.Write(std::string("host-") + f, *files::ReadFile(controller_.dir / f, 1 << 20));
  }
  root_ = (dir_ / "host-root.json").string();
  const auto rel2 = minisign::SecretKey::Generate();
  json root2{{"schema", "steward.root/1"},
             {"version", 2},
             {"expires", FormatRfc3339(Controller::DaysFromNow(365))},
             {"keys",
              {{"root1", controller_.root_key.public_key().ToBase64()},
               {"rel2", rel2.public_key().ToBase64()}}},
             {"roles",
              {{"root", {{"keys", {"root1"}}, {"threshold", 1}}},
               {"release", {{"keys", {"rel2"}}, {"threshold", 1}}}}}};
  controller_.dir.Write("root.json", root2.dump(2));
  controller_.dir.Write("root.json.root1.minisig",
                        Controller::Sign(controller_.root_key, root2.dump(2)));
  controller_.Restart();
  signer_ = &rel2;
  const auto m = Release("1.0.0", 1);
  ASSERT_EQ(
      controller_.Publish(*files::ReadFile(m, 1 << 20), {*files::ReadFile(m + ".minisig", 1 << 16)})
          .status,
      201);
  ASSERT_EQ(controller_
                .Admin("PUT", "rollouts/agent/stable",
                       json{{"version", "1.0.0"}, {"percent", 100}, {"paused", false}})
                .status,
            200);
  WriteAgentConfig();
  dir_.Write("enroll-token", std::string(kEnrollToken) + "\n");
  extra_ = "[controller]\nurls = [\"" + controller_.url + "\"]\nenroll_token_file = \"" +
           (dir_ / "enroll-token").string() + "\"\n";
  StartUpdater();
  // Root 2 is taken from the check-in answer first, then the release signed by rel2 verifies.
  ASSERT_TRUE(updater_.WaitUnit("agent", [](const json& u) {
    return u["update"].is_object() && u["update"]["result"] == "committed";
  })) << updater_.Logs();
  EXPECT_NE(updater_.Logs().find("trusted root rotated from version 1 to 2"), std::string::npos);
  // It is kept: a restarted updater still trusts root 2.
  ASSERT_TRUE(updater_.Stop());
  StartUpdater();
  auto r = Apply(m);
  EXPECT_EQ(r.status.code(), 0) << r.err;
  EXPECT_NE(r.out.find("already installed"), std::string::npos) << r.out;
}

TEST_F(Update, ReexecRestartsTheUpdaterInPlaceAndTheNodeKeepsRunning) {
  // What a package upgrade does: `steward-updater reexec` instead of a service restart.
  WriteAgentConfig();
  StartUpdater();
  Install("1.0.0", 1);
  const auto agent_pid = updater_.Unit("agent")["pid"];
  const pid_t updater_pid = updater_.proc().pid();
  ASSERT_EQ(updater_.Cli({"reexec"}).status.code(), 0);
  ASSERT_TRUE(updater_.proc().WaitForOutput("adopted as running", 20s)) << updater_.Logs();
  ASSERT_TRUE(updater_.WaitUnit("agent", [](const json& u) { return u["state"] == "running"; }));
  EXPECT_EQ(updater_.proc().pid(), updater_pid);
  EXPECT_EQ(updater_.Unit("agent")["pid"], agent_pid);
  EXPECT_EQ(updater_.Unit("agent")["restarts"], 0);
  ExpectConsistent(updater_.Unit("agent"), "1.0.0", true);
}

// The updater's own update transaction in a status document, null when none.
json SelfUpdate(const json& status) {
  if (!status.is_object() || !status["updater"].contains("update")) return nullptr;
  return status["updater"]["update"];
}

TEST_F(Update, SelfUpdateReExecutesInPlaceAndTheNodeKeepsItsPid) {
  WriteAgentConfig();
  StartUpdater();
  Install("1.0.0", 1);
  const auto agent_pid = updater_.Unit("agent")["pid"];
  const pid_t updater_pid = updater_.proc().pid();
  auto r = updater_.Cli(
      {"apply", "steward-updater", "--manifest", Release("1.1.0", 1, "steward-updater")});
  ASSERT_EQ(r.status.code(), 0) << r.err;
  ASSERT_TRUE(Eventually(
      [&] {
        const auto s = updater_.Status();
        return s.is_object() && s["updater"]["version"] == "1.1.0" && SelfUpdate(s).is_object() &&
               SelfUpdate(s)["result"] == "committed";
      },
      30s))
      << updater_.Logs();
  EXPECT_TRUE(updater_.proc().running());
  EXPECT_EQ(updater_.proc().pid(), updater_pid);  // execve: the same process
  EXPECT_EQ(updater_.Unit("agent")["pid"], agent_pid);
  EXPECT_EQ(updater_.Unit("agent")["state"], "running");
  EXPECT_EQ(AgentProcesses().size(), 1u);
}

TEST_F(Update, AnUpdaterReleaseThatFailsItsSelftestIsNotSwitchedTo) {
  WriteAgentConfig();
  StartUpdater();
  const std::string before = updater_.Status()["updater"]["version"];
  const pid_t updater_pid = updater_.proc().pid();
  // The manifest says 1.1.0, the binary says 1.0.0: qualification must catch it.
  const auto m = Controller::Manifest(
      "steward-updater", "stable", "1.1.0", 1,
      controller_.Blob(*files::ReadFile(Bin("releases/1.0.0/steward-updater"), 1 << 30)));
  dir_.Write("mislabelled.json", m);
  dir_.Write("mislabelled.json.minisig", Controller::Sign(controller_.release_key, m));
  auto r = updater_.Cli(
      {"apply", "steward-updater", "--manifest", (dir_ / "mislabelled.json").string()});
  ASSERT_EQ(r.status.code(), 0) << r.err;
  ASSERT_TRUE(Eventually(
      [&] {
        const auto s = SelfUpdate(updater_.Status());
        return s.is_object() && s["result"] == "failed";
      },
      30s))
      << updater_.Logs();
  const auto s = updater_.Status();
  EXPECT_EQ(SelfUpdate(s)["error_code"], "selftest_failed");
  EXPECT_EQ(s["updater"]["version"], before);
  EXPECT_EQ(updater_.proc().pid(), updater_pid);
  std::error_code ec;
  EXPECT_FALSE(fs::exists(SelfLayout().PointerPath(updater::Pointer::current), ec));
}

TEST_F(Update, BrokenUpdaterReleaseIsRolledBackByTheLauncher) {
  WriteAgentConfig();
  Child::Options armed;  // updater 1.2.0 dies at start, as a broken build would
  armed.env["STEWARD_FAILPOINTS"] = "updater.start.1.2.0=crash";
  StartUpdater(armed);
  const std::string packaged = updater_.Status()["updater"]["version"];
  auto r = updater_.Cli(
      {"apply", "steward-updater", "--manifest", Release("1.2.0", 1, "steward-updater")});
  ASSERT_EQ(r.status.code(), 0) << r.err;
  // Like systemd: start the packaged launcher again each time the updater dies. It tries the
  // new version three times, then falls back.
  int starts = 0;
  for (;;) {
    auto st = updater_.proc().Wait(30s);
    ASSERT_TRUE(st && st->exited() && st->code() == 137) << updater_.Logs();
    ++starts;
    updater_.Launch(armed);
    ASSERT_TRUE(Eventually(
        [&] {
          const auto s = updater_.Status();
          return !updater_.proc().running() ||
                 (s.is_object() && s["updater"]["state"] == "running");
        },
        20s));
    if (updater_.proc().running()) break;
    ASSERT_LT(starts, 5) << updater_.Logs();
  }
  EXPECT_EQ(starts, 3);
  ASSERT_TRUE(Eventually(
      [&] {
        const auto s = updater_.Status();
        return SelfUpdate(s).is_object() && SelfUpdate(s)["result"] == "rolled_back";
      },
      20s))
      << updater_.Logs();
  const auto s = updater_.Status();
  EXPECT_EQ(s["updater"]["version"], packaged);
  EXPECT_EQ(SelfUpdate(s)["error_code"], "health_gate_failed");
  std::error_code ec;
  EXPECT_TRUE(fs::is_empty(SelfLayout().Versions(), ec));
}

// Delta updates with the real stewardctl: `release create --delta-from` makes the patch from the
// installed release's binary and lists it under the artifact's URL scheme (here the controller's
// blob store, by hash); the controller refuses to publish until the patch is there; the updater
// fetches the patch and installs exactly the new binary, or falls back to the full download.
class Delta : public Update {
 protected:
  struct Made {
    std::string manifest_path;
    std::string patch_file;
    json delta;
  };

  Made DeltaRelease(const std::string& version, int sequence, const std::string& from) {
    const std::string path = Bin("releases/" + version + "/steward-agent");
    const auto bytes = files::ReadFile(path, 1 << 30);
    EXPECT_TRUE(bytes);
    const json blob = controller_.Blob(*bytes);
    const std::string name = "agent-" + version + ".json";
    auto r = RunProgram({Bin("stewardctl"),
                         "release",
                         "create",
                         "--component",
                         "agent",
                         "--channel",
                         "stable",
                         "--version",
                         version,
                         "--sequence",
                         std::to_string(sequence),
                         "--artifact",
                         "linux-x86_64=" + path,
                         "--url",
                         "linux-x86_64=" + blob["url"].get<std::string>(),
                         "--expires",
                         "30d",
                         "--delta-from",
                         Bin("releases/" + from + "/steward-agent") + "=" + from,
                         "--delta-dir",
                         (dir_ / "patches").string(),
                         "--delta-level",
                         "3",
                         "-o",
                         (dir_ / name).string()});
    EXPECT_EQ(r.status.code(), 0) << r.out << r.err;
    const auto text = files::ReadFile(dir_ / name, 1 << 20);
    EXPECT_TRUE(text);
    const json m = json::parse(*text);
    Made made;
    made.manifest_path = (dir_ / name).string();
    made.delta = m["artifacts"]["linux-x86_64"]["deltas"][0];
    made.patch_file =
        (dir_ / "patches" / ("agent-" + version + "-from-" + from + ".linux-x86_64.zst-patch"))
            .string();
    dir_.Write(name + ".minisig", Controller::Sign(controller_.release_key, *text));
    return made;
  }

  // Applies the 1.1.0 release; it commits, its bytes having come the `download` way, and the
  // node runs exactly the release's binary.
  void ApplyAndExpect(const std::string& manifest_path, const std::string& download) {
    auto r = Apply(manifest_path);
    ASSERT_EQ(r.status.code(), 0) << r.err;
    const auto u = WaitResult();
    EXPECT_EQ(u["update"]["result"], "committed") << u.dump();
    EXPECT_EQ(u["update"]["download"], download) << u.dump();
    ASSERT_TRUE(updater_.WaitUnit("agent", [](const json& x) {
      return x["state"] == "running" && x["running_version"] == "1.1.0";
    })) << updater_.Logs();
    EXPECT_EQ(
        *files::ReadFile(Layout().Program(updater::Pointer::current, "steward-agent"), 1 << 30),
        *files::ReadFile(Bin("releases/1.1.0/steward-agent"), 1 << 30));
    ExpectConsistent(updater_.Unit("agent"), "1.1.0", true);
  }

  json PublishFile(const std::string& manifest_path) {
    const auto text = files::ReadFile(manifest_path, 1 << 20);
    auto r = controller_.Publish(*text, {Controller::Sign(controller_.release_key, *text)});
    return json{{"status", r.status}, {"body", r.body}};
  }
};

TEST_F(Delta, PatchFromStewardctlInstallsExactlyTheNewBinary) {
  WriteAgentConfig();
  StartUpdater();
  Install("1.0.0", 1);
  const Made made = DeltaRelease("1.1.0", 2, "1.0.0");
  const auto patch = files::ReadFile(made.patch_file, 1 << 30);
  ASSERT_TRUE(patch) << made.patch_file;
  const auto full = files::ReadFile(Bin("releases/1.1.0/steward-agent"), 1 << 30);
  EXPECT_EQ(made.delta["size"], patch->size());
  EXPECT_EQ(made.delta["sha256"], HexEncode(Sha256Of(*patch)));
  EXPECT_EQ(made.delta["from_sha256"],
            HexEncode(Sha256Of(*files::ReadFile(Bin("releases/1.0.0/steward-agent"), 1 << 30))));
  EXPECT_EQ(made.delta["url"], controller_.url + "/v1/artifacts/" + HexEncode(Sha256Of(*patch)));
  EXPECT_LT(patch->size(), full->size() / 2);

  // The controller checks the patch like the artifact: not uploaded yet, not published.
  const json refused = PublishFile(made.manifest_path);
  EXPECT_EQ(refused["status"], 400) << refused.dump();
  EXPECT_EQ(refused["body"]["error"]["code"], "artifact_unreachable") << refused.dump();
  EXPECT_NE(refused["body"]["error"]["message"].get<std::string>().find("delta"), std::string::npos)
      << refused.dump();
  controller_.Blob(*patch);
  const json published = PublishFile(made.manifest_path);
  EXPECT_EQ(published["status"], 201) << published.dump();

  ApplyAndExpect(made.manifest_path, "delta");
}

TEST_F(Delta, BrokenPatchFallsBackToTheFullDownload) {
  WriteAgentConfig();
  StartUpdater();
  Install("1.0.0", 1);
  const Made made = DeltaRelease("1.1.0", 2, "1.0.0");
  auto patch = *files::ReadFile(made.patch_file, 1 << 30);
  // The blob store serves other bytes of the same size under the patch's name.
  const std::string sha = made.delta["sha256"];
  patch[patch.size() / 2] ^= 0x20;
  controller_.dir.Write("blobs/" + sha, patch);
  ApplyAndExpect(made.manifest_path, "delta_failed: hash_mismatch");
}

// Kill -9 (a failpoint's crash) at one step of an update, then restart the updater.
struct Crash {
  const char* failpoint;
  bool node_running;
  bool bad_version;  // the new version crashes at start: the crash hits the rollback path
};

class CrashAt : public Update, public ::testing::WithParamInterface<Crash> {};

TEST_P(CrashAt, RestartConvergesToOneConsistentState) {
  const Crash c = GetParam();
  WriteAgentConfig(c.bad_version ? "test_fail = \"crash\"\ntest_fail_versions = [\"1.1.0\"]\n"
                                 : "");
  StartUpdater();
  Install("1.0.0", 1);
  if (!c.node_running) {
    ASSERT_EQ(updater_.Cli({"stop", "agent"}).status.code(), 0);
    ASSERT_TRUE(updater_.WaitUnit("agent", [](const json& u) { return u["state"] == "stopped"; }));
  }
  const auto manifest = Release("1.1.0", 2);
  // Restart with the failpoint armed: the updater dies there as kill -9 would leave it.
  ASSERT_TRUE(updater_.Stop());
  Child::Options armed;
  armed.env["STEWARD_FAILPOINTS"] = std::string(c.failpoint) + "=crash";
  StartUpdater(armed);
  (void)Apply(manifest);
  auto st = updater_.proc().Wait(std::chrono::seconds(30));
  ASSERT_TRUE(st && st->exited() && st->code() == 137)
      << "the updater did not stop at " << c.failpoint << "\n"
      << updater_.Logs();

  StartUpdater();
  const bool forward = !c.bad_version;
  if (!c.node_running) {
    // Switched and left stopped: unverified until its next start.
    ASSERT_TRUE(updater_.WaitUnit("agent", [](const json& u) {
      return u["update"]["state"] == "verifying" && u["state"] == "stopped";
    })) << updater_.Logs();
    ExpectConsistent(updater_.Unit("agent"), "1.1.0", false);
    return;
  }
  const auto u = WaitResult();
  EXPECT_EQ(u["update"]["result"], forward ? "committed" : "rolled_back") << u.dump();
  ASSERT_TRUE(updater_.WaitUnit("agent", [](const json& x) { return x["state"] == "running"; }))
      << updater_.Logs();
  ExpectConsistent(updater_.Unit("agent"), forward ? "1.1.0" : "1.0.0", true);
}

INSTANTIATE_TEST_SUITE_P(
    Failpoints, CrashAt,
    ::testing::Values(
        Crash{"update.fetching", true, false}, Crash{"update.staged", true, false},
        Crash{"update.switching", true, false}, Crash{"update.switch.between_links", true, false},
        Crash{"update.switched", true, false}, Crash{"update.restarting", true, false},
        Crash{"update.verifying", true, false}, Crash{"update.committed", true, false},
        Crash{"install.before_rename", true, false}, Crash{"update.staged", false, false},
        Crash{"update.switched", false, false}, Crash{"update.rolling_back", true, true},
        Crash{"update.rollback.between_links", true, true},
        Crash{"update.rolled_back", true, true}),
    [](const auto& p) {
      std::string n = p.param.failpoint;
      for (char& ch : n) {
        if (ch == '.') ch = '_';
      }
      return n + (p.param.node_running ? "_running" : "_stopped");
    });

}  // namespace
}  // namespace steward::test
