#include "updater/supervisor.hpp"

#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "tests/support/fake_launcher.hpp"
#include "tests/support/temp_dir.hpp"

namespace steward::updater {
namespace {

using test::FakeLauncher;

using namespace std::chrono_literals;

ProcessEnd Exited(int code) {
  ProcessEnd end;
  end.code = code;
  return end;
}
ProcessEnd Signaled(int sig) {
  ProcessEnd end;
  end.signal = sig;
  return end;
}

class SupervisorTest : public ::testing::Test {
 protected:
  ComponentConfig& Add(std::string name, Readiness readiness = Readiness::none) {
    ComponentConfig c;
    c.name = std::move(name);
    c.exec = "/bin/" + c.name;
    c.readiness = readiness;
    config.components.push_back(c);
    return config.components.back();
  }
  Supervisor& Make() {
    config.state_dir = dir.path().string();
    if (!db) db.emplace(StateDb::OpenPath((dir / "state.db").string()).value());
    Supervisor::Deps deps{clock, launcher, *db};
    deps.jitter = [this] { return jitter; };
    deps.probe = [this](const std::string& name, const std::string& url, std::uint64_t gen) {
      probes.push_back({name, url, gen});
    };
    deps.is_our_child = [this](pid_t pid) { return our_children.count(pid) > 0; };
    deps.stop_orphan = [this](pid_t pid, const std::string& prefix, Duration) {
      orphans_stopped.push_back(std::to_string(pid) + " " + prefix);
    };
    deps.on_ready = [this](const std::string& name) { observed.push_back("ready " + name); };
    deps.on_exit = [this](const std::string& name, const ExitInfo& e, bool loop) {
      observed.push_back("exit " + name + " " + std::string(ExitKindName(e.kind)) +
                         (loop ? " loop" : ""));
    };
    deps.on_removed = [this](const std::string& name) { observed.push_back("removed " + name); };
    sup = std::make_unique<Supervisor>(config, (dir / "notify").string(), deps);
    EXPECT_TRUE(sup->Load());
    return *sup;
  }
  UnitStatus Status(std::string_view name) {
    for (auto& s : sup->Status()) {
      if (s.name == name) return s;
    }
    ADD_FAILURE() << "no status for " << name;
    return {};
  }
  void Exit(std::string_view name, const ProcessEnd& status) {
    const pid_t pid = sup->MainPid(name);
    ASSERT_GT(pid, 0) << name << " is not running";
    launcher.cleanup_kills.insert(launcher.signals.size());
    ASSERT_TRUE(sup->OnExit(pid, status));
  }
  void Advance(Duration d) {
    clock.Advance(d);
    sup->Tick();
  }
  void Notify(std::string_view name, std::string_view text) {
    sup->OnNotify(name, ParseNotify(text).value());
  }

