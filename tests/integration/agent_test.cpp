// steward-agent as the updater sees it: the real binary on loopback, its sd_notify datagrams
// read from a socket the test owns, its HTTP endpoints, signals and exit codes.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>

#include "common/codes.hpp"
#include "common/http_client.hpp"
#include "common/version.hpp"
#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

// Designated initializers leave the other AgentOptions members at their defaults on purpose.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace steward::test {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

// The receiving end of sd_notify, as the updater (or systemd) holds it.
class NotifySocket {
 public:
  explicit NotifySocket(const std::filesystem::path& path) : path_(path.string()) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path_.c_str(), sizeof(addr.sun_path) - 1);
    if (::bind(fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
      ADD_FAILURE() << "bind " << path_ << ": " << std::strerror(errno);
    }
  }
  ~NotifySocket() { ::close(fd_); }
  const std::string& path() const { return path_; }

  // The next datagram, waiting up to `timeout` (zero: only what is already there).
  std::optional<std::string> Receive(std::chrono::milliseconds timeout) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return std::nullopt;
    char buf[4096];
    const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n < 0) return std::nullopt;
    std::string msg(buf, static_cast<std::size_t>(n));
    seen_.push_back(msg);
    return msg;
  }
  // Reads datagrams until one contains `text`; false when `timeout` passes first.
  bool WaitFor(const std::string& text, std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    for (;;) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      if (left.count() <= 0) return false;
      auto msg = Receive(left);
      if (msg && msg->find(text) != std::string::npos) return true;
    }
  }
  // Every datagram received so far, in order.
  const std::vector<std::string>& seen() const { return seen_; }

 private:
  std::string path_;
  int fd_ = -1;
  std::vector<std::string> seen_;
};

struct AgentOptions {
  std::string root_extra;  // more top-level config lines
  std::string flags;       // flags.json content; empty: no file
  std::map<std::string, std::string> env;
};

std::string ConfigText(const TempDir& dir, const std::string& root_extra) {
  return "listen = \"127.0.0.1:0\"\n"
         "state_dir = \"" +
         (dir / "state").string() +
         "\"\n"
         "flags_file = \"" +
         (dir / "flags.json").string() +
         "\"\n"
         "drain_timeout = \"5s\"\n" +
         root_extra + "\n[console]\nlisten = \"127.0.0.1:0\"\n";
}

// "…<marker>127.0.0.1:PORT…" in `text` -> "http://127.0.0.1:PORT".
std::string BaseUrl(const std::string& text, const std::string& marker) {
  std::smatch m;
  const std::regex re(marker + "(127\\.0\\.0\\.1:[0-9]+)");
  if (!std::regex_search(text, m, re)) return "";
  return "http://" + m[1].str();
}

class Agent {
 public:
  Agent(const TempDir& dir, const AgentOptions& options = {})
      : config_(dir.Write("agent.toml", ConfigText(dir, options.root_extra))),
        child_(Spawn(dir, options)) {}

  Child& child() { return child_; }
  const std::string& config() const { return config_; }

  // Waits for the agent to log its address; "" when it does not.
  std::string WaitListening() {
    if (!child_.WaitForOutput("listening address=", 20s)) return "";
    return BaseUrl(child_.Stderr(), "listening address=");
  }

 private:
  Child Spawn(const TempDir& dir, const AgentOptions& options) {
    if (!options.flags.empty()) dir.Write("flags.json", options.flags);
    Child::Options child_options;
    child_options.env = options.env;
    child_options.unset_env = {"NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"};
    for (const auto& [k, v] : options.env) {
      std::erase(child_options.unset_env, k);
    }
    return Child::Spawn({Bin("steward-agent"), "run", "--config", config_}, child_options);
  }

  std::string config_;
  Child child_;
};

// Waits until the agent has finished its `n`th reload (each ends with one "reloaded" line), so a
// test never rewrites files while an earlier reload is still reading them.
bool WaitForReloads(Child& child, std::size_t n) {
  return Eventually(
      [&] {
        const std::string err = child.Stderr();
        std::size_t count = 0;
        for (auto at = err.find("reloaded outcome="); at != std::string::npos;
             at = err.find("reloaded outcome=", at + 1)) {
          ++count;
        }
        return count >= n;
      },
      20s);
}

http::ClientResponse Get(const std::string& url) {
  http::ClientOptions options;
  options.timeout = 10s;
  http::Client client(options);
  auto r = client.Get(url);
  if (!r) {
    ADD_FAILURE() << url << ": " << r.error().message;
    return {};
  }
  return *r;
}

