#include "updater/supervisor.hpp"

#include <pwd.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <deque>
#include <filesystem>
#include <map>

#include "common/duration.hpp"
#include "common/log.hpp"
#include "updater/layout.hpp"
#include "updater/pointer.hpp"

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

// "1.4.2" from a pointer to a version directory named "1.4.2-0a1b2c3d".
std::string VersionOfLink(const fs::path& link) { return VersionOfDir(ReadPointer(link)); }

}  // namespace

std::string_view UnitStateName(UnitState state) {
  switch (state) {
    case UnitState::not_installed:
      return "not_installed";
    case UnitState::stopped:
      return "stopped";
    case UnitState::starting:
      return "starting";
    case UnitState::running:
      return "running";
    case UnitState::stopping:
      return "stopping";
    case UnitState::backoff:
      return "backoff";
    case UnitState::failed:
      return "failed";
  }
  return "unknown";
}

// Events of the table. The t_* events are timers coming due.
enum class Ev {
  start,
  stop,
  restart,
  exited,
  ready,
  watchdog_ping,
  watchdog_trigger,
  stopping_notice,
  extend,
  t_start_timeout,
  t_probe,
  t_watchdog,
  t_healthy,
  t_kill,
  t_backoff,
  t_recheck,
};

struct Supervisor::Event {
  Ev type;
  bool by_operator = false;
  int wait_status = 0;
  Duration extend{};
};

struct Supervisor::Unit {
  const ComponentConfig* cfg = nullptr;
  UnitState state = UnitState::stopped;
  std::string desired = "running";
  uid_t uid = 0;
  pid_t pid = 0;
  std::uint64_t generation = 0;
  MonoTime started_mono{};
  std::map<Ev, MonoTime> timers;
  // Facts about the current process, for its exit's classification.
  bool ready = false;
  bool stop_requested = false;
  bool watchdog_fired = false;
  bool start_timed_out = false;
  bool restart_after_stop = false;
  bool held = false;  // an update keeps it stopped
  std::optional<std::uint64_t> oom_at_start;
  bool spawned_before = false;
  pid_t recorded_pid = 0;  // from the state database, at Load
  bool recorded_stop_intent = false;
  // History.
  std::optional<ExitInfo> last_exit;
  std::int64_t restarts = 0;
  int consecutive = 0;
  bool crash_loop = false;
  WallTime streak_start{};
  // The newest failures of the streak, oldest first, at most crash_loop_failures of them: a
  // crash loop is decided from memory, so a restart waits for no query.
  std::deque<WallTime> recent_failures;
  std::string status_text;
  std::string last_error;
  std::string running_version;
};

namespace {

// crash_loop_failures failures of the streak within crash_loop_window before `now`.
bool InCrashLoop(const Supervisor::Unit& u, WallTime now) {
  return u.recent_failures.size() >= static_cast<std::size_t>(u.cfg->crash_loop_failures) &&
         u.recent_failures.front() >= now - u.cfg->crash_loop_window;
}

}  // namespace

// The state × event table. A pair that is not listed is ignored (logged at debug): e.g. a
// READY=1 from a process already running, or a stop for a component already stopped.
struct Supervisor::Row {
  UnitState state;
  Ev event;
  Supervisor::Action action;
};

