// The actions of the supervisor's table (supervisor_table.cpp) and the way events reach it:
// commands, child exits, notify messages, probe answers, timers, updates and shutdown.
#include "updater/supervisor.hpp"

#include <algorithm>
#include <filesystem>

#include "common/duration.hpp"
#include "common/log.hpp"
#include "updater/layout.hpp"
#include "updater/supervisor_unit.hpp"

namespace steward::updater {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

// How often a missing managed binary is looked for again.
constexpr Duration kRecheckInterval = 5s;
// Between two HTTP readiness probes.
constexpr Duration kProbeInterval = 500ms;
// A start that failed before a process existed (no such program, bad user) is retried no
// faster than this, whatever restart_delay says.
constexpr Duration kMinSpawnRetry = 1s;

spdlog::logger& Log() { return log::Get("supervisor"); }

}  // namespace

Supervisor::Supervisor(const Config& config, std::string notify_dir, Deps deps)
    : config_(config), notify_dir_(std::move(notify_dir)), deps_(std::move(deps)) {
  for (const auto& c : config_.components) {
    auto u = std::make_unique<Unit>();
    u->cfg = std::make_shared<const ComponentConfig>(c);
    u->desired = c.desired;
    u->uid = OwnUserId();
    units_.push_back(std::move(u));
  }
}

Supervisor::~Supervisor() = default;

Supervisor::Unit* Supervisor::Find(std::string_view name) {
  for (auto& u : units_) {
    if (u->cfg->name == name) return u.get();
  }
  return nullptr;
}

const Supervisor::Unit* Supervisor::Find(std::string_view name) const {
  for (const auto& u : units_) {
    if (u->cfg->name == name) return u.get();
  }
  return nullptr;
}

void Supervisor::Persist(const Result<void>& r, std::string_view what) {
  if (!r) Log().error("state database: {}: {}", what, r.error().ToString());
}

Result<void> Supervisor::Command(std::string_view name, std::string_view command) {
  Unit* u = Find(name);
  if (u == nullptr) {
    std::string names;
    for (const auto& x : units_) names += (names.empty() ? "" : ", ") + x->cfg->name;
    return Fail(ErrorCode::unknown_component,
                "no component named '" + std::string(name) +
                    "'; configured: " + (names.empty() ? "(none)" : names));
  }
  if (shutting_down_) {
    return Fail(ErrorCode::unavailable, "the updater is shutting down; try again after it starts");
  }
  Event e{Ev::start, true};
  if (command == "start") {
    e.type = Ev::start;
  } else if (command == "stop") {
    e.type = Ev::stop;
  } else if (command == "restart") {
    e.type = Ev::restart;
  } else {
    return Fail(ErrorCode::invalid_argument,
                "unknown command '" + std::string(command) + "'; use start, stop or restart");
  }
  Log().info("component={} command={}", name, command);
  Dispatch(*u, e);
  return {};
}

bool Supervisor::OnExit(pid_t pid, const ProcessEnd& end) {
  for (auto& u : units_) {
    if (u->pid == pid && pid > 0) {
      Event e{Ev::exited};
      e.end = end;
      Dispatch(*u, e);
      return true;
    }
  }
  return false;
}

void Supervisor::OnNotify(std::string_view name, const NotifyMessage& m) {
  Unit* u = Find(name);
  if (u == nullptr || u->pid == 0) return;
  if (m.status) u->status_text = *m.status;
  if (m.extend_timeout) {
    Event e{Ev::extend};
    e.extend = *m.extend_timeout;
    Dispatch(*u, e);
  }
  if (m.ready) Dispatch(*u, Event{Ev::ready});
  if (m.watchdog) Dispatch(*u, Event{Ev::watchdog_ping});
  if (m.watchdog_trigger) Dispatch(*u, Event{Ev::watchdog_trigger});
  if (m.stopping) Dispatch(*u, Event{Ev::stopping_notice});
}

void Supervisor::ProbeResult(std::string_view name, std::uint64_t generation, bool ready) {
  Unit* u = Find(name);
  if (u == nullptr || u->generation != generation || u->state != UnitState::starting) return;
  if (ready) {
    Dispatch(*u, Event{Ev::ready});
  } else {
    u->timers[Ev::t_probe] = deps_.clock.Monotonic() + kProbeInterval;
  }
}

void Supervisor::Tick() {
  DropRemoved();
  const MonoTime now = deps_.clock.Monotonic();
  for (int round = 0; round < 16; ++round) {
    bool fired = false;
    for (auto& u : units_) {
      auto due = std::min_element(u->timers.begin(), u->timers.end(),
                                  [](const auto& a, const auto& b) { return a.second < b.second; });
      if (due == u->timers.end() || due->second > now) continue;
      const Ev type = due->first;
      u->timers.erase(due);
      Dispatch(*u, Event{type});
      fired = true;
    }
    if (!fired) break;
  }
}

