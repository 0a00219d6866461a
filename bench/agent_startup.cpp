// How fast steward-agent becomes useful and goes away, against plain tools run side by side:
//   exec -> /healthz 200   vs python3 -m http.server   exec -> first 200
//   exec -> READY=1        vs systemd-notify --ready   exec -> READY=1 (the floor: spawn + send)
//   SIGTERM -> exit        vs python3 -m http.server   SIGTERM -> exit (no graceful stop at all)
// Medians over BENCH_RUNS runs (default 15). Prints BENCH lines (see tools/bench.sh).
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using Ms = std::chrono::duration<double, std::milli>;

int FreePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

// One GET on a fresh connection; true on a 200.
bool Get200(int port, const char* path) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = false;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
    const std::string req =
        std::string("GET ") + path + " HTTP/1.1\r\nHost: b\r\nConnection: close\r\n\r\n";
    if (::send(fd, req.data(), req.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(req.size())) {
      char buf[64] = {};
      const ssize_t n = ::recv(fd, buf, sizeof buf - 1, 0);
      ok = n > 12 && std::strncmp(buf + 9, "200", 3) == 0;
    }
  }
  ::close(fd);
  return ok;
}

struct Proc {
  pid_t pid = -1;
  int pidfd = -1;
};

Proc Spawn(const std::vector<std::string>& args, const std::vector<std::string>& extra_env) {
  std::vector<std::string> env_strings(extra_env);
  for (char** e = environ; *e != nullptr; ++e) env_strings.emplace_back(*e);
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> a(args);
  std::vector<char*> argv;
  for (auto& s : a) argv.push_back(s.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  Proc p;
  if (::posix_spawn(&p.pid, argv[0], &fa, nullptr, argv.data(), envp.data()) != 0) {
    std::perror(argv[0]);
    std::exit(1);
  }
  posix_spawn_file_actions_destroy(&fa);
  p.pidfd = static_cast<int>(::syscall(SYS_pidfd_open, p.pid, 0));
  return p;
}

// Sends `sig` and returns how long the process took to exit (killed after 10 s).
Ms StopTime(Proc& p, int sig) {
  const auto t0 = Clock::now();
  ::kill(p.pid, sig);
  pollfd pf{p.pidfd, POLLIN, 0};
  if (::poll(&pf, 1, 10000) <= 0) ::kill(p.pid, SIGKILL);
  const auto t1 = Clock::now();
  int st = 0;
  ::waitpid(p.pid, &st, 0);
  ::close(p.pidfd);
  return t1 - t0;
}

Ms TimeTo200(int port, const char* path, Clock::time_point t0) {
  const auto deadline = t0 + std::chrono::seconds(20);
  while (!Get200(port, path)) {
    if (Clock::now() > deadline) {
      std::fprintf(stderr, "no 200 on port %d within 20 s\n", port);
      std::exit(1);
    }
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  return Clock::now() - t0;
}

class NotifySocket {
 public:
  explicit NotifySocket(const fs::path& path) : path_(path) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::strncpy(a.sun_path, path.c_str(), sizeof a.sun_path - 1);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
  }
  ~NotifySocket() {
    ::close(fd_);
    ::unlink(path_.c_str());
  }
  // Time from t0 until a datagram containing READY=1.
  Ms TimeToReady(Clock::time_point t0) {
    char buf[4096];
    for (;;) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 20000) <= 0) {
        std::fprintf(stderr, "no READY=1 within 20 s\n");
        std::exit(1);
      }
      const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n > 0 && std::string_view(buf, static_cast<std::size_t>(n)).find("READY=1") !=
                       std::string_view::npos) {
        return Clock::now() - t0;
      }
    }
  }

 private:
  fs::path path_;
  int fd_ = -1;
};

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

void Report(const char* figure, double value, double baseline, const char* goal) {
  std::printf("BENCH\t%s\t%.2f ms\t%.2f ms\t%.2f\t%s\n", figure, value, baseline,
              baseline > 0 ? value / baseline : 0.0, goal);
}

}  // namespace

int main() {
  const int runs =
      std::getenv("BENCH_RUNS") ? std::max(1, std::atoi(std::getenv("BENCH_RUNS"))) : 15;
  const fs::path bin = fs::read_symlink("/proc/self/exe").parent_path();
  const std::string agent = (bin / "steward-agent").string();
  char tmpl[] = "/tmp/steward-bench-XXXXXX";
  const fs::path dir = ::mkdtemp(tmpl);

  std::vector<double> agent_health, agent_ready, agent_stop, py_health, py_stop, notify_ready;
  for (int i = 0; i < runs; ++i) {
    const int port = FreePort();
    const fs::path cfg = dir / "agent.toml";
    std::ofstream(cfg) << "listen = \"127.0.0.1:" << port << "\"\nstate_dir = \""
                       << (dir / "state").string() << "\"\nlog_level = \"warn\"\n";
    {
      NotifySocket notify(dir / "notify.sock");
      const auto t0 = Clock::now();
      Proc p = Spawn({agent, "run", "--config", cfg.string()},
                     {"NOTIFY_SOCKET=" + (dir / "notify.sock").string()});
      agent_health.push_back(TimeTo200(port, "/healthz", t0).count());
      agent_ready.push_back(notify.TimeToReady(t0).count());
      agent_stop.push_back(StopTime(p, SIGTERM).count());
    }
    {
      NotifySocket notify(dir / "notify.sock");
      const auto t0 = Clock::now();
      Proc p = Spawn({"/usr/bin/systemd-notify", "--ready"},
                     {"NOTIFY_SOCKET=" + (dir / "notify.sock").string()});
      notify_ready.push_back(notify.TimeToReady(t0).count());
      int st = 0;
      ::waitpid(p.pid, &st, 0);
      ::close(p.pidfd);
    }
    {
      const int py_port = FreePort();
      const auto t0 = Clock::now();
      Proc p = Spawn({"/usr/bin/python3", "-m", "http.server", std::to_string(py_port), "--bind",
                      "127.0.0.1", "--directory", dir.string()},
                     {});
      py_health.push_back(TimeTo200(py_port, "/", t0).count());
      py_stop.push_back(StopTime(p, SIGTERM).count());
    }
  }
  fs::remove_all(dir);
  std::printf("runs=%d (medians)\n", runs);
  Report("agent exec->/healthz 200", Median(agent_health), Median(py_health),
         "<= python3 http.server");
  Report("agent exec->READY=1 (state loaded)", Median(agent_ready), Median(notify_ready),
         "< 100 ms");
  Report("agent SIGTERM->exit 0 (graceful)", Median(agent_stop), Median(py_stop), "< 100 ms");
  return 0;
}
