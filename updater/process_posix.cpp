// How POSIX starts, signals and reaps processes (process.hpp). Launching goes through
// Boost.Process v2; every child object is detached at once so destroying it never kills the
// process. Waiting, signalling and exit decoding are ours, on the raw wait status
// (exit_status_posix.hpp): Boost's plain exit code cannot tell "killed by signal 9" from
// "exited with 9".
#include "updater/process.hpp"

#define BOOST_PROCESS_USE_STD_FS 1

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

// Boost 1.81's Process v2 names boost::optional without including it under
// BOOST_PROCESS_USE_STD_FS.
#include <boost/optional.hpp>
#include <type_traits>
// clang-format off
#include <boost/asio/io_context.hpp>
#include <boost/process/v2/posix/vfork_launcher.hpp>
#include <boost/process/v2/process.hpp>
// clang-format on
#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>

#include "common/files.hpp"
#include "updater/exit_status_posix.hpp"

extern char** environ;

namespace steward::updater {

namespace bp = boost::process::v2;

namespace {

struct Identity {
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;
  std::string home;
};

Result<Identity> LookUpUser(const std::string& user) {
  std::vector<char> buf(16384);
  passwd pw{};
  passwd* found = nullptr;
  const int rc = ::getpwnam_r(user.c_str(), &pw, buf.data(), buf.size(), &found);
  if (rc != 0 || found == nullptr) {
    return Fail(ErrorCode::spawn_failed,
                "user '" + user + "' does not exist; set 'user' to an existing account");
  }
  Identity id;
  id.uid = pw.pw_uid;
  id.gid = pw.pw_gid;
  id.home = pw.pw_dir != nullptr ? pw.pw_dir : "/";
  int n = 64;
  id.groups.resize(static_cast<std::size_t>(n));
  if (::getgrouplist(user.c_str(), id.gid, id.groups.data(), &n) < 0) {
    id.groups.resize(static_cast<std::size_t>(n));
    ::getgrouplist(user.c_str(), id.gid, id.groups.data(), &n);
  }
  id.groups.resize(static_cast<std::size_t>(n));
  return id;
}

// Runs in the child between vfork and exec. The child shares the updater's memory (and its
// other threads go on running) until it execs: only raw system calls here, no allocation, no
// libc state. Credentials change through the system calls themselves: glibc's set*id would
// broadcast the change to the updater's own threads.
struct ChildSetup {
  const char* const* envp;
  const char* working_dir;
  const Identity* identity;  // nullptr: keep the updater's user
  char* watchdog_pid;        // digits buffer inside envp's "WATCHDOG_PID=" entry, or nullptr

  template <class Launcher>
  boost::system::error_code on_setup(Launcher& launcher, const std::filesystem::path&,
                                     const char* const*&) {
    launcher.env = envp;
    return {};
  }

