// Internal to common/http_server.cpp: one connection of the HTTP server, plain or TLS, over TCP
// or a unix socket -- reading a request within the guard's limits (http_guard.hpp), dispatching
// it to the router, writing the answer (files streamed in chunks, with byte ranges) -- and what
// the connections of one server share. The server (accepting, stopping, shedding) is in
// http_server.cpp.
#pragma once

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <charconv>
#include <condition_variable>
#include <mutex>

#include "common/files.hpp"
#include "common/hash.hpp"
#include "common/http_guard.hpp"
#include "common/http_server.hpp"
#include "common/log.hpp"

namespace steward::http::server_internal {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace ssl = boost::asio::ssl;

struct Shared {
  Router router;
  ServerOptions options;
  std::atomic<bool> draining{false};
  std::mutex mu;
  std::condition_variable idle_cv;
  std::size_t connections = 0;
  SourceCounts per_source;
  ShedLog shed;
  // HTTPS: the context new connections get. Replaced whole by ReloadTls; a connection keeps
  // the one it started with (it holds a reference).
  std::mutex tls_mu;
  std::shared_ptr<ssl::context> tls;
  // Response::Later's work; made at its first use (most servers never need it).
  std::mutex blocking_mu;
  std::unique_ptr<asio::thread_pool> blocking;

