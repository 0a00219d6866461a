#include "agent/process.hpp"

#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string_view>

extern char** environ;

namespace steward::agent {

namespace {

// Waits for `fd` to become readable for up to `timeout`; false on timeout.
bool WaitReadable(int fd, Duration timeout) {
  const auto ms = std::chrono::ceil<std::chrono::milliseconds>(std::max(timeout, Duration::zero()));
  pollfd p{fd, POLLIN, 0};
  for (;;) {
    const int n = ::poll(&p, 1, static_cast<int>(std::min<std::int64_t>(ms.count(), 1 << 30)));
    if (n < 0 && errno == EINTR) continue;
    return n > 0;
  }
}

bool InheritedFromUs(std::string_view entry) {
  for (std::string_view name : {"NOTIFY_SOCKET=", "WATCHDOG_USEC=", "WATCHDOG_PID="}) {
    if (entry.starts_with(name)) return false;
  }
  return true;
}

}  // namespace

Result<SignalFd> SignalFd::Open(std::initializer_list<int> signals) {
  sigset_t set;
  sigemptyset(&set);
  for (const int s : signals) sigaddset(&set, s);
  if (const int rc = ::pthread_sigmask(SIG_BLOCK, &set, nullptr); rc != 0)
    return std::unexpected(ErrnoError("block signals", rc));
  files::UniqueFd fd(::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK));
  if (!fd) return std::unexpected(ErrnoError("signalfd", errno));
  return SignalFd(std::move(fd));
}

std::vector<int> SignalFd::Wait(Duration timeout) {
  std::vector<int> out;
  if (!WaitReadable(fd_.Get(), timeout)) return out;
  signalfd_siginfo info{};
  while (::read(fd_.Get(), &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
    out.push_back(static_cast<int>(info.ssi_signo));
  }
  return out;
}

Result<ChildProcess> ChildProcess::SpawnSelf(const std::vector<std::string>& args) {
  std::vector<std::string> argv_strings{"/proc/self/exe"};
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_strings) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (char** e = environ; *e != nullptr; ++e) {
    if (InheritedFromUs(*e)) envp.push_back(*e);
  }
  envp.push_back(nullptr);

  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none;
  sigemptyset(&none);
  sigset_t defaults;
  sigemptyset(&defaults);
  for (const int s : {SIGTERM, SIGINT, SIGHUP, SIGCHLD, SIGPIPE}) sigaddset(&defaults, s);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  pid_t pid = -1;
  const int rc = ::posix_spawn(&pid, "/proc/self/exe", nullptr, &attr, argv.data(), envp.data());
  posix_spawnattr_destroy(&attr);
  if (rc != 0) {
    Error e = ErrnoError("spawn the standalone console", rc);
    e.code = ErrorCode::spawn_failed;
    return std::unexpected(e);
  }
  files::UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  return ChildProcess(pid, std::move(pidfd));
}

ChildProcess& ChildProcess::operator=(ChildProcess&& o) noexcept {
  if (this != &o) {
    if (pid_ > 0) Stop(std::chrono::seconds(5));
    pid_ = std::exchange(o.pid_, -1);
    pidfd_ = std::move(o.pidfd_);
  }
  return *this;
}

ChildProcess::~ChildProcess() {
  if (pid_ > 0) Stop(std::chrono::seconds(5));
}

std::optional<int> ChildProcess::Poll() {
  if (pid_ <= 0) return std::nullopt;
  int status = 0;
  const pid_t r = ::waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    pid_ = -1;
    pidfd_ = files::UniqueFd();
    return status;
  }
  return std::nullopt;
}

std::optional<int> ChildProcess::WaitFor(Duration timeout) {
  if (auto s = Poll()) return s;
  if (pidfd_) {
    WaitReadable(pidfd_.Get(), timeout);
  }
  return Poll();
}

int ChildProcess::Stop(Duration timeout) {
  if (pid_ <= 0) return 0;
  if (auto s = Poll()) return *s;
  ::kill(pid_, SIGTERM);
  if (auto s = WaitFor(timeout)) return *s;
  ::kill(pid_, SIGKILL);
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  pid_ = -1;
  pidfd_ = files::UniqueFd();
  return status;
}

std::string DescribeWaitStatus(int status) {
  if (WIFEXITED(status)) return "exit " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    return "signal " + std::to_string(WTERMSIG(status)) +
           (WCOREDUMP(status) ? " (core dumped)" : "");
  }
  return "status " + std::to_string(status);
}

}  // namespace steward::agent
