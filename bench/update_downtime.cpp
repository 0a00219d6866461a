// Node downtime during an update, against a plain stop-then-start of the same binaries:
//   steward   `steward-updater apply` of a signed release while the agent runs: the updater
//             verifies and downloads it, switches `current` while the old process runs, then
//             stops it and starts the new one from its exit, and runs the health gate.
//   baseline  what a script does: SIGTERM the old agent, wait for its exit, exec the new one.
// Downtime = from the old process's last `GET /readyz` 200 to the new process's first 200, seen
// by a prober that polls the agent's fixed port on fresh connections (the new one must report
// the new version in `/status`). Each round updates to the other of two agent releases (1.0.0
// and 1.1.0) under a freshly signed manifest with a higher sequence, and runs one steward update
// and one baseline switch back to back, in alternating order, so load on the machine hits both
// alike. The two agents use the same config but for their port and state directory.
// BENCH_RUNS rounds (default 21); BENCH_TMPDIR: where the state lives (default /tmp); BENCH_KEEP:
// keep it afterwards.
// Optional argument: the folder holding the programs (default: this program's own).
// Prints BENCH lines (see tools/bench.sh).
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "common/files.hpp"
#include "common/hash.hpp"
#include "common/http_client.hpp"
#include "common/http_server.hpp"
#include "common/minisign.hpp"
#include "common/rfc3339.hpp"

extern char** environ;

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using steward::HexEncode;
using Clock = std::chrono::steady_clock;
using Ms = std::chrono::duration<double, std::milli>;
using namespace std::chrono_literals;

// Everything that goes wrong ends the run (after every destructor has cleaned up).
struct BenchError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

[[noreturn]] void Die(const std::string& what) { throw BenchError(what); }

int FreePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    Die(std::string("picking a free port: ") + std::strerror(errno));
  }
  ::close(fd);
  return ntohs(a.sin_port);
}

// Waits for `fd` to be ready for `events` up to `ms`; false on timeout or error.
bool WaitFd(int fd, short events, int ms) {
  pollfd p{fd, events, 0};
  return ::poll(&p, 1, ms) == 1 && (p.revents & events) != 0;
}

// One GET on a fresh loopback connection (connect timeout 100 ms, answer timeout 1 s). Returns
// the whole response, or "" when there was none.
std::string Get(int port, const char* path) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return "";
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string out;
  bool connected = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  if (!connected && errno == EINPROGRESS && WaitFd(fd, POLLOUT, 100)) {
    int err = 0;
    socklen_t len = sizeof err;
    connected = ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0;
  }
  if (connected) {
    const std::string req =
        std::string("GET ") + path + " HTTP/1.1\r\nHost: b\r\nConnection: close\r\n\r\n";
    if (::send(fd, req.data(), req.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(req.size())) {
      const auto deadline = Clock::now() + 1s;
      char buf[4096];
      for (;;) {
        const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
        if (left.count() <= 0 || !WaitFd(fd, POLLIN, static_cast<int>(left.count()))) break;
        const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n <= 0) break;
        out.append(buf, static_cast<std::size_t>(n));
      }
    }
  }
  ::close(fd);
  return out;
}

bool Is200(const std::string& response) { return response.compare(0, 12, "HTTP/1.1 200") == 0; }

// The version the agent on `port` reports in /status, "" when it does not answer.
std::string AgentVersion(int port) {
  const std::string r = Get(port, "/status");
  const auto body = r.find("\r\n\r\n");
  if (!Is200(r) || body == std::string::npos) return "";
  const json j = json::parse(r.substr(body + 4), nullptr, false);
  return j.is_object() && j["version"].is_string() ? j["version"].get<std::string>() : "";
}

int PidFd(pid_t pid) { return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)); }

std::vector<std::string> BaseEnvironment() {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string_view s(*e);
    // Children must not talk to whatever supervises this benchmark.
    if (s.starts_with("NOTIFY_SOCKET=") || s.starts_with("WATCHDOG_")) continue;
    env.emplace_back(s);
  }
  return env;
}

