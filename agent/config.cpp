#include "agent/config.hpp"

#include <algorithm>

#include "common/config.hpp"
#include "common/hostport.hpp"

namespace steward::agent {

namespace {

using namespace std::chrono_literals;

constexpr std::pair<TestFail, std::string_view> kTestFails[] = {
    {TestFail::none, "none"},
    {TestFail::crash, "crash"},
    {TestFail::exit, "exit"},
    {TestFail::restart, "restart"},
    {TestFail::never_ready, "never_ready"},
    {TestFail::stall_watchdog, "stall_watchdog"},
    {TestFail::ignore_stop, "ignore_stop"},
};

Result<Config> FromDocument(Result<config::Document> doc, const std::string& name) {
  if (!doc) return std::unexpected(doc.error());
  Config cfg;
  cfg.path = name;
  config::Section root = doc->Root();
  root.Get("listen", cfg.listen);
  root.Get("state_dir", cfg.state_dir);
  root.Get("flags_file", cfg.flags_file);
  root.GetEnum("log_level", cfg.log_level,
               {"trace", "debug", "info", "warn", "error", "critical", "off"});
  root.GetEnum("log_format", cfg.log_format, {"text", "json"});
  root.Get("drain_timeout", cfg.drain_timeout, 0s, 10min);
  root.Get("test_load_delay", cfg.load_delay, 0s, 10min);
  std::string fail = "none";
  root.GetEnum(
      "test_fail", fail,
      {"none", "crash", "exit", "restart", "never_ready", "stall_watchdog", "ignore_stop"});
  for (const auto& [value, text] : kTestFails) {
    if (text == fail) cfg.fail = value;
  }
  root.Get("test_fail_after", cfg.fail_after, 0s, 24h);
  root.Get("test_fail_versions", cfg.fail_versions);
  if (auto r = ParseHostPort(cfg.listen); !r) root.Invalid("listen", r.error().message);
  if (cfg.state_dir.empty()) root.Invalid("state_dir", "a directory path");
  if (auto console = root.Table("console")) {
    console->Get("listen", cfg.console_listen);
    if (auto r = ParseHostPort(cfg.console_listen); !r)
      console->Invalid("listen", r.error().message);
  }
  if (auto r = doc->Finish(); !r) return std::unexpected(r.error());
  return cfg;
}

}  // namespace

std::string_view TestFailName(TestFail fail) {
  for (const auto& [value, text] : kTestFails) {
    if (value == fail) return text;
  }
  return "none";
}

TestFail Config::FailFor(std::string_view version) const {
  if (fail_versions.empty()) return fail;
  const bool listed = std::ranges::find(fail_versions, version) != fail_versions.end();
  return listed ? fail : TestFail::none;
}

Result<Config> ParseConfig(std::string_view text, const std::string& name) {
  return FromDocument(config::Document::Parse(text, name), name);
}

Result<Config> LoadConfig(const std::string& path) {
  return FromDocument(config::Document::Load(path), path);
}

}  // namespace steward::agent
