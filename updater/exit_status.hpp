// Why a supervised process ended: how it ended (ProcessEnd, as the platform reports it) plus what
// the supervisor knows (it asked for the stop, the watchdog or start timeout fired, the child
// never became ready) decide one ExitKind (ARCHITECTURE §4). An exit code and a terminating
// signal are kept apart, never folded into a plain "exit code" that cannot tell "killed by
// signal 9" from "exited with 9". What a signal number means is the platform's
// (exit_status_posix.cpp).
#pragma once

#include <optional>
#include <string>

#include "common/clock.hpp"
#include "common/codes.hpp"
#include "common/protocol.hpp"

namespace steward::updater {

// How a process ended: the code it exited with, or the signal that ended it.
struct ProcessEnd {
  std::optional<int> code;
  std::optional<int> signal;
  bool core_dumped = false;

  // "exit code 3", "signal 11 (SIGSEGV, core dumped)".
  std::string Describe() const;
};

// What the supervisor knew when the process ended.
struct ExitContext {
  bool stop_requested = false;   // we sent the stop (intent persisted first)
  bool watchdog_fired = false;   // no WATCHDOG=1 in time; we killed it
  bool start_timed_out = false;  // not ready within start_timeout; we killed it
  bool was_ready = true;         // it had signalled readiness before it ended
  bool oom_killed = false;       // the cgroup's oom_kill counter rose meanwhile
};

// The fields are what check-ins and status carry (common/protocol.hpp).
struct ExitInfo : protocol::ExitInfo {
  // "exit code 3", "signal 11 (SIGSEGV, core dumped)", "signal 9 (SIGKILL, out of memory)".
  std::string Describe() const;
};

ExitInfo ClassifyExit(const ProcessEnd& end, const ExitContext& context);

// Kinds that count toward backoff and crash loops.
bool IsFailure(ExitKind kind);

// Who a terminating signal came from, as far as its number tells.
enum class SignalOrigin {
  outside,  // someone asked it to end (SIGTERM, SIGINT, SIGHUP, a closed pipe)
  kill,     // it was killed outright (SIGKILL: an operator, or the kernel out of memory)
  fault,    // it crashed (SIGSEGV, SIGABRT, SIGBUS, … every other fatal signal)
};
SignalOrigin OriginOfSignal(int signal);

// "SIGSEGV" for 11; "signal 42" for numbers without a name.
std::string SignalName(int signal);

}  // namespace steward::updater