bool Refuses(const std::string& url) {
  http::ClientOptions options;
  options.timeout = 5s;
  http::Client client(options);
  return !client.Get(url).has_value();
}

TEST(Agent, HealthzAnswersBeforeReadyThenReadyThenStopsCleanly) {
  TempDir dir;
  NotifySocket notify(dir / "notify.sock");
  Agent agent(
      dir, {.root_extra = "test_load_delay = \"4s\"\n", .env = {{"NOTIFY_SOCKET", notify.path()}}});
  const std::string base = agent.WaitListening();
  ASSERT_FALSE(base.empty()) << agent.child().Stderr();

  // Loading: alive, not ready, and the supervisor has not been told READY=1.
  EXPECT_EQ(Get(base + "/healthz").status, 200);
  const auto loading = Get(base + "/readyz");
  EXPECT_EQ(loading.status, 503);
  EXPECT_EQ(json::parse(loading.body).value("phase", ""), "loading") << loading.body;
  while (notify.Receive(0ms)) {
  }
  for (const auto& msg : notify.seen()) EXPECT_EQ(msg.find("READY=1"), std::string::npos) << msg;
  EXPECT_NE(notify.seen().size(), 0u) << "expected STATUS= while loading";

  ASSERT_TRUE(notify.WaitFor("READY=1", 30s)) << agent.child().Stderr();
  const auto ready = Get(base + "/readyz");
  EXPECT_EQ(ready.status, 200);
  EXPECT_EQ(json::parse(ready.body).value("phase", ""), "ready");
  const auto status = json::parse(Get(base + "/status").body);
  EXPECT_EQ(status.value("version", ""), BuildVersion());
  EXPECT_EQ(status.value("phase", ""), "ready");
  EXPECT_EQ(status.value("boots", 0), 1);
  EXPECT_EQ(status["flags"].value("console.embedded", false), true);
  EXPECT_EQ(status["flags"].value("console.standalone", true), false);
  EXPECT_GE(status.value("uptime_s", -1), 0);

  agent.child().Signal(SIGTERM);
  EXPECT_TRUE(notify.WaitFor("STOPPING=1", 10s));
  const auto st = agent.child().Wait(15s);
  ASSERT_TRUE(st);
  EXPECT_TRUE(st->exited() && st->code() == 0) << agent.child().Stderr();
}

TEST(Agent, SigtermWhileLoadingExitsZero) {
  TempDir dir;
  Agent agent(dir, {.root_extra = "test_load_delay = \"10m\"\n"});
  const std::string base = agent.WaitListening();
  ASSERT_FALSE(base.empty()) << agent.child().Stderr();
  EXPECT_EQ(Get(base + "/readyz").status, 503);
  agent.child().Signal(SIGTERM);
  const auto st = agent.child().Wait(15s);
  ASSERT_TRUE(st) << "did not stop while loading";
  EXPECT_TRUE(st->exited() && st->code() == 0) << agent.child().Stderr();
}

TEST(Agent, SigintAfterReadyExitsZeroAndStateSurvivesRestart) {
  TempDir dir;
  for (int boot = 1; boot <= 2; ++boot) {
    Agent agent(dir);
    const std::string base = agent.WaitListening();
    ASSERT_FALSE(base.empty()) << agent.child().Stderr();
    ASSERT_TRUE(Eventually([&] { return Get(base + "/readyz").status == 200; }, 20s));
    EXPECT_EQ(json::parse(Get(base + "/status").body).value("boots", 0), boot);
    agent.child().Signal(SIGINT);
    const auto st = agent.child().Wait(15s);
    ASSERT_TRUE(st);
    EXPECT_TRUE(st->exited() && st->code() == 0) << agent.child().Stderr();
  }
}

