// Sending a notify message on POSIX: a datagram to the unix socket NOTIFY_SOCKET names, with
// the kernel attaching our credentials.
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>

#include "common/files.hpp"
#include "common/sd_notify.hpp"

namespace steward {

Notifier Notifier::FromEnvironment() {
  const char* socket = std::getenv("NOTIFY_SOCKET");
  std::optional<Duration> watchdog;
  const char* usec = std::getenv("WATCHDOG_USEC");
  const char* pid = std::getenv("WATCHDOG_PID");
  // WATCHDOG_PID, when set, names the process the watchdog applies to (not a forked child).
  bool ours = true;
  if (pid != nullptr && *pid != '\0') {
    long value = 0;
    const auto [p, ec] = std::from_chars(pid, pid + std::strlen(pid), value);
    ours = ec == std::errc{} && value == ::getpid();
  }
  if (usec != nullptr && ours) {
    std::uint64_t value = 0;
    const auto [p, ec] = std::from_chars(usec, usec + std::strlen(usec), value);
    if (ec == std::errc{} && *p == '\0' && value > 0) watchdog = std::chrono::microseconds(value);
  }
  return Notifier(socket != nullptr ? socket : "", watchdog);
}

Result<void> Notifier::Notify(std::string_view state) const {
  if (socket_.empty()) return {};
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socket_.size() >= sizeof(addr.sun_path) || (socket_[0] != '/' && socket_[0] != '@')) {
    return Fail(ErrorCode::notify_socket,
                "NOTIFY_SOCKET '" + socket_ + "' is not an absolute path or @abstract name");
  }
  std::memcpy(addr.sun_path, socket_.data(), socket_.size());
  if (socket_[0] == '@') addr.sun_path[0] = '\0';
  const auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + socket_.size());
  files::UniqueFd fd(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!fd) return std::unexpected(ErrnoError("notify socket", errno));
  // sendto on an unconnected datagram socket: the kernel attaches our credentials, which the
  // receiver checks (SO_PASSCRED) to know the message is really from its child.
  if (::sendto(fd.Get(), state.data(), state.size(), MSG_NOSIGNAL,
               reinterpret_cast<const sockaddr*>(&addr), len) < 0) {
    Error e = ErrnoError("notify " + socket_, errno);
    e.code = ErrorCode::notify_socket;
    return std::unexpected(e);
  }
  return {};
}

}  // namespace steward