  struct Probe {
    std::string name, url;
    std::uint64_t gen;
  };
  test::TempDir dir;
  FakeClock clock;
  FakeLauncher launcher;
  Config config;
  std::optional<StateDb> db;
  std::unique_ptr<Supervisor> sup;
  double jitter = 0.0;
  std::vector<Probe> probes;
  std::set<pid_t> our_children;
  std::vector<std::string> observed;
  std::vector<std::string> orphans_stopped;
};

TEST_F(SupervisorTest, StartsWhatShouldRunWithItsSpec) {
  auto& c = Add("web");
  c.args = {"--port", "1"};
  c.env = {{"A", "b"}};
  c.working_dir = "/srv";
  c.watchdog = 10s;
  Add("idle").desired = DesiredState::stopped;
  Make().StartAll();
  ASSERT_EQ(launcher.specs.size(), 1u);
  const SpawnSpec& s = launcher.specs[0];
  EXPECT_EQ(s.path, "/bin/web");
  EXPECT_EQ(s.args, (std::vector<std::string>{"--port", "1"}));
  EXPECT_EQ(s.env.at("A"), "b");
  EXPECT_EQ(s.env.at("NOTIFY_SOCKET"), (dir / "notify").string() + "/web.notify");
  EXPECT_EQ(s.env.at("WATCHDOG_USEC"), "10000000");
  EXPECT_TRUE(s.set_watchdog_pid);
  EXPECT_EQ(s.working_dir, "/srv");
  EXPECT_EQ(Status("web").state, UnitState::running);
  EXPECT_EQ(Status("idle").state, UnitState::stopped);
}

TEST_F(SupervisorTest, ErrorExitBacksOffDoublingToTheCap) {
  auto& c = Add("a");
  c.restart_delay = 1s;
  c.restart_delay_max = 4s;
  c.crash_loop_failures = 100;
  Make().StartAll();
  const Duration expected[] = {1s, 2s, 4s, 4s};
  for (const Duration d : expected) {
    Exit("a", Exited(3));
    EXPECT_EQ(Status("a").state, UnitState::backoff);
    EXPECT_EQ(Status("a").last_exit->kind, ExitKind::error_exit);
    const auto spawns = launcher.specs.size();
    Advance(d - 1ms);
    EXPECT_EQ(launcher.specs.size(), spawns) << "restarted before " << d.count();
    Advance(1ms);
    EXPECT_EQ(launcher.specs.size(), spawns + 1);
  }
  EXPECT_EQ(Status("a").restarts, 4);
  EXPECT_EQ(Status("a").consecutive_failures, 4);
}

TEST_F(SupervisorTest, JitterIsTwentyPercent) {
  Add("a").restart_delay = 10s;
  Make().StartAll();
  jitter = 1.0;
  Exit("a", Exited(1));
  Advance(11999ms);
  EXPECT_EQ(launcher.specs.size(), 1u);
  Advance(1ms);
  EXPECT_EQ(launcher.specs.size(), 2u);
  jitter = -1.0;
  Exit("a", Signaled(SIGSEGV));  // second failure: 20s base, 16s with -20 %
  Advance(16s);
  EXPECT_EQ(launcher.specs.size(), 3u);
}

TEST_F(SupervisorTest, CrashLoopIsDetectedAndRetriesAtTheCap) {
  auto& c = Add("a");
  c.restart_delay = 1s;
  c.restart_delay_max = 60s;
  Make().StartAll();
  for (int i = 0; i < 4; ++i) {
    Exit("a", Signaled(SIGSEGV));
    EXPECT_FALSE(Status("a").crash_loop);
    Advance(60s);
  }
  Exit("a", Signaled(SIGSEGV));
  EXPECT_TRUE(Status("a").crash_loop);
  EXPECT_EQ(Status("a").last_exit->kind, ExitKind::crash);
  // Keeps retrying, at the cap.
  const auto spawns = launcher.specs.size();
  Advance(30s);
  Advance(30s - 1ms);
  EXPECT_EQ(launcher.specs.size(), spawns);
  Advance(1ms);
  EXPECT_EQ(launcher.specs.size(), spawns + 1);
}

TEST_F(SupervisorTest, FailuresOutsideTheWindowAreNoCrashLoop) {
  auto& c = Add("a");
  c.restart_delay = 1s;
  c.restart_delay_max = 1s;
  c.crash_loop_window = 10min;
  Make().StartAll();
  for (int i = 0; i < 6; ++i) {
    Exit("a", Exited(1));
    Advance(3min);  // 5 failures never fit in 10 minutes
    EXPECT_FALSE(Status("a").crash_loop) << i;
  }
}

TEST_F(SupervisorTest, CrashLoopSurvivesAnUpdaterRestart) {
  Add("a").restart_delay = 0s;
  Make().StartAll();
  for (int i = 0; i < 5; ++i) Exit("a", Exited(1));
  ASSERT_TRUE(Status("a").crash_loop);
  const auto restarts = Status("a").restarts;
  sup.reset();  // the updater goes away; the database stays
  Make();
  EXPECT_TRUE(Status("a").crash_loop);
  EXPECT_EQ(Status("a").restarts, restarts);
  EXPECT_EQ(Status("a").consecutive_failures, 5);
  ASSERT_TRUE(Status("a").last_exit);
  EXPECT_EQ(Status("a").last_exit->kind, ExitKind::error_exit);
  EXPECT_EQ(Status("a").last_exit->code, 1);
}

TEST_F(SupervisorTest, AReplacementStartsBeforeTheExitIsWritten) {
  Add("a").restart_delay = 0s;
  Make().StartAll();
  std::optional<ExitInfo> written_at_spawn;
  launcher.on_spawn = [&] { written_at_spawn = db->LastExit("a").value(); };
  Exit("a", Exited(1));
  EXPECT_FALSE(written_at_spawn);
  ASSERT_TRUE(db->LastExit("a").value());
  EXPECT_EQ(db->LastExit("a").value()->code, 1);
  EXPECT_EQ(db->Load("a")->pid, sup->MainPid("a"));  // the replacement's, written after the exit
  EXPECT_EQ(db->Load("a")->restarts, 1);

  // A replacement that cannot start: its start failure is recorded after the exit before it.
  launcher.on_spawn = nullptr;
  launcher.fail_next = true;
  Exit("a", Exited(2));
  EXPECT_EQ(db->LastExit("a").value()->kind, ExitKind::start_failure);
  EXPECT_EQ(Status("a").last_exit->kind, ExitKind::start_failure);
  EXPECT_EQ(db->Load("a")->pid, 0);
  EXPECT_EQ(Status("a").state, UnitState::backoff);
}

TEST_F(SupervisorTest, HealthyRuntimeResetsBackoffAndCrashLoop) {
  auto& c = Add("a");
  c.restart_delay = 0s;
  c.restart_delay_max = 0s;  // even in a crash loop, straight back to running
  c.restart_reset = 10min;
  Make().StartAll();
  for (int i = 0; i < 5; ++i) Exit("a", Exited(1));
  ASSERT_TRUE(Status("a").crash_loop);
  Advance(10min - 1s);
  EXPECT_TRUE(Status("a").crash_loop);
  Advance(1s);
  EXPECT_FALSE(Status("a").crash_loop);
  EXPECT_EQ(Status("a").consecutive_failures, 0);
  // The reset is persisted: old failures no longer count after an updater restart.
  sup.reset();
  Make();
  EXPECT_FALSE(Status("a").crash_loop);
}

TEST_F(SupervisorTest, RequestedStopPersistsIntentBeforeTheSignal) {
  Add("a").stop_timeout = 5s;
  Make().StartAll();
  const pid_t pid = sup->MainPid("a");
  ASSERT_TRUE(sup->Command("a", "stop"));
  ASSERT_EQ(launcher.signals.size(), 1u);
  EXPECT_EQ(launcher.signals[0].sig, ProcessSignal::terminate);
  EXPECT_EQ(launcher.signals[0].pid, pid);
  EXPECT_TRUE(launcher.signals[0].tree);
  EXPECT_TRUE(db->Load("a")->stop_intent);
  EXPECT_EQ(Status("a").state, UnitState::stopping);
  Exit("a", Signaled(SIGTERM));
  EXPECT_EQ(Status("a").state, UnitState::stopped);
  EXPECT_EQ(Status("a").last_exit->kind, ExitKind::requested);
  EXPECT_FALSE(db->Load("a")->stop_intent);
  Advance(1h);
  EXPECT_EQ(launcher.specs.size(), 1u);
  // The operator's "stopped" outlives the updater.
  sup.reset();
  Make().StartAll();
  EXPECT_EQ(launcher.specs.size(), 1u);
  EXPECT_EQ(Status("a").desired, DesiredState::stopped);
  ASSERT_TRUE(sup->Command("a", "start"));
  EXPECT_EQ(launcher.specs.size(), 2u);
  EXPECT_EQ(db->Load("a")->desired, "running");
}

TEST_F(SupervisorTest, StopTimeoutEscalatesToSigkillOfTheGroup) {
  Add("a").stop_timeout = 5s;
  Make().StartAll();
  ASSERT_TRUE(sup->Command("a", "stop"));
  Advance(5s - 1ms);
  EXPECT_EQ(launcher.signals.size(), 1u);
  Advance(1ms);
  ASSERT_EQ(launcher.signals.size(), 2u);
  EXPECT_EQ(launcher.signals[1].sig, ProcessSignal::kill);
  EXPECT_TRUE(launcher.signals[1].tree);
  Exit("a", Signaled(SIGKILL));
  EXPECT_EQ(Status("a").last_exit->kind, ExitKind::requested);
}

TEST_F(SupervisorTest, RestartCommandStopsThenStartsWithoutPenalty) {
  Add("a");
  Make().StartAll();
  ASSERT_TRUE(sup->Command("a", "restart"));
  EXPECT_EQ(launcher.signals.back().sig, ProcessSignal::terminate);
  Exit("a", Signaled(SIGTERM));
  EXPECT_EQ(launcher.specs.size(), 2u);
  EXPECT_EQ(Status("a").state, UnitState::running);
  EXPECT_EQ(Status("a").consecutive_failures, 0);
  EXPECT_EQ(Status("a").restarts, 1);
}

TEST_F(SupervisorTest, KindsThatRestartAndKindsThatDoNot) {
  auto& c = Add("a");
  c.restart_delay = 2s;
  Make().StartAll();
  Exit("a", Exited(75));  // restart now, no penalty
  EXPECT_EQ(launcher.specs.size(), 2u);
  EXPECT_EQ(Status("a").consecutive_failures, 0);
  EXPECT_EQ(Status("a").last_exit->kind, ExitKind::restart_requested);

  Exit("a", Exited(0));  // clean: restarted after the first step, not counted
  EXPECT_EQ(Status("a").state, UnitState::backoff);
  Advance(2s);
  EXPECT_EQ(launcher.specs.size(), 3u);
  EXPECT_EQ(Status("a").consecutive_failures, 0);

  Exit("a", Signaled(SIGTERM));  // a SIGTERM we did not send
  EXPECT_EQ(Status("a").last_exit->kind, ExitKind::external_signal);
  Advance(2s);
  EXPECT_EQ(launcher.specs.size(), 4u);

  Exit("a", Signaled(SIGKILL));  // a SIGKILL we did not send
  EXPECT_EQ(Status("a").last_exit->kind, ExitKind::killed);
  EXPECT_EQ(Status("a").consecutive_failures, 1);
  Advance(2s);

  Exit("a", Exited(78));  // configuration error: stays down
  EXPECT_EQ(Status("a").last_exit->kind, ExitKind::fatal_config);
  EXPECT_EQ(Status("a").state, UnitState::failed);
  Advance(1h);
  EXPECT_EQ(launcher.specs.size(), 5u);
  ASSERT_TRUE(sup->Command("a", "start"));
  EXPECT_EQ(launcher.specs.size(), 6u);
}

TEST_F(SupervisorTest, NotifyReadinessAndStartTimeout) {
  auto& c = Add("a", Readiness::notify);
  c.start_timeout = 30s;
  c.stop_timeout = 3s;
  Make().StartAll();
  EXPECT_EQ(Status("a").state, UnitState::starting);
  Notify("a", "STATUS=loading\nEXTEND_TIMEOUT_USEC=40000000");
  EXPECT_EQ(Status("a").status_text, "loading");
  Advance(39s);
  EXPECT_EQ(Status("a").state, UnitState::starting);  // extended to 40 s
  Advance(1s);
  EXPECT_EQ(Status("a").state, UnitState::stopping);
  EXPECT_EQ(launcher.signals.back().sig, ProcessSignal::terminate);
  Exit("a", Signaled(SIGTERM));
  EXPECT_EQ(Status("a").last_exit->kind, ExitKind::start_failure);
  EXPECT_EQ(Status("a").state, UnitState::backoff);
  Advance(1s);
  Notify("a", "READY=1");
  EXPECT_EQ(Status("a").state, UnitState::running);
}

TEST_F(SupervisorTest, ExitBeforeReadyIsAStartFailure) {
  Add("a", Readiness::notify);
  Make().StartAll();
  Exit("a", Exited(0));
  EXPECT_EQ(Status("a").last_exit->kind, ExitKind::start_failure);
  EXPECT_EQ(Status("a").consecutive_failures, 1);
}

TEST_F(SupervisorTest, WatchdogPingsKeepItAliveSilenceKillsIt) {
  auto& c = Add("a", Readiness::notify);
  c.watchdog = 10s;
  c.stop_timeout = 2s;
  Make().StartAll();
  Notify("a", "READY=1");
  for (int i = 0; i < 5; ++i) {
    Advance(9s);
    Notify("a", "WATCHDOG=1");
  }
  EXPECT_EQ(Status("a").state, UnitState::running);
  Advance(10s);
  EXPECT_EQ(Status("a").state, UnitState::stopping);
  EXPECT_EQ(launcher.signals.back().sig, ProcessSignal::abort);
  EXPECT_FALSE(launcher.signals.back().tree);
  Advance(2s);
  EXPECT_EQ(launcher.signals.back().sig, ProcessSignal::kill);
  Exit("a", Signaled(SIGKILL));
  EXPECT_EQ(Status("a").last_exit->kind, ExitKind::watchdog);
  EXPECT_EQ(Status("a").state, UnitState::backoff);
}

TEST_F(SupervisorTest, HttpReadinessIsProbedUntilItAnswers) {
  Add("a", Readiness::http).readiness_url = "http://127.0.0.1:1/ready";
  Make().StartAll();
  ASSERT_EQ(probes.size(), 0u);
  sup->Tick();
  ASSERT_EQ(probes.size(), 1u);
  EXPECT_EQ(probes[0].url, "http://127.0.0.1:1/ready");
  sup->ProbeResult("a", probes[0].gen, false);
  Advance(499ms);
  EXPECT_EQ(probes.size(), 1u);
  Advance(1ms);
  ASSERT_EQ(probes.size(), 2u);
  sup->ProbeResult("a", probes[1].gen + 7, true);  // a stale answer for another process
  EXPECT_EQ(Status("a").state, UnitState::starting);
  sup->ProbeResult("a", probes[1].gen, true);
  EXPECT_EQ(Status("a").state, UnitState::running);
}

TEST_F(SupervisorTest, ManagedComponentWithoutInstallIsNotInstalledNotALoop) {
  ComponentConfig c;
  c.name = "agent";
  c.binary = "steward-agent";
  c.readiness = Readiness::none;
  config.components.push_back(c);
  Make().StartAll();
  EXPECT_EQ(Status("agent").state, UnitState::not_installed);
  EXPECT_TRUE(launcher.specs.empty());
  Advance(1h);
  EXPECT_TRUE(launcher.specs.empty());
  EXPECT_FALSE(Status("agent").last_exit);
  // An install appears: picked up at the next look.
  const auto vdir = dir.path() / "components/agent/versions/1.2.3-0a1b2c3d";
  std::filesystem::create_directories(vdir);
  { std::ofstream(vdir / "steward-agent") << "x"; }
  std::filesystem::create_symlink(vdir, dir.path() / "components/agent/current");
  Advance(5s);
  ASSERT_EQ(launcher.specs.size(), 1u);
  EXPECT_EQ(launcher.specs[0].path,
            (dir.path() / "components/agent/current/steward-agent").string());
  EXPECT_EQ(Status("agent").running_version, "1.2.3");
  EXPECT_EQ(Status("agent").installed_version, "1.2.3");
}

TEST_F(SupervisorTest, AFirstInstallIntoAStoppedNodeMakesItStoppedNotNotInstalled) {
  ComponentConfig c;
  c.name = "agent";
  c.binary = "steward-agent";
  config.components.push_back(c);
  Make().StartAll();
  ASSERT_TRUE(sup->Command("agent", "stop"));
  EXPECT_EQ(Status("agent").state, UnitState::not_installed);
  sup->Hold("agent");
  sup->Release("agent");
  EXPECT_EQ(Status("agent").state, UnitState::not_installed) << "the update installed nothing";
  const auto vdir = dir.path() / "components/agent/versions/1.2.3-0a1b2c3d";
  std::filesystem::create_directories(vdir);
  { std::ofstream(vdir / "steward-agent") << "x"; }
  std::filesystem::create_symlink(vdir, dir.path() / "components/agent/current");
  sup->Hold("agent");
  sup->Release("agent");
  EXPECT_EQ(Status("agent").state, UnitState::stopped);
  EXPECT_EQ(Status("agent").installed_version, "1.2.3");
  EXPECT_TRUE(launcher.specs.empty()) << "it stays stopped";
}

TEST_F(SupervisorTest, SpawnFailureIsAStartFailureRetriedNoFasterThanASecond) {
  Add("a").restart_delay = 0s;
  launcher.fail_next = true;
  Make().StartAll();
  EXPECT_EQ(Status("a").state, UnitState::backoff);
  EXPECT_EQ(Status("a").last_exit->kind, ExitKind::start_failure);
  EXPECT_NE(Status("a").last_error.find("No such file"), std::string::npos);
  Advance(999ms);
  EXPECT_EQ(launcher.specs.size(), 1u);
  Advance(1ms);
  EXPECT_EQ(launcher.specs.size(), 2u);
  EXPECT_EQ(Status("a").state, UnitState::running);
  EXPECT_EQ(Status("a").last_error, "");
}

TEST_F(SupervisorTest, ShutdownStopsLastConfiguredFirstOneAtATime) {
  Add("first");
  Add("second");
  Make().StartAll();
  const pid_t first = sup->MainPid("first"), second = sup->MainPid("second");
  sup->Shutdown();
  ASSERT_EQ(launcher.signals.size(), 1u);
  EXPECT_EQ(launcher.signals[0].pid, second);
  EXPECT_FALSE(sup->Idle());
  Exit("second", Signaled(SIGTERM));
  ASSERT_EQ(launcher.Deliberate().size(), 2u);
  EXPECT_EQ(launcher.Deliberate()[1].pid, first);
  Exit("first", Exited(0));
  EXPECT_TRUE(sup->Idle());
  EXPECT_EQ(Status("first").last_exit->kind, ExitKind::requested);
  // Shutting down does not change what the operator wants.
  EXPECT_EQ(db->Load("first")->desired, std::nullopt);
  EXPECT_FALSE(sup->Command("first", "start"));
}

TEST_F(SupervisorTest, CommandsNameAComponent) {
  Add("a");
  Add("b");
  Make().StartAll();
  auto r = sup->Command("nope", "stop");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::unknown_component);
  EXPECT_NE(r.error().message.find("configured: a, b"), std::string::npos);
  auto bad = sup->Command("a", "pause");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::invalid_argument);
}

