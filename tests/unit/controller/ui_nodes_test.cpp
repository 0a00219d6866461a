// The node list the dashboard pages through (GET /v1/admin/nodes with limit, cursor and
// filters), a node's update history, and the fleet overview per component and channel, through
// the controller's router with a fake store and clock.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "controller/fleet.hpp"
#include "controller/service.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/unit/controller/fake_store.hpp"
#include "tests/unit/controller/ui_request.hpp"

namespace steward::controller {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

constexpr const char* kAdmin = "admin-token-0123456789abcdef";
constexpr const char* kEnroll = "enroll-token-0123456789abcdef";

struct NodesTest : ::testing::Test {
  FakeStore store;
  FakeClock clock;
  std::unique_ptr<Service> service;
  http::Router router;
  std::vector<std::string> ids;  // enrolled, in order

  void SetUp() override {
    ServiceOptions opt;
    opt.admin_tokens = {kAdmin};
    opt.enroll_tokens = {kEnroll};
    opt.checkin_interval_s = 60;
    auto s = Service::Create(store, clock, opt);
    ASSERT_TRUE(s);
    service = std::move(*s);
    router = service->MakeRouter();
  }

  http::Response Send(std::string method, std::string target, std::string body = "",
                      std::string bearer = kAdmin) {
    std::map<std::string, std::string> headers;
    if (!bearer.empty()) headers["authorization"] = "Bearer " + bearer;
    auto r = MakeRequest(std::move(method), target, std::move(body), std::move(headers));
    return router.Dispatch(r);
  }

  // Enrolls a node and checks it in with one agent component.
  std::string Node(const std::string& hostname, const std::string& channel,
                   const std::string& version, const std::string& state) {
    auto res = Send("POST", "/v1/enroll",
                    json{{"enroll_token", kEnroll},
                         {"hostname", hostname},
                         {"machine_id", "m-" + hostname},
                         {"platform", "linux-x86_64"}}
                        .dump(),
                    "");
    EXPECT_EQ(res.status, 200) << res.body;
    const auto node = json::parse(res.body);
    const std::string id = node["node_id"];
    res = Send("POST", "/v1/checkin",
               json{{"node_id", id},
                    {"components",
                     {{{"name", "agent"},
                       {"channel", channel},
                       {"running_version", version},
                       {"state", state}}}}}
                   .dump(),
               node["node_token"]);
    EXPECT_EQ(res.status, 200) << res.body;
    ids.push_back(id);
    return id;
  }

  json Get(const std::string& target) {
    auto res = Send("GET", target);
    EXPECT_EQ(res.status, 200) << target << ": " << res.body;
    return json::parse(res.body, nullptr, false);
  }