TEST(Agent, BadConfigExits78NamingTheKey) {
  TempDir dir;
  const auto bad = dir.Write("bad.toml", "listen = \"127.0.0.1:0\"\ndrain_timeout = \"soon\"\n");
  auto r = RunProgram({Bin("steward-agent"), "run", "--config", bad}, {}, 30s);
  EXPECT_EQ(r.status.code(), exit_code::kConfig);
  EXPECT_NE(r.err.find("'drain_timeout'"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("bad.toml"), std::string::npos) << r.err;

  auto missing =
      RunProgram({Bin("steward-agent"), "run", "--config", (dir / "none.toml").string()}, {}, 30s);
  EXPECT_EQ(missing.status.code(), exit_code::kConfig);
  EXPECT_NE(missing.err.find("none.toml"), std::string::npos) << missing.err;
}

TEST(Agent, PortInUseFailsAtOnceWithAMessage) {
  TempDir dir;
  Agent first(dir);
  const std::string base = first.WaitListening();
  ASSERT_FALSE(base.empty());
  const std::string taken = base.substr(std::string("http://").size());
  const auto cfg = dir.Write("second.toml", "listen = \"" + taken + "\"\nstate_dir = \"" +
                                                (dir / "state2").string() + "\"\n");
  auto r = RunProgram({Bin("steward-agent"), "run", "--config", cfg}, {}, 30s);
  EXPECT_NE(r.status.code(), 0);
  EXPECT_NE(r.err.find(taken), std::string::npos) << r.err;
}

TEST(Agent, SighupWithBadConfigKeepsServingThenAppliesAGoodOne) {
  TempDir dir;
  Agent agent(dir, {.flags = R"({"console.embedded": true})"});
  const std::string base = agent.WaitListening();
  ASSERT_FALSE(base.empty()) << agent.child().Stderr();
  ASSERT_TRUE(Eventually([&] { return Get(base + "/readyz").status == 200; }, 20s));
  EXPECT_EQ(Get(base + "/console/v1/overview").status, 200);

  dir.Write("agent.toml", ConfigText(dir, "drain_timeout = 7\n"));
  agent.child().Signal(SIGHUP);
  ASSERT_TRUE(WaitForReloads(agent.child(), 1)) << agent.child().Stderr();
  EXPECT_NE(agent.child().Stderr().find("reload failed"), std::string::npos);
  EXPECT_NE(agent.child().Stderr().find("'drain_timeout'"), std::string::npos);
  EXPECT_TRUE(agent.child().running());
  EXPECT_EQ(Get(base + "/healthz").status, 200);
  EXPECT_EQ(Get(base + "/readyz").status, 200);

  // A broken flags file is refused the same way: the flags in force stay.
  dir.Write("flags.json", R"({"console.embedded": "no"})");
  agent.child().Signal(SIGHUP);
  ASSERT_TRUE(WaitForReloads(agent.child(), 2));
  EXPECT_NE(agent.child().Stderr().find("keeping the flags in force"), std::string::npos);
  EXPECT_EQ(Get(base + "/console/v1/overview").status, 200);

  // A good config and flags apply without a restart.
  dir.Write("agent.toml", ConfigText(dir, "log_level = \"debug\"\n"));
  dir.Write("flags.json", R"({"console.embedded": false, "color": "blue"})");
  agent.child().Signal(SIGHUP);
  ASSERT_TRUE(agent.child().WaitForOutput("flags applied", 20s)) << agent.child().Stderr();
  const auto off = Get(base + "/console/v1/overview");
  EXPECT_EQ(off.status, 404);
  EXPECT_NE(off.body.find("console.embedded"), std::string::npos) << off.body;
  const auto status = json::parse(Get(base + "/status").body);
  EXPECT_EQ(status["flags"].value("color", ""), "blue");
  EXPECT_EQ(status["flags"].value("console.embedded", true), false);

  agent.child().Signal(SIGTERM);
  const auto st = agent.child().Wait(15s);
  ASSERT_TRUE(st);
  EXPECT_EQ(st->code(), 0);
}

TEST(Agent, SighupWithANewListenAddressRequestsARestart) {
  TempDir dir;
  Agent agent(dir);
  ASSERT_FALSE(agent.WaitListening().empty());
  dir.Write("agent.toml",
            "listen = \"127.0.0.2:0\"\nstate_dir = \"" + (dir / "state").string() + "\"\n");
  agent.child().Signal(SIGHUP);
  const auto st = agent.child().Wait(15s);
  ASSERT_TRUE(st);
  EXPECT_TRUE(st->exited() && st->code() == exit_code::kRestartRequested) << agent.child().Stderr();
}

// Intervals between the first and last of `pings` WATCHDOG=1 datagrams.
std::optional<Clock::duration> TimePings(NotifySocket& notify, int pings) {
  std::optional<Clock::time_point> first;
  for (int i = 0; i < pings; ++i) {
    if (!notify.WaitFor("WATCHDOG=1", 5s)) return std::nullopt;
    if (!first) first = Clock::now();
  }
  return Clock::now() - *first;
}

TEST(Agent, WatchdogPingsAtHalfTheInterval) {
  TempDir dir;
  NotifySocket notify(dir / "notify.sock");
  Agent agent(dir, {.env = {{"NOTIFY_SOCKET", notify.path()}, {"WATCHDOG_USEC", "400000"}}});
  ASSERT_FALSE(agent.WaitListening().empty()) << agent.child().Stderr();
  const auto span = TimePings(notify, 8);
  ASSERT_TRUE(span) << "watchdog pings stopped";
  // 7 intervals of 200 ms: not much faster (no busy pinging), never as slow as the 400 ms limit.
  EXPECT_GE(span.value(), 7 * 180ms);
  EXPECT_LT(span.value(), 7 * 400ms);
}

TEST(Agent, NoWatchdogPingsWithoutWatchdogUsecOrForAnotherPid) {
  TempDir dir;
  NotifySocket notify(dir / "notify.sock");
  Agent agent(dir, {.env = {{"NOTIFY_SOCKET", notify.path()},
                            {"WATCHDOG_USEC", "100000"},
                            {"WATCHDOG_PID", "1"}}});
  ASSERT_TRUE(notify.WaitFor("READY=1", 30s)) << agent.child().Stderr();
  EXPECT_FALSE(notify.WaitFor("WATCHDOG=1", 400ms));
}

TEST(Agent, BothConsoleModesAtOnce) {
  TempDir dir;
  Agent agent(dir, {.flags = R"({"console.embedded": true, "console.standalone": true})"});
  const std::string base = agent.WaitListening();
  ASSERT_FALSE(base.empty()) << agent.child().Stderr();
  ASSERT_TRUE(agent.child().WaitForOutput("console listening mode=standalone address=", 30s))
      << agent.child().Stderr();
  const std::string console =
      BaseUrl(agent.child().Stderr(), "console listening mode=standalone address=");
  ASSERT_FALSE(console.empty());
  ASSERT_NE(console, base);

  const auto embedded = Get(base + "/console/v1/overview");
  const auto standalone = Get(console + "/console/v1/overview");
  ASSERT_EQ(embedded.status, 200) << embedded.body;
  ASSERT_EQ(standalone.status, 200) << standalone.body;
  auto e = json::parse(embedded.body);
  auto s = json::parse(standalone.body);
  EXPECT_EQ(e.value("mode", ""), "embedded");
  EXPECT_EQ(s.value("mode", ""), "standalone");
  EXPECT_EQ(e.value("boots", 0), 1);
  EXPECT_EQ(s.value("boots", 0), 1);
  EXPECT_EQ(s.value("last_version", ""), BuildVersion());
  EXPECT_EQ(e["events"], s["events"]);
  EXPECT_EQ(e["events"][0].value("kind", ""), "ready");
  EXPECT_EQ(Get(console + "/console/v1/overview?events=x").status, 400);

  const auto status = json::parse(Get(base + "/status").body);
  EXPECT_GT(status["console"].value("standalone_pid", 0), 0);

  // Turning the standalone flag off stops it; stopping the agent stops everything.
  dir.Write("flags.json", R"({"console.embedded": true, "console.standalone": false})");
  agent.child().Signal(SIGHUP);
  ASSERT_TRUE(agent.child().WaitForOutput("standalone console stopped", 20s));
  EXPECT_TRUE(Refuses(console + "/healthz"));
  EXPECT_EQ(Get(base + "/console/v1/overview").status, 200);

  agent.child().Signal(SIGTERM);
  const auto st = agent.child().Wait(15s);
  ASSERT_TRUE(st);
  EXPECT_EQ(st->code(), 0) << agent.child().Stderr();
}

TEST(Agent, StandaloneConsoleByHand) {
  TempDir dir;
  const auto cfg = dir.Write("agent.toml", ConfigText(dir, ""));
  Child console = Child::Spawn({Bin("steward-agent"), "console", "--config", cfg});
  ASSERT_TRUE(console.WaitForOutput("console listening mode=standalone address=", 20s));
  const std::string url = BaseUrl(console.Stderr(), "address=");
  // No agent has created the state yet: the console says so instead of inventing it.
  const auto r = Get(url + "/console/v1/overview");
  EXPECT_EQ(r.status, 503);
  EXPECT_NE(r.body.find("does not exist yet"), std::string::npos) << r.body;
  console.Signal(SIGTERM);
  const auto st = console.Wait(15s);
  ASSERT_TRUE(st);
  EXPECT_EQ(st->code(), 0);
}

TEST(Agent, TestFailuresSimulateBadReleases) {
  TempDir dir;
  {
    Agent crash(dir, {.root_extra = "test_fail = \"crash\"\n"});
    const auto st = crash.child().Wait(20s);
    ASSERT_TRUE(st);
    EXPECT_TRUE(st->signaled() && st->signal() == SIGABRT) << crash.child().Stderr();
  }
  {
    Agent restart(dir, {.root_extra = "test_fail = \"restart\"\ntest_fail_after = \"1s\"\n"});
    const auto st = restart.child().Wait(20s);
    ASSERT_TRUE(st);
    EXPECT_TRUE(st->exited() && st->code() == exit_code::kRestartRequested);
  }
  {
    // Another version is named: this one behaves.
    NotifySocket notify(dir / "notify.sock");
    Agent fine(dir, {.root_extra = "test_fail = \"exit\"\ntest_fail_versions = [\"0.0.0-bad\"]\n",
                     .env = {{"NOTIFY_SOCKET", notify.path()}}});
    EXPECT_TRUE(notify.WaitFor("READY=1", 30s)) << fine.child().Stderr();
    EXPECT_TRUE(fine.child().running());
  }
  {
    NotifySocket notify(dir / "notify2.sock");
    Agent never(dir, {.root_extra = "test_fail = \"never_ready\"\n",
                      .env = {{"NOTIFY_SOCKET", notify.path()}}});
    const std::string base = never.WaitListening();
    ASSERT_TRUE(never.child().WaitForOutput("not sending READY=1", 20s));
    EXPECT_EQ(Get(base + "/readyz").status, 503);
    while (notify.Receive(0ms)) {
    }
    for (const auto& msg : notify.seen()) EXPECT_EQ(msg.find("READY=1"), std::string::npos);
  }
}

TEST(Agent, StalledWatchdogAndIgnoredStopSimulateAWedgedNode) {
  TempDir dir;
  {
    NotifySocket notify(dir / "notify.sock");
    Agent stall(dir, {.root_extra = "test_fail = \"stall_watchdog\"\ntest_fail_after = \"1s\"\n",
                      .env = {{"NOTIFY_SOCKET", notify.path()}, {"WATCHDOG_USEC", "200000"}}});
    ASSERT_TRUE(notify.WaitFor("WATCHDOG=1", 10s));
    ASSERT_TRUE(stall.child().WaitForOutput("no more WATCHDOG=1", 20s));
    while (notify.Receive(0ms)) {
    }
    EXPECT_FALSE(notify.WaitFor("WATCHDOG=1", 600ms));
    EXPECT_EQ(Get(stall.WaitListening() + "/healthz").status, 200);
  }
  {
    Agent stubborn(dir, {.root_extra = "test_fail = \"ignore_stop\"\n"});
    ASSERT_FALSE(stubborn.WaitListening().empty());
    stubborn.child().Signal(SIGTERM);
    ASSERT_TRUE(stubborn.child().WaitForOutput("ignoring signal", 20s));
    EXPECT_TRUE(stubborn.child().running());
    stubborn.child().Signal(SIGKILL);
    const auto st = stubborn.child().Wait(15s);
    ASSERT_TRUE(st);
    EXPECT_TRUE(st->signaled() && st->signal() == SIGKILL);
  }
}

TEST(Agent, RestartsAStandaloneConsoleThatDies) {
  TempDir dir;
  Agent agent(dir, {.flags = R"({"console.standalone": true})"});
  const std::string base = agent.WaitListening();
  ASSERT_FALSE(base.empty());
  int pid = 0;
  ASSERT_TRUE(Eventually(
      [&] {
        pid = json::parse(Get(base + "/status").body)["console"].value("standalone_pid", 0);
        return pid > 0;
      },
      20s));
  ::kill(pid, SIGKILL);
  ASSERT_TRUE(agent.child().WaitForOutput("restarting in", 20s)) << agent.child().Stderr();
  int next = 0;
  ASSERT_TRUE(Eventually(
      [&] {
        next = json::parse(Get(base + "/status").body)["console"].value("standalone_pid", 0);
        return next > 0 && next != pid;
      },
      20s))
      << agent.child().Stderr();
  agent.child().Signal(SIGTERM);
  const auto st = agent.child().Wait(15s);
  ASSERT_TRUE(st);
  EXPECT_EQ(st->code(), 0);
  // The console went with the agent.
  EXPECT_TRUE(Eventually([&] { return ::kill(next, 0) != 0; }, 10s));
}

TEST(Agent, BrokenFlagsFileAtStartRunsWithDefaults) {
  TempDir dir;
  Agent agent(dir, {.flags = "{not json"});
  const std::string base = agent.WaitListening();
  ASSERT_FALSE(base.empty());
  EXPECT_TRUE(agent.child().WaitForOutput("running with default flags", 10s));
  EXPECT_NE(agent.child().Stderr().find("flags.json"), std::string::npos);
  ASSERT_TRUE(Eventually([&] { return Get(base + "/readyz").status == 200; }, 20s));
  EXPECT_EQ(Get(base + "/console/v1/overview").status, 200);
}

TEST(Agent, UnusableStateFailsWithAMessageAndNoReady) {
  TempDir dir;
  NotifySocket notify(dir / "notify.sock");
  Child::Options options;
  options.env = {{"NOTIFY_SOCKET", notify.path()}};
  // state_dir is a file.
  dir.Write("state", "not a directory");
  const auto cfg = dir.Write("a.toml", ConfigText(dir, ""));
  auto r = RunProgram({Bin("steward-agent"), "run", "--config", cfg}, options, 30s);
  EXPECT_NE(r.status.code(), 0);
  EXPECT_NE(r.err.find("state_dir"), std::string::npos) << r.err;
  // A state file that is not a database is reported, never replaced.
  std::filesystem::remove(dir / "state");
  std::filesystem::create_directory(dir / "state");
  dir.Write("state/agent.db", std::string(4096, 'z'));
  r = RunProgram({Bin("steward-agent"), "run", "--config", cfg}, options, 30s);
  EXPECT_NE(r.status.code(), 0);
  EXPECT_NE(r.err.find("agent.db"), std::string::npos) << r.err;
  EXPECT_EQ(std::filesystem::file_size(dir / "state/agent.db"), 4096u);
  while (notify.Receive(0ms)) {
  }
  for (const auto& msg : notify.seen()) EXPECT_EQ(msg.find("READY=1"), std::string::npos) << msg;
}

// A TCP connection to the agent, driven by hand so a request can be left half-sent.
class RawConnection {
 public:
  explicit RawConnection(const std::string& base) {
    const auto colon = base.rfind(':');
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(std::stoi(base.substr(colon + 1))));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (::connect(fd_, reinterpret_cast<const sockaddr*>(&a), sizeof a) != 0) {
      ADD_FAILURE() << "connect " << base << ": " << std::strerror(errno);
    }
  }
  ~RawConnection() { ::close(fd_); }
  void Send(std::string_view data) {
    ASSERT_EQ(::send(fd_, data.data(), data.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(data.size()));
  }
  // Everything until the peer closes, waiting up to `timeout`.
  std::string ReadAll(std::chrono::milliseconds timeout) {
    std::string out;
    const auto deadline = Clock::now() + timeout;
    for (;;) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      pollfd p{fd_, POLLIN, 0};
      if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) return out;
      char buf[4096];
      const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) return out;
      out.append(buf, static_cast<std::size_t>(n));
    }
  }

 private:
  int fd_ = -1;
};

