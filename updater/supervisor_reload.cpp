// Supervision while the configuration changes under it (a reload, reload_plan.hpp): components
// added, removed, or given a new configuration, each without touching the others.
#include "common/log.hpp"
#include "updater/supervisor_unit.hpp"

namespace steward::updater {

namespace {

spdlog::logger& Log() { return log::Get("supervisor"); }

}  // namespace

Result<void> Supervisor::Add(const ComponentConfig& c) {
  if (Find(c.name) != nullptr) {
    return Fail(ErrorCode::invalid_argument, "component " + c.name + " is already supervised");
  }
  auto u = std::make_unique<Unit>();
  u->cfg = std::make_shared<const ComponentConfig>(c);
  u->desired = c.desired;
  if (auto r = LoadUnit(*u); !r) return r;
  Log().info("component={} added by a configuration reload", c.name);
  units_.push_back(std::move(u));
  return {};
}

void Supervisor::Boot(std::string_view name) {
  if (Unit* u = Find(name)) Boot(*u);
}

void Supervisor::Remove(std::string_view name) {
  Unit* u = Find(name);
  if (u == nullptr) return;
  Log().info("component={} removed by a configuration reload; stopping it", name);
  u->removing = true;
  // Not persisted: the component's records stay as they are, should it come back.
  u->desired = DesiredState::stopped;
  u->restart_after_stop = false;
  Dispatch(*u, Event{Ev::stop});
  DropRemoved();
}

void Supervisor::DropRemoved() {
  for (auto it = units_.begin(); it != units_.end();) {
    const Unit& u = **it;
    if (!u.removing || u.pid != 0 || u.state == UnitState::stopping) {
      ++it;
      continue;
    }
    const std::string name = u.cfg->name;
    Log().info("component={} no longer supervised", name);
    it = units_.erase(it);
    deps_.on_removed(name);
  }
}

void Supervisor::Reconfigure(const ComponentConfig& c, bool restart) {
  Unit* u = Find(c.name);
  if (u == nullptr) return;
  const bool desired_changed = u->cfg->desired != c.desired;
  u->cfg = std::make_shared<const ComponentConfig>(c);
  ResolveUser(*u);
  if (desired_changed) {
    // The edited file is the operator's latest word, over an earlier start or stop command.
    u->desired = c.desired;
    Persist(deps_.db.SetDesired(c.name, DesiredStateName(c.desired)), "desired state");
  }
  Log().info("component={} reconfigured{}{}", c.name, restart ? "; restarting it" : "",
             desired_changed ? "; desired=" + std::string(DesiredStateName(c.desired)) : "");
  if (!restart && !desired_changed) return;
  // How it runs changed: failures of the old way do not count against the new one.
  if (restart) NewStreak(*u);
  if (u->desired == DesiredState::stopped) {
    Dispatch(*u, Event{Ev::stop});
  } else {
    // A running process is replaced; one stopped, failed or waiting in backoff starts now.
    Dispatch(*u, Event{restart ? Ev::restart : Ev::start});
  }
}

}  // namespace steward::updater
