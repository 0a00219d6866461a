// The controller's service with a fake store and clock: token files, and that a check-in is
// answered from memory (no store read) with the node's write queued.
#include "controller/service.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tests/support/temp_dir.hpp"
#include "tests/unit/controller/fake_store.hpp"

namespace steward::controller {
namespace {

using nlohmann::json;

http::Request Post(std::string path, std::string body, std::string bearer = "") {
  http::Request r;
  r.method = "POST";
  r.path = r.target = std::move(path);
  r.body = std::move(body);
  if (!bearer.empty()) r.headers["authorization"] = "Bearer " + bearer;
  return r;
}

// The enroll token is judged before the rest of the request: a stranger's malformed request
// is 401, and only a holder of the token learns what a request must hold (400).
ServiceOptions EnrollOptions() {
  ServiceOptions opt;
  opt.enroll_tokens = {"enroll-token-0123456789"};
  return opt;
}

TEST(ControllerService, EnrollRefusesABadTokenBeforeJudgingTheOtherFields) {
  FakeStore store;
  FakeClock clock;
  auto service = Service::Create(store, clock, EnrollOptions());
  ASSERT_TRUE(service);
  auto router = (*service)->MakeRouter();
  auto enroll = [&](std::string body) {
    auto req = Post("/v1/enroll", std::move(body));
    return router.Dispatch(req);
  };
  auto res = enroll(R"({"hostname":5})");
  EXPECT_EQ(res.status, 401) << res.body;
  res = enroll(R"({"enroll_token":"wrong","hostname":5})");
  EXPECT_EQ(res.status, 401) << res.body;
  res = enroll(R"({"enroll_token":"enroll-token-0123456789"})");
  EXPECT_EQ(res.status, 400) << res.body;
  EXPECT_EQ(json::parse(res.body)["error"]["code"], "bad_request");
  EXPECT_NE(res.body.find("'hostname'"), std::string::npos) << res.body;
  EXPECT_TRUE(store.saved.empty());
}

TEST(ControllerService, CheckinIsAnsweredFromMemory) {
  FakeStore store;
  FakeClock clock;
  ServiceOptions opt;
  opt.enroll_tokens = {"enroll-token-0123456789"};
  opt.public_url = "http://self:1";
  opt.checkin_interval_s = 42;
  auto service = Service::Create(store, clock, opt);
  ASSERT_TRUE(service);
  ASSERT_TRUE((*service)->Heartbeat());
  auto router = (*service)->MakeRouter();
  auto enroll = Post("/v1/enroll", R"({"enroll_token":"enroll-token-0123456789",
      "hostname":"h","machine_id":"m","platform":"linux-x86_64"})");
  auto res = router.Dispatch(enroll);
  ASSERT_EQ(res.status, 200) << res.body;
  const auto node = json::parse(res.body);
  const int reads_before = store.reads;
  auto checkin = Post("/v1/checkin",
                      json{{"node_id", node["node_id"]},
                           {"components", {{{"name", "agent"}, {"channel", "stable"}}}}}
                          .dump(),
                      node["node_token"]);
  res = router.Dispatch(checkin);
  ASSERT_EQ(res.status, 200) << res.body;
  EXPECT_EQ(store.reads, reads_before);
  ASSERT_EQ(store.saved.size(), 2u);  // enrollment, then the check-in
  EXPECT_EQ(
      store.saved[1].last_seen,
      std::chrono::duration_cast<std::chrono::seconds>(clock.Now().time_since_epoch()).count());
  const auto answer = json::parse(res.body);
  EXPECT_EQ(answer["controllers"], json::array({"http://a:1", "http://b:2"}));
  EXPECT_EQ(answer["checkin_interval_s"], 42);