std::optional<MonoTime> Supervisor::NextDeadline() const {
  std::optional<MonoTime> next;
  for (const auto& u : units_) {
    for (const auto& [ev, at] : u->timers) {
      if (!next || at < *next) next = at;
    }
  }
  return next;
}

void Supervisor::Hold(std::string_view name, bool stop) {
  Unit* u = Find(name);
  if (u == nullptr) return;
  if (!u->held) Log().info("component={} held for an update", name);
  // Set before the event: from here on no action starts a process (Launch).
  u->held = true;
  Dispatch(*u, Event{stop ? Ev::hold_stop : Ev::hold});
}

void Supervisor::Release(std::string_view name, bool restart) {
  Unit* u = Find(name);
  if (u == nullptr || !u->held) return;
  u->held = false;
  Log().info("component={} released after an update; desired={}", name,
             DesiredStateName(u->desired));
  // Back toward the desired state: nothing to bring back when that is "stopped" or when the
  // updater itself is stopping. A node stopped by its operator stays stopped, but once an
  // update has put a version in place it is no longer "not installed".
  if (u->desired != DesiredState::running || shutting_down_) {
    std::error_code ec;
    if (u->state == UnitState::not_installed && fs::exists(ProgramPath(*u), ec)) {
      SetState(*u, UnitState::stopped);
    }
    return;
  }
  Dispatch(*u, Event{restart ? Ev::release_restart : Ev::release});
}

void Supervisor::ResetFailures(std::string_view name) {
  Unit* u = Find(name);
  if (u == nullptr) return;
  NewStreak(*u);
}

std::optional<UnitState> Supervisor::State(std::string_view name) const {
  const Unit* u = Find(name);
  return u != nullptr ? std::optional<UnitState>(u->state) : std::nullopt;
}

void Supervisor::Signal(std::string_view name, ProcessSignal sig) {
  const Unit* u = Find(name);
  if (u != nullptr && u->pid > 0) deps_.launcher.Signal(u->pid, sig, false);
}

DesiredState Supervisor::Desired(std::string_view name) const {
  const Unit* u = Find(name);
  return u != nullptr ? u->desired : DesiredState::stopped;
}

std::string Supervisor::RunningVersion(std::string_view name) const {
  const Unit* u = Find(name);
  return u != nullptr && u->pid != 0 ? u->running_version : "";
}

void Supervisor::Shutdown() {
  if (!shutting_down_) Log().info("stopping every component, last configured first");
  shutting_down_ = true;
  for (auto& u : units_) Dispatch(*u, Event{Ev::shutdown});
  ContinueShutdown();
}

void Supervisor::ContinueShutdown() {
  if (!shutting_down_) return;
  for (auto it = units_.rbegin(); it != units_.rend(); ++it) {
    Unit& u = **it;
    if (u.state == UnitState::stopping) return;  // one at a time
    if (u.state == UnitState::starting || u.state == UnitState::running) {
      Dispatch(u, Event{Ev::stop});
      return;
    }
  }
}

bool Supervisor::Idle() const {
  return std::none_of(units_.begin(), units_.end(), [](const auto& u) {
    return u->state == UnitState::starting || u->state == UnitState::running ||
           u->state == UnitState::stopping;
  });
}

// ---- actions ----

// An operator's start or stop is their wish from now on, persisted over the configuration's
// `desired`. A start of what should run anyway writes nothing: the configuration goes on
// deciding.
void Supervisor::Want(Unit& u, const Event& e, DesiredState desired) {
  if (!e.by_operator || (desired == DesiredState::running && u.desired == desired)) return;
  u.desired = desired;
  Persist(deps_.db.SetDesired(u.cfg->name, DesiredStateName(desired)), "desired state");
}

void Supervisor::DoStart(Unit& u, const Event& e) {
  Want(u, e, DesiredState::running);
  DoSpawn(u, e);
}

void Supervisor::DoStopIdle(Unit& u, const Event& e) {
  Want(u, e, DesiredState::stopped);
  SetState(u, u.state == UnitState::not_installed ? UnitState::not_installed : UnitState::stopped);
}

void Supervisor::DoStopCmd(Unit& u, const Event& e) {
  Want(u, e, DesiredState::stopped);
  u.restart_after_stop = false;
  if (u.state != UnitState::stopping) SendStop(u);
}

