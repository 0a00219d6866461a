// The update executor with a fake clock, a fake launcher and a fake download (the real
// supervisor, state database, trust checks and links): the health gate's time accounting, its
// survival across an updater restart, rollback with the bad-version mark, pins and holds.
#include "updater/updates.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "common/hash.hpp"
#include "common/minisign.hpp"
#include "common/platform.hpp"
#include "common/rfc3339.hpp"
#include "tests/support/fake_launcher.hpp"
#include "tests/support/temp_dir.hpp"
#include "updater/exit_status_posix.hpp"

namespace steward::updater {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using nlohmann::json;

std::string Sign(const minisign::SecretKey& key, std::string_view bytes) {
  return minisign::SignBytes(key, bytes, "test").value().ToFile();
}

class UpdatesTest : public ::testing::Test {
 protected:
  // A root: `root` signs as its one root key, `release` as its one release key.
  std::string RootBytes(int version, const minisign::SecretKey& root,
                        const minisign::SecretKey& release) {
    return json{
        {"schema", "steward.root/1"},
        {"version", version},
        {"expires", FormatRfc3339(clock.Now() + 24h * 365)},
        {"keys",
         {{"root1", root.public_key().ToBase64()}, {"rel1", release.public_key().ToBase64()}}},
        {"roles",
         {{"root", {{"keys", {"root1"}}, {"threshold", 1}}},
          {"release", {{"keys", {"rel1"}}, {"threshold", 1}}}}}}
        .dump();
  }

  void SetUp() override {
    const std::string root = RootBytes(1, root_key, release_key);
    dir.Write("root.json", root);
    dir.Write("root.json.root1.minisig", Sign(root_key, root));
    config.state_dir = (dir / "state").string();
    config.root = (dir / "root.json").string();
    ComponentConfig c;
    c.name = "agent";
    c.binary = "steward-agent";
    c.readiness = Readiness::notify;
    c.grace = 10min;
    c.restart_delay = 0s;
    c.crash_loop_failures = 3;
    config.components.push_back(c);
    fs::create_directories(config.state_dir);
  }

  ComponentConfig& Agent() { return config.components[0]; }

  // A fresh updater process over the same state: supervisor and executor loaded and started.
  void Start() {
    updates.reset();
    sup.reset();
    db.reset();
    db.emplace(StateDb::OpenPath(config.state_dir + "/state.db").value());
    Supervisor::Deps deps{clock, launcher, *db};
    deps.on_exit = [this](const std::string& name, const ExitInfo& e, bool loop) {
      if (updates) updates->OnExit(name, e, loop);
    };
    deps.on_ready = [this](const std::string& name) {
      if (updates) updates->OnReady(name);
    };
    sup = std::make_unique<Supervisor>(config, (dir / "notify").string(), deps);
    auto fetch = [this](FetchRequest r, Updates::FetchDone done) {
      const fs::path d = ComponentLayout(config.state_dir, r.component)
                             .Version(VersionDirName(r.version, r.artifact.sha256));
      fs::create_directories(d);
      dir.Write(fs::relative(d / r.binary, dir.path()).string(), "binary");
      Installed installed;
      installed.dir = d;
      installed.binary = d / r.binary;
      done(installed);
    };
    updates =
        std::make_unique<Updates>(config, Updates::Deps{clock, *db, *sup, fetch, nullptr, nullptr});
    ASSERT_TRUE(sup->Load());
    ASSERT_TRUE(updates->Load());
    sup->StartAll();
    updates->Resume();
  }

  // Release `version`, made and signed once per test (a manifest is its exact bytes).
  OfferedRelease Release(const std::string& version, int sequence) {
    if (auto it = releases.find(version); it != releases.end()) return it->second;
    const std::string content = "agent " + version;
    json m{{"schema", "steward.release/1"},
           {"component", "agent"},
           {"channel", "stable"},
           {"version", version},
           {"sequence", sequence},
           {"root_version", 1},
           {"issued_at", FormatRfc3339(clock.Now() - 1h)},
           {"expires", FormatRfc3339(clock.Now() + 24h * 30)},
           {"artifacts",
            {{std::string(HostPlatform()),
              {{"url", "https://example.invalid/" + version},
               {"size", content.size()},
               {"sha256", HexEncode(Sha256Of(content))},
               {"format", "binary"}}}}}};
    const std::string bytes = m.dump();
    return releases[version] = OfferedRelease{"agent", bytes, {Sign(release_key, bytes)}};
  }

  std::string Offer(const std::string& version, int sequence,
                    const protocol::UpdateWindows* windows = nullptr) {
    auto r = updates->Offer(Release(version, sequence), windows);
    return r ? *r : std::string(ErrorCodeName(r.error().code));
  }

