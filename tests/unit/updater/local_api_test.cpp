#include "updater/local_api.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "updater/launcher.hpp"

namespace steward::updater {
namespace {

using nlohmann::json;

// The daemon's side, answering as told and recording what it was asked.
struct FakeDaemon final : LocalApi::Daemon {
  std::string Status() override { return R"({"updater":{"state":"running"}})"; }
  Result<std::string> Apply(const OfferedRelease& release) override {
    applied.push_back(release);
    return apply_answer;
  }
  Result<void> Command(const std::string& name, const std::string& command) override {
    commands.push_back(name + " " + command);
    return command_answer;
  }
  Result<void> ClearBad(const std::string& name, const std::string& version) override {
    cleared.push_back(name + " " + version);
    return clear_answer;
  }
  bool CheckNow() override {
    ++checks;
    return has_controller;
  }
  void Reexec() override { reexec = true; }
  Result<std::string> Reload() override {
    ++reloads;
    return reload_answer;
  }

  Result<std::string> reload_answer = std::string("updater.toml: reloaded; added b");
  int reloads = 0;
  Result<std::string> apply_answer = std::string("downloading 1.2.0");
  Result<void> command_answer, clear_answer;
  bool has_controller = true;
  std::vector<OfferedRelease> applied;
  std::vector<std::string> commands, cleared;
  int checks = 0;
  bool reexec = false;
};

struct Api : ::testing::Test {
  FakeDaemon daemon;
  int posted = 0;  // tasks handed to the loop (run at once here)
  LocalApi api{"/etc/steward/updater.toml",
               [this](std::function<void()> task) {
                 ++posted;
                 task();
               },
               daemon};
  http::Router router = api.Routes();

  Api() { api.SetServing(true); }

