#include "updater/exit_status.hpp"

namespace steward::updater {

namespace {

std::string Describe(const std::optional<int>& code, const std::optional<int>& signal,
                     bool core_dumped, bool oom) {
  std::string s;
  if (code) {
    s = "exit code " + std::to_string(*code);
  } else if (signal) {
    s = "signal " + std::to_string(*signal) + " (" + SignalName(*signal);
    if (core_dumped) s += ", core dumped";
    if (oom) s += ", out of memory";
    s += ")";
  }
  return s;
}

}  // namespace

std::string ProcessEnd::Describe() const {
  return updater::Describe(code, signal, core_dumped, false);
}

std::string ExitInfo::Describe() const { return updater::Describe(code, signal, core_dumped, oom); }

bool IsFailure(ExitKind kind) {
  switch (kind) {
    case ExitKind::error_exit:
    case ExitKind::crash:
    case ExitKind::killed:
    case ExitKind::watchdog:
    case ExitKind::start_failure:
      return true;
    default:
      return false;
  }
}

ExitInfo ClassifyExit(const ProcessEnd& end, const ExitContext& ctx) {
  ExitInfo info;
  info.code = end.code;
  info.signal = end.signal;
  info.core_dumped = end.core_dumped;
  const int code = info.code.value_or(-1);

  // What we did decides first: our own stop, watchdog and start-timeout kills are ours.
  if (ctx.stop_requested) {
    info.kind = ExitKind::requested;
  } else if (ctx.watchdog_fired) {
    info.kind = ExitKind::watchdog;
  } else if (ctx.start_timed_out) {
    info.kind = ExitKind::start_failure;
  } else if (info.code && code == exit_code::kConfig) {
    // Even before readiness: a broken config is not fixed by restarting.
    info.kind = ExitKind::fatal_config;
  } else if (!ctx.was_ready) {
    info.kind = ExitKind::start_failure;
  } else if (info.code) {
    info.kind = code == 0                              ? ExitKind::clean
                : code == exit_code::kRestartRequested ? ExitKind::restart_requested
                                                       : ExitKind::error_exit;
  } else {
    switch (OriginOfSignal(info.signal.value_or(0))) {
      case SignalOrigin::outside:
        info.kind = ExitKind::external_signal;
        break;
      case SignalOrigin::kill:
        info.kind = ExitKind::killed;
        info.oom = ctx.oom_killed;
        break;
      case SignalOrigin::fault:
        // Every fatal signal nobody announced.
        info.kind = ExitKind::crash;
        break;
    }
  }
  return info;
}

}  // namespace steward::updater