#define S UnitState
#define A(f) &Supervisor::f
const Supervisor::Row Supervisor::kTable[] = {
    {S::not_installed, Ev::start, A(DoStart)},
    {S::not_installed, Ev::restart, A(DoStart)},
    {S::not_installed, Ev::stop, A(DoStopIdle)},
    {S::not_installed, Ev::t_recheck, A(DoRecheck)},

    {S::stopped, Ev::start, A(DoStart)},
    {S::stopped, Ev::restart, A(DoStart)},
    {S::stopped, Ev::stop, A(DoStopIdle)},

    {S::starting, Ev::ready, A(DoReady)},
    {S::starting, Ev::extend, A(DoExtend)},
    {S::starting, Ev::t_probe, A(DoProbe)},
    {S::starting, Ev::t_start_timeout, A(DoStartTimeout)},
    {S::starting, Ev::watchdog_trigger, A(DoWatchdogFire)},
    {S::starting, Ev::stopping_notice, A(DoStopping)},
    {S::starting, Ev::stop, A(DoStopCmd)},
    {S::starting, Ev::restart, A(DoRestartCmd)},
    {S::starting, Ev::exited, A(DoExit)},

    {S::running, Ev::watchdog_ping, A(DoWatchdogPing)},
    {S::running, Ev::watchdog_trigger, A(DoWatchdogFire)},
    {S::running, Ev::t_watchdog, A(DoWatchdogFire)},
    {S::running, Ev::t_healthy, A(DoHealthy)},
    {S::running, Ev::stopping_notice, A(DoStopping)},
    {S::running, Ev::stop, A(DoStopCmd)},
    {S::running, Ev::restart, A(DoRestartCmd)},
    {S::running, Ev::exited, A(DoExit)},

    {S::stopping, Ev::t_kill, A(DoKill)},
    {S::stopping, Ev::start, A(DoStartWhileStopping)},
    {S::stopping, Ev::restart, A(DoStartWhileStopping)},
    {S::stopping, Ev::stop, A(DoStopCmd)},
    {S::stopping, Ev::exited, A(DoExit)},

    {S::backoff, Ev::t_backoff, A(DoSpawn)},
    {S::backoff, Ev::start, A(DoStart)},
    {S::backoff, Ev::restart, A(DoStart)},
    {S::backoff, Ev::stop, A(DoStopIdle)},

    {S::failed, Ev::start, A(DoStart)},
    {S::failed, Ev::restart, A(DoStart)},
    {S::failed, Ev::stop, A(DoStopIdle)},
};
#undef A
#undef S

