// The sending side of systemd's notify protocol: datagrams like "READY=1\nSTATUS=loading" to the
// unix socket named by $NOTIFY_SOCKET (a path, or "@name" for the abstract namespace). Used by
// the agent toward the updater and by the updater toward systemd. Without NOTIFY_SOCKET every
// call is a successful no-op, so programs work the same run by hand. Reading the environment and
// sending are the platform's (sd_notify_posix.cpp).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/clock.hpp"
#include "common/error.hpp"

namespace steward {

class Notifier {
 public:
  // Reads NOTIFY_SOCKET and WATCHDOG_USEC/WATCHDOG_PID from the environment.
  static Notifier FromEnvironment();
  explicit Notifier(std::string socket_path, std::optional<Duration> watchdog = std::nullopt)
      : socket_(std::move(socket_path)), watchdog_(watchdog) {}

  bool enabled() const { return !socket_.empty(); }
  // The watchdog interval systemd (or the updater) expects, when it expects one.
  std::optional<Duration> watchdog() const { return watchdog_; }

  // Sends `state` (one or more "KEY=value" lines) as one datagram.
  Result<void> Notify(std::string_view state) const;
  Result<void> Ready() const { return Notify("READY=1"); }
  Result<void> Status(std::string_view text) const;
  Result<void> Watchdog() const { return Notify("WATCHDOG=1"); }
  Result<void> Stopping() const { return Notify("STOPPING=1"); }

 private:
  std::string socket_;
  std::optional<Duration> watchdog_;
};

}  // namespace steward