void Supervisor::DoRestartCmd(Unit& u, const Event& e) {
  Want(u, e, DesiredState::running);
  u.restart_after_stop = true;
  SendStop(u);
}

void Supervisor::DoStartWhileStopping(Unit& u, const Event& e) {
  Want(u, e, DesiredState::running);
  u.restart_after_stop = true;
}

void Supervisor::SendStop(Unit& u) {
  u.stop_requested = true;
  // The intent is durable before the signal: an exit seen after an updater restart is still
  // known to be one we asked for.
  Persist(deps_.db.SetStopIntent(u.cfg->name, true), "stop intent");
  Log().info("component={} pid={} stopping (SIGTERM to its process group)", u.cfg->name, u.pid);
  BeginStop(u, ProcessSignal::terminate, true);
}

void Supervisor::BeginStop(Unit& u, ProcessSignal sig, bool tree) {
  deps_.launcher.Signal(u.pid, sig, tree);
  SetState(u, UnitState::stopping);
  u.timers[Ev::t_kill] = deps_.clock.Monotonic() + u.cfg->stop_timeout;
}

void Supervisor::DoKill(Unit& u, const Event&) {
  Log().warn("component={} pid={} did not stop within {}; SIGKILL to its process group",
             u.cfg->name, u.pid, FormatDuration(u.cfg->stop_timeout));
  deps_.launcher.Signal(u.pid, ProcessSignal::kill, true);
}

void Supervisor::DoTowardDesired(Unit& u, const Event& e) {
  if (u.desired == DesiredState::running) DoSpawn(u, e);
}

void Supervisor::DoSpawn(Unit& u, const Event&) {
  if (auto pid = Launch(u)) Launched(u, *pid);
}

std::optional<Result<pid_t>> Supervisor::Launch(Unit& u) {
  const ComponentConfig& c = *u.cfg;
  if (u.held || shutting_down_) {
    if (u.state != UnitState::not_installed) SetState(u, UnitState::stopped);
    u.timers.clear();
    return std::nullopt;
  }
  const std::string path = ProgramPath(u);
  if (c.Managed()) {
    std::error_code ec;
    if (!fs::exists(path, ec)) {
      if (u.state != UnitState::not_installed) {
        Log().info("component={} not installed yet (no {}); waiting for an install", c.name, path);
      }
      SetState(u, UnitState::not_installed);
      u.timers[Ev::t_recheck] = deps_.clock.Monotonic() + kRecheckInterval;
      return std::nullopt;
    }
  }
  std::map<std::string, std::string> extra = c.env;
  extra["NOTIFY_SOCKET"] = NotifyPath(c.name);
  if (c.watchdog > Duration::zero()) {
    extra["WATCHDOG_USEC"] =
        std::to_string(std::chrono::duration_cast<std::chrono::microseconds>(c.watchdog).count());
  }
  SpawnSpec spec;
  spec.path = path;
  spec.args = c.args;
  spec.env = ChildEnvironment(extra);
  spec.working_dir = c.working_dir;
  spec.user = c.user;
  spec.set_watchdog_pid = c.watchdog > Duration::zero();

  u.oom_at_start = deps_.oom_count();
  return deps_.launcher.Spawn(spec);
}

void Supervisor::Launched(Unit& u, const Result<pid_t>& pid) {
  const ComponentConfig& c = *u.cfg;
  if (u.spawned_before) {
    ++u.restarts;
    Persist(deps_.db.CountRestart(c.name), "restart count");
  }
  u.spawned_before = true;
  if (!pid) {
    // No process ever existed: a start failure all the same, retried with backoff.
    u.last_error = pid.error().message;
    ExitInfo info;
    info.kind = ExitKind::start_failure;
    info.at = deps_.clock.Now();
    const bool crash_loop_began = u.streak.Count(info.at, c);
    Persist(deps_.db.RecordExit(c.name, info, 0, Duration::zero(), u.streak.consecutive), "exit");
    u.last_exit = info;
    if (crash_loop_began) LogCrashLoop(u);
    deps_.on_exit(c.name, info, u.streak.crash_loop);
    const Duration delay = std::max(BackoffDelay(c, u.streak, deps_.jitter()), kMinSpawnRetry);
    Log().error("component={} start failed: {}; retrying in {}", c.name, u.last_error,
                FormatDuration(std::chrono::duration_cast<std::chrono::milliseconds>(delay)));
    SetState(u, UnitState::backoff);
    u.timers[Ev::t_backoff] = deps_.clock.Monotonic() + delay;
    return;
  }
  u.pid = *pid;
  ++u.generation;
  u.started_mono = deps_.clock.Monotonic();
  u.ready = false;
  u.stop_requested = false;
  u.watchdog_fired = false;
  u.start_timed_out = false;
  u.restart_after_stop = false;
  u.last_error.clear();
  u.status_text.clear();
  u.running_version = RunningVersionOf(u);
  Persist(deps_.db.SetPid(c.name, u.pid), "pid");
  Log().info("component={} pid={} started {}", c.name, u.pid, ProgramPath(u));
  SetState(u, UnitState::starting);
  u.timers[Ev::t_start_timeout] = u.started_mono + c.start_timeout;
  if (c.readiness == Readiness::none) {
    DoReady(u, Event{Ev::ready});
  } else if (c.readiness == Readiness::http) {
    u.timers[Ev::t_probe] = u.started_mono;
  }
}