// A child process with its output in a file; SIGTERM (then SIGKILL) and reaped when destroyed.
class Proc {
 public:
  Proc(const std::vector<std::string>& args, const fs::path& output) {
    std::vector<std::string> env = BaseEnvironment();
    std::vector<char*> envp;
    for (auto& s : env) envp.push_back(s.data());
    envp.push_back(nullptr);
    std::vector<std::string> a(args);
    std::vector<char*> argv;
    for (auto& s : a) argv.push_back(s.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, output.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    const int rc = ::posix_spawn(&pid_, argv[0], &fa, nullptr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) Die("starting " + args[0] + ": " + std::strerror(rc));
    pidfd_ = PidFd(pid_);
    if (pidfd_ < 0) Die(std::string("pidfd_open: ") + std::strerror(errno));
  }
  Proc(const Proc&) = delete;
  Proc& operator=(const Proc&) = delete;
  ~Proc() {
    if (pid_ <= 0) return;
    if (!Stop(SIGTERM, 15000)) Stop(SIGKILL, 5000);
  }

  pid_t pid() const { return pid_; }

  // Sends `sig` and waits up to `ms` for the exit; true once it has exited and been reaped.
  bool Stop(int sig, int ms) {
    if (pid_ <= 0) return true;
    ::kill(pid_, sig);
    return Wait(ms).has_value();
  }

  // The wait status once it exits within `ms`.
  std::optional<int> Wait(int ms) {
    if (pid_ <= 0) return status_;
    if (!WaitFd(pidfd_, POLLIN, ms)) return std::nullopt;
    int st = 0;
    ::waitpid(pid_, &st, 0);
    ::close(pidfd_);
    pid_ = -1;
    status_ = st;
    return st;
  }

 private:
  pid_t pid_ = -1;
  int pidfd_ = -1;
  std::optional<int> status_;
};

class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("BENCH_TMPDIR");
    std::string tmpl = std::string(base != nullptr ? base : "/tmp") + "/steward-bench-XXXXXX";
    if (::mkdtemp(tmpl.data()) == nullptr) Die("mkdtemp " + tmpl + ": " + std::strerror(errno));
    path_ = tmpl;
  }
  ~TempDir() {
    if (std::getenv("BENCH_KEEP") != nullptr) {
      std::fprintf(stderr, "kept %s (BENCH_KEEP)\n", path_.c_str());
      return;
    }
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }
  fs::path operator/(const std::string& name) const { return path_ / name; }
  void Write(const std::string& name, std::string_view text) const {
    std::ofstream f(path_ / name, std::ios::binary | std::ios::trunc);
    f << text;
    if (!f.flush()) Die("writing " + (path_ / name).string());
  }

 private:
  fs::path path_;
};

std::string ReadText(const fs::path& p) {
  auto r = steward::files::ReadFile(p, 1 << 30);
  if (!r) Die(r.error().message);
  return *r;
}

std::string SignBytes(const steward::minisign::SecretKey& key, std::string_view bytes) {
  auto sig = steward::minisign::SignBytes(
      key, bytes, steward::minisign::DefaultTrustedComment(0, "steward-bench"));
  if (!sig) Die("signing: " + sig.error().message);
  return sig->ToFile();
}

std::string TomlArray(const std::vector<std::string>& items) {
  std::string s = "[";
  for (const auto& i : items) s += (s.size() > 1 ? ", " : "") + json(i).dump();
  return s + "]";
}

// A root and release key, a root.json, the artifacts served over loopback HTTP by the common
// server, and signed manifests with rising sequence numbers.
class Releases {
 public:
  Releases(const TempDir& dir, const fs::path& bin) : dir_(dir), bin_(bin) {
    const auto expires = std::chrono::system_clock::now() + 24h;
    json root{{"schema", "steward.root/1"},
              {"version", 1},
              {"expires", steward::FormatRfc3339(expires)},
              {"keys",
               {{"root1", root_key_.public_key().ToBase64()},
                {"rel1", release_key_.public_key().ToBase64()}}},
              {"roles",
               {{"root", {{"keys", {"root1"}}, {"threshold", 1}}},
                {"release", {{"keys", {"rel1"}}, {"threshold", 1}}}}}};
    const std::string bytes = root.dump(2);
    dir_.Write("root.json", bytes);
    dir_.Write("root.json.root1.minisig", SignBytes(root_key_, bytes));
    fs::create_directories(dir_ / "blobs");

    steward::http::Router router;
    const fs::path blobs = dir_ / "blobs";
    router.Add("GET", "/artifacts/{sha}", [blobs](const steward::http::Request& r) {
      return steward::http::Response::File((blobs / r.params.at("sha")).string());
    });
    auto server =
        steward::http::Server::ListenTcp(steward::HostPort{"127.0.0.1", 0}, std::move(router));
    if (!server) Die("artifact server: " + server.error().message);
    server_ = std::move(*server);
    server_->Start();
  }
  ~Releases() { server_->Stop(0s); }
  Releases(const Releases&) = delete;
  Releases& operator=(const Releases&) = delete;

