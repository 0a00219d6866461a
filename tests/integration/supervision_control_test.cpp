// Operating supervised components: the CLI commands, the updater's own shutdown, crash loops
// that outlive an updater restart, what a child is given, and readiness from the real
// systemd-notify tool.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <map>

#include "common/codes.hpp"
#include "tests/integration/supervision_harness.hpp"

namespace steward::test {
namespace {

std::map<std::string, std::string> ReadReport(const std::string& path) {
  std::map<std::string, std::string> out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    const auto eq = line.find('=');
    if (eq != std::string::npos) out[line.substr(0, eq)] = line.substr(eq + 1);
  }
  return out;
}

TEST(SupervisionControl, StopStartRestartThroughTheCli) {
  TempDir dir;
  UpdaterProcess u(dir);
  u.Start(Component("svc", {"--hang"}, "stop_timeout = \"1s\"") +
          Component("stubborn", {"--hang", "--ignore-term"}, "stop_timeout = \"1s\""));
  ASSERT_TRUE(u.WaitUnit("svc", [](const json& j) { return j["state"] == "running"; }));
  const int pid = u.Unit("svc")["pid"];

  auto stop = u.Cli({"stop", "svc"});
  EXPECT_EQ(stop.status.code(), 0) << stop.err;
  EXPECT_TRUE(u.WaitUnit("svc", [](const json& j) { return j["state"] == "stopped"; }));
  json unit = u.Unit("svc");
  EXPECT_EQ(Kind(unit), "requested");
  EXPECT_EQ(unit["desired_state"], "stopped");
  EXPECT_TRUE(unit["pid"].is_null());
  EXPECT_FALSE(Alive(pid));

  EXPECT_EQ(u.Cli({"start", "svc"}).status.code(), 0);
  EXPECT_TRUE(u.WaitUnit("svc", [](const json& j) { return j["state"] == "running"; }));
  const int restarts = u.Unit("svc")["restarts"];
  EXPECT_EQ(u.Cli({"restart", "svc"}).status.code(), 0);
  EXPECT_TRUE(u.WaitUnit("svc", [&](const json& j) {
    return j["state"] == "running" && j["restarts"].get<int>() == restarts + 1;
  }));

  // Ignoring SIGTERM earns a SIGKILL after stop_timeout; it is still a requested stop.
  EXPECT_EQ(u.Cli({"stop", "stubborn"}).status.code(), 0);
  EXPECT_TRUE(u.WaitUnit("stubborn", [](const json& j) { return j["state"] == "stopped"; }));
  EXPECT_EQ(Kind(u.Unit("stubborn")), "requested");
  EXPECT_EQ(u.Unit("stubborn")["last_exit"]["signal"], 9);

  auto unknown = u.Cli({"stop", "nosuch"});
  EXPECT_EQ(unknown.status.code(), exit_code::kFailure);
  EXPECT_NE(unknown.err.find("no component named 'nosuch'"), std::string::npos) << unknown.err;
  EXPECT_NE(unknown.err.find("unknown_component"), std::string::npos) << unknown.err;

  auto text = u.Cli({"status"});
  EXPECT_EQ(text.status.code(), 0);
  EXPECT_NE(text.out.find("svc"), std::string::npos);
  EXPECT_NE(text.out.find("running"), std::string::npos);
  auto js = u.Cli({"status", "--json"});
  ASSERT_EQ(js.status.code(), 0);
  const json doc = json::parse(js.out);
  for (const char* key :
       {"name", "state", "pid", "desired_state", "running_version", "installed_version",
        "previous_version", "last_exit", "restarts", "crash_loop", "status"}) {
    EXPECT_TRUE(doc["components"][0].contains(key)) << key;
  }
}

TEST(SupervisionControl, StatusWithoutAnUpdaterSaysSo) {
  TempDir dir;
  auto r = RunProgram({Bin("steward-updater"), "status", "--socket", (dir / "none.sock").string()});
  EXPECT_EQ(r.status.code(), exit_code::kUnavailable);
  EXPECT_NE(r.err.find("cannot reach the updater"), std::string::npos) << r.err;
}

TEST(SupervisionControl, SigtermStopsComponentsInOrderAndExitsZero) {
  TempDir dir;
  UpdaterProcess u(dir);
  u.Start(Component("first", {"--hang"}, "stop_timeout = \"2s\"") +
          Component("second", {"--hang", "--ignore-term"}, "stop_timeout = \"1s\""));
  ASSERT_TRUE(u.WaitUnit("second", [](const json& j) { return j["state"] == "running"; }));
  ASSERT_TRUE(u.WaitUnit("first", [](const json& j) { return j["state"] == "running"; }));
  const int first = u.Unit("first")["pid"], second = u.Unit("second")["pid"];
  const auto t0 = std::chrono::steady_clock::now();
  auto st = u.Stop(std::chrono::seconds(10));
  const auto took = std::chrono::steady_clock::now() - t0;
  ASSERT_TRUE(st) << u.Logs();
  EXPECT_TRUE(st->exited() && st->code() == 0) << u.Logs();
  EXPECT_LT(took, std::chrono::seconds(5));  // bound: sum of stop timeouts plus a little
  EXPECT_FALSE(Alive(first));
  EXPECT_FALSE(Alive(second));
  const std::string logs = u.Logs();
  const auto a = logs.find("component=second pid=" + std::to_string(second) + " stopping");
  const auto b = logs.find("component=first pid=" + std::to_string(first) + " stopping");
  ASSERT_NE(a, std::string::npos) << logs;
  ASSERT_NE(b, std::string::npos) << logs;
  EXPECT_LT(a, b) << "the last configured component stops first";
}

TEST(SupervisionControl, CrashLoopIsDetectedAndSurvivesAnUpdaterRestart) {
  TempDir dir;
  const std::string comp =
      Component("loopy", {"--after", "30", "--exit", "3"},
                "readiness = \"none\"\nrestart_delay = \"50ms\"\nrestart_delay_max = \"200ms\"");
  {
    UpdaterProcess u(dir);
    u.Start(comp);
    EXPECT_TRUE(u.WaitUnit("loopy", [](const json& j) { return j["crash_loop"] == true; }))
        << u.Unit("loopy").dump();
    auto st = u.Stop();
    ASSERT_TRUE(st && st->exited() && st->code() == 0);
  }
  UpdaterProcess again(dir);
  again.Start(comp);
  const json unit = again.Unit("loopy");
  EXPECT_EQ(unit["crash_loop"], true) << unit.dump();
  EXPECT_GE(unit["restarts"].get<int>(), 4);
  EXPECT_EQ(Kind(unit) == "error_exit" || Kind(unit) == "requested", true) << unit.dump();
}

TEST(SupervisionControl, SystemdNotifyToolIsAReadinessSender) {
  TempDir dir;
  const std::string script =
      dir.Write("svc.sh",
                "#!/bin/sh\n"
                "systemd-notify --ready --status=\"via systemd-notify\" || exit 3\n"
                "exec " +
                    Fixture() + " --no-ready --hang\n");
  ::chmod(script.c_str(), 0755);
  UpdaterProcess u(dir);
  u.Start("[[component]]\nname = \"sd\"\nexec = \"" + script +
          "\"\nreadiness = \"notify\"\nstart_timeout = \"20s\"\n");
  EXPECT_TRUE(u.WaitUnit("sd", [](const json& j) { return j["state"] == "running"; }))
      << u.Unit("sd").dump() << u.Logs();
  EXPECT_EQ(u.Unit("sd")["status"], "via systemd-notify");
  EXPECT_TRUE(u.Unit("sd")["last_exit"].is_null());
}

// A loopback port nobody listens on right now.
int FreePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

TEST(SupervisionControl, HttpReadinessWaitsForTheProbeToAnswer200) {
  TempDir dir;
  const std::string port = std::to_string(FreePort());
  // The agent answers /readyz 503 while it loads its state (2 s here), then 200.
  dir.Write("agent.toml", "listen = \"127.0.0.1:" + port + "\"\nstate_dir = \"" +
                              (dir / "agent-state").string() + "\"\ntest_load_delay = \"2s\"\n");
  UpdaterProcess u(dir);
  u.Start("[[component]]\nname = \"web\"\nexec = \"" + Bin("steward-agent") +
          "\"\nargs = " + Args({"run", "--config", (dir / "agent.toml").string()}) +
          "\nreadiness = \"http:http://127.0.0.1:" + port + "/readyz\"\nstart_timeout = \"20s\"\n");
  ASSERT_TRUE(u.WaitUnit("web", [](const json& j) { return j["state"] == "starting"; }))
      << u.Logs();
  EXPECT_TRUE(u.WaitUnit("web", [](const json& j) { return j["state"] == "running"; }))
      << u.Unit("web").dump() << u.Logs();
  http::Client client;
  auto r = client.Get("http://127.0.0.1:" + port + "/readyz");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
}

TEST(SupervisionControl, ChildGetsItsArgsEnvDirectoryGroupAndNotOurNotifySocket) {
  TempDir dir;
  const std::string report = (dir / "report").string();
  UpdaterProcess u(dir);
  Child::Options env;
  env.env = {{"NOTIFY_SOCKET", "/run/systemd/notify-of-the-updater"},
             {"WATCHDOG_USEC", "123"},
             {"WATCHDOG_PID", "1"}};
  u.Start(Component(
              "env", {"--report", report, "--hang", "x y"},
              "env = { FIXTURE_VAR = \"value 1\" }\nworking_dir = \"" + dir.path().string() + "\""),
          env);
  ASSERT_TRUE(
      Eventually([&] { return std::filesystem::exists(report); }, std::chrono::seconds(10)));
  auto r = ReadReport(report);
  EXPECT_EQ(r["env.NOTIFY_SOCKET"], (dir / "run" / "notify" / "env.notify").string());
  EXPECT_EQ(r["env.WATCHDOG_USEC"], "(unset)");
  EXPECT_EQ(r["env.WATCHDOG_PID"], "(unset)");
  EXPECT_EQ(r["env.FIXTURE_VAR"], "value 1");
  EXPECT_EQ(r["cwd"], dir.path().string());
  EXPECT_EQ(r["pid"], r["pgid"]) << "runs in its own process group";
  EXPECT_EQ(r["arg3"], "x y");
}

TEST(SupervisionControl, WatchdogPidIsTheChildsOwnAndUserIsApplied) {
  if (::geteuid() != 0) GTEST_SKIP() << "switching users needs root";
  TempDir dir;
  ::chmod(dir.path().c_str(), 0755);
  const auto shared = dir / "shared";
  std::filesystem::create_directory(shared);
  ::chmod(shared.c_str(), 0777);
  const std::string report = (shared / "report").string();
  UpdaterProcess u(dir);
  u.Start(Component(
      "nob", {"--report", report, "--hang"},
      "user = \"nobody\"\nwatchdog = \"30s\"\nreadiness = \"none\"\nworking_dir = \"/\""));
  ASSERT_TRUE(Eventually([&] { return std::filesystem::exists(report); }, std::chrono::seconds(10)))
      << u.Unit("nob").dump() << u.Logs();
  auto r = ReadReport(report);
  EXPECT_EQ(r["uid"], "65534");
  EXPECT_EQ(r["euid"], "65534");
  EXPECT_EQ(r["gid"], "65534");  // nobody's primary group, nogroup
  EXPECT_EQ(r["egid"], "65534");
  EXPECT_EQ(r["groups"], "65534") << "the updater's own groups are dropped";
  EXPECT_EQ(r["env.USER"], "nobody");
  EXPECT_EQ(r["env.WATCHDOG_USEC"], "30000000");
  EXPECT_EQ(r["env.WATCHDOG_PID"], r["pid"]);
}

// A launch that fails after the vfork (the child cannot chdir or exec) comes back as a start
// failure with the reason, and leaves the updater and its other components unharmed.
TEST(SupervisionControl, LaunchFailuresAreStartFailuresWithTheReason) {
  TempDir dir;
  UpdaterProcess u(dir);
  u.Start(
      Component("good", {"--hang"}, "readiness = \"none\"") +
      "[[component]]\nname = \"noexec\"\nexec = \"" + (dir / "missing-program").string() +
      "\"\nreadiness = \"none\"\n" +
      Component("nodir", {"--hang"},
                "readiness = \"none\"\nworking_dir = \"" + (dir / "missing-dir").string() + "\""));
  for (const auto& [name, reason] :
       {std::pair{"noexec", "No such file"}, std::pair{"nodir", "No such file"}}) {
    ASSERT_TRUE(u.WaitUnit(name,
                           [](const json& j) {
                             return j["last_exit"].is_object() &&
                                    j["last_exit"]["kind"] == "start_failure";
                           }))
        << name << u.Logs();
    const json unit = u.Unit(name);
    ASSERT_TRUE(unit["last_error"].is_string()) << unit.dump();
    EXPECT_NE(unit["last_error"].get<std::string>().find(reason), std::string::npos) << unit.dump();
    EXPECT_NE(unit["last_error"].get<std::string>().find("cannot start"), std::string::npos);
  }
  // Retried with backoff, failing the same way each time.
  EXPECT_TRUE(u.WaitUnit("noexec", [](const json& j) { return j["restarts"].get<int>() >= 2; }))
      << u.Unit("noexec").dump();
  const json good = u.Unit("good");
  EXPECT_EQ(good["state"], "running") << good.dump();
  EXPECT_TRUE(good["last_exit"].is_null()) << good.dump();
  const json status = u.Status();
  EXPECT_TRUE(status.is_object()) << "the updater still answers";
}

TEST(SupervisionControl, ManagedComponentWithoutAnInstallIsNotInstalled) {
  TempDir dir;
  UpdaterProcess u(dir);
  u.Start("[[component]]\nname = \"agent\"\nbinary = \"steward-agent\"\n");
  const json unit = u.Unit("agent");
  EXPECT_EQ(unit["state"], "not_installed");
  EXPECT_TRUE(unit["last_exit"].is_null());
  EXPECT_EQ(unit["restarts"], 0);
}

}  // namespace
}  // namespace steward::test