  http::Request ready;
  ready.method = "GET";
  ready.path = "/readyz";
  res = router.Dispatch(ready);
  EXPECT_EQ(res.status, 503);
  EXPECT_NE(res.body.find("store gone"), std::string::npos);
}

http::Request Put(std::string path, std::string body, std::string bearer) {
  auto r = Post(std::move(path), std::move(body), std::move(bearer));
  r.method = "PUT";
  return r;
}

TEST(ControllerService, FlagsAreWrittenThroughAndAnsweredFromMemory) {
  FakeStore store;
  store.flags.push_back({"", "kept", "1", 0});  // loaded at start
  FakeClock clock;
  ServiceOptions opt;
  opt.enroll_tokens = {"enroll-token-0123456789"};
  opt.admin_tokens = {"admin-token-0123456789"};
  auto service = Service::Create(store, clock, opt);
  ASSERT_TRUE(service);
  auto router = (*service)->MakeRouter();
  auto put = Put("/v1/admin/flags", R"({"scope":"channel:beta","set":{"console.embedded":true}})",
                 "admin-token-0123456789");
  auto res = router.Dispatch(put);
  ASSERT_EQ(res.status, 200) << res.body;
  EXPECT_EQ(json::parse(res.body),
            json::parse(R"({"global":{"kept":1},"channels":{"beta":{"console.embedded":true}}})"));
  ASSERT_EQ(store.flags.size(), 2u);

  // A failed store write changes nothing a node or an admin sees.
  store.fail_flag_writes = true;
  auto lost =
      Put("/v1/admin/flags", R"({"scope":"global","set":{"lost":2}})", "admin-token-0123456789");
  res = router.Dispatch(lost);
  EXPECT_EQ(res.status, 500) << res.body;
  EXPECT_NE(res.body.find("disk full"), std::string::npos) << res.body;
  auto get = Put("/v1/admin/flags", "", "admin-token-0123456789");
  get.method = "GET";
  res = router.Dispatch(get);
  EXPECT_EQ(res.body.find("lost"), std::string::npos) << res.body;

  auto enroll = Post("/v1/enroll", R"({"enroll_token":"enroll-token-0123456789",
      "hostname":"h","machine_id":"m","platform":"linux-x86_64"})");
  res = router.Dispatch(enroll);
  ASSERT_EQ(res.status, 200) << res.body;
  const auto node = json::parse(res.body);
  const int reads_before = store.reads;
  json report{{"node_id", node["node_id"]},
              {"components", json::array({json{{"name", "agent"}, {"channel", "beta"}}})}};
  auto checkin = Post("/v1/checkin", report.dump(), node["node_token"].get<std::string>());
  res = router.Dispatch(checkin);
  ASSERT_EQ(res.status, 200) << res.body;
  EXPECT_EQ(store.reads, reads_before);
  EXPECT_EQ(json::parse(res.body)["flags"], json::parse(R"({"console.embedded":true,"kept":1})"));
}

