#include "agent/config.hpp"

#include <gtest/gtest.h>

namespace steward::agent {
namespace {

TEST(AgentConfig, ExampleConfigLoads) {
  auto cfg = LoadConfig(std::string(STEWARD_SOURCE_DIR) + "/configs/agent.toml");
  ASSERT_TRUE(cfg) << cfg.error().message;
  EXPECT_EQ(cfg->listen, "127.0.0.1:7701");
  EXPECT_EQ(cfg->console_listen, "127.0.0.1:7702");
}

TEST(AgentConfig, RejectsBadValues) {
  const std::pair<const char*, const char*> cases[] = {
      {"listen = \"nowhere\"", "'listen'"},
      {"listen = \"127.0.0.1:99999\"", "0 to 65535"},
      {"log_level = \"chatty\"", "'log_level'"},
      {"[console]\nlisten = \"x\"", "'console.listen'"},
      {"test_load_delay = \"1y\"", "'test_load_delay'"},
      {"colour = \"blue\"", "unknown key 'colour'"},
      {"drain_timeout = \"11m\"", "'drain_timeout'"},
      {"test_fail = \"explode\"", "'test_fail'"},
      {"test_fail_after = \"-1s\"", "'test_fail_after'"},
      {"test_fail_versions = \"1.0.0\"", "'test_fail_versions'"},
  };
  for (const auto& [text, mention] : cases) {
    auto r = ParseConfig(text, "a.toml");
    ASSERT_FALSE(r) << text;
    EXPECT_NE(r.error().message.find(mention), std::string::npos) << r.error().message;
  }
}

TEST(AgentConfig, TestFailuresApplyToTheNamedVersionsOnly) {
  auto cfg = ParseConfig(
      "test_fail = \"crash\"\ntest_fail_after = \"5s\"\ntest_fail_versions = [\"1.1.0\"]",
      "a.toml");
  ASSERT_TRUE(cfg) << cfg.error().message;
  EXPECT_EQ(cfg->fail, TestFail::crash);
  EXPECT_EQ(cfg->fail_after, std::chrono::seconds(5));
  EXPECT_EQ(cfg->FailFor("1.1.0"), TestFail::crash);
  EXPECT_EQ(cfg->FailFor("1.0.0"), TestFail::none);
  auto any = ParseConfig("test_fail = \"never_ready\"", "a.toml");
  ASSERT_TRUE(any);
  EXPECT_EQ(any->FailFor("9.9.9"), TestFail::never_ready);
  EXPECT_EQ(TestFailName(TestFail::stall_watchdog), "stall_watchdog");
  auto plain = ParseConfig("", "a.toml");
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->FailFor("1.0.0"), TestFail::none);
  EXPECT_EQ(plain->drain_timeout, std::chrono::seconds(10));
}

}  // namespace
}  // namespace steward::agent
