#include "agent/agent_main.hpp"

#include <iostream>

#include "agent/agent.hpp"
#include "agent/config.hpp"
#include "agent/console.hpp"
#include "common/cli_args.hpp"

namespace steward::agent {

int Main(const std::vector<std::string>& args) {
  CLI::App app{"steward-agent: Steward's reference node process"};
  app.name("steward-agent");
  AddVersionFlag(app);
  app.require_subcommand(1);
  std::string config_path = "/etc/steward/agent.toml";
  int parent_pid = 0;

  auto* run = app.add_subcommand("run", "Run the agent until SIGTERM/SIGINT (SIGHUP reloads)");
  run->add_option("-c,--config", config_path, "Config file")->capture_default_str();
  auto* console =
      app.add_subcommand("console", "Serve the console API on [console] listen as its own process");
  console->add_option("-c,--config", config_path, "Config file")->capture_default_str();
  // Set by the agent when it starts the console itself: the console leaves with its parent.
  console->add_option("--parent-pid", parent_pid)->group("");
  auto* check_config = app.add_subcommand("check-config", "Validate the config file and print it");
  check_config->add_option("-c,--config", config_path, "Config file")->capture_default_str();
  if (auto code = ParseArgs(app, args)) return *code;

  if (run->parsed()) return RunAgent(config_path, SystemClock::Instance());
  if (console->parsed()) return RunConsole(config_path, parent_pid);
  if (check_config->parsed()) {
    auto cfg = LoadConfig(config_path);
    if (!cfg) {
      std::cerr << "steward-agent: " << cfg.error().message << "\n";
      return exit_code::kConfig;
    }
    std::cout << cfg->path << ": ok\nlisten = " << cfg->listen << "\nstate_dir = " << cfg->state_dir
              << "\n";
    if (cfg->fail != TestFail::none) {
      std::cout << "test_fail = " << TestFailName(cfg->fail) << " (test-only)\n";
    }
    return exit_code::kOk;
  }
  return exit_code::kUsage;
}

}  // namespace steward::agent
