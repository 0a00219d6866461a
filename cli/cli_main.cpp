#include "cli/cli_main.hpp"

#include "cli/admin_commands.hpp"
#include "cli/commands.hpp"
#include "common/cli_args.hpp"

namespace steward::cli {

int Main(const std::vector<std::string>& args) {
  CLI::App app{"stewardctl: keys, signing, releases, rollouts, feature flags and fleet queries"};
  app.name("stewardctl");
  AddVersionFlag(app);
  app.require_subcommand(1);
  Action action;
  AddKeyCommands(app, action);
  AddSignCommands(app, action);
  AddRootCommands(app, action);
  AddReleaseCommands(app, action);
  AddTlsCommands(app, action);
  AdminCommands admin;
  admin.Register(app);
  if (auto code = ParseArgs(app, args)) return *code;
  if (auto code = admin.Run()) return *code;
  if (!action) return exit_code::kUsage;
  return action();
}

}  // namespace steward::cli
