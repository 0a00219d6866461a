// Starting and signalling supervised processes. Launching goes through Boost.Process v2; every
// child object is detached at once so destroying it never kills the process. Waiting, signalling
// and exit decoding are ours, on the raw wait status (see exit_status.hpp): Boost's plain exit
// code cannot tell "killed by signal 9" from "exited with 9".
//
// Each child runs in its own process group, as its configured user, with its own args,
// environment and working directory, stdin on /dev/null, a clean signal mask, and none of the
// updater's own NOTIFY_SOCKET / WATCHDOG_* variables.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/error.hpp"

namespace steward::updater {

struct SpawnSpec {
  std::string path;                        // absolute path of the program
  std::vector<std::string> args;           // without argv[0]
  std::map<std::string, std::string> env;  // the complete environment
  std::string working_dir;                 // empty: "/"
  std::string user;                        // empty: the updater's user
  bool set_watchdog_pid = false;           // WATCHDOG_PID=<the child's own pid>
};

// The outside world of the supervisor: a fake records calls in unit tests.
class Launcher {
 public:
  virtual ~Launcher() = default;
  // Starts the program; its pid is also its process group id.
  virtual Result<pid_t> Spawn(const SpawnSpec& spec) = 0;
  // Sends `sig` to the process, or to its whole process group.
  virtual void Signal(pid_t pid, int sig, bool group) = 0;
};

// Boost.Process v2's vfork launcher (see process.cpp for what the child may do).
class PosixLauncher final : public Launcher {
 public:
  Result<pid_t> Spawn(const SpawnSpec& spec) override;
  void Signal(pid_t pid, int sig, bool group) override;
};

// The updater's environment without the variables of its own service manager protocol
// (NOTIFY_SOCKET, WATCHDOG_USEC, WATCHDOG_PID, LISTEN_*), with `extra` added over it.
std::map<std::string, std::string> ChildEnvironment(
    const std::map<std::string, std::string>& extra);

struct Reaped {
  pid_t pid = -1;
  int status = 0;  // raw waitpid status
};

// Reaps every child that has ended, without blocking: supervised ones and orphaned
// grandchildren alike (the updater is a child subreaper).
std::vector<Reaped> ReapExited();

// A pidfd for `pid` (readable when it ends), or -1 where the kernel has none.
int OpenPidfd(pid_t pid);

// True when `pid` is a live child of this process and leads its own process group.
bool IsOurChildGroupLeader(pid_t pid);

// A component process left running by an updater that died (it is no longer our child, so it
// cannot be waited for): when `pid` is alive, leads its own process group and runs a program
// whose path starts with `exe_prefix`, its group gets SIGTERM, then SIGKILL after `timeout`.
// Blocks until it is gone (or 5 s after the SIGKILL). Returns true when it stopped one.
bool StopOrphanGroup(pid_t pid, const std::string& exe_prefix, std::chrono::milliseconds timeout);

// Runs `path` with `args` (clean signal mask, ChildEnvironment()) and returns what it wrote to
// stdout once it closes it; killed and an error after `timeout`. The exit status is not waited
// for here: the daemon's loop reaps every child.
Result<std::string> RunForOutput(const std::string& path, const std::vector<std::string>& args,
                                 std::chrono::milliseconds timeout);

// Marks this process a child subreaper: orphaned grandchildren are re-parented to it.
Result<void> BecomeSubreaper();

// The oom_kill counter of this process's cgroup (cgroup v2 memory.events); nullopt when the
// kernel does not offer it.
std::optional<std::uint64_t> OomKillCount();

}  // namespace steward::updater
