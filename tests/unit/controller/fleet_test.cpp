// The fleet called directly: enrollment, the check-in answer, and the halt a check-in's
// update results can bring about.
#include "controller/fleet.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "common/protocol.hpp"
#include "controller/wire.hpp"
#include "tests/unit/controller/domain.hpp"

namespace steward::controller {
namespace {

using nlohmann::json;

ReleaseRecord Release(std::string component, std::string version, std::uint64_t sequence) {
  return ReleaseRecord{std::move(component),
                       "stable",
                       std::move(version),
                       sequence,
                       1,
                       "manifest of " + std::to_string(sequence),
                       {"sig"},
                       "sha",
                       0,
                       0};
}

RolloutRecord Rollout(std::string component, std::string version, double percent) {
  RolloutRecord r;
  r.component = std::move(component);
  r.channel = "stable";
  r.version = std::move(version);
  r.percent = percent;
  r.seed = std::string(64, '1');
  return r;
}

ComponentReport Component(std::string name, std::string running,
                          std::optional<LastUpdate> update = std::nullopt) {
  return ComponentReport{std::move(name), "stable", std::move(running), "running",
                         std::move(update)};
}

Enrollment Enroll(Fleet& fleet, std::string machine_id, std::string proof = "") {
  auto e = fleet.Enroll({"host", std::move(machine_id), "linux-x86_64", std::move(proof), "r"});
  EXPECT_TRUE(e) << e.error().message;
  return e.value_or(Enrollment{});
}

Result<CheckinAnswer> Checkin(Fleet& fleet, const Enrollment& node,
                              std::vector<ComponentReport> components) {
  return fleet.Checkin(node.node_token, {node.node_id, std::move(components), "{}"});
}

TEST(Fleet, EnrollingAgainKeepsTheIdOnlyWithTheNodeToken) {
  Domain d;
  d.Load();
  const auto first = Enroll(d.fleet, "machine-1");
  EXPECT_TRUE(first.node_id.starts_with("n-")) << first.node_id;
  EXPECT_EQ(first.node_token.size(), 64u);
  EXPECT_FALSE(first.refused_takeover);
  ASSERT_EQ(d.store.saved.size(), 1u);
  EXPECT_EQ(d.store.saved[0].enrolled_at, d.Now());

  const auto again = Enroll(d.fleet, "machine-1", first.node_token);
  EXPECT_EQ(again.node_id, first.node_id);
  EXPECT_NE(again.node_token, first.node_token);
  EXPECT_FALSE(again.refused_takeover);
  // The old token is gone: its check-in is refused.
  auto old = Checkin(d.fleet, first, {});
  ASSERT_FALSE(old);
  EXPECT_EQ(old.error().code, ErrorCode::unauthorized);

  // The same machine id without the token: a node of its own.
  const auto copy = Enroll(d.fleet, "machine-1");
  EXPECT_NE(copy.node_id, first.node_id);
  EXPECT_TRUE(copy.refused_takeover);
  EXPECT_EQ(d.fleet.size(), 2u);
}

TEST(Fleet, CheckinOnlyWithTheNodesOwnToken) {
  Domain d;
  d.Load();
  const auto a = Enroll(d.fleet, "a");
  const auto b = Enroll(d.fleet, "b");
  auto r = d.fleet.Checkin("not-a-token", {a.node_id, {}, "{}"});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::unauthorized);
  r = d.fleet.Checkin(b.node_token, {a.node_id, {}, "{}"});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::forbidden);
  EXPECT_NE(r.error().message.find("a node can only report for itself"), std::string::npos);
}

