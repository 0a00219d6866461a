#include "tests/support/hostile_server.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <stdexcept>

namespace steward::test {

std::string HostileRequest::Header(const std::string& name) const {
  const auto it = headers.find(name);
  return it == headers.end() ? std::string() : it->second;
}

bool HostileConn::Send(std::string_view bytes) {
  while (!bytes.empty()) {
    pollfd fds[2] = {{fd_, POLLOUT, 0}, {stop_fd_, POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    if (fds[1].revents != 0) return false;
    const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return false;
    }
    sent_->fetch_add(static_cast<std::uint64_t>(n));
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

void HostileConn::WaitForPeerClose() {
  char buf[4096];
  for (;;) {
    pollfd fds[2] = {{fd_, POLLIN, 0}, {stop_fd_, POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0 && errno != EINTR) return;
    if (fds[1].revents != 0) return;
    if (fds[0].revents & (POLLHUP | POLLERR)) return;
    if (fds[0].revents & POLLIN) {
      const ssize_t n = ::recv(fd_, buf, sizeof buf, MSG_DONTWAIT);
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) return;
    }
  }
}

HostileServer::HostileServer(Handler handler) : handler_(std::move(handler)) {
  if (::pipe2(stop_pipe_, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (listen_fd_ < 0 || ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(listen_fd_, 64) != 0 ||
      ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    throw std::runtime_error("cannot listen on 127.0.0.1");
  }
  port_ = ntohs(addr.sin_port);
  acceptor_ = std::thread([this] { AcceptLoop(); });
}

HostileServer::~HostileServer() { Stop(); }

void HostileServer::SetHandler(Handler handler) {
  std::lock_guard lock(mu_);
  handler_ = std::move(handler);
}

void HostileServer::Stop() {
  {
    std::lock_guard lock(mu_);
    if (stopped_) return;
    stopped_ = true;
    for (const int fd : conn_fds_) ::shutdown(fd, SHUT_RDWR);
  }
  const char c = 'x';
  (void)!::write(stop_pipe_[1], &c, 1);
  if (acceptor_.joinable()) acceptor_.join();
  std::vector<std::thread> threads;
  {
    std::lock_guard lock(mu_);
    threads.swap(threads_);
  }
  for (auto& t : threads) t.join();
  ::close(listen_fd_);
  ::close(stop_pipe_[0]);
  ::close(stop_pipe_[1]);
}

std::string HostileServer::Url(std::string_view path) const {
  return "http://127.0.0.1:" + std::to_string(port_) + std::string(path);
}

std::vector<HostileRequest> HostileServer::requests() const {
  std::lock_guard lock(mu_);
  return requests_;
}

bool HostileServer::WaitForRequests(std::size_t n, int timeout_ms) const {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms),
                      [&] { return requests_.size() >= n; });
}

void HostileServer::AcceptLoop() {
  for (;;) {
    pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {stop_pipe_[0], POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[1].revents != 0) return;
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    std::lock_guard lock(mu_);
    if (stopped_) {
      ::close(fd);
      return;
    }
    conn_fds_.push_back(fd);
    threads_.emplace_back([this, fd] { Serve(fd); });
  }
}

void HostileServer::Serve(int fd) {
  std::string head;
  char buf[4096];
  while (head.find("\r\n\r\n") == std::string::npos && head.size() < 65536) {
    pollfd fds[2] = {{fd, POLLIN, 0}, {stop_pipe_[0], POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0 && errno != EINTR) break;
    if (fds[1].revents != 0) break;
    const ssize_t n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    if (n <= 0) break;
    head.append(buf, static_cast<std::size_t>(n));
  }
  const auto end = head.find("\r\n\r\n");
  if (end != std::string::npos) {
    HostileRequest req;
    std::string_view rest(head.data(), end);
    const auto line_end = rest.find("\r\n");
    const std::string_view line = rest.substr(0, line_end);
    const auto sp1 = line.find(' ');
    const auto sp2 = line.find(' ', sp1 + 1);
    req.method = std::string(line.substr(0, sp1));
    req.target = std::string(line.substr(sp1 + 1, sp2 - sp1 - 1));
    rest = line_end == std::string_view::npos ? std::string_view{} : rest.substr(line_end + 2);
    while (!rest.empty()) {
      const auto e = rest.find("\r\n");
      const std::string_view h = rest.substr(0, e);
      rest = e == std::string_view::npos ? std::string_view{} : rest.substr(e + 2);
      const auto colon = h.find(':');
      if (colon == std::string_view::npos) continue;
      std::string name(h.substr(0, colon));
      std::transform(name.begin(), name.end(), name.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      std::string_view value = h.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
      req.headers[name] = std::string(value);
    }
    Handler handler;
    {
      std::lock_guard lock(mu_);
      requests_.push_back(req);
      handler = handler_;
    }
    cv_.notify_all();
    HostileConn conn(fd, stop_pipe_[0], &sent_);
    if (handler) handler(req, conn);
  }
  std::lock_guard lock(mu_);
  conn_fds_.erase(std::remove(conn_fds_.begin(), conn_fds_.end(), fd), conn_fds_.end());
  ::shutdown(fd, SHUT_WR);
  ::close(fd);
}

HostileServer::Handler HostileServer::ServeFile(std::string body, FileOptions options) {
  return [body = std::move(body), options](const HostileRequest& req, HostileConn& conn) {
    std::uint64_t from = 0;
    const std::string range = req.Header("range");
    const std::string if_range = req.Header("if-range");
    const bool validator_ok = if_range.empty() || if_range == options.etag;
    if (options.honour_range && validator_ok && range.starts_with("bytes=") &&
        range.back() == '-') {
      from = std::strtoull(range.c_str() + 6, nullptr, 10);
      if (from >= body.size()) from = 0;
    }
    std::string head = from > 0 ? "HTTP/1.1 206 Partial Content\r\n" : "HTTP/1.1 200 OK\r\n";
    head += "Content-Type: " + options.content_type + "\r\nConnection: close\r\n";
    if (!options.etag.empty()) head += "ETag: " + options.etag + "\r\n";
    if (from > 0) {
      head += "Content-Range: bytes " + std::to_string(from) + "-" +
              std::to_string(body.size() - 1) + "/" + std::to_string(body.size()) + "\r\n";
    }
    if (options.chunked) {
      head += "Transfer-Encoding: chunked\r\n";
    } else {
      head += "Content-Length: " + std::to_string(body.size() - from) + "\r\n";
    }
    head += "\r\n";
    if (!conn.Send(head)) return;
    std::string_view rest(body);
    rest.remove_prefix(from);
    if (options.stall_after > 0 && options.stall_after < rest.size()) {
      rest = rest.substr(0, options.stall_after);
      if (!conn.Send(rest)) return;
      conn.WaitForPeerClose();
      return;
    }
    if (options.chunked) {
      char size[32];
      std::snprintf(size, sizeof size, "%zx\r\n", rest.size());
      if (!conn.Send(size) || !conn.Send(rest) || !conn.Send("\r\n0\r\n\r\n")) return;
      return;
    }
    conn.Send(rest);
  };
}

}  // namespace steward::test
