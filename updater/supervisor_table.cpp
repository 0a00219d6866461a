// The supervisor's state × event table: every transition of a component, in one place. The
// actions it names are in supervisor.cpp and supervisor_adopt.cpp.
#include <array>

#include "common/log.hpp"
#include "updater/supervisor_unit.hpp"

namespace steward::updater {

namespace {

constexpr std::array<std::string_view, 7> kStateNames = {
    "not_installed", "stopped", "starting", "running", "stopping", "backoff", "failed"};

// In the order of Ev (supervisor_unit.hpp).
// clang-format off
constexpr std::array<std::string_view, 25> kEventNames = {
    "start", "stop", "restart", "exited", "ready", "watchdog_ping", "watchdog_trigger",
    "stopping_notice", "extend", "boot", "adopt", "adopt_stopping", "orphan", "hold",
    "hold_stop", "release", "release_restart", "shutdown", "t_start_timeout", "t_probe",
    "t_watchdog", "t_healthy", "t_kill", "t_backoff", "t_recheck"};
// clang-format on
static_assert(static_cast<std::size_t>(Ev::t_recheck) + 1 == kEventNames.size());

}  // namespace

std::string_view UnitStateName(UnitState state) {
  const auto i = static_cast<std::size_t>(state);
  return i < kStateNames.size() ? kStateNames[i] : "unknown";
}

std::string_view EventName(Ev event) { return kEventNames[static_cast<std::size_t>(event)]; }

// Read a row as: in `state`, on `event`, do `action` (which sets the next state). A pair that
// is not listed is ignored (logged at debug): a READY=1 from a process already running, a stop
// for a component already stopped, a release of one that waits in backoff.
//
// Updates and the updater's own stop reuse the operator's actions: holding with a stop is a
// requested stop, releasing with a restart is a restart, and neither changes the desired state
// (only an operator's event does, `by_operator`).
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
    {S::not_installed, Ev::t_recheck, A(DoTowardDesired)},
    {S::not_installed, Ev::hold, A(DoStopIdle)},  // no more looking for an install
    {S::not_installed, Ev::hold_stop, A(DoStopIdle)},
    {S::not_installed, Ev::release, A(DoTowardDesired)},
    {S::not_installed, Ev::release_restart, A(DoTowardDesired)},
    {S::not_installed, Ev::shutdown, A(DoStopIdle)},

    {S::stopped, Ev::start, A(DoStart)},
    {S::stopped, Ev::restart, A(DoStart)},
    {S::stopped, Ev::stop, A(DoStopIdle)},
    {S::stopped, Ev::boot, A(DoTowardDesired)},
    {S::stopped, Ev::adopt, A(DoAdopt)},
    {S::stopped, Ev::adopt_stopping, A(DoAdoptStopping)},
    {S::stopped, Ev::orphan, A(DoStopOrphan)},
    {S::stopped, Ev::release, A(DoTowardDesired)},
    {S::stopped, Ev::release_restart, A(DoTowardDesired)},

    {S::starting, Ev::ready, A(DoReady)},
    {S::starting, Ev::extend, A(DoExtend)},
    {S::starting, Ev::t_probe, A(DoProbe)},
    {S::starting, Ev::t_start_timeout, A(DoStartTimeout)},
    {S::starting, Ev::watchdog_trigger, A(DoWatchdogFire)},
    {S::starting, Ev::stopping_notice, A(DoStopping)},
    {S::starting, Ev::stop, A(DoStopCmd)},
    {S::starting, Ev::restart, A(DoRestartCmd)},
    {S::starting, Ev::exited, A(DoExit)},
    {S::starting, Ev::hold_stop, A(DoStopCmd)},
    {S::starting, Ev::release_restart, A(DoRestartCmd)},

    {S::running, Ev::watchdog_ping, A(DoWatchdogPing)},
    {S::running, Ev::watchdog_trigger, A(DoWatchdogFire)},
    {S::running, Ev::t_watchdog, A(DoWatchdogFire)},
    {S::running, Ev::t_healthy, A(DoHealthy)},
    {S::running, Ev::stopping_notice, A(DoStopping)},
    {S::running, Ev::stop, A(DoStopCmd)},
    {S::running, Ev::restart, A(DoRestartCmd)},
    {S::running, Ev::exited, A(DoExit)},
    {S::running, Ev::hold_stop, A(DoStopCmd)},
    // Replaced in one step: the exit handler starts the new process before it writes anything
    // (DoExit), so the component is down for no longer than a restart.
    {S::running, Ev::release_restart, A(DoRestartCmd)},

    {S::stopping, Ev::t_kill, A(DoKill)},
    {S::stopping, Ev::start, A(DoStartWhileStopping)},
    {S::stopping, Ev::restart, A(DoStartWhileStopping)},
    {S::stopping, Ev::stop, A(DoStopCmd)},
    {S::stopping, Ev::exited, A(DoExit)},
    {S::stopping, Ev::hold_stop, A(DoStopCmd)},
    {S::stopping, Ev::release_restart, A(DoStartWhileStopping)},

    {S::backoff, Ev::t_backoff, A(DoSpawn)},
    {S::backoff, Ev::start, A(DoStart)},
    {S::backoff, Ev::restart, A(DoStart)},
    {S::backoff, Ev::stop, A(DoStopIdle)},
    {S::backoff, Ev::hold, A(DoStopIdle)},
    {S::backoff, Ev::hold_stop, A(DoStopIdle)},
    {S::backoff, Ev::shutdown, A(DoStopIdle)},

    {S::failed, Ev::start, A(DoStart)},
    {S::failed, Ev::restart, A(DoStart)},
    {S::failed, Ev::stop, A(DoStopIdle)},
    {S::failed, Ev::hold, A(DoStopIdle)},
    {S::failed, Ev::hold_stop, A(DoStopIdle)},
    {S::failed, Ev::shutdown, A(DoStopIdle)},
};
#undef A
#undef S

void Supervisor::Dispatch(Unit& u, const Event& e) {
  for (const auto& row : kTable) {
    if (row.state == u.state && row.event == e.type) {
      (this->*row.action)(u, e);
      return;
    }
  }
  log::Get("supervisor")
      .debug("component={} state={} event={} ignored", u.cfg->name, UnitStateName(u.state),
             EventName(e.type));
}

void Supervisor::SetState(Unit& u, UnitState s) {
  if (u.state != s) {
    log::Get("supervisor")
        .debug("component={} {} -> {}", u.cfg->name, UnitStateName(u.state), UnitStateName(s));
  }
  u.state = s;
  u.timers.clear();
}

}  // namespace steward::updater
