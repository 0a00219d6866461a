// The agent's dealings with the operating system's process machinery: signals read from a
// signalfd in the main loop (no work in async signal handlers), and the standalone console
// child it starts and stops.
#pragma once

#include <sys/types.h>

#include <initializer_list>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.hpp"
#include "common/error.hpp"
#include "common/files.hpp"

namespace steward::agent {

class SignalFd {
 public:
  // Blocks `signals` in the calling thread (threads started later inherit the mask) and opens a
  // signalfd for them. Call before starting any thread.
  static Result<SignalFd> Open(std::initializer_list<int> signals);
  int fd() const { return fd_.Get(); }
  // Waits up to `timeout` for signals; returns those that arrived (empty on timeout).
  std::vector<int> Wait(Duration timeout);

 private:
  explicit SignalFd(files::UniqueFd fd) : fd_(std::move(fd)) {}
  files::UniqueFd fd_;
};

// A child process running this same program (/proc/self/exe) with `args`, with the signal mask
// cleared and NOTIFY_SOCKET/WATCHDOG_* removed from its environment (its readiness is not ours
// to report).
class ChildProcess {
 public:
  static Result<ChildProcess> SpawnSelf(const std::vector<std::string>& args);
  ChildProcess(ChildProcess&& o) noexcept
      : pid_(std::exchange(o.pid_, -1)), pidfd_(std::move(o.pidfd_)) {}
  ChildProcess& operator=(ChildProcess&& o) noexcept;
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  // Stops the child (SIGTERM, then SIGKILL after 5 s) if it still runs.
  ~ChildProcess();

  pid_t pid() const { return pid_; }
  // The raw wait status if the child has exited (it is reaped); nullopt while it runs.
  std::optional<int> Poll();
  // SIGTERM, waits up to `timeout`, then SIGKILL. Returns the wait status.
  int Stop(Duration timeout);

 private:
  ChildProcess(pid_t pid, files::UniqueFd pidfd) : pid_(pid), pidfd_(std::move(pidfd)) {}
  std::optional<int> WaitFor(Duration timeout);
  pid_t pid_ = -1;
  files::UniqueFd pidfd_;
};

// "exit 3", "signal 6 (core dumped)" for a raw wait status.
std::string DescribeWaitStatus(int status);

}  // namespace steward::agent
