// stewardctl's fleet commands, thin clients of the controller's admin API (cli/admin_api.hpp):
// rollout set|pause|resume|list, nodes list|show, fleet, flags list|set|unset. (release
// publish|list are with the other release commands, cli/release.cpp.)
#pragma once

#include <memory>
#include <optional>

namespace CLI {
class App;
}

namespace steward::cli {

class AdminCommands {
 public:
  AdminCommands();
  ~AdminCommands();
  AdminCommands(const AdminCommands&) = delete;
  AdminCommands& operator=(const AdminCommands&) = delete;

  // Adds the commands to `app`.
  void Register(CLI::App& app);
  // After parsing: runs the admin command given and returns its exit code, or nullopt when the
  // command line named none of them.
  std::optional<int> Run();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace steward::cli