Supervisor::Supervisor(const Config& config, std::string notify_dir, Deps deps)
    : config_(config), notify_dir_(std::move(notify_dir)), deps_(std::move(deps)) {
  for (const auto& c : config_.components) {
    auto u = std::make_unique<Unit>();
    u->cfg = &c;
    u->desired = c.desired;
    u->uid = ::getuid();
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

Result<void> Supervisor::Load() {
  for (auto& u : units_) {
    const auto& name = u->cfg->name;
    auto rec = deps_.db.Load(name);
    if (!rec) return std::unexpected(rec.error().Wrap("loading component " + name));
    if (rec->desired) u->desired = *rec->desired;
    u->recorded_pid = rec->pid;
    u->recorded_stop_intent = rec->stop_intent;
    u->restarts = rec->restarts;
    u->consecutive = rec->consecutive_failures;
    u->streak_start = rec->streak_start;
    auto last = deps_.db.LastExit(name);
    if (!last) return std::unexpected(last.error().Wrap("loading component " + name));
    u->last_exit = *last;
    auto failures = deps_.db.RecentFailures(name, u->streak_start, u->cfg->crash_loop_failures);
    if (!failures) return std::unexpected(failures.error().Wrap("loading component " + name));
    u->recent_failures.assign(failures->begin(), failures->end());
    u->crash_loop = InCrashLoop(*u, deps_.clock.Now());
    if (u->crash_loop) {
      Log().error("component={} crash_loop=true failures={} within {} (from before this start)",
                  name, u->cfg->crash_loop_failures, FormatDuration(u->cfg->crash_loop_window));
    }
    if (!u->cfg->user.empty()) {
      // The notify socket belongs to the component's user; resolved again at each spawn.
      std::vector<char> buf(16384);
      passwd pw{};
      passwd* found = nullptr;
      if (::getpwnam_r(u->cfg->user.c_str(), &pw, buf.data(), buf.size(), &found) == 0 &&
          found != nullptr) {
        u->uid = pw.pw_uid;
      }
    }
  }
  return {};
}

void Supervisor::StartAll() {
  for (auto& u : units_) {
    if (u->recorded_pid > 0 && deps_.is_our_child(u->recorded_pid)) {
      Adopt(*u);
      continue;
    }
    if (u->recorded_pid > 0) {
      // Left behind by an updater that died: stop it, so the component never runs twice.
      Log().warn(
          "component={} pid={} was running under a previous updater and is not our child "
          "now; stopping it before starting a new one",
          u->cfg->name, u->recorded_pid);
      const std::string prefix =
          u->cfg->Managed() ? ComponentDir(*u->cfg).string() + "/" : u->cfg->exec;
      deps_.stop_orphan(u->recorded_pid, prefix, u->cfg->stop_timeout);
      Persist(deps_.db.SetPid(u->cfg->name, 0), "pid");
    }
    if (u->desired == "running") {
      DoSpawn(*u, Event{Ev::start});
    } else {
      SetState(*u, UnitState::stopped);
    }
  }
}

void Supervisor::Adopt(Unit& u) {
  u.pid = u.recorded_pid;
  ++u.generation;
  u.spawned_before = true;
  u.started_mono = deps_.clock.Monotonic();
  u.oom_at_start = deps_.oom_count();
  u.running_version = u.cfg->Managed() ? VersionOfLink(ComponentDir(*u.cfg) / "current") : "";
  if (u.recorded_stop_intent) {
    Log().info("component={} pid={} adopted; its stop was under way", u.cfg->name, u.pid);
    u.stop_requested = true;
    u.ready = true;
    SetState(u, UnitState::stopping);
    deps_.launcher.Signal(u.pid, SIGTERM, true);
    u.timers[Ev::t_kill] = deps_.clock.Monotonic() + u.cfg->stop_timeout;
    return;
  }
  // Its readiness was established before the re-exec.
  Log().info("component={} pid={} adopted as running", u.cfg->name, u.pid);
  DoReady(u, Event{Ev::ready});
}

void Supervisor::Dispatch(Unit& u, const Event& e) {
  for (const auto& row : kTable) {
    if (row.state == u.state && row.event == e.type) {
      (this->*row.action)(u, e);
      return;
    }
  }
  Log().debug("component={} state={} event={} ignored", u.cfg->name, UnitStateName(u.state),
              static_cast<int>(e.type));
}

void Supervisor::SetState(Unit& u, UnitState s) {
  if (u.state != s) {
    Log().debug("component={} {} -> {}", u.cfg->name, UnitStateName(u.state), UnitStateName(s));
  }
  u.state = s;
  u.timers.clear();
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

bool Supervisor::OnExit(pid_t pid, int wait_status) {
  for (auto& u : units_) {
    if (u->pid == pid && pid > 0) {
      Event e{Ev::exited};
      e.wait_status = wait_status;
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
  u->held = true;
  switch (u->state) {
    case UnitState::starting:
    case UnitState::running:
      if (!stop) break;
      u->restart_after_stop = false;
      SendStop(*u);
      break;
    case UnitState::stopping:
      if (stop) u->restart_after_stop = false;
      break;
    case UnitState::backoff:
    case UnitState::failed:
      SetState(*u, UnitState::stopped);
      break;
    case UnitState::not_installed:
      u->timers.clear();
      break;
    case UnitState::stopped:
      break;
  }
}

void Supervisor::Release(std::string_view name, bool restart) {
  Unit* u = Find(name);
  if (u == nullptr || !u->held) return;
  u->held = false;
  Log().info("component={} released after an update; desired={}", name, u->desired);
  if (u->desired != "running" || shutting_down_) return;
  switch (u->state) {
    case UnitState::starting:
    case UnitState::running:
      if (!restart) break;
      // Replaced in one step: the exit handler starts the new process before it writes
      // anything (DoExit), so the node is down for no longer than a restart.
      u->restart_after_stop = true;
      SendStop(*u);
      break;
    case UnitState::stopping:
      if (restart) u->restart_after_stop = true;
      break;
    case UnitState::stopped:
    case UnitState::not_installed:
      DoSpawn(*u, Event{Ev::start});
      break;
    case UnitState::backoff:
    case UnitState::failed:
      break;
  }
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

void Supervisor::Signal(std::string_view name, int sig) {
  const Unit* u = Find(name);
  if (u != nullptr && u->pid > 0) deps_.launcher.Signal(u->pid, sig, false);
}

std::string Supervisor::Desired(std::string_view name) const {
  const Unit* u = Find(name);
  return u != nullptr ? u->desired : "";
}

std::string Supervisor::RunningVersion(std::string_view name) const {
  const Unit* u = Find(name);
  return u != nullptr && u->pid != 0 ? u->running_version : "";
}

void Supervisor::Shutdown() {
  if (!shutting_down_) Log().info("stopping every component, last configured first");
  shutting_down_ = true;
  for (auto& u : units_) {
    if (u->state == UnitState::backoff || u->state == UnitState::failed) {
      SetState(*u, UnitState::stopped);
    }
    if (u->state == UnitState::not_installed) u->timers.clear();
  }
  ContinueShutdown();
}

void Supervisor::ContinueShutdown() {
  if (!shutting_down_) return;
  for (auto it = units_.rbegin(); it != units_.rend(); ++it) {
    Unit& u = **it;
    if (u.state == UnitState::stopping) return;  // one at a time
    if (u.state == UnitState::starting || u.state == UnitState::running) {
      u.restart_after_stop = false;
      SendStop(u);
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

void Supervisor::DoStart(Unit& u, const Event& e) {
  if (e.by_operator && u.desired != "running") {
    u.desired = "running";
    Persist(deps_.db.SetDesired(u.cfg->name, "running"), "desired state");
  }
  DoSpawn(u, e);
}

void Supervisor::DoStopIdle(Unit& u, const Event& e) {
  if (e.by_operator) {
    u.desired = "stopped";
    Persist(deps_.db.SetDesired(u.cfg->name, "stopped"), "desired state");
  }
  SetState(u, u.state == UnitState::not_installed ? UnitState::not_installed : UnitState::stopped);
}

void Supervisor::DoStopCmd(Unit& u, const Event& e) {
  if (e.by_operator) {
    u.desired = "stopped";
    Persist(deps_.db.SetDesired(u.cfg->name, "stopped"), "desired state");
  }
  u.restart_after_stop = false;
  if (u.state != UnitState::stopping) SendStop(u);
}

void Supervisor::DoRestartCmd(Unit& u, const Event& e) {
  if (e.by_operator && u.desired != "running") {
    u.desired = "running";
    Persist(deps_.db.SetDesired(u.cfg->name, "running"), "desired state");
  }
  u.restart_after_stop = true;
  SendStop(u);
}

void Supervisor::DoStartWhileStopping(Unit& u, const Event& e) {
  if (e.by_operator && u.desired != "running") {
    u.desired = "running";
    Persist(deps_.db.SetDesired(u.cfg->name, "running"), "desired state");
  }
  u.restart_after_stop = true;
}

void Supervisor::SendStop(Unit& u) {
  u.stop_requested = true;
  // The intent is durable before the signal: an exit seen after an updater restart is still
  // known to be one we asked for.
  Persist(deps_.db.SetStopIntent(u.cfg->name, true), "stop intent");
  Log().info("component={} pid={} stopping (SIGTERM to its process group)", u.cfg->name, u.pid);
  deps_.launcher.Signal(u.pid, SIGTERM, true);
  SetState(u, UnitState::stopping);
  u.timers[Ev::t_kill] = deps_.clock.Monotonic() + u.cfg->stop_timeout;
}

void Supervisor::DoKill(Unit& u, const Event&) {
  Log().warn("component={} pid={} did not stop within {}; SIGKILL to its process group",
             u.cfg->name, u.pid, FormatDuration(u.cfg->stop_timeout));
  deps_.launcher.Signal(u.pid, SIGKILL, true);
}

void Supervisor::DoRecheck(Unit& u, const Event& e) {
  if (u.desired == "running") DoSpawn(u, e);
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
    const bool crash_loop_began = CountFailure(u, info.at);
    Persist(deps_.db.RecordExit(c.name, info, 0, Duration::zero(), u.consecutive), "exit");
    u.last_exit = info;
    if (crash_loop_began) LogCrashLoop(u);
    deps_.on_exit(c.name, info, u.crash_loop);
    const Duration delay = std::max(BackoffDelay(u), kMinSpawnRetry);
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
  u.running_version = c.Managed() ? VersionOfLink(ComponentDir(c) / "current") : "";
  Persist(deps_.db.SetPid(c.name, u.pid), "pid");
  Log().info("component={} pid={} started {}", c.name, u.pid, ProgramPath(u));
  SetState(u, UnitState::starting);
  u.timers[Ev::t_start_timeout] = u.started_mono + c.start_timeout;
  if (c.readiness == "none") {
    DoReady(u, Event{Ev::ready});
  } else if (c.readiness.starts_with("http:")) {
    u.timers[Ev::t_probe] = u.started_mono;
  }
}

void Supervisor::DoProbe(Unit& u, const Event&) {
  deps_.probe(u.cfg->name, u.cfg->readiness.substr(5), u.generation);
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
  deps_.launcher.Signal(u.pid, SIGTERM, true);
  SetState(u, UnitState::stopping);
  u.timers[Ev::t_kill] = deps_.clock.Monotonic() + u.cfg->stop_timeout;
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
  deps_.launcher.Signal(u.pid, SIGABRT, false);
  SetState(u, UnitState::stopping);
  u.timers[Ev::t_kill] = deps_.clock.Monotonic() + u.cfg->stop_timeout;
}

void Supervisor::DoHealthy(Unit& u, const Event&) {
  if (u.consecutive > 0 || u.crash_loop) {
    Log().info("component={} healthy for {}; backoff and crash-loop count start over", u.cfg->name,
               FormatDuration(u.cfg->restart_reset));
  }
  NewStreak(u);
}

void Supervisor::DoStopping(Unit& u, const Event&) {
  Log().info("component={} pid={} says it is stopping", u.cfg->name, u.pid);
}

Duration Supervisor::BackoffDelay(const Unit& u) const {
  const ComponentConfig& c = *u.cfg;
  Duration d = c.restart_delay;
  if (u.crash_loop) {
    d = c.restart_delay_max;
  } else {
    for (int i = 1; i < u.consecutive && d < c.restart_delay_max; ++i) d *= 2;
  }
  d = std::min(d, c.restart_delay_max);
  const double factor = 1.0 + 0.2 * std::clamp(deps_.jitter(), -1.0, 1.0);
  d = std::chrono::duration_cast<Duration>(d * factor);
  return std::clamp(d, Duration::zero(), c.restart_delay_max);
}

void Supervisor::DoExit(Unit& u, const Event& e) {
  const ComponentConfig& c = *u.cfg;
  ExitContext ctx;
  ctx.stop_requested = u.stop_requested;
  ctx.watchdog_fired = u.watchdog_fired;
  ctx.start_timed_out = u.start_timed_out;
  ctx.was_ready = u.ready;
  if (WIFSIGNALED(e.wait_status) && WTERMSIG(e.wait_status) == SIGKILL && u.oom_at_start) {
    const auto now = deps_.oom_count();
    ctx.oom_killed = now && *now > *u.oom_at_start;
  }
  ExitInfo info = ClassifyExit(e.wait_status, ctx);
  info.at = deps_.clock.Now();
  const Duration runtime = deps_.clock.Monotonic() - u.started_mono;
  const pid_t pid = u.pid;
  // Whatever the main process left behind in its group goes with it.
  deps_.launcher.Signal(pid, SIGKILL, true);
  u.pid = 0;
  u.ready = false;
  u.status_text.clear();
  u.last_exit = info;
  const bool failure = IsFailure(info.kind);
  const bool crash_loop_began = failure && CountFailure(u, info.at);
  deps_.on_exit(c.name, info, u.crash_loop);

  // What comes next is decided from memory, and a replacement due now is started before
  // anything is written or logged: the restart waits for neither.
  enum class Next { restart, backoff, stopped, failed, shutdown };
  Next next = Next::restart;
  Duration delay = Duration::zero();
  if (shutting_down_) {
    next = Next::shutdown;
  } else if (info.kind == ExitKind::requested) {
    next = u.restart_after_stop && u.desired == "running" ? Next::restart : Next::stopped;
  } else if (u.desired != "running") {
    next = Next::stopped;
  } else if (info.kind == ExitKind::fatal_config) {
    next = Next::failed;
  } else if (info.kind != ExitKind::restart_requested) {
    if (failure) {
      delay = BackoffDelay(u);
    } else {
      const double factor = 1.0 + 0.2 * std::clamp(deps_.jitter(), -1.0, 1.0);
      delay = std::chrono::duration_cast<Duration>(c.restart_delay * factor);
    }
    if (delay > Duration::zero()) next = Next::backoff;
  }
  std::optional<Result<pid_t>> launched;
  if (next == Next::restart) launched = Launch(u);

  // The exit record, the restart count and the new pid: one transaction, not fsync'd (a power
  // cut ends the processes these records are about).
  StateDb::Batch batch(deps_.db, StateDb::Sync::deferred);
  Persist(deps_.db.RecordExit(c.name, info, pid, runtime, u.consecutive), "exit");
  auto& lg = Log();
  lg.log(failure ? spdlog::level::err : spdlog::level::info,
         "component={} pid={} ended kind={} {} runtime={}ms", c.name, pid, ExitKindName(info.kind),
         info.Describe(), std::chrono::duration_cast<std::chrono::milliseconds>(runtime).count());
  if (crash_loop_began) LogCrashLoop(u);
  switch (next) {
    case Next::restart:
      if (launched) Launched(u, *launched);
      return;
    case Next::backoff:
      SetState(u, UnitState::backoff);
      u.timers[Ev::t_backoff] = deps_.clock.Monotonic() + delay;
      return;
    case Next::stopped:
      SetState(u, UnitState::stopped);
      return;
    case Next::failed:
      lg.critical(
          "component={} exited with {} (configuration error): not restarting; fix its "
          "configuration, then `steward-updater start {}`",
          c.name, exit_code::kConfig, c.name);
      SetState(u, UnitState::failed);
      return;
    case Next::shutdown:
      SetState(u, UnitState::stopped);
      Persist(batch.Commit(), "exit");  // before the next stop intent, which must be durable
      ContinueShutdown();
      return;
  }
}

bool Supervisor::CountFailure(Unit& u, WallTime at) {
  const ComponentConfig& c = *u.cfg;
  ++u.consecutive;
  u.recent_failures.push_back(at);
  while (u.recent_failures.size() > static_cast<std::size_t>(c.crash_loop_failures)) {
    u.recent_failures.pop_front();
  }
  if (u.crash_loop || !InCrashLoop(u, at)) return false;
  u.crash_loop = true;
  return true;
}

void Supervisor::LogCrashLoop(const Unit& u) {
  const ComponentConfig& c = *u.cfg;
  Log().error("component={} crash_loop=true failures={} within {}; retrying every {}", c.name,
              c.crash_loop_failures, FormatDuration(c.crash_loop_window),
              FormatDuration(c.restart_delay_max));
}

void Supervisor::NewStreak(Unit& u) {
  u.consecutive = 0;
  u.crash_loop = false;
  u.recent_failures.clear();
  u.streak_start = deps_.clock.Now();
  Persist(deps_.db.ResetStreak(u.cfg->name, u.streak_start), "failure streak");
}

std::string Supervisor::ProgramPath(const Unit& u) const {
  const ComponentConfig& c = *u.cfg;
  return c.Managed() ? (ComponentDir(c) / "current" / c.binary).string() : c.exec;
}

fs::path Supervisor::ComponentDir(const ComponentConfig& c) const {
  return ComponentLayout(config_.state_dir, c.name).Dir();
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
      const fs::path dir = ComponentDir(*u->cfg);
      s.installed_version = VersionOfLink(dir / "current");
      s.previous_version = VersionOfLink(dir / "previous");
      if (u->pid != 0) s.running_version = u->running_version;
    }
    s.last_exit = u->last_exit;
    s.restarts = u->restarts;
    s.consecutive_failures = u->consecutive;
    s.crash_loop = u->crash_loop;
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
  return u != nullptr ? u->uid : ::getuid();
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
