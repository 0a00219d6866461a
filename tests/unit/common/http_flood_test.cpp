// The HTTP server under clients that take more than their share: many connections from one
// source, heads that never finish, a connection limit, and running out of file descriptors.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <string>
#include <vector>

#include "common/files.hpp"
#include "common/http_client.hpp"
#include "common/http_server.hpp"

namespace steward::http {
namespace {

using namespace std::chrono_literals;

struct Running {
  std::unique_ptr<Server> server;
  explicit Running(ServerOptions options) {
    Router router;
    router.Add("GET", "/healthz", [](const Request&) { return Response::Json(200, "{}"); });
    auto s = Server::ListenTcp({"127.0.0.1", 0}, std::move(router), options);
    EXPECT_TRUE(s) << s.error().message;
    server = std::move(*s);
    server->Start();
  }
  ~Running() { server->Stop(1s); }
};

// A TCP socket bound to `source` (any 127.x.y.z address), reads bounded by 5 s so that a
// server that never answers fails the test instead of hanging it.
files::UniqueFd Socket(const char* source) {
  files::UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  EXPECT_TRUE(fd);
  timeval tv{5, 0};
  ::setsockopt(fd.Get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  ::inet_pton(AF_INET, source, &addr.sin_addr);
  EXPECT_EQ(::bind(fd.Get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  return fd;
}

void Connect(const files::UniqueFd& fd, std::uint16_t port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(fd.Get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0)
      << std::strerror(errno);
}

files::UniqueFd Open(std::uint16_t port, const char* source = "127.0.0.1") {
  auto fd = Socket(source);
  Connect(fd, port);
  return fd;
}

// The server closed its end: end of file or a reset, not the 5 s timeout.
bool ClosedByServer(const files::UniqueFd& fd) {
  char c = 0;
  const ssize_t n = ::recv(fd.Get(), &c, 1, 0);
  return n == 0 || (n < 0 && errno == ECONNRESET);
}

// A whole request on `fd`; the status line of the answer, "" when none came.
std::string Ask(const files::UniqueFd& fd) {
  const std::string req = "GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
  if (::send(fd.Get(), req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size()))
    return "";
  char buf[64] = {};
  const ssize_t n = ::recv(fd.Get(), buf, sizeof buf - 1, 0);
  if (n <= 0) return "";
  const std::string answer(buf, static_cast<std::size_t>(n));
  return answer.substr(0, answer.find("\r\n"));
}

TEST(HttpFlood, OneSourceHoldsNoMoreThanItsShare) {
  ServerOptions options;
  options.max_connections_per_source = 3;
  Running srv(options);
  const auto port = srv.server->port();
  std::vector<files::UniqueFd> held;
  for (int i = 0; i < 3; ++i) held.push_back(Open(port, "127.0.0.2"));
  auto fourth = Open(port, "127.0.0.2");
  EXPECT_TRUE(ClosedByServer(fourth));
  // Other sources are served all the while, and so are the source's admitted connections.
  auto other = Client().Get("http://" + srv.server->address() + "/healthz");
  ASSERT_TRUE(other) << other.error().message;
  EXPECT_EQ(other->status, 200);
  EXPECT_EQ(Ask(held[0]), "HTTP/1.1 200 OK");
  // A connection that ends makes room for the next one from that source.
  held.erase(held.begin());
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  std::string status;
  while (status.empty() && std::chrono::steady_clock::now() < deadline) {
    status = Ask(Open(port, "127.0.0.2"));
  }
  EXPECT_EQ(status, "HTTP/1.1 200 OK");
}

TEST(HttpFlood, AHeadThatNeverEndsIsCutAtTheHeaderDeadline) {
  ServerOptions options;
  options.header_timeout = 200ms;
  options.idle_timeout = 60s;
  Running srv(options);
  auto fd = Open(srv.server->port());
  ASSERT_EQ(::send(fd.Get(), "GET /heal", 9, MSG_NOSIGNAL), 9);
  const auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(ClosedByServer(fd));
  EXPECT_LT(std::chrono::steady_clock::now() - start, 4s);
}

TEST(HttpFlood, AtTheConnectionLimitTheOldestIdleConnectionMakesRoom) {
  ServerOptions options;
  options.max_connections = 3;
  Running srv(options);
  const auto port = srv.server->port();
  std::vector<files::UniqueFd> idle;
  for (int i = 0; i < 3; ++i) idle.push_back(Open(port));
  auto fresh = Open(port);
  EXPECT_EQ(Ask(fresh), "HTTP/1.1 200 OK");
  EXPECT_TRUE(ClosedByServer(idle[0]));
}

TEST(HttpFlood, OutOfFileDescriptorsTheServerShedsIdleConnectionsAndKeepsAccepting) {
  ServerOptions options;
  options.max_connections = 1 << 20;  // only the file limit stops it
  Running srv(options);
  // Every client socket exists before the limit is lowered, so only the server runs out.
  std::vector<files::UniqueFd> clients;
  for (int i = 0; i < 40; ++i) clients.push_back(Socket("127.0.0.1"));
  rlimit before{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &before), 0);
  const int lowest_free = ::dup(0);
  ::close(lowest_free);
  rlimit low = before;
  low.rlim_cur = static_cast<rlim_t>(lowest_free) + 8;
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &low), 0);
  for (const auto& c : clients) Connect(c, srv.server->port());
  const std::string newest = Ask(clients.back());
  const bool oldest_shed = ClosedByServer(clients.front());
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &before), 0);
  EXPECT_EQ(newest, "HTTP/1.1 200 OK");
  EXPECT_TRUE(oldest_shed);
}

}  // namespace
}  // namespace steward::http
