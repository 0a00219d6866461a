#include "controller/rollout.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "tests/unit/controller/domain.hpp"

namespace steward::controller {
namespace {

RolloutRecord Rollout(double percent, std::string minimum = "", bool paused = false) {
  RolloutRecord r;
  r.component = "agent";
  r.channel = "stable";
  r.version = "2.0.0";
  r.minimum = std::move(minimum);
  r.percent = percent;
  r.paused = paused;
  r.seed = std::string(64, '1');
  return r;
}

SemVer V(const char* s) { return *SemVer::Parse(s); }

RolloutChange Change(std::string version, std::optional<std::string> minimum,
                     std::optional<double> percent, std::optional<bool> paused) {
  RolloutChange c;
  c.component = "agent";
  c.channel = "stable";
  c.version = std::move(version);
  c.minimum = std::move(minimum);
  c.percent = percent;
  c.paused = paused;
  return c;
}

TEST(Bucket, StableForASeedAndNearThePercentOver10000Nodes) {
  const std::string seed = NewSeed();
  for (const double percent : {1.0, 10.0, 50.0, 90.0}) {
    int in = 0;
    for (int i = 0; i < 10000; ++i) {
      const auto id = "node-" + std::to_string(i);
      const auto b = Bucket(seed, id);
      EXPECT_EQ(b, Bucket(seed, id));
      in += InRollout(b, percent);
    }
    // Binomial: 3 standard deviations is under 1.5 % of 10 000 at every percent here.
    EXPECT_NEAR(in / 100.0, percent, 1.5) << percent;
  }
}

TEST(Bucket, NewSeedPicksOtherNodes) {
  const auto a = NewSeed();
  const auto b = NewSeed();
  ASSERT_NE(a, b);
  int both = 0;
  int in_a = 0;
  for (int i = 0; i < 10000; ++i) {
    const auto id = "node-" + std::to_string(i);
    const bool x = InRollout(Bucket(a, id), 10);
    const bool y = InRollout(Bucket(b, id), 10);
    in_a += x;
    both += x && y;
  }
  // Independent 10 % samples overlap on about 1 % of nodes, not on all of them.
  EXPECT_LT(both, in_a / 4);
}

TEST(Bucket, EdgesAndGrowth) {
  EXPECT_FALSE(InRollout(0, 0));
  EXPECT_TRUE(InRollout(~std::uint64_t{0}, 100));
  EXPECT_FALSE(InRollout(~std::uint64_t{0}, 99.999));
  EXPECT_TRUE(InRollout(0, 0.0001));
  const auto seed = NewSeed();
  for (int i = 0; i < 1000; ++i) {
    const auto b = Bucket(seed, std::to_string(i));
    if (InRollout(b, 20)) {
      EXPECT_TRUE(InRollout(b, 21));  // growing keeps who was in
    }
  }
}

TEST(Choose, MinimumFirstThenTarget) {
  const auto r = Rollout(100, "1.5.0");
  EXPECT_EQ(Choose(r, V("1.0.0"), "n").version, "1.5.0");
  EXPECT_EQ(Choose(r, V("1.0.0"), "n").kind, Choice::Kind::minimum);
  EXPECT_EQ(Choose(r, std::nullopt, "n").version, "1.5.0");
  EXPECT_EQ(Choose(r, V("1.5.0"), "n").version, "2.0.0");
  EXPECT_EQ(Choose(r, V("2.0.0"), "n").version, "2.0.0");
}

TEST(Choose, OutsideTheBucketNothingUnlessOnTarget) {
  const auto r = Rollout(0);
  EXPECT_EQ(Choose(r, V("1.0.0"), "n").kind, Choice::Kind::none);
  EXPECT_EQ(Choose(r, V("2.0.0"), "n").kind, Choice::Kind::target);
}

TEST(Choose, PausedMovesNobody) {
  const auto r = Rollout(100, "1.5.0", true);
  EXPECT_EQ(Choose(r, V("1.0.0"), "n").kind, Choice::Kind::none);
  EXPECT_EQ(Choose(r, V("1.5.0"), "n").kind, Choice::Kind::minimum);
  EXPECT_EQ(Choose(r, V("2.0.0"), "n").kind, Choice::Kind::target);
}

TEST(Choose, BrokenTargetOffersNothing) {
  auto r = Rollout(100);
  r.version = "not-a-version";
  EXPECT_EQ(Choose(r, V("1.0.0"), "n").kind, Choice::Kind::none);
}

TEST(Halt, NeedsEnoughAttemptsAndAHighRate) {
  EXPECT_FALSE(HaltReason({19, 19}, 0.05, 20, "2.0.0"));  // too few attempts
  EXPECT_FALSE(HaltReason({20, 1}, 0.05, 20, "2.0.0"));   // exactly 5 %: not past it
  auto why = HaltReason({20, 2}, 0.05, 20, "2.0.0");
  ASSERT_TRUE(why);
  EXPECT_NE(why->find("2 of 20 nodes (10.0%) rolled back from 2.0.0"), std::string::npos) << *why;
  EXPECT_FALSE(HaltReason({0, 0}, 0.0, 0, "2.0.0"));
}

ReleaseRecord Published(std::string version, std::uint64_t sequence) {
  return ReleaseRecord{"agent", "stable", std::move(version), sequence, 1, "m", {"s"}, "sha", 0, 0};
}

TEST(Rollouts, ChangesNeedPublishedVersionsAndANewTargetIsANewRollout) {
  Domain d;
  d.store.releases = {Published("1.0.0", 1), Published("2.0.0", 2), Published("3.0.0", 3)};
  d.Load();
  auto c = Change("2.0.0", std::nullopt, std::nullopt, std::nullopt);
  auto r = d.rollouts.Apply(c);
  ASSERT_FALSE(r);  // a new rollout needs a percent
  EXPECT_EQ(r.error().code, ErrorCode::bad_request);
  c.version = "9.0.0";
  c.percent = 10;
  r = d.rollouts.Apply(c);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::not_found);