void Supervisor::DoProbe(Unit& u, const Event&) {
  deps_.probe(u.cfg->name, u.cfg->readiness_url, u.generation);
}

void Supervisor::DoReady(Unit& u, const Event&) {
  u.ready = true;
  SetState(u, UnitState::running);
  const MonoTime now = deps_.clock.Monotonic();
  Log().info("component={} pid={} ready", u.cfg->name, u.pid);
  deps_.on_ready(u.cfg->name);
  if (u.cfg->watchdog > Duration::zero()) u.timers[Ev::t_watchdog] = now + u.cfg->watchdog;
  u.timers[Ev::t_healthy] = now + u.cfg->restart_reset;
}

void Supervisor::DoExtend(Unit& u, const Event& e) {
  auto& deadline = u.timers[Ev::t_start_timeout];
  deadline = std::max(deadline, deps_.clock.Monotonic() + e.extend);
}

void Supervisor::DoStartTimeout(Unit& u, const Event&) {
  Log().error("component={} pid={} not ready within {}; stopping it", u.cfg->name, u.pid,
              FormatDuration(u.cfg->start_timeout));
  u.start_timed_out = true;
  BeginStop(u, ProcessSignal::terminate, true);
}

void Supervisor::DoWatchdogPing(Unit& u, const Event&) {
  if (u.cfg->watchdog > Duration::zero()) {
    u.timers[Ev::t_watchdog] = deps_.clock.Monotonic() + u.cfg->watchdog;
  }
}

void Supervisor::DoWatchdogFire(Unit& u, const Event&) {
  Log().error("component={} pid={} watchdog: no WATCHDOG=1 within {}; SIGABRT", u.cfg->name, u.pid,
              FormatDuration(u.cfg->watchdog));
  u.watchdog_fired = true;
  BeginStop(u, ProcessSignal::abort, false);
}

void Supervisor::DoHealthy(Unit& u, const Event&) {
  if (u.streak.consecutive > 0 || u.streak.crash_loop) {
    Log().info("component={} healthy for {}; backoff and crash-loop count start over", u.cfg->name,
               FormatDuration(u.cfg->restart_reset));
  }
  NewStreak(u);
}

void Supervisor::DoStopping(Unit& u, const Event&) {
  Log().info("component={} pid={} says it is stopping", u.cfg->name, u.pid);
}