  fs::path root() const { return dir_ / "root.json"; }

  // Signs a manifest for agent `version` under the next sequence; returns its path.
  fs::path Manifest(const std::string& version) {
    const std::string binary = ReadText(bin_ / "releases" / version / "steward-agent");
    const std::string sha = HexEncode(steward::Sha256Of(binary));
    if (!fs::exists(dir_ / "blobs" / sha)) dir_.Write("blobs/" + sha, binary);
    const auto now = std::chrono::system_clock::now();
    ++sequence_;
    const json m{{"schema", "steward.release/1"},
                 {"component", "agent"},
                 {"channel", "stable"},
                 {"version", version},
                 {"sequence", sequence_},
                 {"root_version", 1},
                 {"issued_at", steward::FormatRfc3339(now - 1h)},
                 {"expires", steward::FormatRfc3339(now + 24h)},
                 {"artifacts",
                  {{"linux-x86_64",
                    {{"url", "http://" + server_->address() + "/artifacts/" + sha},
                     {"size", binary.size()},
                     {"sha256", sha},
                     {"format", "binary"}}}}}};
    const std::string name = "agent-" + std::to_string(sequence_) + ".json";
    const std::string bytes = m.dump(2);
    dir_.Write(name, bytes);
    dir_.Write(name + ".minisig", SignBytes(release_key_, bytes));
    return dir_ / name;
  }

 private:
  const TempDir& dir_;
  fs::path bin_;
  steward::minisign::SecretKey root_key_ = steward::minisign::SecretKey::Generate();
  steward::minisign::SecretKey release_key_ = steward::minisign::SecretKey::Generate();
  std::unique_ptr<steward::http::Server> server_;
  int sequence_ = 0;
};

// One switch seen from outside: polls GET /readyz on `port` as fast as is reasonable from before
// the old process stops until the new one (reporting `expect_version`) answers 200.
class Prober {
 public:
  struct Gap {
    double downtime_ms = 0;  // last 200 of the old process -> first 200 of the new one
    double stop_ms = 0;      // last 200 of the old process -> its exit
    double start_ms = 0;     // exit of the old process -> first 200 of the new one
  };

  Prober(int port, std::string expect_version, pid_t old_pid)
      : port_(port), expect_(std::move(expect_version)), pidfd_(PidFd(old_pid)) {
    if (pidfd_ < 0) Die("pidfd_open of the old agent: " + std::string(std::strerror(errno)));
    exit_watch_ = std::thread([this] {
      const auto deadline = Clock::now() + 40s;
      while (!give_up_ && Clock::now() < deadline) {
        if (WaitFd(pidfd_, POLLIN, 20)) {
          old_exit_ = Clock::now();
          return;
        }
      }
    });
    probe_ = std::thread([this] { Run(); });
  }
  ~Prober() {
    stop_ = true;
    give_up_ = true;
    if (probe_.joinable()) probe_.join();
    if (exit_watch_.joinable()) exit_watch_.join();
    ::close(pidfd_);
  }
  Prober(const Prober&) = delete;
  Prober& operator=(const Prober&) = delete;

  // Waits until the old process has answered 200 at least once.
  void WaitUp() {
    const auto deadline = Clock::now() + 10s;
    while (!up_) {
      if (Clock::now() > deadline) Die("the old agent never answered /readyz 200");
      std::this_thread::sleep_for(1ms);
    }
  }

  Gap Finish() {
    probe_.join();
    if (!done_) give_up_ = true;
    exit_watch_.join();
    if (!done_)
      Die("no 200 from agent " + expect_ + " on port " + std::to_string(port_) +
          " within 30 s of the switch (last version seen: '" + seen_ + "')");
    if (!old_exit_) Die("the old agent did not exit");
    return Gap{Ms(first_new_ - last_old_).count(), Ms(*old_exit_ - last_old_).count(),
               Ms(first_new_ - *old_exit_).count()};
  }

