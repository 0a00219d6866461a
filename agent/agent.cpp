#include "agent/agent.hpp"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <memory>
#include <optional>

#include "agent/config.hpp"
#include "agent/console.hpp"
#include "agent/flags.hpp"
#include "agent/live_state.hpp"
#include "agent/process.hpp"
#include "agent/state.hpp"
#include "agent/timers.hpp"
#include "common/http_server.hpp"
#include "common/log.hpp"
#include "common/sd_notify.hpp"
#include "common/version.hpp"

namespace steward::agent {

namespace {

using namespace std::chrono_literals;

constexpr Duration kConsoleBackoffMin = 1s;
constexpr Duration kConsoleBackoffMax = 60s;

class Agent {
 public:
  Agent(Config cfg, const Clock& clock, SignalFd signals)
      : cfg_(std::move(cfg)),
        clock_(clock),
        signals_(std::move(signals)),
        notifier_(Notifier::FromEnvironment()),
        live_(clock, std::string(BuildVersion()), cfg_.path),
        fail_(cfg_.FailFor(BuildVersion())) {}

  int Run();

 private:
  void Notify(std::string_view state);
  void RecordEvent(std::string_view kind, std::string_view detail);
  void BecomeReady();
  void ActOnTestFailure();
  void Reload();
  void ApplyConsole();
  void StartConsole();
  void StopConsole();
  void ReapConsole();
  void HandleSignal(int sig);

