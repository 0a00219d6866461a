#include "controller/waves.hpp"

#include <gtest/gtest.h>

namespace steward::controller {
namespace {

std::string Id(int i) { return "n" + std::to_string(i); }

// A wave state on a fake clock: `now` moves only when a test moves it.
struct Sim {
  WaveLimits limits;
  HaltRule rule;
  WaveState state{0, 0};
  std::int64_t now = 0;
  WaveEvent event;

  bool Admit(int i) { return state.Admit(Id(i), limits, rule, now, event); }
  // Admits nodes from..to-1, returns how many got in.
  int AdmitRange(int from, int to) {
    int n = 0;
    for (int i = from; i < to; ++i) n += Admit(i);
    return n;
  }
  void Report(int i, Outcome o) { state.Reported(Id(i), o, rule, event); }
  // Nodes 0..n-1 take the canary and commit.
  void CommitCanary(int n) {
    AdmitRange(0, n);
    for (int i = 0; i < n; ++i) Report(i, Outcome::committed);
  }
  void Tick(std::int64_t interval = 60) { state.Tick(limits, rule, now, interval, event); }
};

TEST(WaveLimits, DefaultsFollowTheFleetSize) {
  auto small = ResolveLimits({}, 10);
  EXPECT_EQ(small.canary, 5);
  EXPECT_EQ(small.canary_in_flight, 5);
  EXPECT_EQ(small.max_in_flight, 20);
  EXPECT_EQ(small.bake_s, kDefaultBakeS);
  auto big = ResolveLimits({}, 100'000);
  EXPECT_EQ(big.canary, 50);            // 0.05 %
  EXPECT_EQ(big.canary_in_flight, 20);  // the canary never has more than 20 in flight
  EXPECT_EQ(big.max_in_flight, 1000);   // 1 %
  auto set = ResolveLimits({3, 7, 600, false}, 100'000);
  EXPECT_EQ(set.canary, 3);
  EXPECT_EQ(set.canary_in_flight, 3);
  EXPECT_EQ(set.max_in_flight, 7);
  EXPECT_EQ(set.bake_s, 600);
}

TEST(WaveSize, CanaryThenDoubling) {
  const auto l = ResolveLimits({}, 100'000);
  EXPECT_EQ(WaveSize(l, 0), 50);
  EXPECT_EQ(WaveSize(l, 1), 100);
  EXPECT_EQ(WaveSize(l, 4), 800);
  EXPECT_GT(WaveSize(l, 200), 0);               // saturates, never overflows
  EXPECT_EQ(WaveDeadline(l, 0), l.bake_s * 4);  // 50 nodes, 20 at a time: 3 batches + 1
}

TEST(Waves, TheCanaryOffersOnlyItsSizeThenTheNextWaveAfterItCommits) {
  Sim r;
  r.limits = ResolveLimits({}, 1000);  // canary 5, 20 in flight
  EXPECT_EQ(r.AdmitRange(0, 100), 5);
  EXPECT_EQ(r.state.in_flight(), 5);
  EXPECT_TRUE(r.Admit(0));  // an offered node keeps its offer
  for (int i = 0; i < 4; ++i) r.Report(i, Outcome::committed);
  EXPECT_EQ(r.AdmitRange(100, 200), 0);  // one canary node still in flight
  r.Report(4, Outcome::committed);
  EXPECT_EQ(r.state.committed(), 5);
  r.now = 10;
  EXPECT_EQ(r.AdmitRange(100, 200), 10);  // wave 1: twice the canary
  EXPECT_TRUE(r.event.wave_started);
  EXPECT_EQ(r.state.wave(), 1);
  EXPECT_EQ(r.state.wave_started_at(), 10);
  EXPECT_FALSE(r.event.halt);
}

TEST(Waves, InFlightCapHoldsAWaveBiggerThanIt) {
  Sim r;
  r.limits = ResolveLimits({2, 4, 600, false}, 1000);
  r.CommitCanary(2);
  r.AdmitRange(2, 100);  // wave 1 (4 nodes) fills the cap
  EXPECT_EQ(r.state.wave(), 1);
  EXPECT_EQ(r.state.in_flight(), 4);
  for (int i = 2; i < 6; ++i) r.Report(i, Outcome::committed);
  EXPECT_EQ(r.AdmitRange(100, 200), 4);  // wave 2 has 8 places, 4 at a time
  EXPECT_EQ(r.AdmitRange(200, 300), 0);
  r.Report(100, Outcome::committed);
  EXPECT_EQ(r.AdmitRange(200, 300), 1);  // a result frees one place
  EXPECT_EQ(r.state.in_flight(), 4);
}

TEST(Waves, BakeStartsTheNextWaveWithEnoughCommittedDespiteStragglers) {
  Sim r;
  r.limits = ResolveLimits({10, 20, 600, false}, 1000);
  r.AdmitRange(0, 10);
  for (int i = 0; i < 8; ++i) r.Report(i, Outcome::committed);
  r.now = 599;
  EXPECT_EQ(r.AdmitRange(100, 110), 0);  // 8 of 10 committed, bake not passed
  r.now = 600;
  EXPECT_EQ(r.AdmitRange(100, 110), 0);  // bake passed but 80 % is not enough
  r.Report(8, Outcome::committed);
  EXPECT_EQ(r.AdmitRange(100, 110), 10);  // 90 %: wave 1 starts, node 9 still in flight
  EXPECT_EQ(r.state.wave(), 1);
  EXPECT_EQ(r.state.in_flight(), 11);
}

TEST(Waves, CanaryHaltsOnItsFirstRollbackOrEnvironmentResult) {
  for (auto bad : {Outcome::rolled_back, Outcome::environment}) {
    Sim r;
    r.limits = ResolveLimits({}, 1000);
    r.AdmitRange(0, 5);
    r.Report(0, Outcome::committed);
    EXPECT_FALSE(r.event.halt);
    r.Report(3, bad);
    ASSERT_TRUE(r.event.halt);
    const auto& why = *r.event.halt;
    EXPECT_NE(why.find("canary wave failed on " + std::string(OutcomeName(bad))), std::string::npos)
        << why;
    EXPECT_NE(why.find("1 failed of 2 results, 5 offered"), std::string::npos) << why;
    EXPECT_NE(why.find("nodes: n3"), std::string::npos) << why;
  }
}

TEST(Waves, LaterWavesHaltOnTheRateNotOnOneFailure) {
  Sim r;
  r.limits = ResolveLimits({10, 100, 600, false}, 1000);
  r.rule = {0.05, 20};
  r.CommitCanary(10);
  EXPECT_EQ(r.AdmitRange(10, 100), 20);  // wave 1
  r.Report(10, Outcome::rolled_back);    // 1 of 11: a single failure under min attempts
  EXPECT_FALSE(r.event.halt);
  for (int i = 11; i < 18; ++i) r.Report(i, Outcome::committed);
  r.Report(18, Outcome::environment);  // 2 of 19: more than 5 % of 20 attempts can be
  ASSERT_TRUE(r.event.halt);
  EXPECT_NE(r.event.halt->find("wave 1: failure rate 10.5% over the limit 5.0%"), std::string::npos)
      << *r.event.halt;
  EXPECT_NE(r.event.halt->find("rolled_back=1 environment=1"), std::string::npos);
  EXPECT_NE(r.event.halt->find("nodes: n10 n18"), std::string::npos);
}

TEST(Waves, AWaveThatEndsOverTheRateHaltsInsteadOfGrowing) {
  Sim r;
  r.limits = ResolveLimits({2, 100, 600, false}, 1000);
  r.CommitCanary(2);
  EXPECT_EQ(r.AdmitRange(10, 100), 4);  // wave 1
  r.Report(10, Outcome::rolled_back);   // 1 of 3: too few results to halt on yet
  r.Report(11, Outcome::committed);
  EXPECT_FALSE(r.event.halt);
  r.Report(12, Outcome::committed);
  r.Report(13, Outcome::committed);
  EXPECT_EQ(r.AdmitRange(100, 200), 0);  // wave 1 is over, 1 of 6 failed
  ASSERT_TRUE(r.event.halt);
  EXPECT_NE(r.event.halt->find("wave 1: finished with failure rate 16.7% over the limit 5.0%"),
            std::string::npos)
      << *r.event.halt;
  EXPECT_EQ(r.state.wave(), 1);
}

TEST(Waves, CrashLoopOnTheTargetWithinTheBakeIsAFailure) {
  Sim r;
  r.limits = ResolveLimits({}, 1000);
  r.AdmitRange(0, 5);
  r.Report(1, Outcome::committed);
  r.now = 100;
  r.state.Seen(Id(1), r.now, {true, true}, r.limits, r.rule, r.event);
  ASSERT_TRUE(r.event.halt);
  EXPECT_NE(r.event.halt->find("failed on crash_loop"), std::string::npos) << *r.event.halt;
  EXPECT_EQ(r.state.committed(), 0);
  // Past its bake a crash loop is the node's own trouble.
  Sim late;
  late.limits = r.limits;
  late.AdmitRange(0, 5);
  late.now = late.limits.bake_s + 1;
  late.state.Seen(Id(2), late.now, {true, true}, late.limits, late.rule, late.event);
  EXPECT_FALSE(late.event.halt);
}

TEST(Waves, ANodeSilentAfterItsOfferIsAFailure) {
  Sim r;
  r.limits = ResolveLimits({}, 1000);
  r.AdmitRange(0, 5);
  r.now = 180;
  for (int i = 1; i < 5; ++i) r.state.Seen(Id(i), r.now, {}, r.limits, r.rule, r.event);
  r.Tick(60);
  EXPECT_FALSE(r.event.halt);  // 3 intervals exactly: not yet
  r.now = 181;
  r.Tick(60);
  ASSERT_TRUE(r.event.halt);
  EXPECT_NE(r.event.halt->find("failed on silent"), std::string::npos) << *r.event.halt;
  EXPECT_NE(r.event.halt->find("nodes: n0"), std::string::npos) << *r.event.halt;
}

// With second-long check-in intervals (tests), silence still needs kMinSilenceS.
TEST(Waves, SilenceIsNeverShorterThanTheFloor) {
  Sim r;
  r.limits = ResolveLimits({}, 1000);
  r.AdmitRange(0, 5);
  r.now = kMinSilenceS;
  for (int i = 1; i < 5; ++i) r.state.Seen(Id(i), r.now, {}, r.limits, r.rule, r.event);
  r.Tick(1);
  EXPECT_FALSE(r.event.halt);  // 3 intervals of 1 s passed long ago: not silent yet
  r.now = kMinSilenceS + 1;
  r.Tick(1);
  ASSERT_TRUE(r.event.halt);
  EXPECT_NE(r.event.halt->find("failed on silent"), std::string::npos) << *r.event.halt;
}

// A node that keeps checking in on the old version (held, pinned, refusing) frees its place
// after the bake; a result it reports later still counts.
TEST(Waves, ANodeThatDoesNotTakeTheTargetWithinTheBakeFreesItsPlace) {
  Sim r;
  r.limits = ResolveLimits({2, 20, 100, false}, 1000);
  r.CommitCanary(2);
  EXPECT_EQ(r.AdmitRange(10, 12), 2);  // wave 1: 4 places, in flight: 2
  r.now = 100;
  r.state.Seen(Id(10), r.now, {}, r.limits, r.rule, r.event);
  EXPECT_EQ(r.state.in_flight(), 2);  // within its bake
  r.now = 101;
  r.state.Seen(Id(10), r.now, {}, r.limits, r.rule, r.event);
  EXPECT_EQ(r.state.in_flight(), 1);
  EXPECT_FALSE(r.event.halt);
  r.Report(10, Outcome::rolled_back);  // it tried after all, and failed
  EXPECT_EQ(r.state.failed(), 1);
}

TEST(Waves, AWaveThatDoesNotFinishInItsDeadlineHalts) {
  Sim r;
  r.limits = ResolveLimits({2, 20, 100, false}, 1000);
  r.AdmitRange(0, 2);
  r.Report(0, Outcome::committed);
  const auto deadline = WaveDeadline(r.limits, 0);
  for (r.now = 0; r.now <= deadline; r.now += 30) {
    for (int i : {0, 1}) r.state.Seen(Id(i), r.now, {true, false}, r.limits, r.rule, r.event);
    r.Tick(60);  // n1 runs the target but never reports
    ASSERT_FALSE(r.event.halt) << r.now;
  }
  for (int i : {0, 1}) r.state.Seen(Id(i), r.now, {true, false}, r.limits, r.rule, r.event);
  r.Tick(60);
  ASSERT_TRUE(r.event.halt);
  EXPECT_NE(r.event.halt->find("wave 0 did not finish in its deadline of 200s: 1 of 2 nodes "
                               "still in flight; nodes: n1"),
            std::string::npos)
      << *r.event.halt;
}

TEST(Waves, ARestartResumesTheSameWaveFromWhatWasStored) {
  Sim r;
  r.limits = ResolveLimits({2, 20, 600, false}, 1000);
  r.CommitCanary(2);
  r.now = 50;
  EXPECT_EQ(r.AdmitRange(10, 13), 3);  // wave 1, started at 50
  r.Report(10, Outcome::committed);

  // What the store holds: the wave and its start, the offers, the results.
  WaveState back(r.state.wave(), r.state.wave_started_at());
  for (int i : {0, 1}) back.RestoreOffer(Id(i), 0, 0, 70);
  for (int i : {10, 11, 12}) back.RestoreOffer(Id(i), 1, 50, 70);
  for (int i : {0, 1, 10}) back.RestoreOutcome(Id(i), Outcome::committed);
  EXPECT_EQ(back.wave(), 1);
  EXPECT_EQ(back.wave_started_at(), 50);
  EXPECT_EQ(back.in_flight(), 2);
  EXPECT_EQ(back.committed(), 3);
  WaveEvent event;
  EXPECT_TRUE(back.Admit(Id(13), r.limits, r.rule, 70, event));  // wave 1 has one place left
  EXPECT_FALSE(back.Admit(Id(14), r.limits, r.rule, 70, event));
  EXPECT_FALSE(event.wave_started);
  // Restored nodes are watched for silence from the restart on, not from their offer.
  back.Tick(r.limits, r.rule, 70 + 180, 60, event);
  EXPECT_FALSE(event.halt);
}

}  // namespace
}  // namespace steward::controller
