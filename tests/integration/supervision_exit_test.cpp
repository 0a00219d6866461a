// Real children, real signals: each way a process can end is classified as ARCHITECTURE §4
// says and restarted (or not) by the rules.
#include <gtest/gtest.h>

#include "tests/integration/supervision_harness.hpp"

namespace steward::test {
namespace {

const char* kFast =
    "readiness = \"none\"\nrestart_delay = \"100ms\"\nrestart_delay_max = \"300ms\"";

TEST(SupervisionExit, EveryKindOfExitIsClassifiedAndRestartedPerTheRules) {
  TempDir dir;
  UpdaterProcess u(dir);
  struct Case {
    const char* name;
    std::vector<std::string> args;
    const char* kind;
    bool restarted;
  };
  const Case cases[] = {
      {"code1", {"--after", "200", "--exit", "1"}, "error_exit", true},
      {"code9", {"--after", "200", "--exit", "9"}, "error_exit", true},
      {"clean", {"--after", "200", "--exit", "0"}, "clean", true},
      {"tempfail", {"--after", "200", "--exit", "75"}, "restart_requested", true},
      {"config", {"--after", "200", "--exit", "78"}, "fatal_config", false},
      {"segv", {"--after", "200", "--signal", "SEGV"}, "crash", true},
      {"abrt", {"--after", "200", "--signal", "ABRT"}, "crash", true},
      {"kill", {"--after", "200", "--signal", "KILL"}, "killed", true},
      {"term", {"--after", "200", "--signal", "TERM"}, "external_signal", true},
      {"hup", {"--after", "200", "--signal", "HUP"}, "external_signal", true},
  };
  std::string config;
  for (const auto& c : cases) config += Component(c.name, c.args, kFast);
  u.Start(config);
  for (const auto& c : cases) {
    EXPECT_TRUE(u.WaitUnit(c.name,
                           [&](const json& j) {
                             return Kind(j) == c.kind &&
                                    (c.restarted ? j["restarts"].get<int>() >= 1
                                                 : j["state"] == "failed");
                           }))
        << c.name << ": " << u.Unit(c.name).dump();
  }
  const json code9 = u.Unit("code9")["last_exit"];
  EXPECT_EQ(code9["code"], 9);
  EXPECT_TRUE(code9["signal"].is_null());
  const json kill = u.Unit("kill")["last_exit"];
  EXPECT_EQ(kill["signal"], 9);
  EXPECT_TRUE(kill["code"].is_null());
  EXPECT_EQ(u.Unit("segv")["last_exit"]["signal"], 11);
  EXPECT_EQ(u.Unit("config")["restarts"], 0);
  EXPECT_EQ(u.Unit("tempfail")["consecutive_failures"], 0);
  EXPECT_EQ(u.Unit("clean")["consecutive_failures"], 0);
  auto st = u.Stop();
  ASSERT_TRUE(st);
  EXPECT_TRUE(st->exited() && st->code() == 0) << u.Logs();
}

TEST(SupervisionExit, NeverReadyIsAStartFailureEvenIfItIgnoresSigterm) {
  TempDir dir;
  UpdaterProcess u(dir);
  const char* opts =
      "readiness = \"notify\"\nstart_timeout = \"1s\"\nstop_timeout = \"1s\"\n"
      "restart_delay = \"10s\"";
  u.Start(Component("silent", {"--no-ready", "--hang"}, opts) +
          Component("stubborn", {"--no-ready", "--hang", "--ignore-term"}, opts));
  for (const char* name : {"silent", "stubborn"}) {
    EXPECT_TRUE(u.WaitUnit(name, [](const json& j) { return Kind(j) == "start_failure"; }))
        << name << ": " << u.Unit(name).dump();
  }
  EXPECT_EQ(u.Unit("silent")["last_exit"]["signal"], 15);
  EXPECT_EQ(u.Unit("stubborn")["last_exit"]["signal"], 9);  // SIGKILL after stop_timeout
  EXPECT_EQ(u.Unit("stubborn")["state"], "backoff");
}

TEST(SupervisionExit, LateReadyIsWaitedFor) {
  TempDir dir;
  UpdaterProcess u(dir);
  u.Start(Component("late", {"--ready-after", "700", "--status", "warming up", "--hang"},
                    "start_timeout = \"20s\""));
  // Seen at one instant: the child's STATUS= arrived while it was still starting.
  EXPECT_TRUE(u.WaitUnit("late", [](const json& j) {
    return j["status"] == "warming up" && j["state"] == "starting";
  }));
  EXPECT_TRUE(u.WaitUnit("late", [](const json& j) { return j["state"] == "running"; }));
  EXPECT_TRUE(u.Unit("late")["last_exit"].is_null());
}

TEST(SupervisionExit, WatchdogSilenceIsAWatchdogExit) {
  TempDir dir;
  UpdaterProcess u(dir);
  u.Start(Component("dog", {"--watchdog-for", "1500", "--hang"},
                    "watchdog = \"1s\"\nstop_timeout = \"1s\"\nrestart_delay = \"30s\""));
  EXPECT_TRUE(u.WaitUnit("dog", [](const json& j) { return j["state"] == "running"; }));
  EXPECT_TRUE(u.WaitUnit("dog", [](const json& j) { return Kind(j) == "watchdog"; }))
      << u.Unit("dog").dump() << u.Logs();
  EXPECT_EQ(u.Unit("dog")["state"], "backoff");
}

TEST(SupervisionExit, GrandchildrenAreReapedBySubreaper) {
  TempDir dir;
  UpdaterProcess u(dir);
  // The child forks a grandchild that leaves its process group, then exits; the grandchild
  // ends later, re-parented to the updater, which must reap it (no zombie left).
  u.Start(Component("parent", {"--grandchild", "600", "--after", "100", "--exit", "0"},
                    "readiness = \"none\"\nrestart_delay = \"5m\""));
  ASSERT_TRUE(u.proc().WaitForOutput("grandchild=", std::chrono::seconds(10)));
  const std::string out = u.proc().Stdout();
  const pid_t g = std::stoi(out.substr(out.find("grandchild=") + 11));
  ASSERT_TRUE(u.WaitUnit("parent", [](const json& j) { return Kind(j) == "clean"; }));
  // Its parent is gone: the updater adopted it.
  std::ifstream status("/proc/" + std::to_string(g) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.starts_with("PPid:")) {
      EXPECT_EQ(std::stoi(line.substr(5)), u.proc().pid());
    }
  }
  EXPECT_TRUE(Eventually([&] { return !Alive(g); }, std::chrono::seconds(10)))
      << "grandchild " << g << " was not reaped";
}

}  // namespace
}  // namespace steward::test