TEST_F(SupervisorTest, AfterReExecOurOwnChildrenAreAdoptedNotStartedTwice) {
  Add("a").stop_timeout = 5s;
  Add("b").stop_timeout = 5s;
  Add("gone");
  Make().StartAll();
  const pid_t a = sup->MainPid("a"), b = sup->MainPid("b"), gone = sup->MainPid("gone");
  ASSERT_TRUE(sup->Command("b", "stop"));  // re-exec in the middle of stopping b
  our_children = {a, b};                   // "gone" ended while nobody watched
  sup.reset();
  launcher.signals.clear();
  Make().StartAll();
  EXPECT_EQ(sup->MainPid("a"), a);
  EXPECT_EQ(Status("a").state, UnitState::running);
  EXPECT_EQ(sup->MainPid("b"), b);
  EXPECT_EQ(Status("b").state, UnitState::stopping);
  ASSERT_EQ(launcher.signals.size(), 1u);
  EXPECT_EQ(launcher.signals[0].sig, ProcessSignal::terminate);
  EXPECT_NE(sup->MainPid("gone"), gone);  // started afresh
  EXPECT_EQ(launcher.specs.size(), 4u);
  Exit("b", Signaled(SIGTERM));
  EXPECT_EQ(Status("b").last_exit->kind, ExitKind::requested);
  EXPECT_EQ(Status("b").state, UnitState::stopped);
}

