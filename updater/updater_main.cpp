#include "updater/updater_main.hpp"

#include <iostream>

#include "common/cli_args.hpp"
#include "common/duration.hpp"
#include "updater/config.hpp"

namespace steward::updater {

namespace {

int CheckConfig(const std::string& path) {
  auto cfg = LoadConfig(path);
  if (!cfg) {
    std::cerr << "steward-updater: " << cfg.error().message << "\n";
    return exit_code::kConfig;
  }
  std::cout << cfg->path << ": ok\n"
            << "state_dir = " << cfg->state_dir << "\nsocket = " << cfg->socket << "\n"
            << "controller = "
            << (cfg->controller ? cfg->controller->urls.front() : "(none: supervision only)")
            << "\n";
  for (const auto& c : cfg->components) {
    std::cout << "component " << c.name << ": "
              << (c.Managed() ? "binary " + c.binary : "exec " + c.exec) << ", desired "
              << c.desired << ", readiness " << c.readiness << ", grace " << FormatDuration(c.grace)
              << "\n";
  }
  return exit_code::kOk;
}

}  // namespace

int Main(const std::vector<std::string>& args) {
  CLI::App app{"steward-updater: runs, supervises and updates this host's node software"};
  app.name("steward-updater");
  AddVersionFlag(app);
  app.require_subcommand(1);
  std::string config_path = "/etc/steward/updater.toml";
  auto* check_config = app.add_subcommand("check-config", "Validate the config file and print it");
  check_config->add_option("-c,--config", config_path, "Config file")->capture_default_str();
  if (auto code = ParseArgs(app, args)) return *code;
  if (check_config->parsed()) return CheckConfig(config_path);
  return exit_code::kUsage;
}

}  // namespace steward::updater