  Config cfg_;
  const Clock& clock_;
  SignalFd signals_;
  const Notifier notifier_;
  LiveState live_;
  const TestFail fail_;
  spdlog::logger& log_ = log::Get("agent");
  std::unique_ptr<http::Server> server_;
  std::optional<StateStore> store_;
  std::optional<ChildProcess> console_;
  Duration console_backoff_ = kConsoleBackoffMin;
  Timers timers_;
  bool stop_ = false;
  bool watchdog_stalled_ = false;
  bool notify_warned_ = false;
  std::int64_t boots_ = 0;
  int exit_code_ = exit_code::kOk;
};

void Agent::Notify(std::string_view state) {
  if (auto r = notifier_.Notify(state); !r && !notify_warned_) {
    // Once: a supervisor that went away must not fill the log.
    notify_warned_ = true;
    log_.warn("cannot notify the supervisor: {}", r.error().message);
  }
}

void Agent::RecordEvent(std::string_view kind, std::string_view detail) {
  if (!store_) return;
  if (auto r = store_->RecordEvent(kind, detail, clock_.Now()); !r) {
    log_.warn("recording event kind={}: {}", kind, r.error().message);
  }
}

// The agent's life in order: listen, load state, serve, stop (the numbered steps below).
// One function on purpose, so the start-up order ARCHITECTURE asks for reads top to bottom.
int Agent::Run() {
  const MonoTime started = clock_.Monotonic();
  if (fail_ != TestFail::none) {
    log_.warn("TEST-ONLY failure armed: test_fail={} test_fail_after={}ms version={}",
              TestFailName(fail_),
              std::chrono::duration_cast<std::chrono::milliseconds>(cfg_.fail_after).count(),
              BuildVersion());
  }
  if (auto flags = LoadFlags(cfg_.flags_file); flags) {
    live_.SetFlags(std::move(*flags));
  } else {
    log_.error("{}; running with default flags", flags.error().message);
  }

  // 1. Listen first: the supervisor and load balancers can see the process is alive while it
  //    loads, and a port conflict shows up at once instead of after a long load.
  Notify("STATUS=starting: binding " + cfg_.listen);
  auto address = ParseHostPort(cfg_.listen);
  auto server = http::Server::ListenTcp(*address, MakeAgentRouter(live_, cfg_.state_dir));
  if (!server) {
    log_.error("{}", server.error().message);
    return ExitCodeFor(server.error().code);
  }
  server_ = std::move(*server);
  server_->Start();
  log_.info("listening address={} version={} pid={}", server_->address(), BuildVersion(),
            ::getpid());
  if (notifier_.watchdog()) timers_.Set(Timer::watchdog, clock_.Monotonic());

  if (fail_ != TestFail::none && fail_ != TestFail::never_ready && fail_ != TestFail::ignore_stop) {
    if (cfg_.fail_after == Duration::zero()) {
      ActOnTestFailure();
    } else {
      timers_.Set(Timer::test_fail, started + cfg_.fail_after);
    }
  }

  // 2. Load state. The (test-only) load delay is a deadline in the loop, so signals and
  //    watchdog pings are served while "loading".
  live_.SetPhase(Phase::loading);
  Notify("STATUS=loading state from " + cfg_.state_dir);
  auto store = StateStore::Open(cfg_.state_dir);
  if (!store) {
    log_.error("loading state: {}", store.error().message);
    Notify("STATUS=failed: " + store.error().message);
    server_->Stop(Duration::zero());
    return ExitCodeFor(store.error().code);
  }
  store_ = std::move(*store);
  if (auto boots = store_->RecordStart(BuildVersion(), clock_.Now()); boots) {
    boots_ = *boots;
    live_.SetBoots(*boots);
  } else {
    log_.error("loading state: {}", boots.error().message);
    server_->Stop(Duration::zero());
    return ExitCodeFor(boots.error().code);
  }
  timers_.Set(Timer::loaded, clock_.Monotonic() + cfg_.load_delay);

  // 3. Serve: signals and deadlines.
  while (!stop_) {
    const Duration wait = timers_.Until(clock_.Monotonic(), 1h);
    for (const int sig : signals_.Wait(wait)) HandleSignal(sig);
    if (stop_) break;
    for (const Timer t : timers_.TakeDue(clock_.Monotonic())) {
      switch (t) {
        case Timer::watchdog:
          if (!watchdog_stalled_) Notify("WATCHDOG=1");
          timers_.Set(Timer::watchdog, clock_.Monotonic() + WatchdogPeriod(*notifier_.watchdog()));
          break;
        case Timer::loaded:
          BecomeReady();
          break;
        case Timer::test_fail:
          ActOnTestFailure();
          break;
        case Timer::console_restart:
          ApplyConsole();
          break;
        case Timer::kCount:
          break;
      }
    }
  }

  // 4. Stop: say so, stop accepting, let in-flight requests finish, then go.
  live_.SetPhase(Phase::stopping);
  Notify("STOPPING=1\nSTATUS=stopping: draining requests");
  log_.info("stopping: draining requests for up to {}ms",
            std::chrono::duration_cast<std::chrono::milliseconds>(cfg_.drain_timeout).count());
  server_->Stop(cfg_.drain_timeout);
  StopConsole();
  RecordEvent("stop", exit_code_ == exit_code::kRestartRequested ? "restart requested" : "");
  log_.info("stopped exit_code={}", exit_code_);
  return exit_code_;
}

void Agent::HandleSignal(int sig) {
  switch (sig) {
    case SIGTERM:
    case SIGINT:
      if (fail_ == TestFail::ignore_stop) {
        log_.warn("TEST-ONLY test_fail=ignore_stop: ignoring signal {}", sig);
        return;
      }
      log_.info("signal {} received; stopping", sig == SIGTERM ? "SIGTERM" : "SIGINT");
      stop_ = true;
      return;
    case SIGHUP:
      Reload();
      return;
    case SIGCHLD:
      ReapConsole();
      return;
    default:
      return;
  }
}

void Agent::BecomeReady() {
  if (fail_ == TestFail::never_ready) {
    log_.warn("TEST-ONLY test_fail=never_ready: state loaded, not sending READY=1");
    Notify("STATUS=loaded; never ready (test_fail=never_ready)");
    return;
  }
  live_.SetPhase(Phase::ready);
  Notify("READY=1\nSTATUS=ready");
  log_.info("ready version={} boots={}", BuildVersion(), boots_);
  RecordEvent("ready", "version=" + std::string(BuildVersion()));
  ApplyConsole();
}

void Agent::ActOnTestFailure() {
  switch (fail_) {
    case TestFail::crash:
      log_.critical("TEST-ONLY test_fail=crash: aborting");
      log_.flush();
      std::abort();
    case TestFail::exit:
      log_.critical("TEST-ONLY test_fail=exit: exiting with status 1");
      log_.flush();
      std::_Exit(exit_code::kFailure);
    case TestFail::restart:
      log_.warn("TEST-ONLY test_fail=restart: requesting a restart (exit 75)");
      exit_code_ = exit_code::kRestartRequested;
      stop_ = true;
      return;
    case TestFail::stall_watchdog:
      log_.warn("TEST-ONLY test_fail=stall_watchdog: no more WATCHDOG=1");
      watchdog_stalled_ = true;
      return;
    case TestFail::none:
    case TestFail::never_ready:
    case TestFail::ignore_stop:
      return;
  }
}

void Agent::Reload() {
  log_.info("SIGHUP: reloading config={} flags={}", cfg_.path, cfg_.flags_file);
  std::string outcome = "ok";
  if (auto next = LoadConfig(cfg_.path); !next) {
    // A half-edited file must not take the node down: keep what runs, say what is wrong.
    log_.error("reload failed; keeping the running config: {}", next.error().message);
    Notify("STATUS=reload failed, running config kept: " + next.error().message);
    RecordEvent("reload_failed", next.error().message);
    outcome = "config kept";
  } else {
    if (next->listen != cfg_.listen || next->state_dir != cfg_.state_dir) {
      log_.warn(
          "listen ({} -> {}) or state_dir ({} -> {}) changed; exiting {} so the supervisor "
          "restarts with them",
          cfg_.listen, next->listen, cfg_.state_dir, next->state_dir, exit_code::kRestartRequested);
      RecordEvent("reload", "restart requested to apply listen/state_dir");
      exit_code_ = exit_code::kRestartRequested;
      stop_ = true;
      return;
    }
    if (next->log_format != cfg_.log_format) {
      log_.warn("log_format changes take effect at the next start");
    }
    if (auto level = log::ParseLevel(next->log_level)) log::SetLevel(*level);
    const bool console_moved = next->console_listen != cfg_.console_listen;
    cfg_ = std::move(*next);
    if (console_moved && console_) {
      log_.info("console listen changed; restarting the standalone console");
      StopConsole();
    }
  }
  if (auto flags = LoadFlags(cfg_.flags_file); !flags) {
    log_.error("reload: {}; keeping the flags in force", flags.error().message);
    RecordEvent("reload_failed", flags.error().message);
    outcome = "flags kept";
  } else {
    const bool changed = !(*flags == live_.flags());
    const std::string text = flags->ToJson();
    live_.SetFlags(std::move(*flags));
    if (changed) log_.info("flags applied flags={}", text);
  }
  console_backoff_ = kConsoleBackoffMin;
  ApplyConsole();
  if (live_.phase() == Phase::ready) Notify("STATUS=ready");
  RecordEvent("reload", outcome);
  log_.info("reloaded outcome=\"{}\" flags={}", outcome, live_.flags().ToJson());
}

void Agent::ApplyConsole() {
  timers_.Clear(Timer::console_restart);
  const bool want = live_.phase() == Phase::ready && live_.flags().console_standalone;
  if (want && !console_) StartConsole();
  if (!want && console_) StopConsole();
}

void Agent::StartConsole() {
  auto child = ChildProcess::SpawnSelf(
      {"console", "--config", cfg_.path, "--parent-pid", std::to_string(::getpid())});
  if (!child) {
    log_.error("standalone console: {}; retrying in {}s", child.error().message,
               std::chrono::duration_cast<std::chrono::seconds>(console_backoff_).count());
    timers_.Set(Timer::console_restart, clock_.Monotonic() + console_backoff_);
    console_backoff_ = std::min(console_backoff_ * 2, kConsoleBackoffMax);
    return;
  }
  log_.info("standalone console started pid={} listen={}", child->pid(), cfg_.console_listen);
  live_.SetStandaloneConsole(child->pid(), cfg_.console_listen);
  console_ = std::move(*child);
}

void Agent::StopConsole() {
  if (!console_) return;
  const int status = console_->Stop(cfg_.drain_timeout + 1s);
  log_.info("standalone console stopped status=\"{}\"", DescribeWaitStatus(status));
  console_.reset();
  live_.SetStandaloneConsole(0, "");
}

void Agent::ReapConsole() {
  if (!console_) return;
  const auto status = console_->Poll();
  if (!status) return;
  console_.reset();
  live_.SetStandaloneConsole(0, "");
  if (stop_) {
    // Stopped with us (a SIGTERM to the whole process group): nothing to restart.
    log_.info("standalone console exited status=\"{}\"", DescribeWaitStatus(*status));
    return;
  }
  if (WIFEXITED(*status) && WEXITSTATUS(*status) == exit_code::kConfig) {
    log_.error("standalone console exited: bad config; not restarting until the next reload");
    return;
  }
  log_.warn("standalone console exited status=\"{}\"; restarting in {}s",
            DescribeWaitStatus(*status),
            std::chrono::duration_cast<std::chrono::seconds>(console_backoff_).count());
  timers_.Set(Timer::console_restart, clock_.Monotonic() + console_backoff_);
  console_backoff_ = std::min(console_backoff_ * 2, kConsoleBackoffMax);
}

}  // namespace

int RunAgent(const std::string& config_path, const Clock& clock) {
  auto& log = log::Get("agent");
  auto cfg = LoadConfig(config_path);
  if (!cfg) {
    // 78: the supervisor does not restart-loop on a config that cannot work.
    log.error("{}", cfg.error().message);
    return exit_code::kConfig;
  }
  if (auto r =
          log::Init({*log::ParseLevel(cfg->log_level), *log::ParseFormat(cfg->log_format), ""});
      !r) {
    log.error("{}", r.error().message);
    return exit_code::kConfig;
  }
  // Before any thread starts, so every thread inherits the blocked mask and only the signalfd
  // sees these signals.
  auto signals = SignalFd::Open({SIGTERM, SIGINT, SIGHUP, SIGCHLD});
  if (!signals) {
    log.error("{}", signals.error().message);
    return exit_code::kSoftware;
  }
  ::signal(SIGPIPE, SIG_IGN);
  Agent agent(std::move(*cfg), clock, std::move(*signals));
  return agent.Run();
}

}  // namespace steward::agent