 private:
  void Run() {
    const auto deadline = Clock::now() + 30s;
    bool in_gap = false;
    while (!stop_ && Clock::now() < deadline) {
      const bool ok = Is200(Get(port_, "/readyz"));
      const auto now = Clock::now();
      if (ok && in_gap) {
        seen_ = AgentVersion(port_);
        if (seen_ == expect_) {
          first_new_ = now;
          done_ = true;
          return;
        }
        in_gap = false;  // a blip of the old process, not the switch
      }
      if (ok) {
        last_old_ = now;
        up_ = true;
      } else if (up_) {
        in_gap = true;
      }
      std::this_thread::sleep_for(250us);
    }
  }

  int port_;
  std::string expect_;
  int pidfd_;
  std::atomic<bool> stop_{false}, up_{false}, give_up_{false};
  bool done_ = false;
  std::string seen_;
  Clock::time_point last_old_{}, first_new_{};
  std::optional<Clock::time_point> old_exit_;
  std::thread probe_, exit_watch_;
};

// steward-updater running one managed agent component, driven through its CLI and local API.
class Updater {
 public:
  Updater(const TempDir& dir, const fs::path& bin, const fs::path& root, const fs::path& agent_cfg)
      : dir_(dir), bin_(bin) {
    dir_.Write("updater.toml",
               "state_dir = \"" + (dir_ / "state").string() + "\"\nsocket = \"" + socket() +
                   "\"\nlog_level = \"info\"\n[trust]\nroot = \"" + root.string() +
                   "\"\n[[component]]\nname = \"agent\"\nbinary = \"steward-agent\"\nargs = " +
                   TomlArray({"run", "--config", agent_cfg.string()}) +
                   "\nreadiness = \"notify\"\ngrace = \"200ms\"\nstart_timeout = \"10s\"\n"
                   "stop_timeout = \"10s\"\n");
    proc_.emplace(std::vector<std::string>{(bin_ / "steward-updater").string(), "run", "--config",
                                           (dir_ / "updater.toml").string()},
                  log());
    Await([](const json& s) { return s["updater"]["state"] == "running"; }, "to start");
  }

  std::string socket() const { return (dir_ / "updater.sock").string(); }
  fs::path log() const { return dir_ / "updater.log"; }

  json Status() const {
    steward::http::ClientOptions o;
    o.unix_socket = socket();
    o.timeout = 5s;
    steward::http::Client client(o);
    auto r = client.Get("http://localhost/v1/status");
    if (!r || r->status != 200) return nullptr;
    return json::parse(r->body, nullptr, false);
  }

  // Stops the updater (which stops its agent); an agent left behind by an updater that died
  // is killed too.
  ~Updater() {
    proc_.reset();
    if (agent_pid_ <= 0) return;
    std::error_code ec;
    const std::string exe = fs::read_symlink("/proc/" + std::to_string(agent_pid_) + "/exe", ec);
    if (!ec && exe.starts_with((dir_ / "state").string())) ::kill(agent_pid_, SIGKILL);
  }
  Updater(const Updater&) = delete;
  Updater& operator=(const Updater&) = delete;

  json Agent() {
    const json s = Status();
    if (s.is_object()) {
      for (const auto& c : s["components"]) {
        if (c["name"] != "agent") continue;
        if (c["pid"].is_number()) agent_pid_ = c["pid"].get<pid_t>();
        return c;
      }
    }
    return nullptr;
  }

  void Apply(const fs::path& manifest) {
    const fs::path out = dir_ / "apply.out";
    fs::remove(out);
    Proc cli(
        {(bin_ / "steward-updater").string(), "apply", "agent", "--manifest", manifest.string(),
         "--signature", manifest.string() + ".minisig", "--socket", socket()},
        out);
    const auto st = cli.Wait(30000);
    if (!st || !WIFEXITED(*st) || WEXITSTATUS(*st) != 0) {
      Die("steward-updater apply failed: " + ReadText(out));
    }
  }

  // Waits until `version` is committed and running; returns the agent's status entry.
  json AwaitCommitted(const std::string& version) {
    json unit;
    Await(
        [&](const json&) {
          unit = Agent();
          if (!unit.is_object() || !unit["update"].is_object()) return false;
          const json& u = unit["update"];
          if (u["to"] == version && u["result"].is_string() && u["result"] != "committed") {
            Die("the update to " + version + " ended " + u.dump());
          }
          return u["to"] == version && u["result"] == "committed" && unit["state"] == "running";
        },
        "to commit " + version);
    return unit;
  }