  void Ready() {
    sup->OnNotify("agent", ParseNotify("READY=1").value());
    updates->Poll();
  }
  void Advance(Duration d) {
    clock.Advance(d);
    sup->Tick();
    updates->Poll();
  }
  void Exit(int wait_status) {
    const pid_t pid = sup->MainPid("agent");
    ASSERT_GT(pid, 0);
    ASSERT_TRUE(sup->OnExit(pid, ProcessEndFromWaitStatus(wait_status)));
    updates->Poll();
  }
  TxnView Last() { return updates->Last("agent").value_or(TxnView{}); }

  // Installs and commits `version`.
  void Commit(const std::string& version, int sequence) {
    ASSERT_EQ(Offer(version, sequence), "started");
    Ready();
    Advance(Agent().grace);
    ASSERT_EQ(Last().result, UpdateResult::committed) << TxnStateName(Last().state);
  }

  test::TempDir dir;
  FakeClock clock;
  test::FakeLauncher launcher;
  Config config;
  minisign::SecretKey root_key = minisign::SecretKey::Generate();
  minisign::SecretKey release_key = minisign::SecretKey::Generate();
  minisign::SecretKey next_release_key = minisign::SecretKey::Generate();
  std::optional<StateDb> db;
  std::unique_ptr<Supervisor> sup;
  std::unique_ptr<Updates> updates;
  std::map<std::string, OfferedRelease> releases;
};

TEST_F(UpdatesTest, HealthyTimeIsMonotonicAndSurvivesAnUpdaterRestart) {
  Start();
  ASSERT_EQ(Offer("1.0.0", 1), "started");
  EXPECT_EQ(Last().state, TxnState::restarting);
  Ready();
  EXPECT_EQ(Last().state, TxnState::verifying);
  Advance(6min);
  clock.JumpWall(24h);  // an NTP step: wall time is not healthy time
  updates->Poll();
  EXPECT_EQ(Last().healthy, 6min);

  Start();  // the updater restarts: the node is started again and the gate goes on
  EXPECT_EQ(Last().state, TxnState::verifying);
  EXPECT_GE(Last().healthy, 6min - 5s);  // written at least every 5 s
  Advance(30s);                          // started, not ready yet: nothing accrues
  EXPECT_EQ(Last().state, TxnState::verifying);
  Ready();
  Advance(3min);
  EXPECT_EQ(Last().state, TxnState::verifying);
  Advance(1min);
  EXPECT_EQ(Last().result, UpdateResult::committed);
  EXPECT_EQ(Last().healthy, 10min);
}

TEST_F(UpdatesTest, AStartFailureInTheGateRollsBackAndMarksTheVersionBad) {
  Agent().grace = 1min;
  Start();
  Commit("1.0.0", 1);
  const pid_t old_pid = sup->MainPid("agent");
  ASSERT_EQ(Offer("1.1.0", 2), "started");
  // Switched while the old version runs; it is being stopped, to be replaced at its exit.
  EXPECT_EQ(Last().state, TxnState::restarting);
  EXPECT_EQ(sup->MainPid("agent"), old_pid);
  Exit(SIGTERM);
  EXPECT_EQ(Last().state, TxnState::restarting);
  EXPECT_NE(sup->MainPid("agent"), old_pid);
  Exit(SIGSEGV);  // before READY=1: a start failure
  EXPECT_EQ(Last().state, TxnState::rolling_back);
  EXPECT_EQ(Last().error_code, "health_gate_failed");
  // With no restart delay the supervisor had started it again already: it is stopped first.
  if (sup->MainPid("agent") != 0) Exit(SIGTERM);
  Ready();  // the old version is back up
  EXPECT_EQ(Last().result, UpdateResult::rolled_back);
  EXPECT_EQ(sup->Status()[0].installed_version, "1.0.0");
  EXPECT_EQ(Offer("1.1.0", 2), "version_bad");
  // The repeat offer does not hide the rollback from the next check-in's report.
  EXPECT_EQ(Last().result, UpdateResult::rolled_back);
  EXPECT_EQ(Last().to_version, "1.1.0");
  EXPECT_EQ(Offer("1.2.0", 3), "started");  // a newer release is tried
}

TEST_F(UpdatesTest, AFailedSwitchLeavesTheOldVersionRunning) {
#ifndef STEWARD_FAILPOINTS
  GTEST_SKIP() << "built without failpoints";
#endif
  Start();
  Commit("1.0.0", 1);
  const pid_t old_pid = sup->MainPid("agent");
  const std::size_t signals = launcher.Deliberate().size();
  ::setenv("STEWARD_FAILPOINTS", "update.switch.between_links=error", 1);
  ASSERT_EQ(Offer("1.1.0", 2), "started");
  ::unsetenv("STEWARD_FAILPOINTS");
  EXPECT_EQ(Last().state, TxnState::rolled_back);
  EXPECT_EQ(Last().error_code, "internal");
  // The old version was never stopped: same process, no signal, links as they were.
  EXPECT_EQ(sup->MainPid("agent"), old_pid);
  EXPECT_EQ(sup->State("agent"), UnitState::running);
  EXPECT_EQ(launcher.Deliberate().size(), signals);
  EXPECT_EQ(sup->Status()[0].installed_version, "1.0.0");
  // And it is supervised as before: a crash is restarted.
  Exit(SIGSEGV);
  Advance(1min);
  EXPECT_NE(sup->MainPid("agent"), old_pid);
  ASSERT_NE(sup->MainPid("agent"), 0);
  // The version never ran: it is not marked bad, and is taken when offered again.
  EXPECT_EQ(Offer("1.1.0", 3), "started");
  EXPECT_EQ(Last().state, TxnState::restarting);
  Exit(SIGTERM);  // the old version, replaced
  Ready();
  EXPECT_EQ(Last().state, TxnState::verifying);
  EXPECT_EQ(sup->Status()[0].installed_version, "1.1.0");
}

// Readiness reaches the gate as the supervisor's event (Deps::on_ready), fed at the next Poll:
// nothing acts on the supervisor from inside its own callback.
TEST_F(UpdatesTest, ReadinessIsAnEventFedAtTheNextPoll) {
  Start();
  ASSERT_EQ(Offer("1.0.0", 1), "started");
  EXPECT_EQ(Last().state, TxnState::restarting);
  sup->OnNotify("agent", ParseNotify("READY=1").value());
  EXPECT_EQ(Last().state, TxnState::restarting);
  updates->Poll();
  EXPECT_EQ(Last().state, TxnState::verifying);
}

// A run that ended before its readiness was fed was not ready: the gate waits for the next one.
TEST_F(UpdatesTest, AReadinessWhoseRunEndedBeforeItWasFedDoesNotPassTheGate) {
  Start();
  ASSERT_EQ(Offer("1.0.0", 1), "started");
  sup->OnNotify("agent", ParseNotify("READY=1").value());
  ASSERT_TRUE(sup->OnExit(sup->MainPid("agent"), ProcessEndFromWaitStatus(SIGSEGV)));
  updates->Poll();
  EXPECT_EQ(Last().state, TxnState::restarting);
  Advance(1min);  // restarted
  ASSERT_NE(sup->MainPid("agent"), 0);
  Ready();
  EXPECT_EQ(Last().state, TxnState::verifying);
}

TEST_F(UpdatesTest, PinsHoldsAndTheFloor) {
  Agent().pin = "1.0.0";
  Start();
  EXPECT_EQ(Offer("1.1.0", 2), "pinned to 1.0.0");
  EXPECT_FALSE(updates->Busy("agent"));
  Commit("1.0.0", 1);
  EXPECT_EQ(Offer("1.0.0", 1), "already installed");

  Agent().pin.clear();
  Agent().hold = true;
  Start();
  EXPECT_EQ(Offer("1.1.0", 2), "held by configuration (hold = true)");

  Agent().hold = false;
  Start();
  Ready();
  ASSERT_EQ(Offer("1.1.0", 2), "started");
  EXPECT_EQ(Offer("1.2.0", 3), "an update is in progress");
  Exit(SIGTERM);
  Ready();
  Advance(Agent().grace);
  ASSERT_EQ(Last().result, UpdateResult::committed);
  // Once a manifest was accepted, an older one is a replay.
  EXPECT_EQ(Offer("1.0.5", 1), "sequence_rollback");
}

TEST_F(UpdatesTest, OnlyAProperlySignedNextRootIsTakenAndItIsKept) {
  Start();
  Commit("1.0.0", 1);
  const std::string root2 = RootBytes(2, root_key, next_release_key);
  const auto stranger = minisign::SecretKey::Generate();
  // Refused: signed by a key root 1 does not name; a gap (version 3); not a root at all.
  updates->OfferRoot(OfferedRoot{root2, {Sign(stranger, root2)}});
  const std::string root3 = RootBytes(3, root_key, next_release_key);
  updates->OfferRoot(OfferedRoot{root3, {Sign(root_key, root3)}});
  updates->OfferRoot(OfferedRoot{"{not json", {}});
  // So a release signed by the next release key is still untrusted.
  const auto release = [&] {
    auto r = Release("1.1.0", 2);
    r.signatures = {Sign(next_release_key, r.manifest)};
    return r;
  }();
  auto refused = updates->Offer(release);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::threshold_not_met);