  c.version = "2.0.0";
  r = d.rollouts.Apply(c);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->seed.size(), 64u);
  EXPECT_EQ(r->updated_at, d.Now());
  EXPECT_EQ(d.store.rollouts.back().seed, r->seed);  // written through
  const auto seed = r->seed;

  // Pausing and the percent keep the rollout; a minimum must be below the target.
  r = d.rollouts.Apply(Change("", "3.0.0", 50, true));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::bad_request);
  r = d.rollouts.Apply(Change("", "1.0.0", 50, true));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->seed, seed);
  EXPECT_EQ(r->minimum, "1.0.0");
  EXPECT_TRUE(r->paused);
  EXPECT_EQ(d.Offer("0.9.0", "n"), std::nullopt);  // paused

  r = d.rollouts.Apply(Change("3.0.0", std::nullopt, std::nullopt, std::nullopt));
  ASSERT_TRUE(r);
  EXPECT_NE(r->seed, seed);
  EXPECT_FALSE(r->paused);
  EXPECT_EQ(r->percent, 50);
  EXPECT_EQ(d.Offer("0.9.0", "n"), "1.0.0");  // the minimum first
  ASSERT_EQ(d.rollouts.List().size(), 1u);
}

// An immediate rollout (no waves) keeps the rule every rollout had before waves: a rollback
// rate past the limit over at least min_attempts results.
TEST(Rollouts, ImmediateHaltCountsFirstResultsTowardsTheTargetOnly) {
  Domain d(HaltPolicy{0.5, 2});
  d.store.releases = {Published("2.0.0", 2)};
  RolloutRecord r = Rollout(100);
  r.waves.immediate = true;
  d.store.rollouts = {r};
  d.Load();
  const LastUpdate back{"1.0.0", "2.0.0", UpdateResult::rolled_back, "crash_loop"};
  const LastUpdate done{"1.0.0", "2.0.0", UpdateResult::committed, ""};
  d.rollouts.RecordUpdate("n1", "agent", "stable", back, d.Now());
  d.rollouts.RecordUpdate("n1", "agent", "stable", done, d.Now());  // n1 counted already
  d.rollouts.RecordUpdate("n2", "agent", "stable",
                          {"1.0.0", "1.5.0", UpdateResult::rolled_back, ""},
                          d.Now());                               // not the target
  d.rollouts.RecordUpdate("n2", "agent", "beta", back, d.Now());  // no rollout there
  EXPECT_EQ(d.rollouts.Counts(r).attempts, 1);
  EXPECT_FALSE(d.rollouts.List()[0].paused);
  d.rollouts.RecordUpdate("n3", "agent", "stable", done, d.Now());
  EXPECT_FALSE(d.rollouts.List()[0].paused);  // 1 of 2: not past half
  d.rollouts.RecordUpdate("n4", "agent", "stable", back, d.Now());
  const auto halted = d.rollouts.List()[0];
  EXPECT_TRUE(halted.paused);  // 2 of 3
  EXPECT_NE(halted.halt_reason.find("2 of 3 nodes"), std::string::npos) << halted.halt_reason;
}

