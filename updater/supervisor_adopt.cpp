// Taking over from an earlier updater: the persisted state of each component (its desired
// state, failure streak and history), a process that is still our child after the updater
// re-executed itself (adopted, not started twice), and one left behind by an updater that died
// (stopped, so the component never runs twice).
#include "common/duration.hpp"
#include "common/log.hpp"
#include "updater/supervisor_unit.hpp"

namespace steward::updater {

namespace {

spdlog::logger& Log() { return log::Get("supervisor"); }

}  // namespace

Result<void> Supervisor::Load() {
  for (auto& u : units_) {
    if (auto r = LoadUnit(*u); !r) return r;
  }
  return {};
}

Result<void> Supervisor::LoadUnit(Unit& u) {
  const auto& name = u.cfg->name;
  auto rec = deps_.db.Load(name);
  if (!rec) return std::unexpected(rec.error().Wrap("loading component " + name));
  if (rec->desired) u.desired = DesiredStateFromName(*rec->desired).value_or(u.desired);
  u.recorded_pid = rec->pid;
  u.recorded_stop_intent = rec->stop_intent;
  u.restarts = rec->restarts;
  u.streak.consecutive = rec->consecutive_failures;
  u.streak.start = rec->streak_start;
  auto last = deps_.db.LastExit(name);
  if (!last) return std::unexpected(last.error().Wrap("loading component " + name));
  u.last_exit = *last;
  auto failures = deps_.db.RecentFailures(name, u.streak.start, u.cfg->crash_loop_failures);
  if (!failures) return std::unexpected(failures.error().Wrap("loading component " + name));
  u.streak.recent.assign(failures->begin(), failures->end());
  u.streak.crash_loop = u.streak.InCrashLoop(deps_.clock.Now(), *u.cfg);
  if (u.streak.crash_loop) {
    Log().error("component={} crash_loop=true failures={} within {} (from before this start)", name,
                u.cfg->crash_loop_failures, FormatDuration(u.cfg->crash_loop_window));
  }
  ResolveUser(u);
  return {};
}

void Supervisor::ResolveUser(Unit& u) {
  // The notify socket belongs to the component's user; resolved again at each spawn.
  u.uid = OwnUserId();
  if (!u.cfg->user.empty()) {
    if (auto uid = UserId(u.cfg->user)) u.uid = *uid;
  }
}

void Supervisor::StartAll() {
  for (auto& u : units_) Boot(*u);
}

void Supervisor::Boot(Unit& u) {
  Event e{Ev::boot};
  if (u.recorded_pid > 0) {
    e.type = !deps_.is_our_child(u.recorded_pid) ? Ev::orphan
             : u.recorded_stop_intent            ? Ev::adopt_stopping
                                                 : Ev::adopt;
  }
  Dispatch(u, e);
}

void Supervisor::TakeOver(Unit& u) {
  u.pid = u.recorded_pid;
  ++u.generation;
  u.spawned_before = true;
  u.started_mono = deps_.clock.Monotonic();
  u.oom_at_start = deps_.oom_count();
  u.running_version = RunningVersionOf(u);
}

void Supervisor::DoAdopt(Unit& u, const Event&) {
  TakeOver(u);
  // Its readiness was established before the re-exec.
  Log().info("component={} pid={} adopted as running", u.cfg->name, u.pid);
  DoReady(u, Event{Ev::ready});
}

void Supervisor::DoAdoptStopping(Unit& u, const Event&) {
  TakeOver(u);
  Log().info("component={} pid={} adopted; its stop was under way", u.cfg->name, u.pid);
  u.stop_requested = true;
  u.ready = true;
  BeginStop(u, ProcessSignal::terminate, true);
}

void Supervisor::DoStopOrphan(Unit& u, const Event& e) {
  Log().warn(
      "component={} pid={} was running under a previous updater and is not our child "
      "now; stopping it before starting a new one",
      u.cfg->name, u.recorded_pid);
  const std::string prefix = u.cfg->Managed() ? ComponentDir(*u.cfg).string() + "/" : u.cfg->exec;
  deps_.stop_orphan(u.recorded_pid, prefix, u.cfg->stop_timeout);
  Persist(deps_.db.SetPid(u.cfg->name, 0), "pid");
  DoTowardDesired(u, e);
}

}  // namespace steward::updater
