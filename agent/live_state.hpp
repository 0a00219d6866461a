// What the agent's HTTP endpoints show (/healthz, /readyz, /status): written by the main loop,
// read by the server's threads, so every field is behind one mutex.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>

#include "agent/flags.hpp"
#include "common/clock.hpp"
#include "common/http_server.hpp"

namespace steward::agent {

// starting: binding the port; loading: reading state; ready: READY=1 sent; stopping: draining.
enum class Phase { starting, loading, ready, stopping };
std::string_view PhaseName(Phase phase);

class LiveState {
 public:
  LiveState(const Clock& clock, std::string version, std::string config_path);

  void SetPhase(Phase phase);
  Phase phase() const;
  void SetFlags(Flags flags);
  Flags flags() const;
  void SetBoots(std::int64_t boots);
  // The standalone console child: pid 0 when not running.
  void SetStandaloneConsole(int pid, std::string listen);

  // {"version","pid","uptime_s","phase","boots","config","flags":{…},"console":{…}}
  std::string StatusJson() const;

 private:
  const Clock& clock_;
  const MonoTime started_;
  const std::string version_;
  const std::string config_path_;
  mutable std::mutex mu_;
  Phase phase_ = Phase::starting;
  Flags flags_;
  std::int64_t boots_ = 0;
  int console_pid_ = 0;
  std::string console_listen_;
};

// /healthz (200 while the process serves), /readyz (503 {"phase"} until ready), /status, and
// the embedded console under /console/v1/ (404 while the console.embedded flag is off).
http::Router MakeAgentRouter(LiveState& live, std::string state_dir);

}  // namespace steward::agent