 private:
  template <typename Pred>
  void Await(Pred pred, const std::string& what) const {
    const auto deadline = Clock::now() + 30s;
    for (;;) {
      const json s = Status();
      if (s.is_object() && pred(s)) return;
      if (Clock::now() > deadline) {
        Die("steward-updater did not manage " + what + " within 30 s; its log:\n" +
            ReadText(log()));
      }
      std::this_thread::sleep_for(20ms);
    }
  }

  const TempDir& dir_;
  fs::path bin_;
  std::optional<Proc> proc_;
  pid_t agent_pid_ = -1;
};

// The updater's own account of each switch, from its log's millisecond timestamps: journal at
// `switching` -> links switched (`switched`) -> SIGTERM sent -> exit seen -> new process
// started. Only the last two steps fall inside the downtime.
struct LogSteps {
  std::vector<double> switch_ms, to_stop_ms, stop_ms, to_start_ms;
};

LogSteps ParseUpdaterLog(const std::string& text) {
  LogSteps out;
  auto ms_of = [](const std::string& line) -> double {
    // 2026-01-01T12:34:56.789 info …
    if (line.size() < 23 || line[10] != 'T') return -1;
    const double h = std::atof(line.substr(11, 2).c_str());
    const double m = std::atof(line.substr(14, 2).c_str());
    const double s = std::atof(line.substr(17, 6).c_str());
    return (h * 3600 + m * 60 + s) * 1000;
  };
  // < 0: not seen yet in this switch
  double switching = -1, switched = -1, sigterm = -1, exited = -1;
  std::size_t pos = 0;
  while (pos < text.size()) {
    const auto end = std::min(text.find('\n', pos), text.size());
    const std::string line = text.substr(pos, end - pos);
    pos = end + 1;
    const double t = ms_of(line);
    if (t < 0 || line.find("component=agent") == std::string::npos) continue;
    if (line.find(": staged -> switching") != std::string::npos) {
      switching = t;
      switched = sigterm = exited = -1;
    } else if (switching >= 0 && line.find(": switching -> switched") != std::string::npos) {
      switched = t;
    } else if (switched >= 0 && line.find("stopping (SIGTERM") != std::string::npos) {
      sigterm = t;
    } else if (sigterm >= 0 && line.find(" ended kind=requested") != std::string::npos) {
      exited = t;
    } else if (exited >= 0 && line.find(" started ") != std::string::npos) {
      out.switch_ms.push_back(switched - switching);
      out.to_stop_ms.push_back(sigterm - switched);
      out.stop_ms.push_back(exited - sigterm);
      out.to_start_ms.push_back(t - exited);
      switching = switched = sigterm = exited = -1;
    }
  }
  return out;
}

// The state directory's file system: its fsync latency is most of what the updater adds.
std::string FsType(const fs::path& p) {
  struct statfs st {};
  if (::statfs(p.c_str(), &st) != 0) return "?";
  switch (static_cast<unsigned long>(st.f_type)) {
    case 0xEF53:
      return "ext4";
    case 0x01021994:
      return "tmpfs";
    case 0x58465342:
      return "xfs";
    case 0x9123683E:
      return "btrfs";
    case 0x794C7630:
      return "overlayfs";
    default: {
      char hex[32];
      std::snprintf(hex, sizeof hex, "0x%lx", static_cast<unsigned long>(st.f_type));
      return hex;
    }
  }
}

double Median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

void Summary(const char* who, const std::vector<Prober::Gap>& gaps) {
  std::vector<double> down, stop, start;
  for (const auto& g : gaps) {
    down.push_back(g.downtime_ms);
    stop.push_back(g.stop_ms);
    start.push_back(g.start_ms);
  }
  std::printf(
      "%-9s downtime ms: min %.1f  median %.1f  max %.1f  (last 200 -> exit %.1f, exit -> first "
      "200 %.1f; medians)\n",
      who, *std::min_element(down.begin(), down.end()), Median(down),
      *std::max_element(down.begin(), down.end()), Median(stop), Median(start));
}

