#include "updater/reload_plan.hpp"

#include <map>
#include <tuple>

namespace steward::updater {

namespace {

// What the running process was started with: a change means a restart.
auto ProcessFields(const ComponentConfig& c) {
  return std::tie(c.binary, c.exec, c.args, c.env, c.user, c.working_dir, c.readiness, c.watchdog);
}

// What the supervisor and the update engine consult as they go: a change applies in place.
auto PolicyFields(const ComponentConfig& c) {
  return std::tie(c.channel, c.start_timeout, c.stop_timeout, c.grace, c.restart_delay,
                  c.restart_delay_max, c.restart_reset, c.crash_loop_failures, c.crash_loop_window,
                  c.pin, c.hold, c.reload_on_flags);
}

bool SameController(const std::optional<ControllerConfig>& a,
                    const std::optional<ControllerConfig>& b) {
  if (a.has_value() != b.has_value()) return false;
  if (!a) return true;
  return std::tie(a->urls, a->enroll_token_file, a->checkin_interval, a->ca_file,
                  a->allow_insecure_http, a->proxy) == std::tie(b->urls, b->enroll_token_file,
                                                                b->checkin_interval, b->ca_file,
                                                                b->allow_insecure_http, b->proxy);
}

bool SameSelfUpdate(const std::optional<SelfUpdateConfig>& a,
                    const std::optional<SelfUpdateConfig>& b) {
  if (a.has_value() != b.has_value()) return false;
  return !a || std::tie(a->channel, a->grace) == std::tie(b->channel, b->grace);
}

}  // namespace

bool ReloadPlan::Empty() const {
  return added.empty() && removed.empty() && restarted.empty() && desired.empty() &&
         retuned.empty() && !controller_changed && !self_update_changed && !logging_changed;
}

Result<ReloadPlan> PlanReload(const Config& live, const Config& next) {
  std::string fixed;
  auto needs_restart = [&](bool differs, std::string_view key) {
    if (differs) fixed += (fixed.empty() ? "" : ", ") + std::string(key);
  };
  needs_restart(live.state_dir != next.state_dir, "state_dir");
  needs_restart(live.socket != next.socket, "socket");
  needs_restart(live.http_helper != next.http_helper, "http_helper");
  needs_restart(live.http_helper_sandbox != next.http_helper_sandbox, "http_helper_sandbox");
  needs_restart(live.root != next.root, "root");
  needs_restart(live.log_format != next.log_format, "log_format");
  needs_restart(live.controller.has_value() != next.controller.has_value(),
                "[controller] (added or removed)");
  if (!fixed.empty()) {
    return Fail(ErrorCode::config_invalid,
                next.path + ": " + fixed +
                    " changed; these take effect only when steward-updater restarts "
                    "(systemctl restart steward-updater); the running configuration is kept");
  }

  ReloadPlan plan;
  std::map<std::string, const ComponentConfig*> before;
  for (const auto& c : live.components) before[c.name] = &c;
  for (const auto& c : next.components) {
    auto it = before.find(c.name);
    if (it == before.end()) {
      plan.added.push_back(c.name);
      continue;
    }
    const ComponentConfig& old = *it->second;
    before.erase(it);
    if (ProcessFields(old) != ProcessFields(c)) {
      plan.restarted.push_back(c.name);
    } else if (old.desired != c.desired) {
      plan.desired.push_back(c.name);
    } else if (PolicyFields(old) != PolicyFields(c)) {
      plan.retuned.push_back(c.name);
    } else {
      plan.unchanged.push_back(c.name);
    }
    // A desired change alongside new policy is carried by the desired step: the unit takes the
    // whole new ComponentConfig either way.
  }
  for (const auto& [name, _] : before) plan.removed.push_back(name);
  plan.controller_changed = !SameController(live.controller, next.controller);
  plan.self_update_changed = !SameSelfUpdate(live.self_update, next.self_update);
  plan.logging_changed = live.log_level != next.log_level;
  return plan;
}

}  // namespace steward::updater
