#include "updater/exit_status.hpp"

#include <signal.h>
#include <sys/wait.h>

namespace steward::updater {

std::string SignalName(int sig) {
  switch (sig) {
    case SIGHUP:
      return "SIGHUP";
    case SIGINT:
      return "SIGINT";
    case SIGQUIT:
      return "SIGQUIT";
    case SIGILL:
      return "SIGILL";
    case SIGTRAP:
      return "SIGTRAP";
    case SIGABRT:
      return "SIGABRT";
    case SIGBUS:
      return "SIGBUS";
    case SIGFPE:
      return "SIGFPE";
    case SIGKILL:
      return "SIGKILL";
    case SIGUSR1:
      return "SIGUSR1";
    case SIGSEGV:
      return "SIGSEGV";
    case SIGUSR2:
      return "SIGUSR2";
    case SIGPIPE:
      return "SIGPIPE";
    case SIGALRM:
      return "SIGALRM";
    case SIGTERM:
      return "SIGTERM";
    case SIGXCPU:
      return "SIGXCPU";
    case SIGXFSZ:
      return "SIGXFSZ";
    case SIGSYS:
      return "SIGSYS";
    default:
      return "signal " + std::to_string(sig);
  }
}

std::string ExitInfo::Describe() const {
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

ExitInfo ClassifyExit(int status, const ExitContext& ctx) {
  ExitInfo info;
  if (WIFEXITED(status)) {
    info.code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    info.signal = WTERMSIG(status);
    info.core_dumped = WCOREDUMP(status);
  }
  const int code = info.code.value_or(-1);
  const int sig = info.signal.value_or(0);

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
  } else if (sig == SIGTERM || sig == SIGINT || sig == SIGHUP || sig == SIGPIPE) {
    info.kind = ExitKind::external_signal;
  } else if (sig == SIGKILL) {
    info.kind = ExitKind::killed;
    info.oom = ctx.oom_killed;
  } else {
    // SIGSEGV, SIGABRT, SIGBUS, SIGILL, SIGFPE and every other fatal signal nobody announced.
    info.kind = ExitKind::crash;
  }
  return info;
}

}  // namespace steward::updater