  std::shared_ptr<ssl::context> Tls() {
    std::lock_guard lock(tls_mu);
    return tls;
  }
  asio::thread_pool& Blocking() {
    std::lock_guard lock(blocking_mu);
    if (!blocking) blocking = std::make_unique<asio::thread_pool>(2);
    return *blocking;
  }
  // Waits for the work under way; its answers are dropped once the connections are gone.
  void JoinBlocking() {
    std::lock_guard lock(blocking_mu);
    if (blocking) blocking->join();
  }
};

// "bytes=N-" or "bytes=N-M" against a file of `size` bytes -> [first, last) or nullopt when it
// cannot be satisfied. No multi-range.
inline std::optional<std::pair<std::uint64_t, std::uint64_t>> ParseRange(std::string_view h,
                                                                         std::uint64_t size) {
  if (!h.starts_with("bytes=")) return std::nullopt;
  h.remove_prefix(6);
  const auto dash = h.find('-');
  if (dash == std::string_view::npos || dash == 0) return std::nullopt;
  std::uint64_t first = 0;
  auto [p, ec] = std::from_chars(h.data(), h.data() + dash, first);
  if (ec != std::errc{} || p != h.data() + dash || first >= size) return std::nullopt;
  std::uint64_t last = size;
  if (dash + 1 < h.size()) {
    std::uint64_t end = 0;
    auto [p2, ec2] = std::from_chars(h.data() + dash + 1, h.data() + h.size(), end);
    if (ec2 != std::errc{} || p2 != h.data() + h.size() || end < first) return std::nullopt;
    last = end >= size - 1 ? size : end + 1;  // no overflow for end = 2^64-1
  }
  return std::make_pair(first, last);
}

// What the server needs of a connection, plain or TLS, when it stops.
class SessionBase {
 public:
  virtual ~SessionBase() = default;
  // Closes an idle connection (waiting for a request) so a graceful stop does not wait on it.
  virtual void CloseIfIdle() = 0;
  // No request is being served: waiting for one, or for the rest of its head.
  virtual bool Idle() const = 0;
  virtual void CloseNow() = 0;
};

template <class Protocol, bool kTls>
class Session final : public SessionBase,
                      public std::enable_shared_from_this<Session<Protocol, kTls>> {
 public:
  using Plain = beast::basic_stream<Protocol>;
  using Stream = std::conditional_t<kTls, beast::ssl_stream<Plain>, Plain>;

  Session(typename Protocol::socket socket, std::shared_ptr<Shared> shared, std::string remote,
          std::optional<uid_t> peer_uid, std::shared_ptr<ssl::context> tls)
      : stream_(MakeStream(std::move(socket), tls.get())),
        tls_(std::move(tls)),
        shared_(std::move(shared)),
        remote_(std::move(remote)),
        peer_uid_(peer_uid) {}

  void Run() {
    if constexpr (kTls) {
      Lowest().expires_after(shared_->options.read_timeout);
      stream_.async_handshake(
          ssl::stream_base::server, [self = this->shared_from_this()](beast::error_code ec) {
            if (!ec) return self->ReadHeader();
            log::Get("http").debug("tls handshake remote={}: {}", self->remote_, ec.message());
            self->Close();
          });
    } else {
      ReadHeader();
    }
  }

  void CloseIfIdle() override {
    asio::post(Lowest().get_executor(), [self = this->shared_from_this()] {
      beast::error_code ec;
      if (!self->busy_) self->Lowest().socket().close(ec);
    });
  }

  bool Idle() const override { return !busy_; }

  void CloseNow() override {
    asio::post(Lowest().get_executor(), [self = this->shared_from_this()] {
      beast::error_code ec;
      self->Lowest().socket().close(ec);
    });
  }

 private:
  static Stream MakeStream(typename Protocol::socket socket, ssl::context* tls) {
    if constexpr (kTls) {
      return Stream(std::move(socket), *tls);
    } else {
      return Stream(std::move(socket));
    }
  }

  Plain& Lowest() { return beast::get_lowest_layer(stream_); }

  void ReadHeader() {
    parser_.emplace();
    parser_->body_limit(shared_->options.max_body);
    parser_->header_limit(static_cast<std::uint32_t>(shared_->options.max_header));
    busy_ = false;
    if (shared_->draining) return Close();
    const auto& o = shared_->options;
    Lowest().expires_after(first_request_ ? std::min(o.header_timeout, o.idle_timeout)
                                          : o.idle_timeout);
    first_request_ = false;
    bhttp::async_read_header(stream_, buffer_, *parser_,
                             [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                               self->OnHeader(ec);
                             });
  }

  void OnHeader(beast::error_code ec) {
    if (ec) return OnReadError(ec);
    busy_ = true;
    Lowest().expires_after(shared_->options.read_timeout);
    bhttp::async_read(
        stream_, buffer_, *parser_,
        [self = this->shared_from_this()](beast::error_code e, std::size_t) { self->OnBody(e); });
  }

  void OnReadError(beast::error_code ec) {
    if (ec == bhttp::error::body_limit) {
      return SendError(Response::Error(
          413, ErrorCode::payload_too_large,
          "request body larger than " + std::to_string(shared_->options.max_body) + " bytes"));
    }
    if (ec == bhttp::error::header_limit) {
      return SendError(Response::Error(
          431, ErrorCode::payload_too_large,
          "request headers larger than " + std::to_string(shared_->options.max_header) + " bytes"));
    }
    if (ec == bhttp::error::end_of_stream || ec == asio::error::operation_aborted ||
        ec == beast::error::timeout || ec == asio::error::connection_reset ||
        ec == asio::error::bad_descriptor || ec == asio::error::eof ||
        ec == ssl::error::stream_truncated || ec.category() == asio::error::get_ssl_category()) {
      return Close();
    }
    // Anything else is a malformed request.
    SendError(
        Response::Error(400, ErrorCode::bad_request, "malformed HTTP request: " + ec.message()));
  }

  void SendError(Response response) {
    keep_alive_ = false;
    busy_ = true;
    Write(std::move(response), false);
  }

  void OnBody(beast::error_code ec) {
    if (ec) return OnReadError(ec);
    auto& msg = parser_->get();
    Request req;
    req.method = std::string(msg.method_string());
    req.target = std::string(msg.target());
    const auto q = req.target.find('?');
    req.path = req.target.substr(0, q);
    if (q != std::string::npos) req.query = req.target.substr(q + 1);
    for (const auto& field : msg) {
      std::string name(field.name_string());
      for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      req.headers[name] = std::string(field.value());
    }
    req.body = std::move(msg.body());
    req.remote = remote_;
    req.peer_uid = peer_uid_;
    keep_alive_ = msg.keep_alive() && !shared_->draining;
    const bool head = msg.method() == bhttp::verb::head;

    Response res;
    try {
      res = shared_->router.Dispatch(req);
    } catch (const std::exception& e) {
      log::Get("http").error("handler for {} {} threw: {}", req.method, req.path, e.what());
      res = Response::Error(500, ErrorCode::internal, "internal error");
    }
    if (res.later) return RunLater(std::move(res.later), head);
    if (res.file.empty()) return Write(std::move(res), head);
    WriteFile(std::move(res), req.Header("range"), head);
  }

  // The work runs on the blocking pool; its answer is written back on the connection's own
  // executor, where nothing else of this connection runs meanwhile (no read is pending).
  void RunLater(std::function<Response()> work, bool head) {
    asio::post(
        shared_->Blocking(), [self = this->shared_from_this(), work = std::move(work), head] {
          Response res;
          try {
            res = work();
          } catch (const std::exception& e) {
            log::Get("http").error("deferred handler threw: {}", e.what());
            res = Response::Error(500, ErrorCode::internal, "internal error");
          }
          if (res.later || !res.file.empty()) {
            res = Response::Error(500, ErrorCode::internal, "internal error: a deferred answer");
          }
          asio::post(self->stream_.get_executor(), [self, res = std::move(res), head]() mutable {
            self->Write(std::move(res), head);
          });
        });
  }

  template <class Message>
  void Prepare(Message& m, const Response& res) {
    m.set(bhttp::field::server, shared_->options.server_name);
    m.set(bhttp::field::content_type, res.content_type);
    for (const auto& [k, v] : res.headers) m.set(k, v);
    m.keep_alive(keep_alive_);
  }

  void Write(Response res, bool head) {
    auto msg = std::make_shared<bhttp::response<bhttp::string_body>>(
        static_cast<bhttp::status>(res.status), 11);
    Prepare(*msg, res);
    msg->body() = std::move(res.body);
    msg->prepare_payload();
    if (head) msg->body().clear();
    Lowest().expires_after(shared_->options.read_timeout);
    if (head) {
      auto sr = std::make_shared<bhttp::response_serializer<bhttp::string_body>>(*msg);
      bhttp::async_write_header(stream_, *sr,
                                [self = this->shared_from_this(), msg, sr](
                                    beast::error_code ec, std::size_t) { self->AfterWrite(ec); });
      return;
    }
    bhttp::async_write(stream_, *msg,
                       [self = this->shared_from_this(), msg](beast::error_code ec, std::size_t) {
                         self->AfterWrite(ec);
                       });
  }

  // Files stream in chunks with pread so that any size is served in constant memory.
  void WriteFile(Response res, const std::string& range, bool head) {
    files::UniqueFd fd(::open(res.file.c_str(), O_RDONLY | O_CLOEXEC));
    struct stat st {};
    if (!fd || ::fstat(fd.Get(), &st) != 0 || !S_ISREG(st.st_mode)) {
      return Write(Response::Error(404, ErrorCode::not_found, "no such file"), head);
    }
    const auto size = static_cast<std::uint64_t>(st.st_size);
    std::uint64_t first = 0;
    std::uint64_t last = size;
    int status = 200;
    if (!range.empty()) {
      const auto r = ParseRange(range, size);
      if (!r) {
        Response bad = Response::Error(416, ErrorCode::bad_request, "range not satisfiable");
        bad.headers.emplace_back("Content-Range", "bytes */" + std::to_string(size));
        return Write(std::move(bad), head);
      }
      std::tie(first, last) = *r;
      status = 206;
    }
    auto msg = std::make_shared<bhttp::response<bhttp::empty_body>>(
        static_cast<bhttp::status>(status), 11);
    Prepare(*msg, res);
    msg->set(bhttp::field::accept_ranges, "bytes");
    if (status == 206) {
      msg->set(bhttp::field::content_range, "bytes " + std::to_string(first) + "-" +
                                                std::to_string(last - 1) + "/" +
                                                std::to_string(size));
    }
    msg->content_length(last - first);
    auto sr = std::make_shared<bhttp::response_serializer<bhttp::empty_body>>(*msg);
    auto file = std::make_shared<files::UniqueFd>(std::move(fd));
    Lowest().expires_after(shared_->options.read_timeout);
    bhttp::async_write_header(stream_, *sr,
                              [self = this->shared_from_this(), msg, sr, file, first, last, head](
                                  beast::error_code ec, std::size_t) {
                                if (ec || head) return self->AfterWrite(ec);
                                self->SendChunk(file, first, last);
                              });
  }

  void SendChunk(std::shared_ptr<files::UniqueFd> file, std::uint64_t pos, std::uint64_t last) {
    if (pos >= last) return AfterWrite({});
    chunk_.resize(static_cast<std::size_t>(std::min<std::uint64_t>(last - pos, 256 << 10)));
    const ssize_t n = ::pread(file->Get(), chunk_.data(), chunk_.size(), static_cast<off_t>(pos));
    if (n <= 0) {
      keep_alive_ = false;  // the length promised can no longer be met
      return Close();
    }
    Lowest().expires_after(shared_->options.read_timeout);
    asio::async_write(stream_, asio::buffer(chunk_.data(), static_cast<std::size_t>(n)),
                      [self = this->shared_from_this(), file, pos, last](beast::error_code ec,
                                                                         std::size_t written) {
                        if (ec) return self->Close();
                        self->SendChunk(file, pos + written, last);
                      });
  }

  void AfterWrite(beast::error_code ec) {
    if (ec || !keep_alive_) return Close();
    ReadHeader();
  }

  // TLS connections close without close_notify: every response is length-delimited, so a
  // client cannot mistake a cut connection for a complete answer.
  void Close() {
    beast::error_code ec;
    Lowest().socket().shutdown(Protocol::socket::shutdown_send, ec);
    Lowest().socket().close(ec);
  }

  Stream stream_;
  std::shared_ptr<ssl::context> tls_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  std::shared_ptr<Shared> shared_;
  std::string remote_;
  std::optional<uid_t> peer_uid_;
  std::vector<char> chunk_;
  bool keep_alive_ = true;
  bool first_request_ = true;
  std::atomic<bool> busy_{false};
};

}  // namespace steward::http::server_internal