TEST_F(SupervisorTest, ProcessesOfACrashedUpdaterAreStoppedBeforeAFreshStart) {
  Add("a");
  Make().StartAll();
  const pid_t a = sup->MainPid("a");
  sup.reset();  // the updater died; "a" lives on, no longer our child
  Make().StartAll();
  ASSERT_EQ(orphans_stopped.size(), 1u);
  EXPECT_EQ(orphans_stopped[0], std::to_string(a) + " /bin/a");
  EXPECT_NE(sup->MainPid("a"), a);
  EXPECT_EQ(db->Load("a")->pid, sup->MainPid("a"));
}

TEST_F(SupervisorTest, HoldStopsForAnUpdateAndReleaseRestoresTheDesiredState) {
  Add("a").stop_timeout = 5s;
  Make().StartAll();
  const pid_t first = sup->MainPid("a");
  sup->Hold("a");
  EXPECT_EQ(Status("a").state, UnitState::stopping);
  ASSERT_EQ(launcher.Deliberate().back().sig, ProcessSignal::terminate);
  Exit("a", Signaled(SIGTERM));
  EXPECT_EQ(Status("a").last_exit->kind, ExitKind::requested);
  EXPECT_EQ(Status("a").state, UnitState::stopped);
  EXPECT_EQ(Status("a").desired, DesiredState::running);  // the operator's wish is untouched
  // Neither a timer nor an operator start brings it back while held.
  Advance(1h);
  ASSERT_TRUE(sup->Command("a", "start"));
  EXPECT_EQ(Status("a").state, UnitState::stopped);
  EXPECT_EQ(launcher.specs.size(), 1u);
  sup->Release("a");
  EXPECT_EQ(Status("a").state, UnitState::running);
  EXPECT_NE(sup->MainPid("a"), first);

  // Held while its operator wants it stopped: released, it stays stopped.
  ASSERT_TRUE(sup->Command("a", "stop"));
  Exit("a", Signaled(SIGTERM));
  sup->Hold("a");
  sup->Release("a");
  EXPECT_EQ(Status("a").state, UnitState::stopped);
  EXPECT_EQ(launcher.specs.size(), 2u);
}

