// The signals the daemon acts on, read as events by its loop rather than handled
// asynchronously: SIGTERM and SIGINT stop it, SIGHUP asks for a configuration reload, and a
// child's exit (SIGCHLD) only wakes the loop, which reaps on every turn. The POSIX way to catch
// them is in signals_posix.cpp; another platform adds its own file.
#pragma once

#include <memory>
#include <string_view>
#include <vector>

#include "common/error.hpp"

namespace steward::updater {

struct DaemonSignal {
  enum class Kind { stop, reload };
  Kind kind;
  std::string_view name;  // "SIGTERM", for the log
};

class Signals {
 public:
  virtual ~Signals() = default;
  // Readable when a signal arrived: the loop waits on it.
  virtual int fd() const = 0;
  // The stop and reload signals received since the last call, oldest first.
  virtual std::vector<DaemonSignal> Take() = 0;
};

// Catches the daemon's signals for the returned object and ignores SIGPIPE (a client that went
// away is an error on that write, not the end of the updater). Call before any thread starts:
// the signals are blocked, and every later thread inherits that (children get a clean mask
// back: process.cpp).
Result<std::unique_ptr<Signals>> CatchDaemonSignals();

}  // namespace steward::updater
