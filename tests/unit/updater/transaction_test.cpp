#include "updater/transaction.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace steward::updater {
namespace {

constexpr TxnState kAllStates[] = {
    TxnState::fetching,    TxnState::staged,    TxnState::switching, TxnState::switched,
    TxnState::restarting,  TxnState::verifying, TxnState::committed, TxnState::rolling_back,
    TxnState::rolled_back, TxnState::failed,    TxnState::superseded};
constexpr TxnEvent kAllEvents[] = {TxnEvent::done,      TxnEvent::error,   TxnEvent::node_stopped,
                                   TxnEvent::ready,     TxnEvent::healthy, TxnEvent::unhealthy,
                                   TxnEvent::superseded};

TEST(Transaction, NamesRoundTrip) {
  for (auto s : kAllStates) EXPECT_EQ(TxnStateFromName(TxnStateName(s)), s);
  EXPECT_FALSE(TxnStateFromName("exploded"));
  EXPECT_EQ(TxnEventName(TxnEvent::unhealthy), "unhealthy");
}

TEST(Transaction, TerminalStatesHaveNoWayOutAndOthersDo) {
  for (auto s : kAllStates) {
    bool any = false;
    for (auto e : kAllEvents) any = any || Next(s, e).has_value();
    EXPECT_EQ(any, !IsTerminal(s)) << TxnStateName(s);
  }
}

TEST(Transaction, FailuresBeforeTheSwitchChangeNothing) {
  EXPECT_EQ(Next(TxnState::fetching, TxnEvent::error), TxnState::failed);
  EXPECT_EQ(Next(TxnState::staged, TxnEvent::error), TxnState::failed);
  EXPECT_FALSE(MayHaveSwitched(TxnState::fetching));
  EXPECT_FALSE(MayHaveSwitched(TxnState::staged));
  EXPECT_FALSE(MayHaveSwitched(TxnState::failed));
  // Once the switch may have happened, an error never just forgets the transaction.
  for (auto s : kAllStates) {
    if (!MayHaveSwitched(s) || IsTerminal(s)) continue;
    for (auto e : kAllEvents) {
      const auto next = Next(s, e);
      if (next) {
        EXPECT_NE(*next, TxnState::failed) << TxnStateName(s) << " + " << TxnEventName(e);
      }
    }
  }
}

TEST(Transaction, OnlyAnUnverifiedUpdateIsSuperseded) {
  EXPECT_EQ(Next(TxnState::verifying, TxnEvent::superseded), TxnState::superseded);
  EXPECT_TRUE(IsTerminal(TxnState::superseded));
  EXPECT_EQ(ActionFor(TxnState::superseded), TxnAction::none);
  // Before the switch there is nothing unverified to supersede; mid-switch, the step finishes.
  for (auto s : kAllStates) {
    if (s == TxnState::verifying) continue;
    EXPECT_FALSE(Next(s, TxnEvent::superseded)) << TxnStateName(s);
  }
}

TEST(Transaction, UnhealthyInsideTheGateRollsBack) {
  EXPECT_EQ(Next(TxnState::restarting, TxnEvent::unhealthy), TxnState::rolling_back);
  EXPECT_EQ(Next(TxnState::verifying, TxnEvent::unhealthy), TxnState::rolling_back);
  EXPECT_EQ(Next(TxnState::rolling_back, TxnEvent::done), TxnState::rolled_back);
  EXPECT_EQ(ActionFor(TxnState::rolled_back), TxnAction::mark_bad);
}

TEST(Transaction, LateEventsDoNotApply) {
  EXPECT_FALSE(Next(TxnState::committed, TxnEvent::unhealthy));
  EXPECT_FALSE(Next(TxnState::verifying, TxnEvent::ready));
  EXPECT_FALSE(Next(TxnState::fetching, TxnEvent::healthy));
}

// A fake host that performs each action idempotently, to drive the table end to end and to
// crash it anywhere.
struct Host {
  bool new_installed = false;
  std::string current = "old";
  std::string previous;
  bool running = true;
  bool desired_running = true;
  bool new_version_good = true;
  bool fetch_works = true;
  bool verified = false;
  bool marked_bad = false;