TEST_F(SupervisorTest, HeldRunningAndReleasedWithRestartIsReplacedInOneStep) {
  Add("a").stop_timeout = 5s;
  Make().StartAll();
  const pid_t old = sup->MainPid("a");
  sup->Hold("a", false);
  EXPECT_EQ(Status("a").state, UnitState::running);  // the old version goes on
  EXPECT_TRUE(launcher.Deliberate().empty());
  sup->Release("a", true);
  EXPECT_EQ(Status("a").state, UnitState::stopping);
  ASSERT_EQ(launcher.Deliberate().back().sig, ProcessSignal::terminate);
  Exit("a", Signaled(SIGTERM));
  EXPECT_EQ(Status("a").last_exit->kind, ExitKind::requested);
  EXPECT_EQ(launcher.specs.size(), 2u);  // started from the exit itself
  EXPECT_NE(sup->MainPid("a"), old);
  EXPECT_EQ(Status("a").desired, DesiredState::running);

  // Held running, it crashes: not restarted until released.
  sup->Hold("a", false);
  Exit("a", Signaled(SIGSEGV));
  Advance(1h);
  EXPECT_EQ(Status("a").state, UnitState::stopped);
  EXPECT_EQ(launcher.specs.size(), 2u);
  sup->Release("a", true);
  EXPECT_EQ(Status("a").state, UnitState::running);
  EXPECT_EQ(launcher.specs.size(), 3u);

  // Released with a restart while its operator wants it stopped: it stops and stays stopped.
  sup->Hold("a", false);
  ASSERT_TRUE(sup->Command("a", "stop"));
  sup->Release("a", true);
  Exit("a", Signaled(SIGTERM));
  EXPECT_EQ(Status("a").state, UnitState::stopped);
  EXPECT_EQ(launcher.specs.size(), 3u);
}

