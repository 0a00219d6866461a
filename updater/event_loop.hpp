// The daemon's one thread of control. It waits until a watched descriptor is readable, another
// thread posts a task, or the earliest deadline passes; then it runs the parts of a turn in the
// order they were added. Everything the supervisor and the update executor see arrives through
// here, so neither needs a lock. Work that would block the loop runs on a Worker and posts its
// answer back.
// The waiting itself is a Poller's: poll(2) and an eventfd on POSIX (event_loop_posix.cpp);
// unit tests give a fake one that moves a FakeClock.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "common/clock.hpp"
#include "common/error.hpp"

namespace steward::updater {

class Poller {
 public:
  virtual ~Poller() = default;
  // Waits until one of `fds` is readable, Wake() was called, or `timeout` passed (none: no
  // limit). Returns, for each of `fds`, whether it is readable.
  virtual Result<std::vector<bool>> Wait(const std::vector<int>& fds,
                                         std::optional<Duration> timeout) = 0;
  // Any thread: the current or next Wait returns.
  virtual void Wake() = 0;
};

// The platform's poller.
Result<std::unique_ptr<Poller>> MakePoller();

class EventLoop {
 public:
  EventLoop(Clock& clock, std::unique_ptr<Poller> poller);
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  // Any thread: `task` runs on the loop thread at the next turn, tasks in the order posted.
  void Post(std::function<void()> task);

  // Set-up, before Run. The parts of a turn run in the order they were added:
  // `part` when `fd` was readable,
  void OnReadable(int fd, std::function<void()> part);
  // `part` on every turn, whatever woke the loop,
  void EveryTurn(std::function<void()> part);
  // and the tasks posted so far, here.
  void RunPostedTasks();
  // Also wake when a descriptor `fds()` gives is readable (asked before every wait: the set
  // may change from one turn to the next).
  void WakeOn(std::function<std::vector<int>()> fds);
  // Wake by the time `deadline()` gives at the latest (asked before every wait; none: no limit).
  void WakeBy(std::function<std::optional<MonoTime>()> deadline);

  // Waits once, then runs one turn.
  Result<void> RunOnce();
  // Turns until `done()`, which is asked before every wait; ends early when waiting fails.
  Result<void> Run(const std::function<bool()>& done);

 private:
  struct Part {
    std::optional<int> fd;  // none: every turn
    std::function<void()> run;
  };

  Clock& clock_;
  std::unique_ptr<Poller> poller_;
  std::vector<Part> parts_;
  std::vector<std::function<std::vector<int>()>> wake_on_;
  std::vector<std::function<std::optional<MonoTime>()>> wake_by_;
  std::mutex mu_;
  std::deque<std::function<void()>> posted_;
};

// Runs jobs one after the other on its own thread (downloads, check-ins, probes), so the loop
// never blocks. Destroying it waits for the job in progress; jobs not started are dropped.
class Worker {
 public:
  Worker();
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;
  void Post(std::function<void()> job);

 private:
  void Run();
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;
  bool done_ = false;
  std::thread thread_;  // last: started once the rest exists
};

}  // namespace steward::updater
