#include "agent/live_state.hpp"

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "agent/console.hpp"

namespace steward::agent {

using json = nlohmann::json;

std::string_view PhaseName(Phase phase) {
  switch (phase) {
    case Phase::starting:
      return "starting";
    case Phase::loading:
      return "loading";
    case Phase::ready:
      return "ready";
    case Phase::stopping:
      return "stopping";
  }
  return "unknown";
}

LiveState::LiveState(const Clock& clock, std::string version, std::string config_path)
    : clock_(clock),
      started_(clock.Monotonic()),
      version_(std::move(version)),
      config_path_(std::move(config_path)) {}

void LiveState::SetPhase(Phase phase) {
  std::lock_guard lock(mu_);
  phase_ = phase;
}

Phase LiveState::phase() const {
  std::lock_guard lock(mu_);
  return phase_;
}

void LiveState::SetFlags(Flags flags) {
  std::lock_guard lock(mu_);
  flags_ = std::move(flags);
}

Flags LiveState::flags() const {
  std::lock_guard lock(mu_);
  return flags_;
}

void LiveState::SetBoots(std::int64_t boots) {
  std::lock_guard lock(mu_);
  boots_ = boots;
}

void LiveState::SetStandaloneConsole(int pid, std::string listen) {
  std::lock_guard lock(mu_);
  console_pid_ = pid;
  console_listen_ = std::move(listen);
}

std::string LiveState::StatusJson() const {
  const auto uptime =
      std::chrono::duration_cast<std::chrono::seconds>(clock_.Monotonic() - started_).count();
  std::lock_guard lock(mu_);
  json j;
  j["version"] = version_;
  j["pid"] = ::getpid();
  j["uptime_s"] = uptime;
  j["phase"] = PhaseName(phase_);
  j["boots"] = boots_;
  j["config"] = config_path_;
  j["flags"] = json::parse(flags_.ToJson());
  json console;
  console["embedded"] = flags_.console_embedded;
  console["standalone"] = flags_.console_standalone;
  if (console_pid_ > 0) {
    console["standalone_pid"] = console_pid_;
    console["standalone_listen"] = console_listen_;
  }
  j["console"] = console;
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

http::Router MakeAgentRouter(LiveState& live, std::string state_dir) {
  http::Router router;
  router.Add("GET", "/healthz",
             [](const http::Request&) { return http::Response::Json(200, R"({"status":"ok"})"); });
  router.Add("GET", "/readyz", [&live](const http::Request&) {
    const Phase phase = live.phase();
    json j;
    j["phase"] = PhaseName(phase);
    return http::Response::Json(phase == Phase::ready ? 200 : 503, j.dump());
  });
  router.Add("GET", "/status", [&live](const http::Request&) {
    return http::Response::Json(200, live.StatusJson());
  });
  AddConsoleRoutes(router, ConsoleMode::embedded, std::move(state_dir),
                   [&live] { return live.flags().console_embedded; });
  return router;
}

}  // namespace steward::agent