// Another controller halted the rollout a moment ago (not reloaded here yet): this one decides
// to halt too, the store keeps the first halt and its reason, and this one stops offering.
TEST(Rollouts, AHaltAnotherControllerMadeFirstIsKept) {
  Domain d(HaltPolicy{0.5, 1});
  d.store.releases = {Published("2.0.0", 2)};
  RolloutRecord r = Rollout(100);
  r.waves.immediate = true;
  d.store.rollouts = {r};
  d.Load();
  auto theirs = r;
  theirs.paused = true;
  theirs.halt_reason = "halted by the other controller";
  d.store.rollouts.push_back(theirs);
  d.rollouts.RecordUpdate("n1", "agent", "stable",
                          {"1.0.0", "2.0.0", UpdateResult::rolled_back, ""}, d.Now());
  EXPECT_EQ(d.store.rollouts.size(), 2u) << "nothing written over the first halt";
  EXPECT_EQ(d.store.rollouts.back().halt_reason, "halted by the other controller");
  EXPECT_TRUE(d.rollouts.List()[0].paused);
  EXPECT_EQ(d.Offer("1.0.0", "n7", 100), std::nullopt);
}

// A node checks in while its update is still in progress, then reports the rollback: the
// rollback is what counts (recording "in_progress" first used to hide it from the halt).
TEST(Rollouts, AnUpdateInProgressIsNotAResult) {
  Domain d(HaltPolicy{0.5, 1});
  d.store.releases = {Published("2.0.0", 2)};
  d.store.rollouts = {Rollout(100)};
  d.store.rollouts[0].waves.immediate = true;
  d.Load();
  d.rollouts.RecordUpdate("n1", "agent", "stable", {"1.0.0", "2.0.0", std::nullopt, ""}, d.Now());
  EXPECT_TRUE(d.store.updates.empty());
  EXPECT_FALSE(d.rollouts.List()[0].paused);
  d.rollouts.RecordUpdate("n1", "agent", "stable",
                          {"1.0.0", "2.0.0", UpdateResult::rolled_back, "crash_loop"}, d.Now());
  const auto counts = d.rollouts.Counts(d.rollouts.List()[0]);
  EXPECT_EQ(counts.attempts, 1);
  EXPECT_EQ(counts.rolled_back, 1);
  EXPECT_TRUE(d.rollouts.List()[0].paused);
}

std::string Node(int i) { return "n" + std::to_string(i); }

// Offers nodes from..to-1 (on 1.0.0, in a channel of 100) and returns how many got the target.
int OfferRange(Domain& d, int from, int to) {
  int n = 0;
  for (int i = from; i < to; ++i) n += d.Offer("1.0.0", Node(i), 100) == "2.0.0";
  return n;
}

void Commit(Domain& d, int i) {
  d.rollouts.RecordUpdate(Node(i), "agent", "stable",
                          {"1.0.0", "2.0.0", UpdateResult::committed, ""}, d.Now());
}

TEST(Rollouts, ARestartedControllerResumesTheSameWaveFromTheStore) {
  Domain d;
  d.store.releases = {Published("2.0.0", 2)};
  auto r = Rollout(100);
  r.waves.canary = 2;
  d.store.rollouts = {r};
  d.Load();
  EXPECT_EQ(OfferRange(d, 0, 10), 2);
  Commit(d, 0);
  Commit(d, 1);
  d.clock.Advance(std::chrono::seconds(5));
  EXPECT_EQ(OfferRange(d, 10, 13), 3);  // wave 1 (4 places) started
  Commit(d, 10);

  Domain again;
  again.store.releases = d.store.releases;
  again.store.rollouts = {d.store.rollouts.back()};
  again.store.offers = d.store.offers;
  again.store.updates = d.store.updates;
  again.clock.Advance(std::chrono::seconds(10));
  again.Load();
  EXPECT_EQ(again.rollouts.List()[0].wave, 1);
  EXPECT_EQ(again.Offer("1.0.0", Node(11), 100), "2.0.0");  // an offered node keeps its offer
  EXPECT_EQ(OfferRange(again, 20, 30), 1);                  // one place left in wave 1
  const auto progress = again.rollouts.Progress(again.rollouts.List()[0]);
  EXPECT_EQ(progress.wave, 1);
  EXPECT_EQ(progress.offered, 6);
  EXPECT_EQ(progress.committed, 3);
  EXPECT_EQ(progress.in_flight, 3);
}

