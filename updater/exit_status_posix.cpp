// The POSIX meaning of exit statuses and signal numbers (exit_status.hpp).
#include "updater/exit_status_posix.hpp"

#include <signal.h>
#include <sys/wait.h>

namespace steward::updater {

ProcessEnd ProcessEndFromWaitStatus(int status) {
  ProcessEnd end;
  if (WIFEXITED(status)) {
    end.code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    end.signal = WTERMSIG(status);
    end.core_dumped = WCOREDUMP(status);
  }
  return end;
}

SignalOrigin OriginOfSignal(int sig) {
  switch (sig) {
    case SIGTERM:
    case SIGINT:
    case SIGHUP:
    case SIGPIPE:
      return SignalOrigin::outside;
    case SIGKILL:
      return SignalOrigin::kill;
    default:
      return SignalOrigin::fault;
  }
}

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

}  // namespace steward::updater
