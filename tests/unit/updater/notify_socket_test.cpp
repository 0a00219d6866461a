#include "updater/notify_socket.hpp"

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

#include "common/sd_notify.hpp"
#include "tests/support/temp_dir.hpp"

namespace steward::updater {
namespace {

using namespace std::chrono_literals;

void ExpectBad(std::string_view text, std::string_view mention) {
  auto r = ParseNotify(text);
  ASSERT_FALSE(r) << text;
  EXPECT_EQ(r.error().code, ErrorCode::notify_socket);
  EXPECT_NE(r.error().message.find(mention), std::string::npos) << r.error().message;
}

TEST(ParseNotify, TheSystemdKeys) {
  auto m = ParseNotify("READY=1\nSTATUS=loading db\nWATCHDOG=1\nEXTEND_TIMEOUT_USEC=5000000\n");
  ASSERT_TRUE(m) << m.error().message;
  EXPECT_TRUE(m->ready);
  EXPECT_TRUE(m->watchdog);
  EXPECT_FALSE(m->stopping);
  EXPECT_EQ(m->status, "loading db");
  EXPECT_EQ(m->extend_timeout, std::chrono::microseconds(5000000));
  EXPECT_TRUE(ParseNotify("STOPPING=1")->stopping);
  EXPECT_TRUE(ParseNotify("WATCHDOG=trigger")->watchdog_trigger);
}

TEST(ParseNotify, UnknownKeysAreIgnoredAsSystemdDoes) {
  auto m = ParseNotify("MAINPID=42\nERRNO=2\nBARRIER=1\nX_CUSTOM=yes");
  ASSERT_TRUE(m);
  EXPECT_FALSE(m->ready);
}

TEST(ParseNotify, HostileInputIsRejectedWithAReason) {
  ExpectBad("READY", "not KEY=value");
  ExpectBad("=1", "not KEY=value");
  ExpectBad("READY=yes", "only allowed value is 1");
  ExpectBad("WATCHDOG=0", "only allowed value is 1");
  ExpectBad("EXTEND_TIMEOUT_USEC=-5", "not a number");
  ExpectBad("EXTEND_TIMEOUT_USEC=", "not a number");
  ExpectBad("EXTEND_TIMEOUT_USEC=99999999999999999999999", "not a number");
  ExpectBad(std::string_view("READY=1\0x", 9), "NUL");
  ExpectBad(std::string(5000, 'a'), "larger than 4096");
}

TEST(ParseNotify, StatusIsCappedAndControlCharactersFlattened) {
  auto m = ParseNotify("STATUS=a\tb\r" + std::string(3000, 'x'));
  ASSERT_TRUE(m);
  EXPECT_EQ(m->status->size(), 1024u);
  EXPECT_EQ(m->status->substr(0, 4), "a b ");
}

TEST(NotifySocket, ReceivesWithTheSendersCredentials) {
  test::TempDir dir;
  auto sock = NotifySocket::Bind((dir / "n.sock").string(), std::nullopt);
  ASSERT_TRUE(sock) << sock.error().message;
  auto none = sock->Receive();
  ASSERT_TRUE(none);
  EXPECT_FALSE(*none);
  ASSERT_TRUE(Notifier((dir / "n.sock").string()).Notify("READY=1\nSTATUS=hi"));
  auto d = sock->Receive();
  ASSERT_TRUE(d && *d);
  EXPECT_EQ((*d)->text, "READY=1\nSTATUS=hi");
  EXPECT_EQ((*d)->pid, ::getpid());
  EXPECT_EQ((*d)->uid, ::getuid());
  EXPECT_TRUE(SenderIsChild(**d, ::getpid(), ::getuid()));
  // Another process pretending: not our child's pid nor in its group.
  EXPECT_FALSE(SenderIsChild(**d, ::getpid() + 100000, ::getuid()));
  // Right pid, wrong user (and not root).
  Datagram wrong_user = **d;
  wrong_user.uid = 12345;
  EXPECT_FALSE(SenderIsChild(wrong_user, ::getpid(), 4242));
}

TEST(NotifySocket, AProcessOutsideTheChildsGroupIsNotTheChild) {
  test::TempDir dir;
  const std::string path = (dir / "n.sock").string();
  auto sock = NotifySocket::Bind(path, std::nullopt);
  ASSERT_TRUE(sock);
  int go[2];
  ASSERT_EQ(::pipe(go), 0);
  const pid_t impostor = ::fork();
  if (impostor == 0) {
    ::setpgid(0, 0);
    (void)Notifier(path).Ready();
    char c;
    (void)!::read(go[0], &c, 1);  // stay alive until the check is done
    _exit(0);
  }
  pollfd p{sock->fd(), POLLIN, 0};
  ASSERT_EQ(::poll(&p, 1, 10000), 1);
  auto d = sock->Receive();
  ASSERT_TRUE(d && *d);
  EXPECT_EQ((*d)->pid, impostor);
  // The "child" is us; the impostor runs in its own group.
  EXPECT_FALSE(SenderIsChild(**d, ::getpid(), ::getuid()));
  EXPECT_TRUE(SenderIsChild(**d, impostor, ::getuid()));
  (void)!::write(go[1], "x", 1);
  ::waitpid(impostor, nullptr, 0);
  ::close(go[0]);
  ::close(go[1]);
}

TEST(NotifySocket, RefusesToReplaceSomethingThatIsNotASocket) {
  test::TempDir dir;
  const std::string path = dir.Write("plain", "data");
  auto r = NotifySocket::Bind(path, std::nullopt);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::notify_socket);
  EXPECT_NE(r.error().message.find("not a socket"), std::string::npos);
  auto long_path = NotifySocket::Bind("/tmp/" + std::string(200, 'x'), std::nullopt);
  ASSERT_FALSE(long_path);
  EXPECT_NE(long_path.error().message.find("longer than"), std::string::npos);
}

}  // namespace
}  // namespace steward::updater

