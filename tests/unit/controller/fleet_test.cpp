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

TEST(Fleet, RollbacksHaltTheRolloutOnceEnoughNodesReported) {
  Domain d(HaltPolicy{0.4, 2});
  d.store.releases = {Release("agent", "1.0.0", 1), Release("agent", "2.0.0", 2)};
  d.store.rollouts = {Rollout("agent", "2.0.0", 100)};
  d.Load();
  const LastUpdate rolled_back{"1.0.0", "2.0.0", UpdateResult::rolled_back, "crash_loop"};
  const auto a = Enroll(d.fleet, "a");
  const auto b = Enroll(d.fleet, "b");

  ASSERT_TRUE(Checkin(d.fleet, a, {Component("agent", "1.0.0", rolled_back)}));
  ASSERT_TRUE(Checkin(d.fleet, a, {Component("agent", "1.0.0", rolled_back)}));  // the same
  ASSERT_EQ(d.store.updates.size(), 1u);
  EXPECT_EQ(d.store.updates[0].node_id, a.node_id);
  EXPECT_EQ(d.store.updates[0].update, rolled_back);
  EXPECT_FALSE(d.rollouts.List()[0].paused);  // one attempt is below the minimum of two

  // An update towards another version does not count for this rollout.
  ASSERT_TRUE(Checkin(
      d.fleet, b,
      {Component("agent", "1.0.0", LastUpdate{"0.9.0", "1.0.0", UpdateResult::committed, ""})}));
  EXPECT_EQ(d.store.updates.size(), 1u);

  auto answer = Checkin(d.fleet, b, {Component("agent", "1.0.0", rolled_back)});
  ASSERT_TRUE(answer);
  const auto halted = d.rollouts.List()[0];
  EXPECT_TRUE(halted.paused);
  EXPECT_NE(halted.halt_reason.find("halted automatically: 2 of 2 nodes"), std::string::npos)
      << halted.halt_reason;
  EXPECT_EQ(d.store.rollouts.back().halt_reason, halted.halt_reason);  // written through
  EXPECT_TRUE(answer->releases.empty());  // a paused rollout moves nobody
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
