// Maintenance windows end to end: a real controller hands a channel's windows to a real updater
// with its offer; the updater begins the update only inside a window, once it waited max_wait,
// or at once for an immediate rollout. The controller admits a node to a wave only while a
// window is open by its own clock and zone data; to show the node deciding by its own, the
// node's zone data (TZDIR) says Etc/GMT+12 is UTC while the controller's says it is UTC-12, so
// one window text can be open for one and closed for the other.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>

#include "tests/e2e/fleet.hpp"

namespace steward::test::e2e {
namespace {

using namespace std::chrono;

// "daily HH:MM 1h ZONE" starting ten minutes before now as seen `offset` from UTC.
std::string DailyAround(hours offset, const std::string& zone, minutes shift = -10min) {
  const auto local = floor<minutes>(system_clock::now() + offset + shift);
  const hh_mm_ss hms{local - floor<days>(local)};
  char text[64];
  std::snprintf(text, sizeof text, "daily %02d:%02d 1h %s", static_cast<int>(hms.hours().count()),
                static_cast<int>(hms.minutes().count()), zone.c_str());
  return text;
}

class Windows : public ::testing::Test {
 protected:
  void SetUp() override {
    // The node's zone data: Etc/GMT+12 is UTC there.
    fs::create_directories(zones_.path() / "Etc");
    fs::copy_file("/usr/share/zoneinfo/UTC", zones_.path() / "Etc" / "GMT+12");
    controller_ = MakeController();
    controller_->Start();
    Publish(*controller_, "agent", "1.0.0", 1);
    Publish(*controller_, "agent", "1.1.0", 2);
    SetRollout(*controller_, "1.0.0", 100);
    host_.Start({controller_->url}, (controller_->dir / "root.json").string(),
                Child::Options{{{"TZDIR", zones_.path().string()}}, {}, ""});
    ASSERT_TRUE(host_.WaitRunning("1.0.0")) << host_.Logs();
  }

  void SetWindows(const json& body) {
    auto r = controller_->Admin("PUT", "windows/stable", body);
    ASSERT_EQ(r.status, 200) << r.raw;
  }

  bool WaitWaiting(const std::string& text) const {
    return host_.updater.WaitUnit("agent", [&](const json& u) {
      return u["waiting"].is_string() &&
             u["waiting"].get<std::string>().find(text) != std::string::npos;
    });
  }

  TempDir zones_;
  std::unique_ptr<Controller> controller_;
  Host host_;
};

TEST_F(Windows, AnOfferWaitsForTheNodesWindowAndBeginsWhenItOpens) {
  // Open for the controller (UTC-12), closed for the node (UTC): admitted, then held back.
  SetWindows({{"windows", {DailyAround(-12h, "Etc/GMT+12")}}});
  SetRollout(*controller_, "1.1.0", 100);
  ASSERT_TRUE(WaitWaiting("1.1.0 waits for a maintenance window (the next opens")) << host_.Logs();
  const auto pid = host_.Agent()["pid"];
  ASSERT_TRUE(host_.WaitCheckins(2));
  EXPECT_EQ(host_.Agent()["running_version"], "1.0.0");
  EXPECT_EQ(host_.Agent()["pid"], pid);
  EXPECT_EQ(host_.Agent()["update"]["to"], "1.0.0");  // no transaction began
  // A window open for the node: the offer it keeps begins.
  SetWindows({{"windows", {DailyAround(0h, "Etc/GMT+12")}}});
  ASSERT_TRUE(host_.WaitRunning("1.1.0")) << host_.Logs();
  EXPECT_TRUE(host_.Agent()["waiting"].is_null());
}

TEST_F(Windows, AnUpdateThatWaitedMaxWaitBeginsAnyway) {
  SetWindows({{"windows", {DailyAround(-12h, "Etc/GMT+12")}}, {"max_wait", "2s"}});
  SetRollout(*controller_, "1.1.0", 100);
  ASSERT_TRUE(WaitWaiting("at the latest until")) << host_.Logs();
  ASSERT_TRUE(host_.WaitRunning("1.1.0")) << host_.Logs();
  EXPECT_NE(host_.Logs().find("waited 2s for a maintenance window: begins now"), std::string::npos);
}

TEST_F(Windows, AClosedWindowAdmitsNobodyToAWaveAndAnImmediateRolloutIgnoresIt) {
  // Closed for both: six hours from now, in UTC.
  SetWindows({{"windows", {DailyAround(6h, "UTC", 0min)}}});
  SetRollout(*controller_, "1.1.0", 100);
  ASSERT_TRUE(host_.WaitCheckins(3));
  EXPECT_EQ(host_.Agent()["running_version"], "1.0.0");
  EXPECT_TRUE(host_.Agent()["waiting"].is_null());  // not even offered
  EXPECT_EQ(Rollout(*controller_)["offered"], 0) << Rollout(*controller_);
  auto r = controller_->Admin("PUT", "rollouts/agent/stable",
                              json{{"version", "1.1.0"}, {"percent", 100}, {"immediate", true}});
  ASSERT_EQ(r.status, 200) << r.raw;
  ASSERT_TRUE(host_.WaitRunning("1.1.0")) << host_.Logs();
}

TEST_F(Windows, BadWindowsAreRefusedNamingTheWindowAndChangeNothing) {
  SetWindows({{"windows", {"sat,sun 02:00 2h Europe/Berlin"}}, {"max_wait", "72h"}});
  for (const auto& [body, says] :
       {std::pair{json{{"windows", {"someday 02:00 1h UTC"}}}, "days 'someday'"},
        std::pair{json{{"windows", {"mon 02:00 1h Europe/Atlantis"}}}, "Europe/Atlantis"},
        std::pair{json{{"windows", "mon 02:00 1h UTC"}}, "must be an array"},
        std::pair{json{{"windows", json::array()}, {"max_wait", "forever"}}, "max_wait"},
        std::pair{json{{"windows", json::array()}, {"when", 1}}, "unknown field 'when'"}}) {
    auto r = controller_->Admin("PUT", "windows/stable", body);
    EXPECT_EQ(r.status, 400) << body;
    EXPECT_NE(r.raw.find(says), std::string::npos) << r.raw;
  }
  auto list = controller_->Admin("GET", "windows");
  ASSERT_EQ(list.status, 200);
  EXPECT_EQ(list.body["windows"][0]["windows"][0], "sat,sun 02:00 2h Europe/Berlin") << list.raw;
  EXPECT_EQ(list.body["windows"][0]["max_wait"], "3d") << list.raw;
  // Cleared with an empty list.
  SetWindows({{"windows", json::array()}});
  EXPECT_EQ(controller_->Admin("GET", "windows").body["windows"], json::array());
}

}  // namespace
}  // namespace steward::test::e2e
