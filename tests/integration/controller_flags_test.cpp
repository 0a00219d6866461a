// Feature flags against the real controller on loopback: the admin API's set/unset/list round
// trip, a channel's flags overriding the global ones in a node's check-in answer, flags kept
// across a restart, refused changes (with their code and what was wrong), and stewardctl's
// flags commands run as programs.
#include <gtest/gtest.h>

#include "tests/integration/controller_support.hpp"

namespace steward::test {
namespace {

class ControllerFlags : public ::testing::Test {
 protected:
  void SetUp() override { c.Start(); }

  Reply PutFlags(const json& body) { return c.Admin("PUT", "flags", body); }

  Controller c;
};

TEST_F(ControllerFlags, SetUnsetAndListRoundTrip) {
  auto r = c.Admin("GET", "flags");
  ASSERT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(r.body, json::parse(R"({"global":{},"channels":{}})"));

  r = PutFlags({{"scope", "global"},
                {"set", {{"console.embedded", false}, {"level", 3}, {"motd", "hello"}}}});
  ASSERT_EQ(r.status, 200) << r.raw;
  r = PutFlags({{"scope", "channel:beta"}, {"set", {{"console.embedded", true}, {"ratio", 0.25}}}});
  ASSERT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(r.body, json::parse(R"({"global":{"console.embedded":false,"level":3,"motd":"hello"},
      "channels":{"beta":{"console.embedded":true,"ratio":0.25}}})"));

  r = PutFlags({{"scope", "global"}, {"set", {{"level", 4}}}, {"unset", {"motd", "never-set"}}});
  ASSERT_EQ(r.status, 200) << r.raw;
  r = PutFlags({{"scope", "channel:beta"}, {"unset", {"console.embedded", "ratio"}}});
  ASSERT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(r.body, json::parse(R"({"global":{"console.embedded":false,"level":4},
      "channels":{}})"));
  EXPECT_EQ(c.Admin("GET", "flags").body, r.body);
}

TEST_F(ControllerFlags, ChannelOverridesGlobalInTheCheckinAnswerAndSurvivesARestart) {
  auto stable = c.Enroll("m-stable");
  auto beta = c.Enroll("m-beta");
  auto both = c.Enroll("m-both");
  const auto on = [](const std::string& ch) {
    return json::array({Controller::Component("agent", ch, "1.0.0")});
  };
  EXPECT_EQ(c.Checkin(stable, on("stable")).body["flags"], json::object());

  ASSERT_EQ(
      PutFlags({{"scope", "global"}, {"set", {{"console.embedded", false}, {"level", 1}}}}).status,
      200);
  ASSERT_EQ(PutFlags({{"scope", "channel:beta"}, {"set", {{"console.embedded", true}}}}).status,
            200);
  ASSERT_EQ(PutFlags({{"scope", "channel:edge"}, {"set", {{"console.embedded", "maybe"}}}}).status,
            200);
  const json global = {{"console.embedded", false}, {"level", 1}};
  const json on_beta = {{"console.embedded", true}, {"level", 1}};
  const auto check = [&] {
    EXPECT_EQ(c.Checkin(stable, on("stable")).body["flags"], global);
    EXPECT_EQ(c.Checkin(beta, on("beta")).body["flags"], on_beta);
    // Several channels: the earlier component's channel wins.
    auto r = c.Checkin(both, json::array({Controller::Component("agent", "beta", "1.0.0"),
                                          Controller::Component("tool", "edge", "1.0.0")}));
    EXPECT_EQ(r.body["flags"], on_beta) << r.raw;
  };
  check();

  c.Restart();  // everything comes back from the store
  check();
  EXPECT_EQ(c.Admin("GET", "flags").body["channels"]["edge"],
            json::parse(R"({"console.embedded":"maybe"})"));
}

TEST_F(ControllerFlags, RefusesBadChangesWithTheCodeAndWhatWasWrong) {
  const std::pair<json, std::string> cases[] = {
      {{{"scope", "global"}, {"set", {{"Bad Name", 1}}}}, "flag name 'Bad Name' must match"},
      {{{"scope", "global"}, {"set", {{"a", json::array({1})}}}}, "not an array"},
      {{{"scope", "global"}, {"set", {{"a", {{"b", 1}}}}}}, "not an object"},
      {{{"scope", "global"}, {"set", {{"a", nullptr}}}}, "to remove a flag, put its name in"},
      {{{"scope", "node:n-1"}, {"set", {{"a", 1}}}}, "unknown scope 'node:n-1'"},
      {{{"scope", "channel:Beta"}, {"set", {{"a", 1}}}}, "unknown scope 'channel:Beta'"},
      {{{"set", {{"a", 1}}}}, "missing field 'scope'"},
      {{{"scope", "global"}, {"set", {{"a", 1}}}, {"why", "x"}}, "unknown field 'why'"},
      {{{"scope", "global"}, {"set", {{"a", std::string(1025, 'x')}}}}, "longer than 1024 bytes"},
      {{{"scope", "global"}}, "nothing to change"},
  };
  for (const auto& [body, says] : cases) {
    auto r = PutFlags(body);
    EXPECT_EQ(r.status, 400) << body.dump();
    EXPECT_EQ(r.code(), "bad_request") << r.raw;
    EXPECT_NE(r.message().find(says), std::string::npos) << body.dump() << " -> " << r.raw;
  }
  auto dup =
      c.Request("PUT", "/v1/admin/flags", R"({"scope":"global","set":{"a":1,"a":2}})", kAdminToken);
  EXPECT_EQ(dup.code(), "bad_request");
  EXPECT_NE(dup.message().find("duplicate key 'a'"), std::string::npos) << dup.raw;
  auto garbage = c.Request("PUT", "/v1/admin/flags", "{scope", kAdminToken);
  EXPECT_NE(garbage.message().find("not valid JSON"), std::string::npos) << garbage.raw;

  // Without the admin token: neither read nor written.
  for (const char* method : {"GET", "PUT"}) {
    auto r = c.Request(method, "/v1/admin/flags", R"({"scope":"global","set":{"a":1}})");
    EXPECT_EQ(r.status, 401) << method;
    EXPECT_EQ(r.code(), "unauthorized");
    EXPECT_NE(r.message().find("missing admin token"), std::string::npos) << r.raw;
  }
  auto node = c.Enroll("m1");
  auto r = c.Request("PUT", "/v1/admin/flags", R"({"scope":"global","set":{"a":1}})", node.token);
  EXPECT_EQ(r.status, 401);
  EXPECT_NE(r.message().find("admin token is not valid"), std::string::npos) << r.raw;

  // Nothing refused was kept.
  EXPECT_EQ(c.Admin("GET", "flags").body, json::parse(R"({"global":{},"channels":{}})"));
}

TEST_F(ControllerFlags, StewardctlSetsUnsetsAndListsFlags) {
  Child::Options env;
  env.env["STEWARD_CONTROLLER"] = c.url;
  env.unset_env = {"STEWARD_TOKEN"};
  const auto token_file = c.dir.Write("ctl-token", std::string(kAdminToken) + "\n");
  const auto ctl = [&](std::vector<std::string> args) {
    args.insert(args.begin(), Bin("stewardctl"));
    args.insert(args.end(), {"--token-file", token_file});
    return RunProgram(args, env);
  };

  auto r = ctl({"flags", "list"});
  ASSERT_EQ(r.status.code(), 0) << r.err;
  EXPECT_NE(r.out.find("no flags set"), std::string::npos) << r.out;

  r = ctl({"flags", "set", "console.embedded=true", "level=3", "ratio=0.5", "motd=hello world",
           "quoted=\"true\"", "empty="});
  ASSERT_EQ(r.status.code(), 0) << r.err;
  EXPECT_NE(r.out.find("global  console.embedded  true"), std::string::npos) << r.out;
  r = ctl({"flags", "set", "console.embedded=false", "--channel", "beta"});
  ASSERT_EQ(r.status.code(), 0) << r.err;
  EXPECT_NE(r.out.find("channel:beta  console.embedded  false"), std::string::npos) << r.out;

  r = ctl({"flags", "list", "--json"});
  ASSERT_EQ(r.status.code(), 0) << r.err;
  EXPECT_EQ(json::parse(r.out, nullptr, false),
            json::parse(R"({"global":{"console.embedded":true,"level":3,"ratio":0.5,
                "motd":"hello world","quoted":"true","empty":""},
                "channels":{"beta":{"console.embedded":false}}})"))
      << r.out;