void Supervisor::DoExit(Unit& u, const Event& e) {
  const ComponentConfig& c = *u.cfg;
  ExitContext ctx;
  ctx.stop_requested = u.stop_requested;
  ctx.watchdog_fired = u.watchdog_fired;
  ctx.start_timed_out = u.start_timed_out;
  ctx.was_ready = u.ready;
  if (e.end.signal && OriginOfSignal(*e.end.signal) == SignalOrigin::kill && u.oom_at_start) {
    const auto now = deps_.oom_count();
    ctx.oom_killed = now && *now > *u.oom_at_start;
  }
  ExitInfo info = ClassifyExit(e.end, ctx);
  info.at = deps_.clock.Now();
  const Duration runtime = deps_.clock.Monotonic() - u.started_mono;
  const pid_t pid = u.pid;
  // Whatever the main process left behind in its group goes with it.
  deps_.launcher.Signal(pid, ProcessSignal::kill, true);
  u.pid = 0;
  u.ready = false;
  u.status_text.clear();
  u.last_exit = info;
  const bool failure = IsFailure(info.kind);
  const bool crash_loop_began = failure && u.streak.Count(info.at, c);
  deps_.on_exit(c.name, info, u.streak.crash_loop);

  // What comes next is decided from memory, and a replacement due now is started before
  // anything is written or logged: the restart waits for neither.
  const ExitPlan plan = PlanAfterExit(
      {info.kind, shutting_down_, u.restart_after_stop, u.desired == DesiredState::running}, c,
      u.streak, deps_.jitter());
  std::optional<Result<pid_t>> launched;
  if (plan.next == AfterExit::restart) launched = Launch(u);

  // The exit record, the restart count and the new pid: one transaction, not fsync'd (a power
  // cut ends the processes these records are about).
  StateDb::Batch batch(deps_.db, StateDb::Sync::deferred);
  Persist(deps_.db.RecordExit(c.name, info, pid, runtime, u.streak.consecutive), "exit");
  auto& lg = Log();
  lg.log(failure ? spdlog::level::err : spdlog::level::info,
         "component={} pid={} ended kind={} {} runtime={}ms", c.name, pid, ExitKindName(info.kind),
         info.Describe(), std::chrono::duration_cast<std::chrono::milliseconds>(runtime).count());
  if (crash_loop_began) LogCrashLoop(u);
  switch (plan.next) {
    case AfterExit::restart:
      if (launched) Launched(u, *launched);
      return;
    case AfterExit::backoff:
      SetState(u, UnitState::backoff);
      u.timers[Ev::t_backoff] = deps_.clock.Monotonic() + plan.delay;
      return;
    case AfterExit::stopped:
      SetState(u, UnitState::stopped);
      return;
    case AfterExit::failed:
      lg.critical(
          "component={} exited with {} (configuration error): not restarting; fix its "
          "configuration, then `steward-updater start {}`",
          c.name, exit_code::kConfig, c.name);
      SetState(u, UnitState::failed);
      return;
    case AfterExit::shutdown:
      SetState(u, UnitState::stopped);
      Persist(batch.Commit(), "exit");  // before the next stop intent, which must be durable
      ContinueShutdown();
      return;
  }
}

void Supervisor::LogCrashLoop(const Unit& u) {
  const ComponentConfig& c = *u.cfg;
  Log().error("component={} crash_loop=true failures={} within {}; retrying every {}", c.name,
              c.crash_loop_failures, FormatDuration(c.crash_loop_window),
              FormatDuration(c.restart_delay_max));
}

void Supervisor::NewStreak(Unit& u) {
  u.streak.Reset(deps_.clock.Now());
  Persist(deps_.db.ResetStreak(u.cfg->name, u.streak.start), "failure streak");
}

std::string Supervisor::ProgramPath(const Unit& u) const {
  const ComponentConfig& c = *u.cfg;
  return c.Managed() ? ComponentLayout(config_.state_dir, c.name)
                           .Program(Pointer::current, c.binary)
                           .string()
                     : c.exec;
}

fs::path Supervisor::ComponentDir(const ComponentConfig& c) const {
  return ComponentLayout(config_.state_dir, c.name).Dir();
}

std::string Supervisor::RunningVersionOf(const Unit& u) const {
  return u.cfg->Managed()
             ? ComponentLayout(config_.state_dir, u.cfg->name).PointedVersion(Pointer::current)
             : "";
}

// ---- views ----

std::vector<UnitStatus> Supervisor::Status() const {
  std::vector<UnitStatus> out;
  for (const auto& u : units_) {
    UnitStatus s;
    s.name = u->cfg->name;
    s.state = u->state;
    s.pid = u->pid;
    s.desired = u->desired;
    if (u->cfg->Managed()) {
      const ComponentLayout layout(config_.state_dir, u->cfg->name);
      s.installed_version = layout.PointedVersion(Pointer::current);
      s.previous_version = layout.PointedVersion(Pointer::previous);
      if (u->pid != 0) s.running_version = u->running_version;
    }
    s.last_exit = u->last_exit;
    s.restarts = u->restarts;
    s.consecutive_failures = u->streak.consecutive;
    s.crash_loop = u->streak.crash_loop;
    s.status_text = u->status_text;
    s.last_error = u->last_error;
    out.push_back(std::move(s));
  }
  return out;
}

std::vector<std::string> Supervisor::Names() const {
  std::vector<std::string> out;
  for (const auto& u : units_) out.push_back(u->cfg->name);
  return out;
}

std::string Supervisor::NotifyPath(std::string_view name) const {
  return notify_dir_ + "/" + std::string(name) + ".notify";
}

uid_t Supervisor::UnitUid(std::string_view name) const {
  const Unit* u = Find(name);
  return u != nullptr ? u->uid : OwnUserId();
}

std::vector<pid_t> Supervisor::Pids() const {
  std::vector<pid_t> out;
  for (const auto& u : units_) {
    if (u->pid > 0) out.push_back(u->pid);
  }
  return out;
}

pid_t Supervisor::MainPid(std::string_view name) const {
  const Unit* u = Find(name);
  return u != nullptr ? u->pid : 0;
}

}  // namespace steward::updater
