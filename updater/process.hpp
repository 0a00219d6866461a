// Starting, signalling and reaping supervised processes, and the other programs the updater
// runs. This header is the platform seam: it names what the supervisor and the daemon need, and
// process_posix.cpp is how POSIX does it (Boost.Process v2's vfork launcher, process groups,
// waitpid, /proc). A port to another platform adds its own process_<platform>.cpp.
//
// Each child runs in its own process tree (POSIX: its own process group), as its configured
// user, with its own args, environment and working directory, stdin on nothing, a clean signal
// state, and none of the updater's own NOTIFY_SOCKET / WATCHDOG_* variables.
//
// Process ids stay the platform's pid_t: they are recorded in the state database, shown by
// `status` and compared with a notify message's sender, all as this number.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "updater/exit_status.hpp"

namespace steward::updater {

struct SpawnSpec {
  std::string path;                        // absolute path of the program
  std::vector<std::string> args;           // without argv[0]
  std::map<std::string, std::string> env;  // the complete environment
  std::string working_dir;                 // empty: the root directory
  std::string user;                        // empty: the updater's user
  bool set_watchdog_pid = false;           // WATCHDOG_PID=<the child's own pid>
};

// What the supervisor asks of a process (POSIX: SIGTERM, SIGKILL, SIGABRT, SIGHUP).
enum class ProcessSignal {
  terminate,  // please stop
  kill,       // stop now, no say in it
  abort,      // stop with a core dump, to debug a hang (the watchdog)
  reload,     // read your configuration again
};

// The outside world of the supervisor: a fake records calls in unit tests.
class Launcher {
 public:
  virtual ~Launcher() = default;
  // Starts the program; its pid also names its process tree.
  virtual Result<pid_t> Spawn(const SpawnSpec& spec) = 0;
  // Sends `sig` to the process, or to its whole process tree.
  virtual void Signal(pid_t pid, ProcessSignal sig, bool tree) = 0;
};

// This platform's launcher (process_posix.cpp says what the child may do before it runs).
class SystemLauncher final : public Launcher {
 public:
  Result<pid_t> Spawn(const SpawnSpec& spec) override;
  void Signal(pid_t pid, ProcessSignal sig, bool tree) override;
};

// The updater's environment without the variables of its own service manager protocol
// (NOTIFY_SOCKET, WATCHDOG_USEC, WATCHDOG_PID, LISTEN_*), with `extra` added over it.
std::map<std::string, std::string> ChildEnvironment(
    const std::map<std::string, std::string>& extra);

struct Reaped {
  pid_t pid = -1;
  ProcessEnd status;
};

// Reaps every child that has ended, without blocking: supervised ones and orphaned
// grandchildren alike (the updater is a child subreaper).
std::vector<Reaped> ReapExited();

// A descriptor that becomes readable when `pid` ends (Linux: a pidfd), or -1 where the platform
// has none; the daemon's loop polls it. An fd, because that loop is a poll() loop.
int OpenPidfd(pid_t pid);

// True when `pid` is a live child of this process and leads its own process tree.
bool IsOurChildGroupLeader(pid_t pid);

// A component process left running by an updater that died (it is no longer our child, so it
// cannot be waited for): when `pid` is alive, leads its own process tree and runs a program
// whose path starts with `exe_prefix`, its tree is asked to stop, then killed after `timeout`.
// Blocks until it is gone (or 5 s after the kill). Returns true when it stopped one.
bool StopOrphanGroup(pid_t pid, const std::string& exe_prefix, std::chrono::milliseconds timeout);

// Runs `path` with `args` (clean signal state, ChildEnvironment()) and returns what it wrote to
// stdout once it closes it; killed and an error after `timeout`. The exit status is not waited
// for here: the daemon's loop reaps every child.
Result<std::string> RunForOutput(const std::string& path, const std::vector<std::string>& args,
                                 std::chrono::milliseconds timeout);

// Marks this process a child subreaper: orphaned grandchildren are re-parented to it.
Result<void> BecomeSubreaper();

// The oom_kill counter of this process's cgroup (cgroup v2 memory.events); nullopt when the
// kernel does not offer it.
std::optional<std::uint64_t> OomKillCount();

// The uid of account `user`; nullopt when there is no such account. A component's notify
// socket belongs to the uid it runs as.
std::optional<uid_t> UserId(const std::string& user);
// The uid the updater runs as.
uid_t OwnUserId();

}  // namespace steward::updater