  auto node = c.Enroll("m1");
  auto answer =
      c.Checkin(node, json::array({Controller::Component("agent", "beta", "1.0.0")})).body;
  EXPECT_EQ(answer["flags"]["console.embedded"], false) << answer.dump();
  EXPECT_EQ(answer["flags"]["level"], 3);

  r = ctl({"flags", "unset", "console.embedded", "--channel", "beta", "--json"});
  ASSERT_EQ(r.status.code(), 0) << r.err;
  EXPECT_EQ(json::parse(r.out, nullptr, false)["channels"], json::object()) << r.out;
  r = ctl({"flags", "unset", "level", "ratio", "motd", "quoted", "empty"});
  ASSERT_EQ(r.status.code(), 0) << r.err;
  EXPECT_EQ(r.out.find("level"), std::string::npos) << r.out;

  // The controller's refusals come back with their code; malformed arguments are usage errors.
  r = ctl({"flags", "set", "Bad=1"});
  EXPECT_NE(r.status.code(), 0) << r.err;
  EXPECT_NE(r.err.find("bad_request"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("flag name 'Bad' must match"), std::string::npos) << r.err;
  r = ctl({"flags", "set", "a=1", "--channel", "Beta!"});
  EXPECT_NE(r.err.find("unknown scope 'channel:Beta!'"), std::string::npos) << r.err;
  r = ctl({"flags", "set", "novalue"});
  EXPECT_EQ(r.status.code(), 64) << r.err;
  EXPECT_NE(r.err.find("'novalue' must have the form NAME=VALUE"), std::string::npos) << r.err;
  r = ctl({"flags", "set", "a=1", "a=2"});
  EXPECT_EQ(r.status.code(), 64) << r.err;
  EXPECT_NE(r.err.find("given twice"), std::string::npos) << r.err;

  // Without a token: refused before anything is sent.
  r = RunProgram({Bin("stewardctl"), "flags", "list"}, env);
  EXPECT_EQ(r.status.code(), 64) << r.err;
  EXPECT_NE(r.err.find("no admin token"), std::string::npos) << r.err;
  auto bad_token = c.dir.Write("bad-token", "not-the-admin-token-at-all\n");
  r = RunProgram({Bin("stewardctl"), "flags", "list", "--token-file", bad_token}, env);
  EXPECT_NE(r.status.code(), 0);
  EXPECT_NE(r.err.find("unauthorized"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace steward::test
