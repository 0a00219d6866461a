#include "controller/config.hpp"

#include <gtest/gtest.h>

namespace steward::controller {
namespace {

TEST(ControllerConfig, ExampleConfigLoads) {
  auto cfg = LoadConfig(std::string(STEWARD_SOURCE_DIR) + "/configs/controller.toml");
  ASSERT_TRUE(cfg) << cfg.error().message;
  EXPECT_EQ(cfg->halt_rollback_rate, 0.05);
  EXPECT_EQ(cfg->halt_min_attempts, 20);
}

TEST(ControllerConfig, RejectsBadValues) {
  const std::pair<const char*, const char*> cases[] = {
      {"store = \"mysql://x\"", "allowed: sqlite:"},
      {"store = \"sqlite:\"", "needs a path"},
      {"store = \"postgresql://steward:secret@db/steward\"", "password file"},
      {"store = \"postgres://db/steward?sslmode=require&password=secret\"", "password file"},
      {"public_url = \"controller:8443\"", "'public_url'"},
      {"[rollout]\nhalt_rollback_rate = 1.5", "from 0 to 1"},
      {"[rollout]\nhalt_min_attempts = 0", "from 1 to"},
      {"listen = \"0.0.0.0\"", "'listen'"},
      {"threads = 0", "'threads'"},
      {"allow_insecure_http = 1", "'allow_insecure_http'"},
      {"tls_cert_file = \"/etc/steward/tls/controller.pem\"", "'tls_key_file'"},
      {"tls_key_file = \"/etc/steward/tls/controller.key\"", "needs both tls_cert_file"},
  };
  for (const auto& [text, mention] : cases) {
    auto r = ParseConfig(text, "c.toml");
    ASSERT_FALSE(r) << text;
    EXPECT_NE(r.error().message.find(mention), std::string::npos) << r.error().message;
  }
}

TEST(ControllerConfig, APostgresqlUrlWithoutAPasswordSelectsPostgresql) {
  for (const std::string url : {"postgresql://steward@db.internal/steward?sslmode=verify-full",
                                "postgres:///steward?host=/run/postgresql"}) {
    auto cfg = ParseConfig("store = \"" + url + "\"", "c.toml");
    ASSERT_TRUE(cfg) << cfg.error().message;
    EXPECT_EQ(cfg->store, url);
  }
}

}  // namespace
}  // namespace steward::controller