// Two controllers share a store: a node that enrolled through one checks in with the other,
// which finds it in the store instead of refusing its token (and making it enroll anew).
TEST(ControllerService, NodeEnrolledThroughAPeerIsFoundInTheStore) {
  FakeStore store;
  FakeClock clock;
  const auto opt = EnrollOptions();
  auto first = Service::Create(store, clock, opt);
  auto second = Service::Create(store, clock, opt);
  ASSERT_TRUE(first && second);
  auto a = (*first)->MakeRouter();
  auto b = (*second)->MakeRouter();
  auto enroll = [&](http::Router& r, const std::string& proof = "") {
    auto req = Post("/v1/enroll", R"({"enroll_token":"enroll-token-0123456789",
        "hostname":"h","machine_id":"m","platform":"linux-x86_64"})",
                    proof);
    auto res = r.Dispatch(req);
    EXPECT_EQ(res.status, 200) << res.body;
    return json::parse(res.body);
  };
  auto checkin = [&](http::Router& r, const json& node_id, const std::string& token) {
    auto req = Post(
        "/v1/checkin",
        json{{"node_id", node_id}, {"components", {{{"name", "agent"}, {"channel", "stable"}}}}}
            .dump(),
        token);
    return r.Dispatch(req);
  };

  const auto node = enroll(a);
  auto res = checkin(b, node["node_id"], node["node_token"]);
  ASSERT_EQ(res.status, 200) << res.body;
  EXPECT_EQ(store.saved.back().id, node["node_id"]);
  EXPECT_EQ(
      store.saved.back().last_seen,
      std::chrono::duration_cast<std::chrono::seconds>(clock.Now().time_since_epoch()).count());

  // A token the store does not hold for that node is still refused.
  res = checkin(b, node["node_id"], "not-the-node-token");
  EXPECT_EQ(res.status, 401) << res.body;
  EXPECT_NE(res.body.find("the node token is not valid"), std::string::npos) << res.body;
  res = checkin(b, "n-unknown", node["node_token"]);
  EXPECT_EQ(res.status, 403) << res.body;  // a node can only report for itself
  res = checkin(b, "n-unknown", "another-unknown-token");
  EXPECT_EQ(res.status, 401) << res.body;

  // The node enrolls again through the first controller with its token (same id, new token):
  // the second takes the new token from the store and forgets the old one.
  const auto again = enroll(a, node["node_token"]);
  ASSERT_EQ(again["node_id"], node["node_id"]);
  res = checkin(b, again["node_id"], again["node_token"]);
  EXPECT_EQ(res.status, 200) << res.body;
  res = checkin(b, node["node_id"], node["node_token"]);
  EXPECT_EQ(res.status, 401) << res.body;
}

// Two controllers share a store: what one writes reaches the other's answers at its next Sync,
// not before, and a Sync with nothing new reloads nothing.
TEST(ControllerService, SyncLoadsWhatAnotherReplicaChanged) {
  FakeStore store;
  FakeClock clock;
  ServiceOptions opt = EnrollOptions();
  opt.admin_tokens = {"admin-token-0123456789"};
  auto first = Service::Create(store, clock, opt);
  auto second = Service::Create(store, clock, opt);
  ASSERT_TRUE(first && second);
  auto a = (*first)->MakeRouter();
  auto b = (*second)->MakeRouter();
  auto enroll = Post("/v1/enroll", R"({"enroll_token":"enroll-token-0123456789",
      "hostname":"h","machine_id":"m","platform":"linux-x86_64"})");
  const auto node = json::parse(b.Dispatch(enroll).body);
  const auto flags_seen_by_b = [&] {
    auto req = Post("/v1/checkin",
                    json{{"node_id", node["node_id"]},
                         {"components", {{{"name", "agent"}, {"channel", "stable"}}}}}
                        .dump(),
                    node["node_token"].get<std::string>());
    auto res = b.Dispatch(req);
    EXPECT_EQ(res.status, 200) << res.body;
    return json::parse(res.body)["flags"];
  };
  EXPECT_EQ((*second)->Sync(), false);

  auto put = Post("/v1/admin/flags", R"({"scope":"global","set":{"paused.everything":true}})",
                  "admin-token-0123456789");
  put.method = "PUT";
  ASSERT_EQ(a.Dispatch(put).status, 200);
  EXPECT_EQ(flags_seen_by_b(), json::object()) << "not before its next Sync";
  EXPECT_EQ((*second)->Sync(), true);
  EXPECT_EQ(flags_seen_by_b(), json::parse(R"({"paused.everything":true})"));
  const int reads = store.reads;
  EXPECT_EQ((*second)->Sync(), false);
  EXPECT_EQ(store.reads, reads) << "nothing new: nothing reloaded";
}

TEST(ControllerTokens, BadRootIsRefusedWithItsPath) {
  test::TempDir dir;
  Config cfg;
  cfg.root = dir.Write("root.json", "{\"schema\":\"steward.root/1\"");
  auto r = LoadServiceOptions(cfg);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::root_malformed);
  EXPECT_NE(r.error().message.find("root.json"), std::string::npos) << r.error().message;
}

}  // namespace
}  // namespace steward::controller
