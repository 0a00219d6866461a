#include "controller/controller_main.hpp"

#include <iostream>

#include "common/cli_args.hpp"
#include "controller/config.hpp"

namespace steward::controller {

int Main(const std::vector<std::string>& args) {
  CLI::App app{"steward-controller: releases, rollouts and the fleet view"};
  app.name("steward-controller");
  AddVersionFlag(app);
  app.require_subcommand(1);
  std::string config_path = "/etc/steward/controller.toml";
  auto* check_config = app.add_subcommand("check-config", "Validate the config file and print it");
  check_config->add_option("-c,--config", config_path, "Config file")->capture_default_str();
  if (auto code = ParseArgs(app, args)) return *code;
  if (check_config->parsed()) {
    auto cfg = LoadConfig(config_path);
    if (!cfg) {
      std::cerr << "steward-controller: " << cfg.error().message << "\n";
      return exit_code::kConfig;
    }
    std::cout << cfg->path << ": ok\nlisten = " << cfg->listen << "\nstore = " << cfg->store
              << "\n";
    return exit_code::kOk;
  }
  return exit_code::kUsage;
}

}  // namespace steward::controller
