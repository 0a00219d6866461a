// stewardctl's admin commands, thin clients of the controller's admin API (docs/protocol.md):
// release publish|list, rollout set|pause|resume|list, nodes list|show, fleet,
// flags list|set|unset. The controller URL comes from --controller or STEWARD_CONTROLLER; the
// admin token from --token-file or STEWARD_TOKEN; the CA of an https controller from --ca-file
// or STEWARD_CA_FILE.
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

  // Adds the commands to `app`; reuses a `release` group another part added already.
  void Register(CLI::App& app);
  // After parsing: runs the admin command given and returns its exit code, or nullopt when the
  // command line named none of them.
  std::optional<int> Run();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace steward::cli