  http::Response Call(std::string method, std::string path, std::string body = "") {
    http::Request req;
    req.method = std::move(method);
    req.path = req.target = std::move(path);
    req.body = std::move(body);
    return router.Dispatch(req);
  }
};

json Body(const http::Response& r) { return json::parse(r.body); }
std::string ErrorCodeOf(const http::Response& r) { return Body(r)["error"]["code"]; }

TEST_F(Api, WhileRecoveringStatusSaysSoAndCommandsAreUnavailable) {
  api.SetServing(false);
  auto status = Call("GET", "/v1/status");
  EXPECT_EQ(status.status, 200);
  EXPECT_EQ(Body(status)["updater"]["state"], "recovering");
  EXPECT_EQ(Body(status)["components"], json::array());
  auto restart = Call("POST", "/v1/components/agent/restart");
  EXPECT_EQ(restart.status, 503);
  EXPECT_EQ(ErrorCodeOf(restart), "unavailable");
  EXPECT_EQ(posted, 0);
  EXPECT_TRUE(daemon.commands.empty());
}

TEST_F(Api, StatusIsTheDaemonsDocumentReadOnTheLoop) {
  auto r = Call("GET", "/v1/status");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(Body(r)["updater"]["state"], "running");
  EXPECT_EQ(posted, 1);
}

TEST_F(Api, ApplyHandsTheSignedReleaseOn) {
  auto r = Call("POST", "/v1/components/agent/apply",
                R"({"manifest":"signed bytes","signatures":["sig 1","sig 2"]})");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(Body(r), (json{{"component", "agent"}, {"outcome", "downloading 1.2.0"}}));
  ASSERT_EQ(daemon.applied.size(), 1u);
  EXPECT_EQ(daemon.applied[0].component, "agent");
  EXPECT_EQ(daemon.applied[0].manifest, "signed bytes");
  EXPECT_EQ(daemon.applied[0].signatures, (std::vector<std::string>{"sig 1", "sig 2"}));
  EXPECT_TRUE(daemon.commands.empty()) << "apply is not a command";
}

TEST_F(Api, ApplyRefusesAMalformedBodyBeforeReachingTheLoop) {
  for (const char* body :
       {"not json", R"({"manifest":"m"})", R"({"manifest":"m","signatures":[1]})",
        R"({"manifest":"m","signatures":[]})"}) {
    auto r = Call("POST", "/v1/components/agent/apply", body);
    EXPECT_EQ(r.status, 400) << body;
    EXPECT_EQ(ErrorCodeOf(r), "bad_request") << body;
  }
  EXPECT_TRUE(daemon.applied.empty());
}

TEST_F(Api, ARefusedOfferIs422AndAnUnknownComponent404) {
  daemon.apply_answer = Fail(ErrorCode::sig_invalid, "signature does not match");
  auto r = Call("POST", "/v1/components/agent/apply", R"({"manifest":"m","signatures":["s"]})");
  EXPECT_EQ(r.status, 422);
  EXPECT_EQ(ErrorCodeOf(r), "sig_invalid");
  daemon.apply_answer = Fail(ErrorCode::unknown_component, "no component nope");
  r = Call("POST", "/v1/components/nope/apply", R"({"manifest":"m","signatures":["s"]})");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(ErrorCodeOf(r), "unknown_component");
}

TEST_F(Api, ACommandIsAcceptedOrRefusedWithItsErrorsStatus) {
  auto r = Call("POST", "/v1/components/agent/restart");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(Body(r), (json{{"component", "agent"}, {"command", "restart"}, {"accepted", true}}));
  EXPECT_EQ(daemon.commands, (std::vector<std::string>{"agent restart"}));
  daemon.command_answer = Fail(ErrorCode::unknown_component, "no component nope");
  EXPECT_EQ(Call("POST", "/v1/components/nope/start").status, 404);
  daemon.command_answer = Fail(ErrorCode::invalid_argument, "unknown command dance");
  r = Call("POST", "/v1/components/agent/dance");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(ErrorCodeOf(r), "invalid_argument");
}

TEST_F(Api, AReloadAnswersWhatWasDoneOrWhyNothingWas) {
  auto r = Call("POST", "/v1/reload");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(Body(r), (json{{"reloaded", true}, {"summary", "updater.toml: reloaded; added b"}}));
  daemon.reload_answer = Fail(ErrorCode::config_parse, "updater.toml:3: expected a value");
  r = Call("POST", "/v1/reload");
  EXPECT_GE(r.status, 400);
  EXPECT_EQ(ErrorCodeOf(r), "config_parse");
  EXPECT_EQ(Body(r)["error"]["message"], "updater.toml:3: expected a value");
  EXPECT_EQ(daemon.reloads, 2);
}

TEST_F(Api, ClearingABadMarkThatIsNotThereIs404) {
  auto r = Call("DELETE", "/v1/components/agent/bad/1.2.0");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(Body(r), (json{{"component", "agent"}, {"version", "1.2.0"}, {"cleared", true}}));
  EXPECT_EQ(daemon.cleared, (std::vector<std::string>{"agent 1.2.0"}));
  daemon.clear_answer = Fail(ErrorCode::not_found, "1.2.0 is not marked bad");
  EXPECT_EQ(Call("DELETE", "/v1/components/agent/bad/1.2.0").status, 404);
  daemon.clear_answer = Fail(ErrorCode::db_busy, "locked");
  EXPECT_EQ(Call("DELETE", "/v1/components/agent/bad/1.2.0").status, 500);
}

TEST_F(Api, ACheckStartsACheckinOrSaysThereIsNoController) {
  auto r = Call("POST", "/v1/check");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(Body(r), (json{{"check", "started"}}));
  EXPECT_EQ(daemon.checks, 1);
  daemon.has_controller = false;
  r = Call("POST", "/v1/check");
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(ErrorCodeOf(r), "unsupported");
  EXPECT_NE(Body(r)["error"]["message"].get<std::string>().find("/etc/steward/updater.toml"),
            std::string::npos);
}

TEST_F(Api, ReexecAsksTheDaemonToReexecute) {
  auto r = Call("POST", "/v1/reexec");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(Body(r), (json{{"reexec", true}}));
  EXPECT_TRUE(daemon.reexec);
}

TEST(StatusJson, DescribesEachComponentItsUpdateAndTheCheckins) {
  UnitStatus u;
  u.name = "agent";
  u.state = UnitState::running;
  u.pid = 42;
  u.desired = DesiredState::running;
  u.running_version = u.installed_version = "1.2.0";
  u.restarts = 3;
  UnitStatus idle;
  idle.name = "idle";
  idle.desired = DesiredState::stopped;
  TxnView t;
  t.id = 7;
  t.component = "agent";
  t.from_version = "1.1.0";
  t.to_version = "1.2.0";
  t.healthy = std::chrono::milliseconds(1500);
  CheckinFacts facts;
  facts.count = 2;
  facts.controller = "https://c1.example";
  const json doc = json::parse(StatusJson({u, idle}, "running", {{"agent", t}}, facts));
  EXPECT_EQ(doc["updater"]["state"], "running");
  EXPECT_FALSE(doc["updater"].contains("update"));
  ASSERT_EQ(doc["components"].size(), 2u);
  const json& agent = doc["components"][0];
  EXPECT_EQ(agent["name"], "agent");
  EXPECT_EQ(agent["state"], "running");
  EXPECT_EQ(agent["pid"], 42);
  EXPECT_EQ(agent["running_version"], "1.2.0");
  EXPECT_EQ(agent["previous_version"], nullptr);
  EXPECT_EQ(agent["last_exit"], nullptr);
  EXPECT_EQ(agent["restarts"], 3);
  EXPECT_EQ(agent["update"]["id"], 7);
  EXPECT_EQ(agent["update"]["from"], "1.1.0");
  EXPECT_EQ(agent["update"]["result"], nullptr);
  EXPECT_EQ(agent["update"]["healthy_s"], 1.5);
  const json& stopped = doc["components"][1];
  EXPECT_EQ(stopped["pid"], nullptr);
  EXPECT_EQ(stopped["update"], nullptr);
  EXPECT_EQ(doc["checkin"], (json{{"count", 2},
                                  {"last_at", nullptr},
                                  {"last_error", nullptr},
                                  {"controller", "https://c1.example"}}));
}

TEST(StatusJson, HasNoCheckinsWithoutAControllerAndGivesTheUpdatersOwnUpdate) {
  TxnView self;
  self.id = 9;
  self.component = std::string(kUpdaterComponent);
  const json doc = json::parse(StatusJson({}, "running", {{self.component, self}}));
  EXPECT_FALSE(doc.contains("checkin"));
  EXPECT_EQ(doc["updater"]["update"]["id"], 9);
  EXPECT_EQ(doc["components"], json::array());
}

}  // namespace
}  // namespace steward::updater
