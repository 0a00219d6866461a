#include "agent/agent_main.hpp"

#include <iostream>

#include "agent/config.hpp"
#include "common/cli_args.hpp"

namespace steward::agent {

int Main(const std::vector<std::string>& args) {
  CLI::App app{"steward-agent: Steward's reference node process"};
  app.name("steward-agent");
  AddVersionFlag(app);
  app.require_subcommand(1);
  std::string config_path = "/etc/steward/agent.toml";
  auto* check_config = app.add_subcommand("check-config", "Validate the config file and print it");
  check_config->add_option("-c,--config", config_path, "Config file")->capture_default_str();
  if (auto code = ParseArgs(app, args)) return *code;
  if (check_config->parsed()) {
    auto cfg = LoadConfig(config_path);
    if (!cfg) {
      std::cerr << "steward-agent: " << cfg.error().message << "\n";
      return exit_code::kConfig;
    }
    std::cout << cfg->path << ": ok\nlisten = " << cfg->listen << "\nstate_dir = " << cfg->state_dir
              << "\n";
    return exit_code::kOk;
  }
  return exit_code::kUsage;
}

}  // namespace steward::agent
