// Supervision of the configured components: one state × event table (supervisor_table.cpp)
// drives each component between not_installed, stopped, starting, running, stopping, backoff and
// failed. The table owns no thread and no I/O of its own: the main loop feeds it events (a
// child ended, a notify message, a command, an update's hold or release, a timer came due) and
// asks NextDeadline() when to call Tick() again. When to restart after an exit is decided by
// restart_policy.hpp. Processes are started and signalled through the injected Launcher, time
// comes from the injected Clock, history goes to the StateDb.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.hpp"
#include "common/error.hpp"
#include "updater/config.hpp"
#include "updater/exit_status.hpp"
#include "updater/notify_socket.hpp"
#include "updater/process.hpp"
#include "updater/state_db.hpp"

namespace steward::updater {

enum class UnitState { not_installed, stopped, starting, running, stopping, backoff, failed };
std::string_view UnitStateName(UnitState state);

// What status shows for one component.
struct UnitStatus {
  std::string name;
  UnitState state = UnitState::stopped;
  pid_t pid = 0;
  DesiredState desired = DesiredState::running;
  std::string running_version, installed_version, previous_version;  // "" when unknown
  std::optional<ExitInfo> last_exit;
  std::int64_t restarts = 0;
  int consecutive_failures = 0;
  bool crash_loop = false;
  std::string status_text;  // the child's last STATUS=
  std::string last_error;   // why the last start failed, when it did
};

class Supervisor {
 public:
  struct Deps {
    Clock& clock;
    Launcher& launcher;
    StateDb& db;
    // Uniform in [-1, 1]; scaled to ±20 % of each backoff delay.
    std::function<double()> jitter = [] { return 0.0; };
    // The cgroup's oom_kill counter, to tell an OOM kill from another SIGKILL.
    std::function<std::optional<std::uint64_t>()> oom_count = [] {
      return std::optional<std::uint64_t>{};
    };
    // Starts an HTTP readiness probe; its answer comes back as ProbeResult().
    std::function<void(const std::string& name, const std::string& url, std::uint64_t gen)> probe =
        [](const std::string&, const std::string&, std::uint64_t) {};
    // True when `pid` is still our child and leads its own process group: a component started
    // by this same process before it re-executed itself (self-update keeps children).
    std::function<bool(pid_t)> is_our_child = [](pid_t) { return false; };
    // Stops a component process a crashed updater left behind (no longer our child), when
    // `pid` still runs a program under `exe_prefix`; blocks until it is gone.
    std::function<void(pid_t pid, const std::string& exe_prefix, Duration stop_timeout)>
        stop_orphan = [](pid_t, const std::string&, Duration) {};
    // Observers for the update transaction's health gate (ready; ended, with the crash-loop
    // verdict after this exit).
    std::function<void(const std::string& name)> on_ready = [](const std::string&) {};
    std::function<void(const std::string& name, const ExitInfo& exit, bool crash_loop)> on_exit =
        [](const std::string&, const ExitInfo&, bool) {};
    // A component removed by a reload has stopped and is forgotten.
    std::function<void(const std::string& name)> on_removed = [](const std::string&) {};
  };

  // `notify_dir`: where each component's notify socket lives (<notify_dir>/<name>.notify).
  Supervisor(const Config& config, std::string notify_dir, Deps deps);
  ~Supervisor();
  Supervisor(const Supervisor&) = delete;
  Supervisor& operator=(const Supervisor&) = delete;

  // Reads each component's persisted state (desired override, failure streak, history).
  Result<void> Load();
  // Brings every component toward its desired state. A component whose recorded process is
  // still our child (the updater re-executed itself) is adopted as running instead of started
  // again; one whose stop was under way is still being stopped.
  void StartAll();

  // A configuration reload (reload_plan.hpp), each step with the component's whole new
  // configuration (supervisor_reload.cpp):
  //  - Add supervises a new component: its persisted state is loaded; Boot(name) then brings it
  //    toward its desired state (the caller binds its notify socket in between);
  //  - Remove stops it, and forgets it once it has stopped (Names() no longer lists it);
  //  - Reconfigure gives it the new configuration: with `restart`, a process that runs is
  //    replaced by one started from it and the failure streak starts over; a new `desired` is
  //    the operator's new wish (persisted) and starts or stops it; policy (timeouts, backoff,
  //    crash-loop limits) applies from the next time it is consulted.
  Result<void> Add(const ComponentConfig& c);
  void Boot(std::string_view name);
  void Remove(std::string_view name);
  void Reconfigure(const ComponentConfig& c, bool restart);

  // Operator commands: "start", "stop", "restart". unknown_component for other names.
  Result<void> Command(std::string_view name, std::string_view command);
  // A reaped child: false when `pid` is not a supervised main process.
  bool OnExit(pid_t pid, const ProcessEnd& end);
  // A notify message from `name`'s child (the caller checked the sender's credentials).
  void OnNotify(std::string_view name, const NotifyMessage& message);
  // The answer of an HTTP readiness probe started through Deps::probe.
  void ProbeResult(std::string_view name, std::uint64_t generation, bool ready);
  // Fires every timer that is due.
  void Tick();
  std::optional<MonoTime> NextDeadline() const;

