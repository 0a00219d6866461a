#include "agent/console.hpp"

#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <charconv>
#include <nlohmann/json.hpp>

#include "agent/config.hpp"
#include "agent/process.hpp"
#include "agent/state.hpp"
#include "common/log.hpp"
#include "common/sd_notify.hpp"

namespace steward::agent {

namespace {

using json = nlohmann::json;

std::string_view ModeName(ConsoleMode mode) {
  return mode == ConsoleMode::embedded ? "embedded" : "standalone";
}

http::Response Overview(ConsoleMode mode, const std::string& state_dir, const http::Request& req) {
  std::size_t events = kDefaultEvents;
  if (auto text = req.Query("events")) {
    const auto [p, ec] = std::from_chars(text->data(), text->data() + text->size(), events);
    if (ec != std::errc{} || p != text->data() + text->size() || events > kKeptEvents) {
      return http::Response::Error(
          400, ErrorCode::bad_request,
          "query 'events' is '" + *text + "'; expected 0 to " + std::to_string(kKeptEvents));
    }
  }
  auto state = ReadState(state_dir, events);
  if (!state) {
    if (state.error().code == ErrorCode::not_found) {
      return http::Response::Error(503, ErrorCode::unavailable, state.error().message);
    }
    return http::Response::FromError(state.error());
  }
  json j;
  j["mode"] = ModeName(mode);
  j["boots"] = state->boots;
  j["first_started_at"] = state->first_started_at;
  j["last_started_at"] = state->last_started_at;
  j["last_version"] = state->last_version;
  j["events"] = json::array();
  for (const auto& e : state->events) {
    j["events"].push_back({{"id", e.id}, {"at", e.at}, {"kind", e.kind}, {"detail", e.detail}});
  }
  return http::Response::Json(200, j.dump(-1, ' ', false, json::error_handler_t::replace));
}

}  // namespace

void AddConsoleRoutes(http::Router& router, ConsoleMode mode, std::string state_dir,
                      std::function<bool()> enabled) {
  router.Add("GET", "/console/v1/overview",
             [mode, state_dir = std::move(state_dir),
              enabled = std::move(enabled)](const http::Request& req) {
               if (!enabled()) {
                 return http::Response::Error(
                     404, ErrorCode::route_not_found,
                     "the embedded console is off (flag console.embedded is false)");
               }
               return Overview(mode, state_dir, req);
             });
}

int RunConsole(const std::string& config_path, int parent_pid) {
  auto& log = log::Get("agent");
  if (parent_pid > 0) {
    // Started by an agent: go when it goes, even if it is killed without a chance to stop us.
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != parent_pid) return exit_code::kOk;
  }
  auto cfg = LoadConfig(config_path);
  if (!cfg) {
    log.error("console: {}", cfg.error().message);
    return exit_code::kConfig;
  }
  if (auto r =
          log::Init({*log::ParseLevel(cfg->log_level), *log::ParseFormat(cfg->log_format), ""});
      !r) {
    log.error("console: {}", r.error().message);
    return exit_code::kConfig;
  }
  auto signals = SignalFd::Open({SIGTERM, SIGINT, SIGHUP});
  if (!signals) {
    log.error("console: {}", signals.error().message);
    return exit_code::kSoftware;
  }
  const Notifier notifier = Notifier::FromEnvironment();
  http::Router router;
  router.Add("GET", "/healthz",
             [](const http::Request&) { return http::Response::Json(200, R"({"status":"ok"})"); });
  router.Add("GET", "/readyz", [](const http::Request&) {
    return http::Response::Json(200, R"({"phase":"ready"})");
  });
  AddConsoleRoutes(router, ConsoleMode::standalone, cfg->state_dir, [] { return true; });
  auto address = ParseHostPort(cfg->console_listen);
  auto server = http::Server::ListenTcp(*address, std::move(router));
  if (!server) {
    log.error("console: {}", server.error().message);
    return ExitCodeFor(server.error().code);
  }
  (*server)->Start();
  log.info("console listening mode=standalone address={} pid={}", (*server)->address(), ::getpid());
  (void)notifier.Ready();
  for (;;) {
    const auto got = signals->Wait(std::chrono::hours(1));
    bool stop = false;
    for (const int s : got) stop = stop || s == SIGTERM || s == SIGINT;
    if (stop) break;
  }
  (void)notifier.Stopping();
  (*server)->Stop(cfg->drain_timeout);
  log.info("console stopped mode=standalone");
  return exit_code::kOk;
}

}  // namespace steward::agent
