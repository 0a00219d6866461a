#include "agent/process.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

namespace steward::agent {
namespace {

using namespace std::chrono_literals;

TEST(AgentProcess, SignalsArriveThroughTheSignalFd) {
  auto signals = SignalFd::Open({SIGUSR2});
  ASSERT_TRUE(signals) << signals.error().message;
  EXPECT_TRUE(signals->Wait(0ms).empty());
  ASSERT_EQ(::raise(SIGUSR2), 0);  // blocked: queued for the fd, not delivered
  EXPECT_EQ(signals->Wait(5s), std::vector<int>{SIGUSR2});
  EXPECT_TRUE(signals->Wait(0ms).empty());
}

TEST(AgentProcess, DescribesWaitStatuses) {
  EXPECT_EQ(DescribeWaitStatus(0), "exit 0");
  EXPECT_EQ(DescribeWaitStatus(78 << 8), "exit 78");
  EXPECT_EQ(DescribeWaitStatus(SIGKILL), "signal 9");
  EXPECT_EQ(DescribeWaitStatus(SIGABRT | 0x80), "signal 6 (core dumped)");
}

}  // namespace
}  // namespace steward::agent
