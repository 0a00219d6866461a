// `steward-updater run`: the daemon. Opens the local API first (it answers "recovering" until
// the state is loaded), then opens the state database, binds a notify socket per component and
// runs the supervisor and the update executor. One thread, the event loop, owns both; child
// exits (pidfds, SIGCHLD), notify datagrams, API commands, readiness probe answers, finished
// downloads, check-ins and timers are all fed into them there.
// SIGTERM/SIGINT stop the components, last configured first, and end the process with 0.
// The parts: event_loop.hpp, signals.hpp, local_api.hpp (+ its transport),
// checkin_scheduler.hpp; this file wires them.
#pragma once

#include "common/clock.hpp"
#include "updater/config.hpp"

namespace steward::updater {

// How the daemon ended: exit with `code`, or (self-update, `steward-updater reexec`) execute
// the updater again through its launcher, same PID, components left running.
struct DaemonExit {
  int code = 0;
  bool reexec = false;
};

// Runs until SIGTERM/SIGINT or a re-exec request.
DaemonExit RunDaemon(const Config& config, Clock& clock);

}  // namespace steward::updater