namespace steward::test {
namespace {

// A datagram socket standing in for systemd's notify socket.
class FakeSystemd {
 public:
  explicit FakeSystemd(const std::string& path) : path_(path) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path.data(), path.size());
    EXPECT_EQ(::bind(fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)), 0);
  }
  ~FakeSystemd() { ::close(fd_); }
  // Waits for a datagram containing `text`.
  bool WaitFor(const std::string& text, int timeout_ms) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 100) != 1) continue;
      char buf[4096];
      const ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
      if (n > 0) {
        received_ += std::string(buf, static_cast<std::size_t>(n)) + "\n";
        if (received_.find(text) != std::string::npos) return true;
      }
    }
    return false;
  }
  const std::string& received() const { return received_; }

 private:
  std::string path_;
  int fd_ = -1;
  std::string received_;
};

TEST(SupervisionControl, UpdaterTellsItsOwnServiceManagerReadyAndWatchdog) {
  TempDir dir;
  FakeSystemd systemd((dir / "systemd.sock").string());
  UpdaterProcess u(dir);
  Child::Options env;
  env.env = {{"NOTIFY_SOCKET", (dir / "systemd.sock").string()}, {"WATCHDOG_USEC", "400000"}};
  u.Start(Component("svc", {"--hang"}), env);
  EXPECT_TRUE(systemd.WaitFor("READY=1", 5000)) << systemd.received();
  EXPECT_TRUE(systemd.WaitFor("WATCHDOG=1", 5000)) << systemd.received();
  // The component got its own notify socket, not the updater's.
  EXPECT_TRUE(u.WaitUnit("svc", [](const json& j) { return j["state"] == "running"; }));
  auto st = u.Stop();
  ASSERT_TRUE(st && st->code() == 0);
  EXPECT_TRUE(systemd.WaitFor("STOPPING=1", 5000)) << systemd.received();
}

TEST(SupervisionControl, LocalApiRejectsBadRequestsWithAReason) {
  TempDir dir;
  UpdaterProcess u(dir);
  u.Start(Component("svc", {"--hang"}));
  // The updater answers before its component is ready: wait for that first.
  ASSERT_TRUE(u.WaitUnit("svc", [](const json& x) { return x["state"] == "running"; })) << u.Logs();
  http::ClientOptions options;
  options.unix_socket = u.socket();
  http::Client client(options);
  http::RequestSpec bad;
  bad.method = "POST";
  bad.url = "http://localhost/v1/components/svc/explode";
  auto r = client.Perform(bad);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_NE(r->body.find("unknown command 'explode'"), std::string::npos) << r->body;
  bad.url = "http://localhost/v1/components/nosuch/stop";
  r = client.Perform(bad);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
  EXPECT_NE(r->body.find("unknown_component"), std::string::npos) << r->body;
  auto get = client.Get("http://localhost/v1/components/svc/stop");
  ASSERT_TRUE(get);
  EXPECT_EQ(get->status, 405);
  EXPECT_EQ(u.Unit("svc")["state"], "running");
}

}  // namespace
}  // namespace steward::test
