// The event loop's waiting on POSIX: poll(2) over the descriptors, plus an eventfd that Wake()
// writes to so a task posted from another thread ends the wait.
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>

#include "common/files.hpp"
#include "updater/event_loop.hpp"

namespace steward::updater {

namespace {

class PosixPoller final : public Poller {
 public:
  explicit PosixPoller(files::UniqueFd wake) : wake_(std::move(wake)) {}

  Result<std::vector<bool>> Wait(const std::vector<int>& fds,
                                 std::optional<Duration> timeout) override {
    std::vector<pollfd> polled;
    for (const int fd : fds) polled.push_back({fd, POLLIN, 0});
    polled.push_back({wake_.Get(), POLLIN, 0});
    // Rounded up: waking a little before a deadline would only wait again.
    const int timeout_ms =
        timeout ? static_cast<int>(std::chrono::ceil<std::chrono::milliseconds>(*timeout).count())
                : -1;
    std::vector<bool> ready(fds.size(), false);
    if (::poll(polled.data(), polled.size(), timeout_ms) < 0) {
      if (errno == EINTR) return ready;
      return Fail(ErrorCode::internal, ErrnoMessage("poll", errno));
    }
    for (std::size_t i = 0; i < fds.size(); ++i) ready[i] = (polled[i].revents & POLLIN) != 0;
    if ((polled.back().revents & POLLIN) != 0) {
      std::uint64_t count = 0;
      (void)!::read(wake_.Get(), &count, sizeof(count));
    }
    return ready;
  }

  void Wake() override {
    const std::uint64_t one = 1;
    (void)!::write(wake_.Get(), &one, sizeof(one));
  }

 private:
  files::UniqueFd wake_;
};

}  // namespace

Result<std::unique_ptr<Poller>> MakePoller() {
  files::UniqueFd wake(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!wake) return Fail(ErrorCode::internal, ErrnoMessage("eventfd", errno));
  return std::make_unique<PosixPoller>(std::move(wake));
}

}  // namespace steward::updater