  // Performs the action of `state` and returns the event it produces; nullopt: waiting.
  std::optional<TxnEvent> Act(TxnState state) {
    switch (ActionFor(state)) {
      case TxnAction::fetch:
        if (!fetch_works) return TxnEvent::error;
        new_installed = true;
        return TxnEvent::done;
      case TxnAction::hold_node:  // the old version goes on running until it is replaced
        return TxnEvent::done;
      case TxnAction::switch_to_new:
        if (current != "new") {
          previous = current;
          current = "new";
        }
        return TxnEvent::done;
      case TxnAction::start_node:
        if (!desired_running) return TxnEvent::node_stopped;
        running = true;
        return TxnEvent::done;
      case TxnAction::await_ready:
        return current == "new" && !new_version_good ? TxnEvent::unhealthy : TxnEvent::ready;
      case TxnAction::await_healthy:
        if (!running) return std::nullopt;  // unverified until the operator starts it
        return new_version_good ? TxnEvent::healthy : TxnEvent::unhealthy;
      case TxnAction::roll_back:
        running = false;
        if (current == "new") current = previous.empty() ? "old" : previous;
        running = desired_running;
        return TxnEvent::done;
      case TxnAction::mark_committed:
        verified = true;
        return std::nullopt;
      case TxnAction::mark_bad:
        marked_bad = true;
        return std::nullopt;
      case TxnAction::discard:
      case TxnAction::none:
        return std::nullopt;
    }
    return std::nullopt;
  }
};

// Runs a transaction from the journal's state; `crash_after` journal writes, the updater dies
// (the state is recorded, its action not performed). Returns the journal's final state.
TxnState Drive(Host& host, TxnState journal, int crash_after = -1) {
  int writes = 0;
  for (;;) {
    if (writes++ == crash_after) return journal;  // killed right after recording
    const auto event = host.Act(journal);
    if (!event) return journal;
    const auto next = Next(journal, *event);
    EXPECT_TRUE(next) << TxnStateName(journal) << " + " << TxnEventName(*event);
    if (!next) return journal;
    journal = *next;
  }
}

TEST(Transaction, UpdateWhileRunningCommits) {
  Host host;
  EXPECT_EQ(Drive(host, TxnState::fetching), TxnState::committed);
  EXPECT_EQ(host.current, "new");
  EXPECT_EQ(host.previous, "old");
  EXPECT_TRUE(host.running);
  EXPECT_TRUE(host.verified);
}

TEST(Transaction, UpdateWhileStoppedSwitchesAndStaysStoppedUnverified) {
  Host host;
  host.running = false;
  host.desired_running = false;
  EXPECT_EQ(Drive(host, TxnState::fetching), TxnState::verifying);
  EXPECT_EQ(host.current, "new");
  EXPECT_FALSE(host.running);
  EXPECT_FALSE(host.verified);
  // The operator starts it later: the same gate runs.
  host.desired_running = true;
  host.running = true;
  EXPECT_EQ(Drive(host, TxnState::verifying), TxnState::committed);
}

TEST(Transaction, BadVersionIsRolledBackAndMarked) {
  Host host;
  host.new_version_good = false;
  EXPECT_EQ(Drive(host, TxnState::fetching), TxnState::rolled_back);
  EXPECT_EQ(host.current, "old");
  EXPECT_TRUE(host.running);
  EXPECT_TRUE(host.marked_bad);
}

TEST(Transaction, FailedFetchChangesNothing) {
  Host host;
  host.fetch_works = false;
  EXPECT_EQ(Drive(host, TxnState::fetching), TxnState::failed);
  EXPECT_EQ(host.current, "old");
  EXPECT_TRUE(host.running);
}

// Kill the updater after every journal write, restart it from the journal, and check that it
// converges to exactly one consistent outcome, whatever the node's desired state and whether the
// new version is good.
TEST(Transaction, CrashAnywhereThenReplayConverges) {
  for (bool desired : {true, false}) {
    for (bool good : {true, false}) {
      for (int crash = 0; crash < 10; ++crash) {
        Host host;
        host.desired_running = desired;
        host.running = desired;
        host.new_version_good = good;
        const TxnState at_crash = Drive(host, TxnState::fetching, crash);
        const TxnState final = Drive(host, at_crash);  // the restarted updater replays
        SCOPED_TRACE(testing::Message()
                     << "desired=" << desired << " good=" << good << " crash after write " << crash
                     << " in " << TxnStateName(at_crash));
        if (!desired) {
          // A stopped node is switched and waits, unverified, for its next start.
          EXPECT_EQ(final, TxnState::verifying);
          EXPECT_EQ(host.current, "new");
          EXPECT_FALSE(host.running);
        } else if (good) {
          EXPECT_EQ(final, TxnState::committed);
          EXPECT_EQ(host.current, "new");
          EXPECT_TRUE(host.running);
        } else {
          EXPECT_EQ(final, TxnState::rolled_back);
          EXPECT_EQ(host.current, "old");
          EXPECT_TRUE(host.running);
          EXPECT_TRUE(host.marked_bad);
        }
      }
    }
  }
}

}  // namespace
}  // namespace steward::updater
