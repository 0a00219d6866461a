// steward-agent's configuration (ARCHITECTURE §5).
#pragma once

#include <string>

#include "common/clock.hpp"
#include "common/error.hpp"

namespace steward::agent {

struct Config {
  std::string path;
  std::string listen = "127.0.0.1:7701";
  std::string state_dir = "/var/lib/steward-agent";
  std::string flags_file;  // flags.json written by the updater; empty: no flags
  std::string log_level = "info";
  std::string log_format = "text";
  std::string console_listen = "127.0.0.1:7702";  // [console] listen: standalone console
  // Test-only: how long loading state takes, to make "listen before load" observable.
  Duration load_delay = Duration::zero();
};

Result<Config> LoadConfig(const std::string& path);
Result<Config> ParseConfig(std::string_view text, const std::string& name);

}  // namespace steward::agent
