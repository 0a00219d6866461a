#include "updater/event_loop.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <future>
#include <set>
#include <string>
#include <thread>

#include "common/files.hpp"

namespace steward::updater {
namespace {

using namespace std::chrono_literals;

// Waits as asked on a FakeClock: a wait with a timeout and no ready descriptor moves the clock
// by the timeout. Descriptors are "readable" while they are in `readable`.
class FakePoller final : public Poller {
 public:
  explicit FakePoller(FakeClock& clock) : clock_(clock) {}
  Result<std::vector<bool>> Wait(const std::vector<int>& fds,
                                 std::optional<Duration> timeout) override {
    waits.push_back(timeout);
    asked_fds = fds;
    if (fail) return Fail(ErrorCode::internal, "poll: broken");
    std::vector<bool> ready;
    bool any = false;
    for (const int fd : fds) {
      ready.push_back(readable.contains(fd));
      any = any || ready.back();
    }
    if (!any && !woken && timeout) clock_.Advance(*timeout);
    woken = false;
    return ready;
  }
  void Wake() override { woken = true; }

  FakeClock& clock_;
  std::vector<std::optional<Duration>> waits;
  std::vector<int> asked_fds;
  std::set<int> readable;
  bool woken = false;
  bool fail = false;
};

struct Loop : ::testing::Test {
  FakeClock clock;
  FakePoller* poller = nullptr;
  std::unique_ptr<EventLoop> loop;
  Loop() {
    auto p = std::make_unique<FakePoller>(clock);
    poller = p.get();
    loop = std::make_unique<EventLoop>(clock, std::move(p));
  }
};

TEST_F(Loop, WaitsUntilTheEarliestDeadlineAndActsAtItNotBefore) {
  const MonoTime start = clock.Monotonic();
  const MonoTime at = start + 5s;
  std::optional<MonoTime> fired;
  loop->WakeBy([&] { return fired ? std::nullopt : std::optional(at); });
  loop->WakeBy([&] { return std::optional(start + 1h); });
  loop->EveryTurn([&] {
    if (!fired && clock.Monotonic() >= at) fired = clock.Monotonic();
  });
  ASSERT_TRUE(loop->Run([&] { return fired.has_value(); }));
  EXPECT_EQ(fired, at);
  ASSERT_EQ(poller->waits.size(), 1u);
  EXPECT_EQ(poller->waits[0], 5s);
}

TEST_F(Loop, APassedDeadlineDoesNotWaitAndNoDeadlineWaitsWithoutLimit) {
  std::optional<MonoTime> deadline = clock.Monotonic() - 1s;
  loop->WakeBy([&] { return deadline; });
  ASSERT_TRUE(loop->RunOnce());
  deadline.reset();
  poller->woken = true;  // something else ends the unlimited wait
  ASSERT_TRUE(loop->RunOnce());
  EXPECT_EQ(poller->waits, (std::vector<std::optional<Duration>>{Duration::zero(), std::nullopt}));
}

TEST_F(Loop, APostedTaskWakesTheLoopAndRunsAtItsPlaceInTheTurn) {
  std::vector<std::string> order;
  loop->EveryTurn([&] { order.push_back("before"); });
  loop->RunPostedTasks();
  loop->EveryTurn([&] { order.push_back("after"); });
  std::thread([&] {
    loop->Post([&] { order.push_back("task 1"); });
    loop->Post([&] { order.push_back("task 2"); });
  }).join();
  EXPECT_TRUE(poller->woken);
  ASSERT_TRUE(loop->RunOnce());
  EXPECT_EQ(order, (std::vector<std::string>{"before", "task 1", "task 2", "after"}));
  order.clear();
  poller->woken = true;
  ASSERT_TRUE(loop->RunOnce());
  EXPECT_EQ(order, (std::vector<std::string>{"before", "after"})) << "each task runs once";
}

TEST_F(Loop, AReadablePartRunsOnlyWhenItsDescriptorIsReadable) {
  int runs = 0;
  loop->OnReadable(7, [&] { ++runs; });
  std::vector<int> extra{11, 12};
  loop->WakeOn([&] { return extra; });
  poller->woken = true;
  ASSERT_TRUE(loop->RunOnce());
  EXPECT_EQ(runs, 0);
  EXPECT_EQ(poller->asked_fds, (std::vector<int>{7, 11, 12}));
  poller->readable = {7};
  extra = {13};
  ASSERT_TRUE(loop->RunOnce());
  EXPECT_EQ(runs, 1);
  EXPECT_EQ(poller->asked_fds, (std::vector<int>{7, 13})) << "the set is asked for every wait";
}

TEST_F(Loop, RunAsksWhetherItIsDoneBeforeWaiting) {
  ASSERT_TRUE(loop->Run([] { return true; }));
  EXPECT_TRUE(poller->waits.empty());
}

TEST_F(Loop, AFailedWaitEndsRunWithItsError) {
  poller->fail = true;
  auto r = loop->Run([] { return false; });
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "poll: broken");
}

TEST(PosixPoller, ATaskPostedFromAnotherThreadEndsAWaitWithoutLimit) {
  auto poller = MakePoller();
  ASSERT_TRUE(poller) << poller.error().message;
  EventLoop loop(SystemClock::Instance(), std::move(*poller));
  loop.RunPostedTasks();
  bool ran = false;  // on the loop thread
  std::thread poster([&] { loop.Post([&] { ran = true; }); });
  ASSERT_TRUE(loop.Run([&] { return ran; }));
  poster.join();
}

TEST(PosixPoller, SaysWhichDescriptorIsReadable) {
  auto poller = MakePoller();
  ASSERT_TRUE(poller) << poller.error().message;
  int a[2], b[2];
  ASSERT_EQ(::pipe(a), 0);
  ASSERT_EQ(::pipe(b), 0);
  files::UniqueFd ar(a[0]), aw(a[1]), br(b[0]), bw(b[1]);
  ASSERT_EQ(::write(bw.Get(), "x", 1), 1);
  auto ready = (*poller)->Wait({ar.Get(), br.Get()}, std::nullopt);
  ASSERT_TRUE(ready) << ready.error().message;
  EXPECT_EQ(*ready, (std::vector<bool>{false, true}));
}

TEST(Worker, RunsJobsInOrderOffTheCallersThread) {
  std::vector<int> done;
  std::promise<std::thread::id> last;
  {
    Worker w;
    w.Post([&] { done.push_back(1); });
    w.Post([&] {
      done.push_back(2);
      last.set_value(std::this_thread::get_id());
    });
    auto ran_on = last.get_future();
    ASSERT_EQ(ran_on.wait_for(30s), std::future_status::ready);
    EXPECT_NE(ran_on.get(), std::this_thread::get_id());
  }
  EXPECT_EQ(done, (std::vector<int>{1, 2}));
}

}  // namespace
}  // namespace steward::updater
