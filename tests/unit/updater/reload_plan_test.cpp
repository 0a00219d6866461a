#include "updater/reload_plan.hpp"

#include <gtest/gtest.h>

#include <string>

namespace steward::updater {
namespace {

using Names = std::vector<std::string>;

Config Parse(const std::string& text) {
  auto cfg = ParseConfig(text, "updater.toml");
  EXPECT_TRUE(cfg) << cfg.error().message;
  return *cfg;
}

const std::string kBase = R"(
[controller]
urls = ["https://127.0.0.1:1"]

[[component]]
name = "a"
exec = "/bin/sleep"
args = ["100"]

[[component]]
name = "b"
binary = "node"
channel = "stable"

[[component]]
name = "c"
exec = "/bin/true"
)";

TEST(ReloadPlan, TheSameFileChangesNothing) {
  auto plan = PlanReload(Parse(kBase), Parse(kBase));
  ASSERT_TRUE(plan) << plan.error().message;
  EXPECT_TRUE(plan->Empty());
  EXPECT_EQ(plan->unchanged, (Names{"a", "b", "c"}));
}

TEST(ReloadPlan, EachKindOfChangeIsSortedApart) {
  const std::string next = R"(
[controller]
urls = ["https://127.0.0.1:1"]

[[component]]
name = "a"
exec = "/bin/sleep"
args = ["200"]

[[component]]
name = "b"
binary = "node"
channel = "beta"
hold = true

[[component]]
name = "d"
exec = "/bin/true"
desired = "stopped"
)";
  auto plan = PlanReload(Parse(kBase), Parse(next));
  ASSERT_TRUE(plan) << plan.error().message;
  EXPECT_EQ(plan->restarted, Names{"a"});
  EXPECT_EQ(plan->retuned, Names{"b"});
  EXPECT_EQ(plan->added, Names{"d"});
  EXPECT_EQ(plan->removed, Names{"c"});
  EXPECT_TRUE(plan->desired.empty());
  EXPECT_TRUE(plan->unchanged.empty());
  EXPECT_FALSE(plan->controller_changed);
}

TEST(ReloadPlan, OnlyDesiredChangedStartsOrStopsWithoutARestartStep) {
  std::string next = kBase;
  next.replace(next.find("name = \"c\"\n"), 11, "name = \"c\"\ndesired = \"stopped\"\n");
  auto plan = PlanReload(Parse(kBase), Parse(next));
  ASSERT_TRUE(plan) << plan.error().message;
  EXPECT_EQ(plan->desired, Names{"c"});
  EXPECT_TRUE(plan->restarted.empty());
  EXPECT_EQ(plan->unchanged, (Names{"a", "b"}));
}

TEST(ReloadPlan, ReadinessAndEnvironmentAreHowTheProcessRuns) {
  std::string next = kBase;
  next.replace(next.find("args = [\"100\"]"), 14,
               "args = [\"100\"]\nreadiness = \"none\"\nenv = { X = \"1\" }");
  auto plan = PlanReload(Parse(kBase), Parse(next));
  ASSERT_TRUE(plan) << plan.error().message;
  EXPECT_EQ(plan->restarted, Names{"a"});
}

TEST(ReloadPlan, ControllerSelfUpdateAndLoggingAreNoticed) {
  std::string next = kBase;
  next.replace(next.find("127.0.0.1:1"), 11, "127.0.0.1:2");
  next = "log_level = \"debug\"\n[self_update]\nchannel = \"beta\"\n" + next;
  auto plan = PlanReload(Parse(kBase), Parse(next));
  ASSERT_TRUE(plan) << plan.error().message;
  EXPECT_TRUE(plan->controller_changed);
  EXPECT_TRUE(plan->self_update_changed);
  EXPECT_TRUE(plan->logging_changed);
  EXPECT_EQ(plan->unchanged, (Names{"a", "b", "c"}));
}

TEST(ReloadPlan, SettingsOnlyARestartAppliesRefuseTheWholeReload) {
  const std::string next = "state_dir = \"/srv/steward\"\nsocket = \"/run/x.sock\"\n" + kBase +
                           "\n[[component]]\nname = \"new\"\nexec = \"/bin/true\"\n";
  auto plan = PlanReload(Parse(kBase), Parse(next));
  ASSERT_FALSE(plan);
  EXPECT_EQ(plan.error().code, ErrorCode::config_invalid);
  EXPECT_NE(plan.error().message.find("state_dir, socket changed"), std::string::npos)
      << plan.error().message;
  EXPECT_NE(plan.error().message.find("restart"), std::string::npos);
  EXPECT_NE(plan.error().message.find("running configuration is kept"), std::string::npos);
}

TEST(ReloadPlan, TheLogFormatAndHavingAControllerAtAllNeedARestart) {
  std::string without = kBase;
  const auto from = without.find("[controller]");
  without.erase(from, without.find("[[component]]") - from);
  auto plan = PlanReload(Parse(kBase), Parse("log_format = \"json\"\n" + without));
  ASSERT_FALSE(plan);
  EXPECT_NE(plan.error().message.find("log_format, [controller] (added or removed) changed"),
            std::string::npos)
      << plan.error().message;
  EXPECT_FALSE(PlanReload(Parse(without), Parse(kBase))) << "a controller added";
}

}  // namespace
}  // namespace steward::updater
