#include "updater/config.hpp"

#include <gtest/gtest.h>

namespace steward::updater {
namespace {

using namespace std::chrono_literals;

TEST(UpdaterConfig, ExampleConfigLoads) {
  auto cfg = LoadConfig(std::string(STEWARD_SOURCE_DIR) + "/configs/updater.toml");
  ASSERT_TRUE(cfg) << cfg.error().message;
  ASSERT_TRUE(cfg->controller);
  EXPECT_EQ(cfg->controller->checkin_interval, 60s);
  ASSERT_EQ(cfg->components.size(), 1u);
  EXPECT_EQ(cfg->components[0].name, "agent");
  EXPECT_TRUE(cfg->components[0].Managed());
  EXPECT_EQ(cfg->components[0].grace, 10min);
}

TEST(UpdaterConfig, MinimalConfigUsesArchitectureDefaults) {
  auto cfg = ParseConfig("[[component]]\nname = \"x\"\nexec = \"/bin/true\"\n", "u.toml").value();
  EXPECT_FALSE(cfg.controller);
  EXPECT_EQ(cfg.state_dir, "/var/lib/steward");
  EXPECT_TRUE(cfg.http_helper);
  EXPECT_FALSE(ParseConfig("http_helper = false\n", "u.toml").value().http_helper);
  EXPECT_TRUE(cfg.http_helper_sandbox);
  EXPECT_FALSE(ParseConfig("http_helper_sandbox = false\n", "u.toml").value().http_helper_sandbox);
  const auto& c = cfg.components.at(0);
  EXPECT_EQ(c.readiness, Readiness::notify);
  EXPECT_EQ(c.desired, DesiredState::running);
  EXPECT_EQ(c.start_timeout, 90s);
  EXPECT_EQ(c.stop_timeout, 30s);
  EXPECT_EQ(c.restart_delay, 1s);
  EXPECT_EQ(c.restart_delay_max, 300s);
  EXPECT_EQ(c.restart_reset, 10min);
  EXPECT_EQ(c.crash_loop_failures, 5);
  EXPECT_EQ(c.crash_loop_window, 10min);
  EXPECT_FALSE(c.Managed());
}

TEST(UpdaterConfig, DesiredAndReadinessAreReadOnceIntoTheirEnums) {
  auto cfg = ParseConfig(
                 "[[component]]\nname = \"a\"\nexec = \"/x\"\ndesired = \"stopped\"\n"
                 "readiness = \"http:http://127.0.0.1:8080/readyz\"\n"
                 "[[component]]\nname = \"b\"\nexec = \"/y\"\nreadiness = \"none\"\n",
                 "u.toml")
                 .value();
  const auto& a = cfg.components.at(0);
  EXPECT_EQ(a.desired, DesiredState::stopped);
  EXPECT_EQ(a.readiness, Readiness::http);
  EXPECT_EQ(a.readiness_url, "http://127.0.0.1:8080/readyz");
  EXPECT_EQ(a.ReadinessText(), "http:http://127.0.0.1:8080/readyz");
  EXPECT_EQ(cfg.components.at(1).readiness, Readiness::none);
  EXPECT_EQ(cfg.components.at(1).ReadinessText(), "none");
  EXPECT_EQ(DesiredStateName(DesiredState::stopped), "stopped");
  EXPECT_EQ(DesiredStateFromName("running"), DesiredState::running);
  EXPECT_EQ(DesiredStateFromName("paused"), std::nullopt);
  // "http:" without a URL is no readiness.
  EXPECT_FALSE(
      ParseConfig("[[component]]\nname = \"a\"\nexec = \"/x\"\nreadiness = \"http:\"", "u.toml"));
}

TEST(UpdaterConfig, RejectsInvalidComponents) {
  const std::pair<const char*, const char*> cases[] = {
      {"[[component]]\nexec = \"/bin/true\"", "'component[0].name'"},
      {"[[component]]\nname = \"Bad Name\"\nexec = \"/bin/true\"", "'component[0].name'"},
      {"[[component]]\nname = \"a\"", "exactly one of 'binary'"},
      {"[[component]]\nname = \"a\"\nbinary = \"x\"\nexec = \"/bin/x\"", "exactly one of"},
      {"[[component]]\nname = \"a\"\nbinary = \"../x\"", "without '/'"},
      {"[[component]]\nname = \"a\"\nexec = \"relative\"", "absolute path"},
      {"[[component]]\nname = \"a\"\nexec = \"/x\"\nreadiness = \"tcp\"",
       "notify, none, http:<url>"},
      {"[[component]]\nname = \"a\"\nexec = \"/x\"\ndesired = \"paused\"",
       "allowed: running, stopped"},
      {"[[component]]\nname = \"a\"\nexec = \"/x\"\nrestart_delay = \"10s\"\nrestart_delay_max = "
       "\"5s\"",
       "at least restart_delay"},
      {"[[component]]\nname = \"a\"\nbinary = \"x\"\npin = \"latest\"", "semantic version"},
      {"[[component]]\nname = \"a\"\nexec = \"/x\"\nhold = true", "only managed components"},
      {"[[component]]\nname = \"a\"\nexec = \"/x\"\n[[component]]\nname = \"a\"\nexec = \"/y\"",
       "unique"},
      {"[[component]]\nname = \"a\"\nexec = \"/x\"\nstop_timeout = \"0s\"", "from 1s to 1h"},
      {"state_dir = \"relative\"", "absolute path"},
      {"http_helper = \"yes\"", "'http_helper'"},
      {"http_helper_sandbox = 1", "'http_helper_sandbox'"},
      {"[controller]\nurls = []", "at least one controller URL"},
      {"[controller]\nurls = [\"ftp://x\"]", "https://"},
      {"[controller]\nurls = [\"https://x\"]\ncheckin_interval = \"0s\"",
       "'controller.checkin_interval'"},
      {"[trust]\nroot = 1", "'trust.root'"},
      {"[[component]]\nname = \"a\"\nexec = \"/x\"\ncrash_loop_failures = 0",
       "'component[0].crash_loop_failures'"},
      {"[[component]]\nname = \"a\"\nexec = \"/x\"\nrestart_reset = \"0s\"",
       "'component[0].restart_reset'"},
      {"[[component]]\nname = \"a\"\nexec = \"/x\"\nrestart = \"always\"",
       "unknown key 'component[0].restart'"},
  };
  for (const auto& [text, mention] : cases) {
    auto r = ParseConfig(text, "u.toml");
    ASSERT_FALSE(r) << text;
    EXPECT_NE(r.error().message.find(mention), std::string::npos)
        << text << " -> " << r.error().message;
    EXPECT_NE(r.error().message.find("u.toml"), std::string::npos);
  }
}

}  // namespace
}  // namespace steward::updater