  // For an update: `Hold` keeps the component from starting until `Release`; with `stop` it
  // also stops it if it runs (a requested stop; its desired state is unchanged). `Release`
  // brings it back toward its desired state; with `restart` a process that still runs (the old
  // version) is stopped and replaced at once. Operator commands while held only change the
  // desired state.
  void Hold(std::string_view name, bool stop = true);
  void Release(std::string_view name, bool restart = false);
  // A new version starts with a clean failure streak: crashes of the old one do not count.
  void ResetFailures(std::string_view name);
  std::optional<UnitState> State(std::string_view name) const;
  // Sends `sig` to the component's main process, when one runs (a reload).
  void Signal(std::string_view name, ProcessSignal sig);
  // The operator's wish for the component (stopped for an unknown name).
  DesiredState Desired(std::string_view name) const;
  // The version the running main process was started from; "" when none runs.
  std::string RunningVersion(std::string_view name) const;

  // Stops every component, last configured first, one after the other, without changing
  // their persisted desired state. Done when Idle().
  void Shutdown();
  bool Idle() const;

  std::vector<UnitStatus> Status() const;
  std::vector<std::string> Names() const;
  std::string NotifyPath(std::string_view name) const;
  // The uid a component's processes run as (its notify socket belongs to it).
  uid_t UnitUid(std::string_view name) const;
  std::vector<pid_t> Pids() const;
  // The component's main process, 0 when none runs.
  pid_t MainPid(std::string_view name) const;

  struct Unit;

 private:
  struct Event;
  using Action = void (Supervisor::*)(Unit&, const Event&);
  struct Row;
  static const Row kTable[];

  Unit* Find(std::string_view name);
  const Unit* Find(std::string_view name) const;
  void Dispatch(Unit& u, const Event& e);
  void SetState(Unit& u, UnitState s);
  void Persist(const Result<void>& r, std::string_view what);
  void ContinueShutdown();
  Result<void> LoadUnit(Unit& u);
  void ResolveUser(Unit& u);
  void Boot(Unit& u);
  // Forgets the removed components that have stopped.
  void DropRemoved();

  // Actions of the table.
  void DoStart(Unit& u, const Event& e);
  void DoStopCmd(Unit& u, const Event& e);
  void DoRestartCmd(Unit& u, const Event& e);
  void DoSpawn(Unit& u, const Event& e);
  void DoReady(Unit& u, const Event& e);
  void DoExtend(Unit& u, const Event& e);
  void DoStartTimeout(Unit& u, const Event& e);
  void DoProbe(Unit& u, const Event& e);
  void DoWatchdogPing(Unit& u, const Event& e);
  void DoWatchdogFire(Unit& u, const Event& e);
  void DoHealthy(Unit& u, const Event& e);
  void DoKill(Unit& u, const Event& e);
  void DoExit(Unit& u, const Event& e);
  void DoStopIdle(Unit& u, const Event& e);
  void DoStopping(Unit& u, const Event& e);
  void DoStartWhileStopping(Unit& u, const Event& e);
  void DoTowardDesired(Unit& u, const Event& e);
  // Taking over from an earlier updater (supervisor_adopt.cpp).
  void DoAdopt(Unit& u, const Event& e);
  void DoAdoptStopping(Unit& u, const Event& e);
  void DoStopOrphan(Unit& u, const Event& e);
  void TakeOver(Unit& u);

  // Starts the unit's process; nullopt when there is none to start (held, shutting down, not
  // installed: the unit's state says which). Launched does the bookkeeping of what it returned:
  // the new process, or a start failure retried with backoff.
  std::optional<Result<pid_t>> Launch(Unit& u);
  void Launched(Unit& u, const Result<pid_t>& pid);
  void LogCrashLoop(const Unit& u);
  // Backoff and the crash-loop count start over (a healthy run, a new version).
  void NewStreak(Unit& u);
  std::string ProgramPath(const Unit& u) const;
  std::filesystem::path ComponentDir(const ComponentConfig& c) const;
  // The version `current` names for a managed component; "" for an unmanaged one.
  std::string RunningVersionOf(const Unit& u) const;
  void SendStop(Unit& u);
  // Sends `sig` and gives the process stop_timeout to end before it is killed.
  void BeginStop(Unit& u, ProcessSignal sig, bool tree);
  void Want(Unit& u, const Event& e, DesiredState desired);

  const Config& config_;
  std::string notify_dir_;
  Deps deps_;
  std::vector<std::unique_ptr<Unit>> units_;
  bool shutting_down_ = false;
};

}  // namespace steward::updater
