// What a configuration reload (SIGHUP, `steward-updater reload`) must do: compares the live
// updater.toml with the one just read and says, per component, whether it is new, gone, to be
// restarted, to be started or stopped, or only to take new policy (channel, pin, hold, timeouts)
// without touching its process. Settings only a restart can change (the state directory, the
// local API socket, the HTTP helper, the root file, the log format, having a controller) refuse the
// reload as a whole, so a reload never half-applies. A pure function: the daemon applies the plan.
#pragma once

#include <string>
#include <vector>

#include "common/error.hpp"
#include "updater/config.hpp"

namespace steward::updater {

struct ReloadPlan {
  std::vector<std::string> added;      // start supervising (and start, if desired running)
  std::vector<std::string> removed;    // stop, then forget
  std::vector<std::string> restarted;  // how its process runs changed: stop, then start anew
  std::vector<std::string> desired;    // only `desired` changed: start or stop it
  std::vector<std::string> retuned;    // policy only (channel, pin, hold, timeouts): no restart
  std::vector<std::string> unchanged;
  bool controller_changed = false;  // check-in seeds, interval, CA, proxy
  bool self_update_changed = false;
  bool logging_changed = false;  // the log level

  bool Empty() const;
};

// config_invalid naming every setting that needs a restart of steward-updater when one of
// them differs; otherwise the plan.
Result<ReloadPlan> PlanReload(const Config& live, const Config& next);

}  // namespace steward::updater