  template <class Launcher>
  boost::system::error_code on_exec_setup(Launcher&, const std::filesystem::path&,
                                          const char* const*&) {
    auto fail = [] { return boost::system::error_code(errno, boost::system::system_category()); };
    if (::setpgid(0, 0) != 0) return fail();
    for (const int sig : {SIGPIPE, SIGTERM, SIGINT, SIGHUP, SIGCHLD}) ::signal(sig, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    const int null = ::open("/dev/null", O_RDONLY);
    if (null < 0) return fail();
    if (::dup2(null, 0) < 0) return fail();
    if (null != 0) ::close(null);
    if (identity != nullptr) {
      const gid_t g = identity->gid;
      const uid_t u = identity->uid;
      if (::syscall(SYS_setgroups, identity->groups.size(), identity->groups.data()) != 0 ||
          ::syscall(SYS_setresgid, g, g, g) != 0 || ::syscall(SYS_setresuid, u, u, u) != 0) {
        return fail();
      }
    }
    if (::chdir(working_dir) != 0) return fail();
    if (watchdog_pid != nullptr) {
      // Write our own pid into the reserved digits; the rest stays NUL.
      char digits[24];
      int n = 0;
      for (auto p = static_cast<unsigned long>(::getpid()); p > 0 && n < 20; p /= 10) {
        digits[n++] = static_cast<char>('0' + p % 10);
      }
      for (int i = 0; i < n; ++i) watchdog_pid[i] = digits[n - 1 - i];
      watchdog_pid[n] = '\0';
    }
    return {};
  }

  // Boost's launcher would call exit() next: atexit handlers and static destructors, run on
  // the updater's own memory. The error is already in the launcher's error_code, which the
  // parent reads once the child is gone. Boost 1.81 detects this hook by a five-argument
  // signature and calls it with four: both are declared.
  template <class Launcher>
  void on_exec_error(Launcher&, const std::filesystem::path&, const char* const*&,
                     const boost::system::error_code&) {
    ::_exit(127);
  }
  template <class Launcher>
  void on_exec_error(Launcher&, const boost::system::error_code&, const std::filesystem::path&,
                     const char* const*&, const boost::system::error_code&) {
    ::_exit(127);
  }
};

}  // namespace

Result<pid_t> SystemLauncher::Spawn(const SpawnSpec& spec) {
  std::optional<Identity> identity;
  if (!spec.user.empty()) {
    auto id = LookUpUser(spec.user);
    if (!id) return std::unexpected(id.error());
    if (::geteuid() != 0 && id->uid != ::geteuid()) {
      return Fail(ErrorCode::permission_denied,
                  "cannot run as user '" + spec.user +
                      "': the updater is not root; run it as root or clear 'user'");
    }
    identity = std::move(*id);
  }
  std::map<std::string, std::string> env = spec.env;
  env.erase("WATCHDOG_PID");
  if (identity) {
    // As a login would: the account's own name and home, not the updater's.
    env["USER"] = spec.user;
    env["LOGNAME"] = spec.user;
    env["HOME"] = identity->home;
  }
  std::vector<std::string> env_strings;
  env_strings.reserve(env.size() + 1);
  for (const auto& [k, v] : env) env_strings.push_back(k + "=" + v);
  std::size_t watchdog_index = env_strings.size();
  if (spec.set_watchdog_pid) env_strings.push_back("WATCHDOG_PID=" + std::string(22, '\0'));
  std::vector<const char*> envp;
  for (const auto& s : env_strings) envp.push_back(s.c_str());
  envp.push_back(nullptr);
  char* watchdog_digits = spec.set_watchdog_pid
                              ? env_strings[watchdog_index].data() + std::strlen("WATCHDOG_PID=")
                              : nullptr;
  const std::string dir = spec.working_dir.empty() ? "/" : spec.working_dir;
  ChildSetup setup{envp.data(), dir.c_str(), identity ? &*identity : nullptr, watchdog_digits};

  // vfork: the updater's page tables are not copied, and it waits only until the child execs.
  // A fresh context each time: Boost tells the context about the fork, and a context with no
  // reactor yet has nothing the child could change in the memory it shares with us.
  boost::asio::io_context context;  // never run; Boost.Process wants an executor
  boost::system::error_code ec;
  bp::posix::vfork_launcher launcher;
  bp::process proc =
      launcher(context.get_executor(), ec, std::filesystem::path(spec.path), spec.args, setup);
  if (ec) {
    return Fail(ErrorCode::spawn_failed,
                "cannot start " + spec.path + " (working directory " + dir + "): " + ec.message());
  }
  const pid_t pid = proc.id();
  proc.detach();  // destroying the handle must never kill the process
  return pid;
}

namespace {

int SignalNumber(ProcessSignal sig) {
  switch (sig) {
    case ProcessSignal::terminate:
      return SIGTERM;
    case ProcessSignal::kill:
      return SIGKILL;
    case ProcessSignal::abort:
      return SIGABRT;
    case ProcessSignal::reload:
      return SIGHUP;
  }
  return SIGTERM;
}

}  // namespace

void SystemLauncher::Signal(pid_t pid, ProcessSignal sig, bool tree) {
  if (pid <= 0) return;
  ::kill(tree ? -pid : pid, SignalNumber(sig));
}

std::map<std::string, std::string> ChildEnvironment(
    const std::map<std::string, std::string>& extra) {
  std::map<std::string, std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    const std::string_view kv(*e);
    const auto eq = kv.find('=');
    if (eq == std::string_view::npos) continue;
    const std::string key(kv.substr(0, eq));
    if (key == "NOTIFY_SOCKET" || key == "WATCHDOG_USEC" || key == "WATCHDOG_PID" ||
        key.starts_with("LISTEN_") || key == "STEWARD_FAILPOINTS") {
      continue;
    }
    env[key] = std::string(kv.substr(eq + 1));
  }
  for (const auto& [k, v] : extra) env[k] = v;
  return env;
}

std::vector<Reaped> ReapExited() {
  std::vector<Reaped> out;
  for (;;) {
    int status = 0;
    const pid_t pid = ::waitpid(-1, &status, WNOHANG);
    if (pid <= 0) break;
    if (WIFEXITED(status) || WIFSIGNALED(status)) {
      out.push_back({pid, ProcessEndFromWaitStatus(status)});
    }
  }
  return out;
}

int OpenPidfd(pid_t pid) {
#ifdef SYS_pidfd_open
  const long fd = ::syscall(SYS_pidfd_open, pid, 0);
  if (fd >= 0) {
    ::fcntl(static_cast<int>(fd), F_SETFD, FD_CLOEXEC);
    return static_cast<int>(fd);
  }
#else
  (void)pid;
#endif
  return -1;
}

namespace {

struct ProcStat {
  pid_t ppid = 0;
  pid_t pgrp = 0;
};

// Parent and process group of a live process; nullopt when it is gone or a zombie.
std::optional<ProcStat> ReadProcStat(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  // pid (comm) state ppid pgrp …; comm may hold spaces and parentheses: parse after the last ')'.
  const auto close = text.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream rest(text.substr(close + 1));
  char state = 0;
  long ppid = 0, pgrp = 0;
  if (!(rest >> state >> ppid >> pgrp) || state == 'Z') return std::nullopt;
  return ProcStat{static_cast<pid_t>(ppid), static_cast<pid_t>(pgrp)};
}

pid_t LiveGroupOf(pid_t pid) {
  const auto st = ReadProcStat(pid);
  return st ? st->pgrp : 0;
}

// Waits until `pid` is gone or `timeout` passed; true when gone.
bool WaitGone(pid_t pid, int pidfd, std::chrono::milliseconds timeout) {
  if (pidfd >= 0) {
    pollfd p{pidfd, POLLIN, 0};
    return ::poll(&p, 1, static_cast<int>(timeout.count())) > 0 || LiveGroupOf(pid) == 0;
  }
  // No pidfd: the kernel offers nothing to wait on for a process that is not our child.
  const auto until = std::chrono::steady_clock::now() + timeout;
  while (LiveGroupOf(pid) != 0) {
    if (std::chrono::steady_clock::now() >= until) return false;
    ::usleep(10000);
  }
  return true;
}

}  // namespace

Result<std::string> RunForOutput(const std::string& path, const std::vector<std::string>& args,
                                 std::chrono::milliseconds timeout) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return std::unexpected(ErrnoError("pipe", errno));
  files::UniqueFd read_end(fds[0]), write_end(fds[1]);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, write_end.Get(), STDOUT_FILENO);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t empty;
  sigemptyset(&empty);
  posix_spawnattr_setsigmask(&attr, &empty);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
  std::vector<std::string> argv_s{path};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_s;
  for (const auto& [k, v] : ChildEnvironment({})) env_s.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& e : env_s) envp.push_back(e.data());
  envp.push_back(nullptr);
  pid_t pid = 0;
  const int rc = ::posix_spawn(&pid, path.c_str(), &actions, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) return std::unexpected(ErrnoError("starting " + path, rc));
  write_end = files::UniqueFd();
  std::string out;
  const auto until = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        until - std::chrono::steady_clock::now());
    pollfd p{read_end.Get(), POLLIN, 0};
    if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) == 0) {
      ::kill(pid, SIGKILL);
      return Fail(ErrorCode::timeout,
                  path + " did not finish within " + std::to_string(timeout.count()) + " ms");
    }
    char buf[4096];
    const ssize_t n = ::read(read_end.Get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    if (out.size() < 65536) out.append(buf, static_cast<std::size_t>(n));
  }
  return out;
}