namespace steward::updater {
namespace {

TEST(NotifySocket, OversizedDatagramIsDroppedWithAReason) {
  test::TempDir dir;
  auto sock = NotifySocket::Bind((dir / "n.sock").string(), std::nullopt);
  ASSERT_TRUE(sock);
  ASSERT_TRUE(Notifier((dir / "n.sock").string()).Notify(std::string(5000, 'x')));
  auto d = sock->Receive();
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().code, ErrorCode::notify_socket);
  EXPECT_NE(d.error().message.find("larger than 4096"), std::string::npos) << d.error().message;
  auto next = sock->Receive();  // the socket goes on working
  ASSERT_TRUE(next);
  EXPECT_FALSE(*next);
}

TEST(NotifySocket, PassedDescriptorsAreClosedReleasingABarrier) {
  // systemd-notify sends BARRIER=1 with a pipe's write end and waits for EOF on the read end.
  test::TempDir dir;
  const std::string path = (dir / "n.sock").string();
  auto sock = NotifySocket::Bind(path, std::nullopt);
  ASSERT_TRUE(sock);
  int p[2];
  ASSERT_EQ(::pipe(p), 0);
  const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.data(), path.size());
  char text[] = "BARRIER=1";
  iovec iov{text, sizeof(text) - 1};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr msg{};
  msg.msg_name = &addr;
  msg.msg_namelen = sizeof(addr);
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof(control);
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(c), &p[1], sizeof(int));
  ASSERT_GE(::sendmsg(fd, &msg, 0), 0);
  ::close(fd);
  ::close(p[1]);
  auto d = sock->Receive();
  ASSERT_TRUE(d && *d);
  EXPECT_EQ((*d)->text, "BARRIER=1");
  pollfd pf{p[0], POLLIN, 0};
  ASSERT_EQ(::poll(&pf, 1, 5000), 1);
  char buf;
  EXPECT_EQ(::read(p[0], &buf, 1), 0) << "the write end is still open somewhere";
  ::close(p[0]);
}

}  // namespace
}  // namespace steward::updater