  updates->OfferRoot(OfferedRoot{root2, {Sign(root_key, root2)}});
  Start();  // kept across a restart of the updater
  Ready();
  auto taken = updates->Offer(release);
  ASSERT_TRUE(taken) << taken.error().ToString();
  EXPECT_EQ(*taken, "started");
}

// ---- maintenance windows --------------------------------------------------------------------
// The fake clock starts on Tuesday 2030-01-01 00:00Z.

TEST_F(UpdatesTest, AWindowHoldsBackAnUpdateOfARunningNodeUntilItOpens) {
  Start();
  Commit("1.0.0", 1);
  const pid_t pid = sup->MainPid("agent");
  const protocol::UpdateWindows w{"agent", {"tue 14:00 1h UTC"}, std::nullopt};
  const std::string waits =
      "1.1.0 waits for a maintenance window (the next opens 2030-01-01T14:00:00Z)";
  EXPECT_EQ(Offer("1.1.0", 2, &w), waits);
  EXPECT_EQ(updates->Waiting("agent"), waits);
  EXPECT_EQ(Last().to_version, "1.0.0");  // no transaction began
  EXPECT_EQ(sup->MainPid("agent"), pid);
  clock.JumpWall(std::chrono::sys_days{2030y / 1 / 1} + 14h - clock.Now());
  EXPECT_EQ(Offer("1.1.0", 2, &w), "started");
  EXPECT_EQ(updates->Waiting("agent"), "");
  EXPECT_EQ(Last().to_version, "1.1.0");
}

