#include "cli/cli_main.hpp"

#include "common/cli_args.hpp"

namespace steward::cli {

int Main(const std::vector<std::string>& args) {
  CLI::App app{"stewardctl: keys, signing, releases, rollouts and fleet queries"};
  app.name("stewardctl");
  AddVersionFlag(app);
  app.require_subcommand(1);
  if (auto code = ParseArgs(app, args)) return *code;
  return exit_code::kUsage;
}

}  // namespace steward::cli
