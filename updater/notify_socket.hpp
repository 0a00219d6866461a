// The receiving side of systemd's sd_notify protocol, one socket per component: datagrams of
// "KEY=value" lines (READY=1, STATUS=…, WATCHDOG=1, STOPPING=1, EXTEND_TIMEOUT_USEC=…). Any
// Type=notify daemon, and systemd-notify itself, work unchanged. The system vouches for each
// sender (its pid and uid); a message counts only when it comes from the child or a process of
// the child's process tree, running as the child's user (or root).
//
// Parsing is notify_socket.cpp; the socket itself is notify_socket_posix.cpp. The socket shows
// its fd(): the daemon's loop polls it with the children's pidfds and the API's socket. Senders
// are named by the platform's pid and uid, the numbers the supervisor already keeps.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>

#include "common/clock.hpp"
#include "common/error.hpp"
#include "common/files.hpp"

namespace steward::updater {

// systemd's limit for one message (PIPE_BUF).
inline constexpr std::size_t kMaxNotifyDatagram = 4096;

struct NotifyMessage {
  bool ready = false;
  bool watchdog = false;
  bool stopping = false;
  bool watchdog_trigger = false;           // WATCHDOG=trigger: act as if the watchdog fired
  std::optional<std::string> status;       // STATUS=
  std::optional<Duration> extend_timeout;  // EXTEND_TIMEOUT_USEC=
};

// Parses one datagram. Unknown keys are ignored (as systemd does); a line without '=', a
// malformed value for a known key, NUL bytes or more than 4096 bytes are errors.
Result<NotifyMessage> ParseNotify(std::string_view datagram);

struct Datagram {
  std::string text;
  pid_t pid = 0;  // sender's credentials, from the kernel
  uid_t uid = 0;
  gid_t gid = 0;
};

class NotifySocket {
 public:
  // Binds a datagram socket at `path` (replacing a stale one), readable by `owner` only
  // (mode 0600, owned by that uid when given).
  static Result<NotifySocket> Bind(const std::string& path, std::optional<uid_t> owner);
  NotifySocket(NotifySocket&&) noexcept = default;
  NotifySocket& operator=(NotifySocket&&) noexcept = default;
  ~NotifySocket();

  int fd() const { return fd_.Get(); }
  const std::string& path() const { return path_; }
  // One pending datagram, nullopt when none is waiting. Datagrams without credentials or
  // truncated ones are errors (the caller logs and drops them).
  Result<std::optional<Datagram>> Receive();

 private:
  NotifySocket(files::UniqueFd fd, std::string path) : fd_(std::move(fd)), path_(std::move(path)) {}
  files::UniqueFd fd_;
  std::string path_;
};

// True when the sender is the child (`main_pid`) or in its process tree, and runs as `uid` or
// root.
bool SenderIsChild(const Datagram& d, pid_t main_pid, uid_t uid);

}  // namespace steward::updater