TEST_F(UpdatesTest, AnUpdateThatWaitedMaxWaitBeginsAndItsWaitSurvivesARestart) {
  Start();
  Commit("1.0.0", 1);
  const protocol::UpdateWindows w{"agent", {"sat,sun 02:00 2h Europe/Berlin"}, 3600};
  EXPECT_EQ(Offer("1.1.0", 2, &w),
            "1.1.0 waits for a maintenance window (the next opens 2030-01-05T01:00:00Z), at the "
            "latest until 2030-01-01T01:10:00Z");
  Advance(30min);
  Start();  // the updater restarts: the wait is counted from the first time, not anew
  EXPECT_NE(Offer("1.1.0", 2, &w).find("at the latest until 2030-01-01T01:10:00Z"),
            std::string::npos);
  Advance(30min);
  EXPECT_EQ(Offer("1.1.0", 2, &w), "started");
}

TEST_F(UpdatesTest, ANewerReleaseWaitsFromItsOwnFirstOffer) {
  Start();
  Commit("1.0.0", 1);
  const protocol::UpdateWindows w{"agent", {"sun 02:00 1h UTC"}, 3600};
  EXPECT_NE(Offer("1.1.0", 2, &w).find("until 2030-01-01T01:10:00Z"), std::string::npos);
  Advance(20min);
  EXPECT_NE(Offer("1.2.0", 3, &w).find("until 2030-01-01T01:30:00Z"), std::string::npos);
}

TEST_F(UpdatesTest, NothingRunningToInterruptOrABadRunningVersionDoesNotWait) {
  const protocol::UpdateWindows w{"agent", {"sun 02:00 1h UTC"}, std::nullopt};
  Start();
  EXPECT_EQ(Offer("1.0.0", 1, &w), "started");  // a first install
  Ready();
  Advance(Agent().grace);
  EXPECT_NE(Offer("1.1.0", 2, &w).find("waits"), std::string::npos);
  ASSERT_TRUE(sup->Command("agent", "stop"));  // stopped by its operator
  EXPECT_EQ(Offer("1.1.0", 2, &w), "started");
}

TEST_F(UpdatesTest, ARunningVersionMarkedBadDoesNotWaitForAWindow) {
  const protocol::UpdateWindows w{"agent", {"sun 02:00 1h UTC"}, std::nullopt};
  Start();
  Commit("1.0.0", 1);
  ASSERT_TRUE(Journal(*db).MarkBad("agent", "1.0.0", "an operator marked it", clock.Now()));
  EXPECT_EQ(Offer("1.1.0", 2, &w), "started");
}

TEST_F(UpdatesTest, MalformedWindowsRefuseTheOfferSayingWhatToDo) {
  Start();
  Commit("1.0.0", 1);
  const pid_t pid = sup->MainPid("agent");
  for (const auto& [text, code] : {std::pair{"someday 02:00 1h UTC", "invalid_argument"},
                                   std::pair{"tue 02:00 1h Mars/Olympus", "not_found"}}) {
    const protocol::UpdateWindows w{"agent", {text}, std::nullopt};
    EXPECT_EQ(Offer("1.1.0", 2, &w), code) << text;
    EXPECT_EQ(Last().to_version, "1.1.0");
    EXPECT_NE(Last().error.find("stewardctl windows set"), std::string::npos) << Last().error;
    EXPECT_EQ(sup->MainPid("agent"), pid);
    EXPECT_EQ(sup->Status()[0].installed_version, "1.0.0");
  }
}

}  // namespace
}  // namespace steward::updater