bool IsOurChildGroupLeader(pid_t pid) {
  if (pid <= 0) return false;
  const auto st = ReadProcStat(pid);
  return st && st->ppid == ::getpid() && st->pgrp == pid;
}

bool StopOrphanGroup(pid_t pid, const std::string& exe_prefix, std::chrono::milliseconds timeout) {
  if (pid <= 0 || LiveGroupOf(pid) != pid) return false;
  std::error_code ec;
  const std::string exe =
      std::filesystem::read_symlink("/proc/" + std::to_string(pid) + "/exe", ec);
  if (ec || exe_prefix.empty() || !exe.starts_with(exe_prefix)) return false;
  files::UniqueFd pidfd(OpenPidfd(pid));
  ::kill(-pid, SIGTERM);
  if (!WaitGone(pid, pidfd.Get(), timeout)) {
    ::kill(-pid, SIGKILL);
    (void)WaitGone(pid, pidfd.Get(), std::chrono::seconds(5));
  }
  return true;
}

Result<void> BecomeSubreaper() {
  if (::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0) {
    return std::unexpected(ErrnoError("prctl(PR_SET_CHILD_SUBREAPER)", errno));
  }
  return {};
}

std::optional<uid_t> UserId(const std::string& user) {
  auto id = LookUpUser(user);
  return id ? std::optional<uid_t>(id->uid) : std::nullopt;
}

uid_t OwnUserId() { return ::getuid(); }

std::optional<std::uint64_t> OomKillCount() {
  // Our cgroup does not change while we run: it is looked up once (the counter is read at
  // every spawn, on the path of a restart).
  static const std::string file = [] {
    std::ifstream cg("/proc/self/cgroup");
    std::string line;
    std::string path;
    while (std::getline(cg, line)) {
      if (line.starts_with("0::")) path = line.substr(3);
    }
    const std::string events = "/sys/fs/cgroup" + path + "/memory.events";
    std::error_code ec;
    return !path.empty() && std::filesystem::exists(events, ec) ? events : std::string();
  }();
  if (file.empty()) return std::nullopt;
  std::ifstream events(file);
  std::string key;
  std::uint64_t value = 0;
  while (events >> key >> value) {
    if (key == "oom_kill") return value;
  }
  return std::nullopt;
}

}  // namespace steward::updater