TEST_F(SupervisorTest, ResetFailuresClearsACrashLoop) {
  Add("a").restart_delay = 0s;
  Make().StartAll();
  for (int i = 0; i < 5; ++i) Exit("a", Exited(1));
  ASSERT_TRUE(Status("a").crash_loop);
  clock.Advance(1s);
  sup->ResetFailures("a");
  EXPECT_FALSE(Status("a").crash_loop);
  EXPECT_EQ(Status("a").consecutive_failures, 0);
  sup.reset();
  Make();  // the reset is persisted: the old failures no longer count
  EXPECT_FALSE(Status("a").crash_loop);
}

TEST_F(SupervisorTest, ObserversSeeReadinessAndExitsForTheHealthGate) {
  Add("a", Readiness::notify).restart_delay = 0s;
  Make().StartAll();
  Notify("a", "READY=1");
  for (int i = 0; i < 5; ++i) Exit("a", Exited(1));
  ASSERT_EQ(observed.size(), 6u);
  EXPECT_EQ(observed[0], "ready a");
  EXPECT_EQ(observed[1], "exit a error_exit");
  EXPECT_EQ(observed[2], "exit a start_failure");  // never ready again
  EXPECT_EQ(observed[5], "exit a start_failure loop");
}

TEST_F(SupervisorTest, EventsTheTableDoesNotListAreIgnored) {
  Add("a");
  Make().StartAll();
  Notify("a", "READY=1");  // already running
  EXPECT_EQ(Status("a").state, UnitState::running);
  EXPECT_FALSE(sup->OnExit(4242, Exited(1)));  // not one of ours
  ASSERT_TRUE(sup->Command("a", "start"));     // already running
  EXPECT_EQ(launcher.specs.size(), 1u);
}

