// The notify socket on POSIX: a unix datagram socket per component. The kernel attaches the
// sender's credentials (SO_PASSCRED); file descriptors passed along (systemd-notify's
// BARRIER=1) are closed, which releases the sender.
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "updater/notify_socket.hpp"

namespace steward::updater {

Result<NotifySocket> NotifySocket::Bind(const std::string& path, std::optional<uid_t> owner) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof(addr.sun_path)) {
    return Fail(ErrorCode::notify_socket, "notify socket path '" + path + "' is longer than " +
                                              std::to_string(sizeof(addr.sun_path) - 1) +
                                              " bytes; choose a shorter 'socket' directory");
  }
  std::memcpy(addr.sun_path, path.data(), path.size());
  files::UniqueFd fd(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd) return std::unexpected(ErrnoError("notify socket", errno));
  const int one = 1;
  if (::setsockopt(fd.Get(), SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) != 0) {
    return std::unexpected(ErrnoError("notify socket SO_PASSCRED", errno));
  }
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      return Fail(ErrorCode::notify_socket,
                  "notify socket path '" + path + "' exists and is not a socket; remove it");
    }
    ::unlink(path.c_str());
  }
  if (::bind(fd.Get(), reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0) {
    Error e = ErrnoError("bind notify socket " + path, errno);
    e.code = ErrorCode::notify_socket;
    return std::unexpected(e);
  }
  if (owner && ::chown(path.c_str(), *owner, static_cast<gid_t>(-1)) != 0) {
    return std::unexpected(ErrnoError("chown notify socket " + path, errno));
  }
  if (::chmod(path.c_str(), 0600) != 0) {
    return std::unexpected(ErrnoError("chmod notify socket " + path, errno));
  }
  return NotifySocket(std::move(fd), path);
}

NotifySocket::~NotifySocket() {
  if (fd_ && !path_.empty()) ::unlink(path_.c_str());
}

Result<std::optional<Datagram>> NotifySocket::Receive() {
  char buf[kMaxNotifyDatagram + 1];
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(ucred)) + CMSG_SPACE(sizeof(int) * 16)];
  iovec iov{buf, sizeof(buf)};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof(control);
  const ssize_t n = ::recvmsg(fd_.Get(), &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC | MSG_TRUNC);
  if (n < 0) {
    if (errno == EAGAIN || errno == EINTR) return std::nullopt;
    return std::unexpected(ErrnoError("receive on notify socket " + path_, errno));
  }
  Datagram d;
  bool have_creds = false;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET) continue;
    if (c->cmsg_type == SCM_CREDENTIALS && c->cmsg_len == CMSG_LEN(sizeof(ucred))) {
      ucred cred{};
      std::memcpy(&cred, CMSG_DATA(c), sizeof(cred));
      d.pid = cred.pid;
      d.uid = cred.uid;
      d.gid = cred.gid;
      have_creds = true;
    } else if (c->cmsg_type == SCM_RIGHTS) {
      // systemd-notify's BARRIER=1 passes a pipe and waits until we close it.
      const std::size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      for (std::size_t i = 0; i < count; ++i) {
        int passed = -1;
        std::memcpy(&passed, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
        if (passed >= 0) ::close(passed);
      }
    }
  }
  if ((msg.msg_flags & MSG_CTRUNC) != 0) {
    return Fail(ErrorCode::notify_socket,
                "notify message on " + path_ + " carried more control data than allowed; dropped");
  }
  if (static_cast<std::size_t>(n) > kMaxNotifyDatagram || (msg.msg_flags & MSG_TRUNC) != 0) {
    return Fail(ErrorCode::notify_socket, "notify message of " + std::to_string(n) + " bytes on " +
                                              path_ + " is larger than " +
                                              std::to_string(kMaxNotifyDatagram) + "; dropped");
  }
  if (!have_creds || d.pid <= 0) {
    return Fail(ErrorCode::notify_socket,
                "notify message on " + path_ + " came without sender credentials; dropped");
  }
  d.text.assign(buf, static_cast<std::size_t>(n));
  return d;
}

bool SenderIsChild(const Datagram& d, pid_t main_pid, uid_t uid) {
  if (main_pid <= 0) return false;
  if (d.uid != uid && d.uid != 0) return false;
  if (d.pid == main_pid) return true;
  const pid_t group = ::getpgid(d.pid);
  return group == main_pid;
}

}  // namespace steward::updater