  static std::vector<std::string> Hostnames(const json& page) {
    std::vector<std::string> out;
    for (const auto& n : page["nodes"]) out.push_back(n["hostname"]);
    std::ranges::sort(out);
    return out;
  }
};

TEST_F(NodesTest, PagesWalkEveryNodeOnceInIdOrder) {
  for (int i = 0; i < 7; ++i) Node("web-" + std::to_string(i), "stable", "1.0.0", "running");
  std::vector<std::string> seen;
  std::string cursor;
  int pages = 0;
  do {
    auto page = Get("/v1/admin/nodes?limit=3" + (cursor.empty() ? "" : "&after=" + cursor));
    ASSERT_LE(page["nodes"].size(), 3u);
    for (const auto& n : page["nodes"]) seen.push_back(n["id"]);
    cursor = page["next"].is_null() ? "" : page["next"].get<std::string>();
    ++pages;
  } while (!cursor.empty() && pages < 10);
  EXPECT_EQ(pages, 3);
  auto sorted = ids;
  std::ranges::sort(sorted);
  EXPECT_EQ(seen, sorted);
  // No limit: every node, as stewardctl asks; the fields it reads are there.
  auto all = Get("/v1/admin/nodes");
  EXPECT_EQ(all["nodes"].size(), 7u);
  EXPECT_TRUE(all["next"].is_null());
  for (const char* field : {"id", "hostname", "platform", "last_seen", "components"}) {
    EXPECT_TRUE(all["nodes"][0].contains(field)) << field;
  }
}

TEST_F(NodesTest, FiltersMatchVersionStateChannelAndHostname) {
  Node("web-1", "stable", "1.0.0", "running");
  Node("web-2", "stable", "1.1.0", "running");
  Node("db-1", "beta", "1.1.0", "crash_loop");
  Node("DB-2", "beta", "1.0.0", "stopped");
  using V = std::vector<std::string>;
  EXPECT_EQ(Hostnames(Get("/v1/admin/nodes?version=1.1.0")), (V{"db-1", "web-2"}));
  EXPECT_EQ(Hostnames(Get("/v1/admin/nodes?channel=beta")), (V{"DB-2", "db-1"}));
  EXPECT_EQ(Hostnames(Get("/v1/admin/nodes?state=crash_loop")), (V{"db-1"}));
  EXPECT_EQ(Hostnames(Get("/v1/admin/nodes?hostname=db")), (V{"DB-2", "db-1"}));
  EXPECT_EQ(Hostnames(Get("/v1/admin/nodes?channel=beta&version=1.0.0")), (V{"DB-2"}));
  EXPECT_EQ(Hostnames(Get("/v1/admin/nodes?component=other")), V{});
  EXPECT_EQ(Hostnames(Get("/v1/admin/nodes?hostname=web&limit=1"))[0].substr(0, 4), "web-");
}

TEST_F(NodesTest, LateAndSilentNodesAreFoundAndCountedApart) {
  const auto old = Node("old", "stable", "1.0.0", "running");
  clock.Advance(4min);  // 4 missed check-ins of 60 s: late
  Node("fresh", "stable", "1.0.0", "running");
  using V = std::vector<std::string>;
  EXPECT_EQ(Hostnames(Get("/v1/admin/nodes?checkin=late")), (V{"old"}));
  EXPECT_EQ(Hostnames(Get("/v1/admin/nodes?checkin=ok")), (V{"fresh"}));
  auto fleet = Get("/v1/admin/fleet");
  EXPECT_EQ(fleet["checkins"], json::parse(R"({"ok":1,"late":1,"silent":0})"));
  clock.Advance(27min);  // 31 missed: silent; the fresh one 27: late
  EXPECT_EQ(Hostnames(Get("/v1/admin/nodes?checkin=silent")), (V{"old"}));
  EXPECT_EQ(Hostnames(Get("/v1/admin/nodes?checkin=late")), (V{"fresh"}));
}

TEST_F(NodesTest, TheFleetOverviewCountsEachComponentAndChannel) {
  Node("a", "stable", "1.0.0", "running");
  Node("b", "stable", "1.1.0", "running");
  Node("c", "stable", "1.1.0", "crash_loop");
  Node("d", "beta", "1.2.0", "running");
  auto fleet = Get("/v1/admin/fleet");
  ASSERT_EQ(fleet["groups"].size(), 2u);
  const auto& beta = fleet["groups"][0];
  EXPECT_EQ(beta["channel"], "beta");
  EXPECT_EQ(beta["versions"], json::parse(R"({"1.2.0":1})"));
  const auto& stable = fleet["groups"][1];
  EXPECT_EQ(stable["component"], "agent");
  EXPECT_EQ(stable["nodes"], 3);
  EXPECT_EQ(stable["versions"], json::parse(R"({"1.0.0":1,"1.1.0":2})"));
  EXPECT_EQ(stable["states"], json::parse(R"({"crash_loop":1,"running":2})"));
  EXPECT_EQ(fleet["checkin_interval_s"], 60);
  // The fields stewardctl reads stay, summed over channels.
  EXPECT_EQ(fleet["nodes"], 4);
  EXPECT_EQ(fleet["versions"], json::parse(R"({"agent":{"1.0.0":1,"1.1.0":2,"1.2.0":1}})"));
  EXPECT_EQ(fleet["states"], json::parse(R"({"agent":{"crash_loop":1,"running":3}})"));
}

TEST_F(NodesTest, ANodeShowsItsUpdateHistoryNewestFirst) {
  const auto id = Node("a", "stable", "1.1.0", "running");
  store.updates.push_back(
      {id, "agent", "seed1", {"1.0.0", "1.1.0", UpdateResult::committed, ""}, 10});
  store.updates.push_back(
      {id, "agent", "seed2", {"1.1.0", "1.2.0", UpdateResult::rolled_back, "health_gate"}, 20});
  store.updates.push_back({"other", "agent", "seed2", {"1.1.0", "1.2.0", std::nullopt, ""}, 30});
  auto node = Get("/v1/admin/nodes/" + id);
  ASSERT_EQ(node["updates"].size(), 2u);
  EXPECT_EQ(node["updates"][0]["to"], "1.2.0");
  EXPECT_EQ(node["updates"][0]["result"], "rolled_back");
  EXPECT_EQ(node["updates"][0]["error_code"], "health_gate");
  EXPECT_EQ(node["updates"][1]["result"], "committed");
  EXPECT_TRUE(node["report"].is_object());
}

TEST_F(NodesTest, BadQueriesSayWhatIsAllowed) {
  for (const char* q : {"limit=0", "limit=1001", "limit=ten", "limit=5x", "limit=-1"}) {
    auto res = Send("GET", std::string("/v1/admin/nodes?") + q);
    EXPECT_EQ(res.status, 400) << q;
    EXPECT_NE(res.body.find("'limit' must be a whole number from 1 to 1000"), std::string::npos)
        << res.body;
  }
  auto res = Send("GET", "/v1/admin/nodes?checkin=sleepy");
  EXPECT_EQ(res.status, 400);
  EXPECT_NE(res.body.find("ok, late or silent"), std::string::npos);
  res = Send("GET", "/v1/admin/nodes?hostname=" + std::string(300, 'x'));
  EXPECT_EQ(res.status, 400);
  EXPECT_NE(res.body.find("'hostname'"), std::string::npos);
}

TEST(SqliteStoreNodeUpdates, ListsOneNodesResultsNewestFirstUpToTheLimit) {
  test::TempDir dir;
  auto store = OpenStore("sqlite:" + (dir / "c.db").string());
  ASSERT_TRUE(store) << store.error().message;
  for (int i = 0; i < 5; ++i) {
    const auto seed = "seed" + std::to_string(i);
    ASSERT_TRUE((*store)->RecordUpdateResult(
        {"n1",
         "agent",
         seed,
         {"1.0." + std::to_string(i), "1.0.9", UpdateResult::committed, ""},
         100 + i}));
    ASSERT_TRUE((*store)->RecordUpdateResult(
        {"n2", "agent", seed, {"1.0.0", "1.0.9", std::nullopt, ""}, 100 + i}));
  }
  auto listed = (*store)->ListNodeUpdates("n1", 3);
  ASSERT_TRUE(listed) << listed.error().message;
  ASSERT_EQ(listed->size(), 3u);
  EXPECT_EQ((*listed)[0].at, 104);
  EXPECT_EQ((*listed)[0].update.from, "1.0.4");
  EXPECT_EQ((*listed)[0].update.result, UpdateResult::committed);
  EXPECT_EQ((*listed)[2].at, 102);
  auto other = (*store)->ListNodeUpdates("n2", 50);
  ASSERT_TRUE(other);
  ASSERT_EQ(other->size(), 5u);
  EXPECT_EQ((*other)[0].update.result, std::nullopt);
  EXPECT_TRUE((*store)->ListNodeUpdates("nobody", 50)->empty());
}

}  // namespace
}  // namespace steward::controller
