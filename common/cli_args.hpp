// Shared command-line conventions for the four programs (CLI11): `--version` prints only the
// version, `--help` exits 0, and a usage error prints what was wrong and exits 64.
// Include only from a program's Main: CLI11 is a large header.
#pragma once

#include <CLI/CLI.hpp>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "common/codes.hpp"
#include "common/version.hpp"

namespace steward {

inline void AddVersionFlag(CLI::App& app) {
  app.set_version_flag("--version", std::string(BuildVersion()), "Print the version and exit");
}

// Parses args (args[0] is the program name). Returns an exit code when the program should stop
// now (--help, --version, usage error); nullopt to go on.
inline std::optional<int> ParseArgs(CLI::App& app, const std::vector<std::string>& args) {
  std::vector<std::string> rest(args.rbegin(), args.rend());
  if (!rest.empty()) rest.pop_back();  // program name
  try {
    app.parse(rest);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << app.get_name() << ": " << e.what() << "\nRun with --help for usage.\n";
    return exit_code::kUsage;
  }
  return std::nullopt;
}

}  // namespace steward
