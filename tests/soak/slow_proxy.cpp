#include "tests/soak/slow_proxy.hpp"

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <stdexcept>
#include <string>

namespace steward::test::soak {

namespace {

sockaddr_in Loopback(std::uint16_t port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  return addr;
}

// Writes all of `n` bytes; false when the peer is gone.
bool WriteAll(int fd, const char* data, ssize_t n) {
  while (n > 0) {
    const ssize_t w = ::send(fd, data, static_cast<std::size_t>(n), MSG_NOSIGNAL);
    if (w <= 0) return false;
    data += w;
    n -= w;
  }
  return true;
}

}  // namespace

SlowProxy::SlowProxy(std::uint16_t port, std::uint16_t target) : target_(target) {
  listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const int one = 1;
  ::setsockopt(listener_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  auto addr = Loopback(port);
  if (::bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(listener_, 64) != 0) {
    throw std::runtime_error("slow proxy: cannot listen on port " + std::to_string(port));
  }
  acceptor_ = std::thread([this] { Accept(); });
}

SlowProxy::~SlowProxy() {
  stop_ = true;
  acceptor_.join();
  ::close(listener_);
  std::lock_guard lock(mu_);
  for (auto& t : pumps_) t.join();
}

void SlowProxy::Accept() {
  while (!stop_) {
    pollfd p{listener_, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    const int client = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) continue;
    std::lock_guard lock(mu_);
    pumps_.emplace_back([this, client] { Pump(client); });
  }
}

// One connection: bytes both ways until either side closes or the proxy stops.
void SlowProxy::Pump(int client) {
  const int server = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  auto addr = Loopback(target_);
  if (::connect(server, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(server);
    ::close(client);
    return;
  }
  bool asked = false;  // the client sent bytes the server has not begun to answer
  char buf[64 * 1024];
  while (!stop_) {
    pollfd fds[2] = {{client, POLLIN, 0}, {server, POLLIN, 0}};
    if (::poll(fds, 2, 100) <= 0) continue;
    if (fds[0].revents != 0) {
      const ssize_t n = ::recv(client, buf, sizeof buf, 0);
      if (n <= 0 || !WriteAll(server, buf, n)) break;
      asked = true;
    }
    if (fds[1].revents != 0) {
      if (asked && delay_ms_ > 0) {
        // Held back in slices so a stopping proxy does not wait out the whole delay.
        const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(delay_ms_);
        while (!stop_ && std::chrono::steady_clock::now() < until) {
          std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
      }
      asked = false;
      const ssize_t n = ::recv(server, buf, sizeof buf, 0);
      if (n <= 0 || !WriteAll(client, buf, n)) break;
    }
  }
  ::close(server);
  ::close(client);
}

}  // namespace steward::test::soak
