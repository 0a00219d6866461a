// The HTTP helper's stream and start on POSIX (http_helper_channel.hpp).
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "common/http_helper_channel.hpp"

extern char** environ;

namespace steward::http::helper {

namespace {

constexpr int kHelperFd = 3;  // where the helper finds its end (updater_main's http-helper)

}  // namespace

bool WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

ReadStatus ReadFull(int fd, char* buf, std::size_t n, int wait_ms) {
  while (n > 0) {
    const ssize_t got = ::recv(fd, buf, n, MSG_DONTWAIT);
    if (got > 0) {
      buf += got;
      n -= static_cast<std::size_t>(got);
      continue;
    }
    if (got == 0) return ReadStatus::eof;
    if (errno == EINTR) continue;
    if (errno != EAGAIN) return ReadStatus::error;
    pollfd p{fd, POLLIN, 0};
    const int ready = ::poll(&p, 1, wait_ms);
    if (ready < 0 && errno != EINTR) return ReadStatus::error;
    if (ready == 0) return ReadStatus::timeout;
  }
  return ReadStatus::ok;
}

Result<files::UniqueFd> StartHelper(const std::vector<std::string>& argv, std::string name) {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
    return std::unexpected(ErrnoError("socketpair for the HTTP helper", errno));
  }
  files::UniqueFd ours(sv[0]);
  files::UniqueFd theirs(sv[1]);
  // Room for a few body chunks in flight, fewer wake-ups per download (beyond wmem_max only
  // with CAP_NET_ADMIN, which the updater usually has).
  for (const int fd : sv) {
    const int bytes = 4 << 20;
    if (::setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &bytes, sizeof bytes) != 0) {
      (void)::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bytes, sizeof bytes);
    }
  }
  // dup2 onto the same number would leave close-on-exec set: keep the child's end off fd 3.
  if (theirs.Get() == kHelperFd) {
    theirs = files::UniqueFd(::fcntl(theirs.Get(), F_DUPFD_CLOEXEC, kHelperFd + 1));
  }
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, theirs.Get(), kHelperFd);
  posix_spawnattr_init(&attr);
  // The caller may block signals for a signalfd, or ignore them: the helper starts clean.
  sigset_t none, defaults;
  sigemptyset(&none);
  sigemptyset(&defaults);
  for (const int sig : {SIGPIPE, SIGTERM, SIGINT, SIGHUP, SIGCHLD}) sigaddset(&defaults, sig);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  if (!name.empty()) args[0] = name.data();
  args.push_back(nullptr);
  pid_t pid = 0;
  const int rc = ::posix_spawn(&pid, argv[0].c_str(), &actions, &attr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) return std::unexpected(ErrnoError("start the HTTP helper " + argv[0], rc));
  // Not waited for here: the updater's loop reaps every child, and waiting by pid could take
  // a reused pid's status.
  return ours;
}

}  // namespace steward::http::helper
