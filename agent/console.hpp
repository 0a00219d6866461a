// The console API: a read-only view of the agent's recorded state (starts, readiness, reloads,
// stops) served from the state database. It runs inside the agent (flag console.embedded) or as
// its own process, `steward-agent console` (flag console.standalone), or both on different
// ports; the handlers are the same, only "mode" in the answer differs.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "common/http_server.hpp"

namespace steward::agent {

enum class ConsoleMode { embedded, standalone };

inline constexpr std::size_t kDefaultEvents = 20;

// GET /console/v1/overview?events=N (N in 0..200, default 20): {"mode","boots",
// "first_started_at","last_started_at","last_version","events":[{"id","at","kind","detail"}]}.
// `enabled` is asked on every request; when false the route answers 404 saying which flag is off.
void AddConsoleRoutes(http::Router& router, ConsoleMode mode, std::string state_dir,
                      std::function<bool()> enabled);

// `steward-agent console`: serves the console on [console] listen until SIGTERM/SIGINT.
// `parent_pid` > 0: exit when that process (the agent that started it) goes away.
int RunConsole(const std::string& config_path, int parent_pid);

}  // namespace steward::agent