TEST(Agent, StopFinishesTheRequestInFlight) {
  TempDir dir;
  Agent agent(dir);
  const std::string base = agent.WaitListening();
  ASSERT_FALSE(base.empty());
  ASSERT_TRUE(Eventually([&] { return Get(base + "/readyz").status == 200; }, 20s));
  // Headers sent, body still owed: the request is in flight.
  RawConnection in_flight(base);
  in_flight.Send(
      "GET /status HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(Get(base + "/healthz").status, 200);  // the server has read what came before
  agent.child().Signal(SIGTERM);
  ASSERT_TRUE(agent.child().WaitForOutput("stopping: draining", 10s));
  EXPECT_TRUE(Eventually([&] { return Refuses(base + "/healthz"); }, 10s));
  EXPECT_TRUE(agent.child().running()) << "exited before finishing the request in flight";
  in_flight.Send("body");
  const std::string answer = in_flight.ReadAll(10s);
  EXPECT_TRUE(answer.starts_with("HTTP/1.1 200")) << answer;
  EXPECT_NE(answer.find("\"phase\":\"stopping\""), std::string::npos) << answer;
  const auto st = agent.child().Wait(15s);
  ASSERT_TRUE(st);
  EXPECT_TRUE(st->exited() && st->code() == 0) << agent.child().Stderr();
}

}  // namespace
}  // namespace steward::test
