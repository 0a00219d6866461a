// A raw-socket HTTP/1.1 server on 127.0.0.1 for download tests. Each request goes to a handler
// that writes whatever bytes it likes, so a test can play a broken or lying server: wrong
// Content-Length, truncated or endless bodies, stalls, redirect loops, ignored Range headers.
// Every connection is closed after its response. Stop() (or the destructor) ends every
// connection, stalled ones included, and joins all threads.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace steward::test {

struct HostileRequest {
  std::string method;
  std::string target;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string Header(const std::string& name) const;
};

class HostileConn {
 public:
  // Sends bytes; false once the peer is gone or the server stops.
  bool Send(std::string_view bytes);
  // Blocks until the peer closes its end or the server stops (a stalled server).
  void WaitForPeerClose();

 private:
  friend class HostileServer;
  HostileConn(int fd, int stop_fd, std::atomic<std::uint64_t>* sent)
      : fd_(fd), stop_fd_(stop_fd), sent_(sent) {}
  int fd_;
  int stop_fd_;
  std::atomic<std::uint64_t>* sent_;
};

class HostileServer {
 public:
  using Handler = std::function<void(const HostileRequest&, HostileConn&)>;

  explicit HostileServer(Handler handler);
  HostileServer(const HostileServer&) = delete;
  HostileServer& operator=(const HostileServer&) = delete;
  ~HostileServer();

  void SetHandler(Handler handler);
  void Stop();

  std::uint16_t port() const { return port_; }
  // "http://127.0.0.1:<port>" + path.
  std::string Url(std::string_view path = "/artifact") const;
  std::vector<HostileRequest> requests() const;
  // Body and header bytes sent so far over all connections.
  std::uint64_t bytes_sent() const { return sent_.load(); }
  // Waits (without polling sleeps) until `n` requests have arrived; false after `timeout_ms`.
  bool WaitForRequests(std::size_t n, int timeout_ms) const;

  // A well-behaved file server for `body`: 200, or 206 for "Range: bytes=N-" (unless
  // honour_range is false); If-Range is compared with the ETag.
  struct FileOptions {
    bool honour_range = true;
    std::string etag = "\"v1\"";
    bool chunked = false;
    std::string content_type = "application/octet-stream";
    // Stop after this many body bytes and wait for the peer to go away (0: send everything).
    std::uint64_t stall_after = 0;
  };
  static Handler ServeFile(std::string body, FileOptions options);
  static Handler ServeFile(std::string body) { return ServeFile(std::move(body), FileOptions{}); }

 private:
  void AcceptLoop();
  void Serve(int fd);

  int listen_fd_ = -1;
  int stop_pipe_[2] = {-1, -1};
  std::uint16_t port_ = 0;
  std::atomic<std::uint64_t> sent_{0};
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  Handler handler_;
  std::vector<HostileRequest> requests_;
  std::vector<int> conn_fds_;
  std::vector<std::thread> threads_;
  std::thread acceptor_;
  bool stopped_ = false;
};

}  // namespace steward::test