// ---- configuration reload ----

TEST_F(SupervisorTest, AReloadAddsAComponentAndLeavesTheOthersRunning) {
  Add("a");
  Make().StartAll();
  const pid_t a = sup->MainPid("a");
  ComponentConfig b;
  b.name = "b";
  b.exec = "/bin/b";
  b.readiness = Readiness::none;
  ASSERT_TRUE(sup->Add(b));
  EXPECT_EQ(Status("b").state, UnitState::stopped) << "not started before Boot";
  sup->Boot("b");
  EXPECT_EQ(Status("b").state, UnitState::running);
  ASSERT_EQ(launcher.specs.size(), 2u);
  EXPECT_EQ(launcher.specs[1].path, "/bin/b");
  EXPECT_EQ(sup->MainPid("a"), a);
  EXPECT_TRUE(launcher.signals.empty());
  EXPECT_FALSE(sup->Add(b)) << "a name already supervised";
}

TEST_F(SupervisorTest, AReloadRemovesAComponentOnceItHasStopped) {
  Add("a").stop_timeout = 5s;
  Add("b");
  Make().StartAll();
  sup->Remove("a");
  ASSERT_EQ(launcher.signals.size(), 1u);
  EXPECT_EQ(launcher.signals[0].sig, ProcessSignal::terminate);
  EXPECT_EQ(sup->Names(), (std::vector<std::string>{"a", "b"})) << "still stopping";
  Exit("a", Signaled(SIGTERM));
  Advance(0s);
  EXPECT_EQ(sup->Names(), (std::vector<std::string>{"b"}));
  EXPECT_EQ(observed.back(), "removed a");
  EXPECT_EQ(Status("b").state, UnitState::running);
  Advance(1h);
  EXPECT_EQ(launcher.specs.size(), 2u) << "never started again";
  // A component that was not running is forgotten at once.
  Add("c").desired = DesiredState::stopped;
  ASSERT_TRUE(sup->Add(config.components.back()));
  sup->Boot("c");
  sup->Remove("c");
  EXPECT_EQ(sup->Names(), (std::vector<std::string>{"b"}));
}

