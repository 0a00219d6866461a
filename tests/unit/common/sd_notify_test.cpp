#include "common/sd_notify.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include "common/files.hpp"
#include "tests/support/temp_dir.hpp"

namespace steward {
namespace {

TEST(Notifier, SendsDatagramsToTheSocket) {
  test::TempDir dir;
  const std::string path = (dir / "notify").string();
  files::UniqueFd sock(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
  ASSERT_EQ(::bind(sock.Get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);

  Notifier n(path);
  ASSERT_TRUE(n.Ready());
  ASSERT_TRUE(n.Status("loading\nstate"));
  char buf[256];
  auto got = ::recv(sock.Get(), buf, sizeof buf, 0);
  EXPECT_EQ(std::string(buf, static_cast<std::size_t>(got)), "READY=1");
  got = ::recv(sock.Get(), buf, sizeof buf, 0);
  EXPECT_EQ(std::string(buf, static_cast<std::size_t>(got)), "STATUS=loading state");
}

TEST(Notifier, WithoutSocketIsANoOp) {
  ::unsetenv("NOTIFY_SOCKET");
  auto n = Notifier::FromEnvironment();
  EXPECT_FALSE(n.enabled());
  EXPECT_TRUE(n.Ready());
}

TEST(Notifier, ReadsWatchdogForThisProcessOnly) {
  ::setenv("WATCHDOG_USEC", "2000000", 1);
  ::setenv("WATCHDOG_PID", std::to_string(::getpid()).c_str(), 1);
  EXPECT_EQ(Notifier::FromEnvironment().watchdog(), std::chrono::seconds(2));
  ::setenv("WATCHDOG_PID", "1", 1);
  EXPECT_FALSE(Notifier::FromEnvironment().watchdog());
  ::unsetenv("WATCHDOG_PID");
  ::setenv("WATCHDOG_USEC", "junk", 1);
  EXPECT_FALSE(Notifier::FromEnvironment().watchdog());
  ::unsetenv("WATCHDOG_USEC");
}

TEST(Notifier, BadOrMissingSocketIsAnError) {
  EXPECT_EQ(Notifier("relative").Ready().error().code, ErrorCode::notify_socket);
  test::TempDir dir;
  EXPECT_EQ(Notifier((dir / "absent").string()).Ready().error().code, ErrorCode::notify_socket);
}

}  // namespace
}  // namespace steward
