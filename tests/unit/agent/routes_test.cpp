#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "agent/live_state.hpp"
#include "agent/state.hpp"
#include "common/version.hpp"
#include "tests/support/temp_dir.hpp"

namespace steward::agent {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

http::Response Call(const http::Router& router, const std::string& target) {
  http::Request req;
  req.method = "GET";
  req.target = target;
  const auto q = target.find('?');
  req.path = target.substr(0, q);
  if (q != std::string::npos) req.query = target.substr(q + 1);
  return router.Dispatch(req);
}

TEST(AgentRoutes, ReadinessFollowsThePhase) {
  test::TempDir dir;
  FakeClock clock;
  LiveState live(clock, "1.2.3", "/etc/a.toml");
  const auto router = MakeAgentRouter(live, dir.path().string());
  EXPECT_EQ(Call(router, "/healthz").status, 200);
  for (const auto& [phase, code] : {std::pair{Phase::starting, 503},
                                    {Phase::loading, 503},
                                    {Phase::ready, 200},
                                    {Phase::stopping, 503}}) {
    live.SetPhase(phase);
    const auto r = Call(router, "/readyz");
    EXPECT_EQ(r.status, code);
    EXPECT_EQ(json::parse(r.body).at("phase"), PhaseName(phase));
    EXPECT_EQ(Call(router, "/healthz").status, 200);
  }
}

TEST(AgentRoutes, StatusShowsVersionUptimePhaseAndFlags) {
  test::TempDir dir;
  FakeClock clock;
  LiveState live(clock, "1.2.3", "/etc/a.toml");
  const auto router = MakeAgentRouter(live, dir.path().string());
  clock.Advance(90s);
  live.SetPhase(Phase::ready);
  live.SetBoots(4);
  Flags flags;
  flags.console_standalone = true;
  live.SetFlags(flags);
  live.SetStandaloneConsole(4242, "127.0.0.1:7702");
  const auto j = json::parse(Call(router, "/status").body);
  EXPECT_EQ(j.at("version"), "1.2.3");
  EXPECT_EQ(j.at("uptime_s"), 90);
  EXPECT_EQ(j.at("phase"), "ready");
  EXPECT_EQ(j.at("boots"), 4);
  EXPECT_EQ(j.at("flags").at("console.standalone"), true);
  EXPECT_EQ(j.at("console").at("standalone_pid"), 4242);
}

TEST(AgentRoutes, EmbeddedConsoleFollowsItsFlagAndValidatesQueries) {
  test::TempDir dir;
  FakeClock clock;
  LiveState live(clock, "1.2.3", "/etc/a.toml");
  const auto router = MakeAgentRouter(live, dir.path().string());
  // Before the agent has loaded its state.
  EXPECT_EQ(Call(router, "/console/v1/overview").status, 503);

  auto store = StateStore::Open(dir.path().string());
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->RecordStart("1.2.3", clock.Now()));
  const auto ok = Call(router, "/console/v1/overview?events=1");
  ASSERT_EQ(ok.status, 200) << ok.body;
  const auto j = json::parse(ok.body);
  EXPECT_EQ(j.at("mode"), "embedded");
  EXPECT_EQ(j.at("boots"), 1);
  EXPECT_EQ(j.at("events").size(), 1u);

  for (const char* bad : {"x", "-1", "201", "1e3", "", "99999999999999999999999"}) {
    const auto r = Call(router, std::string("/console/v1/overview?events=") + bad);
    EXPECT_EQ(r.status, 400) << bad;
    EXPECT_NE(r.body.find("'events'"), std::string::npos) << r.body;
  }

  Flags off;
  off.console_embedded = false;
  live.SetFlags(off);
  const auto r = Call(router, "/console/v1/overview");
  EXPECT_EQ(r.status, 404);
  EXPECT_NE(r.body.find("console.embedded"), std::string::npos) << r.body;
  EXPECT_EQ(Call(router, "/healthz").status, 200);
}

}  // namespace
}  // namespace steward::agent