TEST(Fleet, CheckinAnswerOffersWhatTheRolloutChoosesWithTheNodesFlags) {
  Domain d;
  d.store.releases = {Release("agent", "1.0.0", 1), Release("agent", "2.0.0", 2),
                      Release("tool", "2.0.0", 1)};
  d.store.rollouts = {Rollout("agent", "2.0.0", 100), Rollout("tool", "2.0.0", 0)};
  d.store.flags = {{"", "kept", "1", 0}, {"stable", "console.embedded", "true", 0}};
  d.Load();
  const auto node = Enroll(d.fleet, "m");
  auto answer = d.fleet.Checkin(
      node.node_token,
      {node.node_id,
       {Component("agent", "1.0.0"), Component("tool", "1.0.0"), Component("other", "1.0.0")},
       R"({"node_id":"the report"})"});
  ASSERT_TRUE(answer) << answer.error().message;
  ASSERT_EQ(answer->releases.size(), 1u);  // tool is at 0 %, other has no rollout
  EXPECT_EQ(answer->releases[0]->record.component, "agent");
  EXPECT_EQ(answer->releases[0]->record.version, "2.0.0");
  EXPECT_EQ(json::parse(answer->flags), json::parse(R"({"console.embedded":true,"kept":1})"));
  EXPECT_EQ(answer->controllers, R"(["http://self:1"])");
  EXPECT_EQ(answer->checkin_interval_s, 42);
  EXPECT_EQ(d.store.saved.back().last_seen, d.Now());
  EXPECT_EQ(d.store.saved.back().report, R"({"node_id":"the report"})");

  const auto wire = json::parse(EncodeCheckinAnswer(*answer));
  EXPECT_EQ(wire["releases"][0]["version"], "2.0.0");
  EXPECT_EQ(wire["releases"][0]["manifest"], "manifest of 2");
  EXPECT_EQ(wire["roots"], json::array());
  // Written from the cached pieces, the answer is what a node's protocol decoder reads.
  const auto decoded = protocol::DecodeCheckinAnswer(EncodeCheckinAnswer(*answer));
  ASSERT_TRUE(decoded) << decoded.error().message;
  ASSERT_EQ(decoded->releases.size(), 1u);
  EXPECT_EQ(decoded->releases[0],
            (protocol::ReleaseOffer{"agent", "manifest of 2", {"sig"}, "stable", "2.0.0"}));
  EXPECT_EQ(decoded->controllers, std::vector<std::string>{"http://self:1"});
  EXPECT_EQ(decoded->checkin_interval_s, 42);

  // On the target, it stays there.
  answer = Checkin(d.fleet, node, {Component("agent", "2.0.0")});
  ASSERT_TRUE(answer);
  ASSERT_EQ(answer->releases.size(), 1u);
  EXPECT_EQ(answer->releases[0]->record.version, "2.0.0");
}

// Results reported at check-in feed the waves: the canary halts on its first rollback. (Before
// waves every rollout waited for 20 results; an immediate rollout still does, rollout_test.)
TEST(Fleet, ACanaryRollbackReportedAtCheckinHaltsTheRollout) {
  Domain d(HaltPolicy{0.4, 2});
  d.store.releases = {Release("agent", "1.0.0", 1), Release("agent", "2.0.0", 2)};
  d.store.rollouts = {Rollout("agent", "2.0.0", 100)};
  d.Load();
  const LastUpdate rolled_back{"1.0.0", "2.0.0", UpdateResult::rolled_back, "crash_loop"};
  const auto a = Enroll(d.fleet, "a");
  const auto b = Enroll(d.fleet, "b");
  ASSERT_EQ(Checkin(d.fleet, a, {Component("agent", "1.0.0")})->releases.size(), 1u);
  ASSERT_EQ(Checkin(d.fleet, b, {Component("agent", "1.0.0")})->releases.size(), 1u);
  ASSERT_EQ(d.store.offers.size(), 2u);  // both in the canary, written for a restart

  // An update towards another version does not count for this rollout.
  ASSERT_TRUE(Checkin(
      d.fleet, b,
      {Component("agent", "1.0.0", LastUpdate{"0.9.0", "1.0.0", UpdateResult::committed, ""})}));
  EXPECT_TRUE(d.store.updates.empty());
  EXPECT_FALSE(d.rollouts.List()[0].paused);

  ASSERT_TRUE(Checkin(d.fleet, a, {Component("agent", "1.0.0", rolled_back)}));
  ASSERT_TRUE(Checkin(d.fleet, a, {Component("agent", "1.0.0", rolled_back)}));  // the same
  ASSERT_EQ(d.store.updates.size(), 1u);
  EXPECT_EQ(d.store.updates[0].update, rolled_back);
  const auto halted = d.rollouts.List()[0];
  EXPECT_TRUE(halted.paused);
  EXPECT_NE(halted.halt_reason.find("the canary wave failed on rolled_back"), std::string::npos)
      << halted.halt_reason;
  EXPECT_NE(halted.halt_reason.find(a.node_id), std::string::npos) << halted.halt_reason;
  EXPECT_EQ(d.store.rollouts.back().halt_reason, halted.halt_reason);  // written through
  auto answer = Checkin(d.fleet, b, {Component("agent", "1.0.0")});
  ASSERT_TRUE(answer);
  EXPECT_TRUE(answer->releases.empty());  // a halted rollout offers nobody new
}

// Percent says who, the waves say how many: 30 nodes at 100 % with a canary of 2.
TEST(Fleet, WavesOfferTheCanaryFirstThenTheNextWaveAfterItCommits) {
  Domain d;
  d.store.releases = {Release("agent", "1.0.0", 1), Release("agent", "2.0.0", 2)};
  auto r = Rollout("agent", "2.0.0", 100);
  r.waves.canary = 2;
  d.store.rollouts = {r};
  d.Load();
  std::vector<Enrollment> nodes;
  for (int i = 0; i < 30; ++i) nodes.push_back(Enroll(d.fleet, "m" + std::to_string(i)));
  auto offered = [&](const std::string& running) {
    std::vector<Enrollment> out;
    for (const auto& n : nodes) {
      auto answer = Checkin(d.fleet, n, {Component("agent", running)});
      if (answer && !answer->releases.empty()) out.push_back(n);
    }
    return out;
  };
  const auto canary = offered("1.0.0");
  ASSERT_EQ(canary.size(), 2u);
  EXPECT_EQ(offered("1.0.0").size(), 2u);  // the same two again, nobody else
  const LastUpdate done{"1.0.0", "2.0.0", UpdateResult::committed, ""};
  for (const auto& n : canary)
    ASSERT_TRUE(Checkin(d.fleet, n, {Component("agent", "2.0.0", done)}));
  EXPECT_EQ(offered("1.0.0").size(), 2u + 4u);  // the canary stays, wave 1 holds 4
  EXPECT_EQ(d.rollouts.List()[0].wave, 1);
  EXPECT_EQ(d.store.rollouts.back().wave, 1);  // written through
}

TEST(Wire, CheckinComponentsReadTheLastUpdateTyped) {
  http::Request req;
  req.body =
      json{{"node_id", "n-1"},
           {"components",
            {{{"name", "agent"},
              {"channel", "stable"},
              {"last_update", {{"from", "1.0.0"}, {"to", "2.0.0"}, {"result", "rolled_back"}}}},
             {{"name", "tool"},
              {"channel", "stable"},
              {"last_update", {{"to", "2.0.0"}, {"result", "in_progress"}}}},
             {{"name", "old"},
              {"channel", "stable"},
              {"last_update", {{"to", "2.0.0"}, {"result", nullptr}}}}}}}
          .dump();
  auto report = DecodeCheckin(req);
  ASSERT_TRUE(report) << report.error().message;
  ASSERT_EQ(report->components.size(), 3u);
  EXPECT_EQ(report->components[0].last_update,
            (LastUpdate{"1.0.0", "2.0.0", UpdateResult::rolled_back, ""}));
  ASSERT_TRUE(report->components[1].last_update);
  EXPECT_FALSE(report->components[1].last_update->result);  // in progress
  EXPECT_FALSE(report->components[2].last_update);          // no result: nothing to count
  EXPECT_EQ(report->body, req.body);
}

}  // namespace
}  // namespace steward::controller
