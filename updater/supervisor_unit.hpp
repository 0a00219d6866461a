// The supervisor's view of one component and the events of its state × event table. Internal
// to updater/supervisor*.cpp: the table (supervisor_table.cpp), the actions (supervisor.cpp) and
// taking over from an earlier updater (supervisor_adopt.cpp) share these.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>

#include "updater/restart_policy.hpp"
#include "updater/supervisor.hpp"

namespace steward::updater {

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
  boot,             // the updater starts: bring the component toward its desired state
  adopt,            // its recorded process is still our child: take it over as running
  adopt_stopping,   // ... and its stop was under way: go on stopping it
  orphan,           // its recorded process was left by an updater that died: stop it first
  hold,             // an update keeps it from starting; a running process goes on
  hold_stop,        // an update keeps it from starting and stops it
  release,          // the update is done: back toward the desired state
  release_restart,  // ... replacing a process that still runs (the old version)
  shutdown,         // the updater is stopping
  t_start_timeout,
  t_probe,
  t_watchdog,
  t_healthy,
  t_kill,
  t_backoff,
  t_recheck,
};
std::string_view EventName(Ev event);

struct Supervisor::Event {
  Ev type;
  bool by_operator = false;
  ProcessEnd end{};  // for `exited`
  Duration extend{};
};

struct Supervisor::Unit {
  // The unit's own copy: a configuration reload swaps it (Reconfigure) while the process runs.
  std::shared_ptr<const ComponentConfig> cfg;
  UnitState state = UnitState::stopped;
  DesiredState desired = DesiredState::running;
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
  bool held = false;      // an update keeps it stopped
  bool removing = false;  // gone from the configuration: forgotten once stopped
  std::optional<std::uint64_t> oom_at_start;
  bool spawned_before = false;
  pid_t recorded_pid = 0;  // from the state database, at Load
  bool recorded_stop_intent = false;
  // History.
  std::optional<ExitInfo> last_exit;
  std::int64_t restarts = 0;
  FailureStreak streak;
  std::string status_text;
  std::string last_error;
  std::string running_version;
};

}  // namespace steward::updater
