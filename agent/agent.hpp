// `steward-agent run`: the reference node process. It binds its HTTP port first (/healthz
// answers at once, /readyz says "loading"), loads its state, then tells its supervisor READY=1;
// it pings the watchdog, reloads config and flags on SIGHUP, and on SIGTERM/SIGINT says
// STOPPING=1, drains in-flight requests and exits 0. docs/agent.md walks through why.
#pragma once

#include <string>

#include "common/clock.hpp"

namespace steward::agent {

// Runs until stopped; returns the exit code (0 stopped, 75 restart requested, 78 bad config…).
int RunAgent(const std::string& config_path, const Clock& clock);

}  // namespace steward::agent