TEST_F(SupervisorTest, AReloadThatChangesHowItRunsRestartsItWithTheNewConfiguration) {
  Add("a");
  Make().StartAll();
  Exit("a", Exited(1));  // a failure: the streak is 1
  Advance(1s);
  ASSERT_EQ(Status("a").consecutive_failures, 1);
  ComponentConfig next = config.components[0];
  next.args = {"--fixed"};
  sup->Reconfigure(next, true);
  EXPECT_EQ(launcher.signals.back().sig, ProcessSignal::terminate);
  Exit("a", Signaled(SIGTERM));
  ASSERT_EQ(launcher.specs.size(), 3u);
  EXPECT_EQ(launcher.specs.back().args, (std::vector<std::string>{"--fixed"}));
  EXPECT_EQ(Status("a").state, UnitState::running);
  EXPECT_EQ(Status("a").consecutive_failures, 0) << "the new way starts a new streak";
}

TEST_F(SupervisorTest, AReloadOfPolicyOnlyKeepsTheProcessAndAppliesNextTime) {
  Add("a").stop_timeout = 5s;
  Make().StartAll();
  ComponentConfig next = config.components[0];
  next.stop_timeout = 1s;
  sup->Reconfigure(next, false);
  EXPECT_TRUE(launcher.signals.empty());
  EXPECT_EQ(launcher.specs.size(), 1u);
  ASSERT_TRUE(sup->Command("a", "stop"));
  Advance(1s);
  ASSERT_EQ(launcher.signals.size(), 2u) << "the new stop timeout";
  EXPECT_EQ(launcher.signals[1].sig, ProcessSignal::kill);
}

TEST_F(SupervisorTest, AReloadedDesiredStateIsTheOperatorsNewWish) {
  Add("a");
  Make().StartAll();
  ComponentConfig next = config.components[0];
  next.desired = DesiredState::stopped;
  sup->Reconfigure(next, false);
  EXPECT_EQ(launcher.signals.back().sig, ProcessSignal::terminate);
  Exit("a", Signaled(SIGTERM));
  EXPECT_EQ(Status("a").state, UnitState::stopped);
  EXPECT_EQ(db->Load("a")->desired, "stopped") << "over an earlier start command";
  next.desired = DesiredState::running;
  sup->Reconfigure(next, false);
  EXPECT_EQ(Status("a").state, UnitState::running);
  EXPECT_EQ(launcher.specs.size(), 2u);
}

}  // namespace
}  // namespace steward::updater
