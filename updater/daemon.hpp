// `steward-updater run`: the daemon. Opens the local API first (it answers "recovering" until
// the state is loaded), then opens the state database, binds a notify socket per component and
// runs the supervisor and the update executor. One thread owns both; child exits (pidfds,
// SIGCHLD), notify datagrams, API commands, readiness probe answers, finished downloads and
// timers are all fed into them there.
// SIGTERM/SIGINT stop the components, last configured first, and end the process with 0.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.hpp"
#include "updater/checkin_scheduler.hpp"
#include "updater/config.hpp"
#include "updater/supervisor.hpp"
#include "updater/updates.hpp"

namespace steward::updater {

// How the daemon ended: exit with `code`, or (self-update, `steward-updater reexec`) execute
// the updater again through its launcher, same PID, components left running.
struct DaemonExit {
  int code = 0;
  bool reexec = false;
};

// Runs until SIGTERM/SIGINT or a re-exec request.
DaemonExit RunDaemon(const Config& config, Clock& clock);

// The local API's JSON for a status request (also what `status --json` prints); `updates`
// gives each component's open or last update transaction, when it has one.
std::string StatusJson(const std::vector<UnitStatus>& units, std::string_view state,
                       const std::map<std::string, TxnView>& updates = {},
                       const std::optional<CheckinFacts>& checkin = std::nullopt);

}  // namespace steward::updater
