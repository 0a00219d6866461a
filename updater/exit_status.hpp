// Why a supervised process ended: the raw wait status plus what the supervisor knows (it asked
// for the stop, the watchdog or start timeout fired, the child never became ready) decide one
// ExitKind (ARCHITECTURE §4). Decoded from the raw status, never from a plain "exit code" that
// cannot tell "killed by signal 9" from "exited with 9".
#pragma once

#include <optional>
#include <string>

#include "common/clock.hpp"
#include "common/codes.hpp"
#include "common/protocol.hpp"

namespace steward::updater {

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
  // "exit code 3", "signal 11 (SIGSEGV, core dumped)".
  std::string Describe() const;
};

// Classifies a raw waitpid() status.
ExitInfo ClassifyExit(int wait_status, const ExitContext& context);

// Kinds that count toward backoff and crash loops.
bool IsFailure(ExitKind kind);

// "SIGSEGV" for 11; "signal 42" for numbers without a name.
std::string SignalName(int signal);

}  // namespace steward::updater
