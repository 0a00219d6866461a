#include "updater/exit_status.hpp"

#include <gtest/gtest.h>
#include <signal.h>

#include "updater/exit_status_posix.hpp"

namespace steward::updater {
namespace {

// How a process ended, from the raw waitpid() status POSIX reports.
ProcessEnd Exited(int code) { return ProcessEndFromWaitStatus(code << 8); }
ProcessEnd Signaled(int sig, bool core = false) {
  return ProcessEndFromWaitStatus(sig | (core ? 0x80 : 0));
}

TEST(ClassifyExit, DecodesRawStatusNotAPlainExitCode) {
  // "killed by signal 9" and "exited with 9" are different things.
  const ExitInfo killed = ClassifyExit(Signaled(SIGKILL), {});
  EXPECT_EQ(killed.kind, ExitKind::killed);
  EXPECT_EQ(killed.signal, SIGKILL);
  EXPECT_FALSE(killed.code);
  const ExitInfo nine = ClassifyExit(Exited(9), {});
  EXPECT_EQ(nine.kind, ExitKind::error_exit);
  EXPECT_EQ(nine.code, 9);
  EXPECT_FALSE(nine.signal);
}

TEST(ClassifyExit, EveryKindFromTheRules) {
  EXPECT_EQ(ClassifyExit(Exited(0), {}).kind, ExitKind::clean);
  EXPECT_EQ(ClassifyExit(Exited(75), {}).kind, ExitKind::restart_requested);
  EXPECT_EQ(ClassifyExit(Exited(78), {}).kind, ExitKind::fatal_config);
  EXPECT_EQ(ClassifyExit(Exited(1), {}).kind, ExitKind::error_exit);
  for (int sig : {SIGTERM, SIGINT, SIGHUP, SIGPIPE}) {
    EXPECT_EQ(ClassifyExit(Signaled(sig), {}).kind, ExitKind::external_signal) << sig;
  }
  for (int sig : {SIGSEGV, SIGABRT, SIGBUS, SIGILL, SIGFPE, SIGUSR1}) {
    EXPECT_EQ(ClassifyExit(Signaled(sig), {}).kind, ExitKind::crash) << sig;
  }
  const ExitInfo core = ClassifyExit(Signaled(SIGSEGV, true), {});
  EXPECT_TRUE(core.core_dumped);
  EXPECT_EQ(core.Describe(), "signal 11 (SIGSEGV, core dumped)");
  EXPECT_FALSE(ClassifyExit(Signaled(SIGSEGV), {}).core_dumped);
}

TEST(ClassifyExit, WhatTheSupervisorDidComesFirst) {
  ExitContext stop;
  stop.stop_requested = true;
  EXPECT_EQ(ClassifyExit(Signaled(SIGTERM), stop).kind, ExitKind::requested);
  EXPECT_EQ(ClassifyExit(Signaled(SIGKILL), stop).kind, ExitKind::requested);
  EXPECT_EQ(ClassifyExit(Exited(1), stop).kind, ExitKind::requested);
  ExitContext dog;
  dog.watchdog_fired = true;
  EXPECT_EQ(ClassifyExit(Signaled(SIGABRT, true), dog).kind, ExitKind::watchdog);
  ExitContext late;
  late.start_timed_out = true;
  late.was_ready = false;
  EXPECT_EQ(ClassifyExit(Signaled(SIGTERM), late).kind, ExitKind::start_failure);
}

TEST(ClassifyExit, BeforeReadinessIsAStartFailureExceptAConfigError) {
  ExitContext not_ready;
  not_ready.was_ready = false;
  EXPECT_EQ(ClassifyExit(Exited(0), not_ready).kind, ExitKind::start_failure);
  EXPECT_EQ(ClassifyExit(Signaled(SIGSEGV), not_ready).kind, ExitKind::start_failure);
  EXPECT_EQ(ClassifyExit(Exited(78), not_ready).kind, ExitKind::fatal_config);
}

TEST(ClassifyExit, OomOnlyForAnUnrequestedKill) {
  ExitContext oom;
  oom.oom_killed = true;
  const ExitInfo e = ClassifyExit(Signaled(SIGKILL), oom);
  EXPECT_EQ(e.kind, ExitKind::killed);
  EXPECT_TRUE(e.oom);
  EXPECT_NE(e.Describe().find("out of memory"), std::string::npos);
}

TEST(ClassifyExit, FailuresAreTheKindsThatBackOff) {
  for (auto k : {ExitKind::error_exit, ExitKind::crash, ExitKind::killed, ExitKind::watchdog,
                 ExitKind::start_failure}) {
    EXPECT_TRUE(IsFailure(k)) << ExitKindName(k);
  }
  for (auto k : {ExitKind::requested, ExitKind::clean, ExitKind::external_signal,
                 ExitKind::restart_requested, ExitKind::fatal_config}) {
    EXPECT_FALSE(IsFailure(k)) << ExitKindName(k);
  }
}

}  // namespace
}  // namespace steward::updater
