#include "updater/signals.hpp"

#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>

#include <cstdlib>

namespace steward::updater {
namespace {

// In a child process (a death test), so the blocked signals stay out of the other tests.
void RaiseAndRead() {
  auto signals = CatchDaemonSignals();
  if (!signals) std::_Exit(10);
  for (const int sig : {SIGHUP, SIGCHLD, SIGTERM}) ::raise(sig);
  pollfd p{(*signals)->fd(), POLLIN, 0};
  if (::poll(&p, 1, 10'000) != 1) std::_Exit(11);
  const auto got = (*signals)->Take();
  // SIGCHLD only wakes the loop; standard signals arrive in number order.
  const bool ok = got.size() == 2 && got[0].kind == DaemonSignal::Kind::reload &&
                  got[0].name == "SIGHUP" && got[1].kind == DaemonSignal::Kind::stop &&
                  got[1].name == "SIGTERM" && (*signals)->Take().empty();
  std::_Exit(ok ? 0 : 12);
}

TEST(Signals, StopAndReloadArriveAsEventsAndAChildsExitOnlyWakes) {
  EXPECT_EXIT(RaiseAndRead(), ::testing::ExitedWithCode(0), "");
}

}  // namespace
}  // namespace steward::updater
