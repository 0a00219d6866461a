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
  };
  for (const auto& [text, mention] : cases) {
    auto r = ParseConfig(text, "a.toml");
    ASSERT_FALSE(r) << text;
    EXPECT_NE(r.error().message.find(mention), std::string::npos) << r.error().message;
  }
}

}  // namespace
}  // namespace steward::agent
