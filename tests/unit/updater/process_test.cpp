// The process helpers that deal with programs that are not (or no longer) supervised children.
#include "updater/process.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>

namespace steward::updater {
namespace {

using namespace std::chrono_literals;

// `sleep 30` leading its own process group, as a component left by a crashed updater would.
pid_t SpawnGroupLeader() {
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
  char arg0[] = "sleep", arg1[] = "30";
  char* argv[] = {arg0, arg1, nullptr};
  pid_t pid = 0;
  EXPECT_EQ(::posix_spawnp(&pid, "sleep", nullptr, &attr, argv, environ), 0);
  posix_spawnattr_destroy(&attr);
  return pid;
}

TEST(StopOrphanGroup, StopsOnlyAProcessRunningTheExpectedProgram) {
  const pid_t pid = SpawnGroupLeader();
  ASSERT_GT(pid, 0);
  std::error_code ec;
  const auto exe = std::filesystem::read_symlink("/proc/" + std::to_string(pid) + "/exe", ec);
  ASSERT_FALSE(ec);
  // A recycled pid running something else is left alone.
  EXPECT_FALSE(StopOrphanGroup(pid, "/var/lib/steward/components/agent/", 1s));
  EXPECT_EQ(::kill(pid, 0), 0);
  EXPECT_FALSE(StopOrphanGroup(pid, "", 1s));
  EXPECT_EQ(::kill(pid, 0), 0);

  EXPECT_TRUE(StopOrphanGroup(pid, exe.parent_path().string() + "/", 5s));
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFSIGNALED(status));
  EXPECT_EQ(WTERMSIG(status), SIGTERM);
  EXPECT_FALSE(StopOrphanGroup(pid, exe.string(), 1s));  // gone: nothing to stop
}

TEST(RunForOutput, ReturnsStdoutAndKillsAProgramThatTakesTooLong) {
  auto out = RunForOutput("/bin/echo", {"selftest", "ok"}, 10s);
  ASSERT_TRUE(out) << out.error().ToString();
  EXPECT_EQ(*out, "selftest ok\n");

  auto slow = RunForOutput("/bin/sleep", {"30"}, 200ms);
  ASSERT_FALSE(slow);
  EXPECT_EQ(slow.error().code, ErrorCode::timeout);
  EXPECT_NE(slow.error().message.find("did not finish within 200 ms"), std::string::npos);

  auto missing = RunForOutput("/nonexistent/steward-updater", {"selftest"}, 1s);
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("/nonexistent/steward-updater"), std::string::npos);
  while (::waitpid(-1, nullptr, WNOHANG) > 0) {
  }
}

}  // namespace
}  // namespace steward::updater
