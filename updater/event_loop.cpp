#include "updater/event_loop.hpp"

#include <algorithm>

namespace steward::updater {

EventLoop::EventLoop(Clock& clock, std::unique_ptr<Poller> poller)
    : clock_(clock), poller_(std::move(poller)) {}

void EventLoop::Post(std::function<void()> task) {
  {
    std::lock_guard lock(mu_);
    posted_.push_back(std::move(task));
  }
  poller_->Wake();
}

void EventLoop::OnReadable(int fd, std::function<void()> part) {
  parts_.push_back({fd, std::move(part)});
}

void EventLoop::EveryTurn(std::function<void()> part) {
  parts_.push_back({std::nullopt, std::move(part)});
}

void EventLoop::RunPostedTasks() {
  EveryTurn([this] {
    std::deque<std::function<void()>> tasks;
    {
      std::lock_guard lock(mu_);
      tasks.swap(posted_);
    }
    for (auto& t : tasks) t();
  });
}

void EventLoop::WakeOn(std::function<std::vector<int>()> fds) {
  wake_on_.push_back(std::move(fds));
}

void EventLoop::WakeBy(std::function<std::optional<MonoTime>()> deadline) {
  wake_by_.push_back(std::move(deadline));
}

Result<void> EventLoop::RunOnce() {
  std::vector<int> fds;
  for (const auto& part : parts_) {
    if (part.fd) fds.push_back(*part.fd);
  }
  const std::size_t own = fds.size();  // the parts' descriptors come first
  for (const auto& more : wake_on_) {
    for (const int fd : more()) fds.push_back(fd);
  }
  std::optional<MonoTime> deadline;
  for (const auto& by : wake_by_) {
    if (auto d = by(); d && (!deadline || *d < *deadline)) deadline = d;
  }
  std::optional<Duration> timeout;
  if (deadline) timeout = std::max(Duration::zero(), *deadline - clock_.Monotonic());
  auto ready = poller_->Wait(fds, timeout);
  if (!ready) return std::unexpected(ready.error());
  std::size_t i = 0;
  for (const auto& part : parts_) {
    const bool run = !part.fd || (i < own && (*ready)[i]);
    if (part.fd) ++i;
    if (run) part.run();
  }
  return {};
}

Result<void> EventLoop::Run(const std::function<bool()>& done) {
  while (!done()) {
    if (auto r = RunOnce(); !r) return r;
  }
  return {};
}

Worker::Worker() : thread_([this] { Run(); }) {}

Worker::~Worker() {
  {
    std::lock_guard lock(mu_);
    done_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void Worker::Post(std::function<void()> job) {
  {
    std::lock_guard lock(mu_);
    jobs_.push_back(std::move(job));
  }
  cv_.notify_all();
}

void Worker::Run() {
  for (;;) {
    std::function<void()> job;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return done_ || !jobs_.empty(); });
      if (done_) return;
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    job();
  }
}

}  // namespace steward::updater