// Maintenance windows: a wave admits only nodes whose window is open; a node admitted keeps its
// offer when the window closes; an immediate rollout is not held to them. The fake clock starts
// on Tuesday 2030-01-01 00:00Z.
TEST(Rollouts, AWaveAdmitsNodesOnlyWhileTheChannelsWindowIsOpen) {
  Domain d;
  d.store.releases = {Published("2.0.0", 2)};
  d.store.rollouts = {Rollout(100)};
  d.store.windows = {WindowsRecord{"stable", {"tue 01:00 1m UTC"}, 0, 0}};
  d.Load();
  EXPECT_EQ(OfferRange(d, 0, 10), 0);
  EXPECT_EQ(d.rollouts.Progress(d.rollouts.List()[0]).offered, 0);
  d.clock.Advance(std::chrono::hours(1));
  EXPECT_EQ(OfferRange(d, 0, 10), 5);  // the canary
  d.clock.Advance(std::chrono::minutes(2));
  // Admitted before: keeps its offer. The wave's deadline counts from its first offer, not from
  // the rollout's start an hour before.
  EXPECT_EQ(d.Offer("1.0.0", Node(0), 100), "2.0.0") << d.rollouts.List()[0].halt_reason;
  EXPECT_EQ(OfferRange(d, 10, 20), 0);

  const auto held = d.windows.For("stable");
  ASSERT_TRUE(held);
  auto offered =
      d.rollouts.Offer({"agent", "stable", "1.0.0", Node(0), false, 100, d.Now(), &held->schedule});
  ASSERT_TRUE(offered);
  EXPECT_FALSE(offered->any_time);
  d.store.rollouts.back().waves.immediate = true;
  ASSERT_TRUE(d.rollouts.Load());
  offered = d.rollouts.Offer(
      {"agent", "stable", "1.0.0", Node(30), false, 100, d.Now(), &held->schedule});
  ASSERT_TRUE(offered);
  EXPECT_TRUE(offered->any_time);
}

// Replicas reload the rollouts whenever the store's generation moves, our own writes included.
TEST(Rollouts, AReloadKeepsTheWavesOfOwnWritesAndTakesAnotherControllersChange) {
  Domain d;
  d.store.releases = {Published("2.0.0", 2)};
  auto r = Rollout(100);
  r.waves.canary = 2;
  d.store.rollouts = {r};
  d.Load();
  EXPECT_EQ(OfferRange(d, 0, 10), 2);
  ASSERT_TRUE(d.rollouts.Load());
  EXPECT_EQ(d.rollouts.Progress(r).in_flight, 2);
  EXPECT_EQ(OfferRange(d, 10, 20), 0);  // the canary is still full

  auto paused = r;
  paused.paused = true;
  d.store.rollouts.push_back(paused);  // another controller paused it
  ASSERT_TRUE(d.rollouts.Load());
  EXPECT_TRUE(d.rollouts.List()[0].paused);
  EXPECT_EQ(d.rollouts.Progress(r).offered, 2);  // rebuilt from the stored offers
  EXPECT_EQ(OfferRange(d, 10, 20), 0);
}

TEST(Rollouts, ImmediateOffersEveryoneInThePercentAndAPauseNobodyNew) {
  Domain d;
  d.store.releases = {Published("2.0.0", 2)};
  auto r = Rollout(100);
  r.waves.immediate = true;
  d.store.rollouts = {r};
  d.Load();
  EXPECT_EQ(OfferRange(d, 0, 50), 50);
  EXPECT_TRUE(d.store.offers.empty());

  auto c = Change("", std::nullopt, std::nullopt, true);
  c.immediate = false;
  ASSERT_TRUE(d.rollouts.Apply(c));
  EXPECT_EQ(OfferRange(d, 0, 50), 0);                  // paused
  EXPECT_EQ(d.Offer("2.0.0", Node(1), 100), "2.0.0");  // on the target: keeps it
  c.paused = false;
  ASSERT_TRUE(d.rollouts.Apply(c));
  EXPECT_EQ(OfferRange(d, 0, 50), 5);  // waves again: the default canary
}

}  // namespace
}  // namespace steward::controller
