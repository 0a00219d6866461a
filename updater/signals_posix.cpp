// The daemon's signals through a signalfd: blocked in every thread, read by the loop.
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>

#include "common/files.hpp"
#include "updater/signals.hpp"

namespace steward::updater {

namespace {

class SignalFd final : public Signals {
 public:
  explicit SignalFd(files::UniqueFd fd) : fd_(std::move(fd)) {}
  int fd() const override { return fd_.Get(); }
  std::vector<DaemonSignal> Take() override {
    std::vector<DaemonSignal> out;
    signalfd_siginfo si{};
    while (::read(fd_.Get(), &si, sizeof(si)) == static_cast<ssize_t>(sizeof(si))) {
      if (si.ssi_signo == SIGTERM) out.push_back({DaemonSignal::Kind::stop, "SIGTERM"});
      if (si.ssi_signo == SIGINT) out.push_back({DaemonSignal::Kind::stop, "SIGINT"});
      if (si.ssi_signo == SIGHUP) out.push_back({DaemonSignal::Kind::reload, "SIGHUP"});
    }
    return out;
  }

 private:
  files::UniqueFd fd_;
};

}  // namespace

Result<std::unique_ptr<Signals>> CatchDaemonSignals() {
  sigset_t mask;
  sigemptyset(&mask);
  for (const int sig : {SIGTERM, SIGINT, SIGHUP, SIGCHLD}) sigaddset(&mask, sig);
  ::pthread_sigmask(SIG_BLOCK, &mask, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
  files::UniqueFd fd(::signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK));
  if (!fd) return Fail(ErrorCode::internal, "signalfd: " + ErrnoMessage("signalfd", errno));
  return std::make_unique<SignalFd>(std::move(fd));
}

}  // namespace steward::updater