int Run(int argc, char** argv) {
  const int runs =
      std::getenv("BENCH_RUNS") ? std::max(1, std::atoi(std::getenv("BENCH_RUNS"))) : 21;
  const fs::path bin =
      argc > 1 ? fs::path(argv[1]) : fs::read_symlink("/proc/self/exe").parent_path();
  const std::string versions[2] = {"1.0.0", "1.1.0"};
  for (const auto& v : versions) {
    if (!fs::exists(bin / "releases" / v / "steward-agent")) {
      Die("no " + (bin / "releases" / v / "steward-agent").string() +
          ": build the agent releases first (cmake --build build --target steward_releases)");
    }
  }

  TempDir dir;
  Releases releases(dir, bin);
  const int port = FreePort();
  int base_port = FreePort();
  while (base_port == port) base_port = FreePort();
  auto agent_config = [&](const std::string& name, int p) {
    dir.Write(name + ".toml", "listen = \"127.0.0.1:" + std::to_string(p) + "\"\nstate_dir = \"" +
                                  (dir / (name + "-state")).string() +
                                  "\"\nlog_level = \"warn\"\n");
    return dir / (name + ".toml");
  };
  const fs::path steward_cfg = agent_config("agent", port);
  const fs::path baseline_cfg = agent_config("baseline-agent", base_port);

  Updater updater(dir, bin, releases.root(), steward_cfg);
  updater.Apply(releases.Manifest(versions[0]));
  updater.AwaitCommitted(versions[0]);
  auto baseline = std::make_unique<Proc>(
      std::vector<std::string>{(bin / "releases" / versions[0] / "steward-agent").string(), "run",
                               "--config", baseline_cfg.string()},
      dir / "baseline-agent.log");

  std::vector<Prober::Gap> steward_gaps, baseline_gaps;
  auto steward_switch = [&](const std::string& to) {
    const fs::path manifest = releases.Manifest(to);  // signing and fetching are not downtime
    const json unit = updater.Agent();
    if (!unit.is_object() || !unit["pid"].is_number()) Die("no agent pid in " + unit.dump());
    Prober probe(port, to, unit["pid"].get<pid_t>());
    probe.WaitUp();
    updater.Apply(manifest);
    steward_gaps.push_back(probe.Finish());
    updater.AwaitCommitted(to);
  };
  auto baseline_switch = [&](const std::string& to) {
    Prober probe(base_port, to, baseline->pid());
    probe.WaitUp();
    if (!baseline->Stop(SIGTERM, 15000)) Die("the baseline agent did not stop within 15 s");
    baseline = std::make_unique<Proc>(
        std::vector<std::string>{(bin / "releases" / to / "steward-agent").string(), "run",
                                 "--config", baseline_cfg.string()},
        dir / "baseline-agent.log");
    baseline_gaps.push_back(probe.Finish());
  };
  for (int i = 0; i < runs; ++i) {
    const std::string& to = versions[(i + 1) % 2];
    // Which goes first alternates too, so neither always runs in the other's wake.
    if (i % 2 == 0) {
      steward_switch(to);
      baseline_switch(to);
    } else {
      baseline_switch(to);
      steward_switch(to);
    }
  }

  std::printf("runs=%d, alternating agent %s <-> %s, state in %s (%s)\n", runs, versions[0].c_str(),
              versions[1].c_str(), dir.path().parent_path().c_str(), FsType(dir.path()).c_str());
  Summary("steward", steward_gaps);
  Summary("baseline", baseline_gaps);
  const LogSteps steps = ParseUpdaterLog(ReadText(updater.log()));
  std::printf(
      "updater log (ms resolution, medians of %zu): 'switching' journaled -> links switched "
      "%.0f, -> SIGTERM sent %.0f (the old version still serves), SIGTERM -> exit seen %.0f, "
      "exit seen -> new process started %.0f\n",
      steps.switch_ms.size(), Median(steps.switch_ms), Median(steps.to_stop_ms),
      Median(steps.stop_ms), Median(steps.to_start_ms));
  std::vector<double> s, b;
  for (const auto& g : steward_gaps) s.push_back(g.downtime_ms);
  for (const auto& g : baseline_gaps) b.push_back(g.downtime_ms);
  const double sm = Median(s), bm = Median(b);
  std::printf("BENCH\tupdate downtime (ms, median of %d)\t%.1f\t%.1f\t%.2f\t<= 1.05\n", runs, sm,
              bm, bm > 0 ? sm / bm : 0.0);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return Run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_update_downtime: %s\n", e.what());
    return 1;
  }
}
