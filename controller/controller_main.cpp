#include "controller/controller_main.hpp"

#include <signal.h>

#include <chrono>
#include <iostream>

#include "common/cli_args.hpp"
#include "common/hostport.hpp"
#include "common/http_client.hpp"
#include "common/http_server.hpp"
#include "common/log.hpp"
#include "common/sd_notify.hpp"
#include "common/tls_context.hpp"
#include "controller/config.hpp"
#include "controller/service.hpp"
#include "controller/store.hpp"

namespace steward::controller {

namespace {

int Fatal(int code, const std::string& message) {
  log::Get("main").critical("{}", message);
  std::cerr << "steward-controller: " << message << "\n";
  return code;
}

int Serve(const Config& cfg) {
  log::Options lopt;
  if (auto level = log::ParseLevel(cfg.log_level)) lopt.level = *level;
  if (auto format = log::ParseFormat(cfg.log_format)) lopt.format = *format;
  if (auto r = log::Init(lopt); !r) return Fatal(exit_code::kConfig, r.error().ToString());

  // Signals are taken synchronously by this thread; every thread started later inherits the
  // mask, so SIGTERM/SIGINT never interrupt a handler. Blocked before the store opens: its
  // writer thread must not take a SIGTERM either (the default action would end the process
  // without writing the queue).
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto options = LoadServiceOptions(cfg);
  if (!options) return Fatal(exit_code::kConfig, options.error().ToString());
  auto store = OpenStore(cfg.store);
  if (!store) return Fatal(ExitCodeFor(store.error().code), store.error().ToString());
  auto& clock = SystemClock::Instance();
  auto service = Service::Create(**store, clock, std::move(*options));
  if (!service) return Fatal(ExitCodeFor(service.error().code), service.error().ToString());

  auto listen = ParseHostPort(cfg.listen);
  if (!listen) return Fatal(exit_code::kConfig, listen.error().ToString());
  http::ServerOptions sopt;
  sopt.max_body = 2 << 20;  // a 256 KiB manifest, JSON-escaped, with its signatures
  sopt.threads = static_cast<int>(cfg.threads);
  sopt.server_name = "steward-controller";
  sopt.tls_cert_file = cfg.tls_cert_file;
  sopt.tls_key_file = cfg.tls_key_file;
  auto server = http::Server::ListenTcp(*listen, (*service)->MakeRouter(), sopt);
  if (!server) return Fatal(ExitCodeFor(server.error().code), server.error().ToString());
  if (!(*server)->tls() && !http::IsLoopbackHost(listen->host)) {
    log::Get("main").warn(
        "listening on {} with plain HTTP: node and admin tokens cross the network in clear; set "
        "tls_cert_file and tls_key_file (docs/security.md)",
        cfg.listen);
  }
  const std::string public_url =
      cfg.public_url.empty() ? ((*server)->tls() ? "https://" : "http://") + (*server)->address()
                             : cfg.public_url;
  (*service)->SetPublicUrl(public_url);
  if (auto r = (*service)->Heartbeat(); !r) {
    log::Get("main").warn("registering this controller: {}", r.error().ToString());
  }
  (*server)->Start();
  log::Get("main").info("listening on {} public_url={} store={}", (*server)->address(), public_url,
                        cfg.store);
  // Type=notify units (and supervisors speaking sd_notify) learn we serve; a no-op otherwise.
  const auto notifier = Notifier::FromEnvironment();
  if (notifier.enabled()) (void)notifier.Ready();

  // Every 250 ms: what other replicas changed in the shared store; every 10 s: the heartbeat.
  const timespec tick{0, 250'000'000};
  constexpr auto kHeartbeatEvery = std::chrono::seconds(10);
  auto next_heartbeat = std::chrono::steady_clock::now() + kHeartbeatEvery;
  while (true) {
    const int sig = sigtimedwait(&signals, nullptr, &tick);
    if (auto r = (*service)->Sync(); !r) {
      log::Get("main").warn("reloading what other controllers changed: {}", r.error().ToString());
    } else if (*r) {
      log::Get("main").info("releases, rollouts or flags changed in the store; reloaded them");
    }
    if (sig == SIGTERM || sig == SIGINT) {
      log::Get("main").info("stopping signal={}", sig);
      if (notifier.enabled()) (void)notifier.Notify("STOPPING=1");
      break;
    }
    if (sig == SIGHUP && (*server)->tls()) {
      if (auto r = (*server)->ReloadTls(); !r) {
        log::Get("main").error("reloading the TLS certificate refused, the old one stays: {}",
                               r.error().ToString());
      } else {
        log::Get("main").info("reloaded the TLS certificate cert={} key={}", cfg.tls_cert_file,
                              cfg.tls_key_file);
      }
    }
    if (sig == SIGHUP || std::chrono::steady_clock::now() >= next_heartbeat) {
      next_heartbeat = std::chrono::steady_clock::now() + kHeartbeatEvery;
      if (auto r = (*service)->Heartbeat(); !r) {
        log::Get("main").warn("heartbeat: {}", r.error().ToString());
      }
    }
  }
  (*server)->Stop(std::chrono::seconds(10));
  if (auto r = (*store)->Flush(); !r) return Fatal(exit_code::kIoError, r.error().ToString());
  log::Get("main").info("stopped");
  return exit_code::kOk;
}

}  // namespace

int Main(const std::vector<std::string>& args) {
  CLI::App app{"steward-controller: releases, rollouts and the fleet view"};
  app.name("steward-controller");
  AddVersionFlag(app);
  app.require_subcommand(1);
  std::string config_path = "/etc/steward/controller.toml";
  auto* check_config = app.add_subcommand("check-config", "Validate the config file and print it");
  check_config->add_option("-c,--config", config_path, "Config file")->capture_default_str();
  auto* serve = app.add_subcommand("serve", "Serve the controller API");
  serve->add_option("-c,--config", config_path, "Config file")->capture_default_str();
  if (auto code = ParseArgs(app, args)) return *code;
  auto cfg = LoadConfig(config_path);
  if (!cfg) {
    std::cerr << "steward-controller: " << cfg.error().message << "\n";
    return exit_code::kConfig;
  }
  if (check_config->parsed()) {
    // The TLS pair is checked too: a renewal can be tried before SIGHUP.
    if (!cfg->tls_cert_file.empty()) {
      if (auto ctx = tls::MakeServerContext(cfg->tls_cert_file, cfg->tls_key_file); !ctx) {
        std::cerr << "steward-controller: " << ctx.error().message << "\n";
        return exit_code::kConfig;
      }
    }
    std::cout << cfg->path << ": ok\nlisten = " << cfg->listen << "\nstore = " << cfg->store
              << "\ntls = "
              << (cfg->tls_cert_file.empty() ? "off (plain HTTP)" : cfg->tls_cert_file) << "\n";
    return exit_code::kOk;
  }
  if (serve->parsed()) return Serve(*cfg);
  return exit_code::kUsage;
}

}  // namespace steward::controller
