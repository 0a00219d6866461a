// steward-agent's configuration (ARCHITECTURE §5).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/clock.hpp"
#include "common/error.hpp"

namespace steward::agent {

// Test-only: ways the agent can misbehave on purpose, so the updater's handling of bad releases
// can be demonstrated and tested with the real node program. Never set in production.
enum class TestFail {
  none,
  crash,           // abort(): SIGABRT, a crash
  exit,            // exit 1: an error exit
  restart,         // exit 75: a restart request
  never_ready,     // never sends READY=1 (and /readyz stays 503)
  stall_watchdog,  // stops sending WATCHDOG=1
  ignore_stop,     // ignores SIGTERM/SIGINT, so only SIGKILL ends it
};

std::string_view TestFailName(TestFail fail);

struct Config {
  std::string path;
  std::string listen = "127.0.0.1:7701";
  std::string state_dir = "/var/lib/steward-agent";
  std::string flags_file;  // flags.json written by the updater; empty: no flags
  std::string log_level = "info";
  std::string log_format = "text";
  // How long a stop may spend finishing in-flight requests; keep it below the supervisor's
  // stop timeout (30 s by default).
  Duration drain_timeout = std::chrono::seconds(10);
  std::string console_listen = "127.0.0.1:7702";  // [console] listen: standalone console

  // Test-only: how long loading state takes, to make "listen before load" observable.
  Duration load_delay = Duration::zero();
  // Test-only: misbehave `test_fail_after` after start (0: right after binding the port),
  // only when running one of `test_fail_versions` (empty: any version).
  TestFail fail = TestFail::none;
  Duration fail_after = Duration::zero();
  std::vector<std::string> fail_versions;

  // The test failure that applies to a program of `version`.
  TestFail FailFor(std::string_view version) const;
};

Result<Config> LoadConfig(const std::string& path);
Result<Config> ParseConfig(std::string_view text, const std::string& name);

}  // namespace steward::agent
