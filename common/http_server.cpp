#include "common/http_server.hpp"

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
#include <list>
#include <mutex>
#include <thread>

#include "common/files.hpp"
#include "common/hash.hpp"
#include "common/http_guard.hpp"
#include "common/log.hpp"
#include "common/tls_context.hpp"

namespace steward::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace ssl = boost::asio::ssl;

// ---- Server ----------------------------------------------------------------------------------

namespace {

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

  std::shared_ptr<ssl::context> Tls() {
    std::lock_guard lock(tls_mu);
    return tls;
  }
};

// "bytes=N-" or "bytes=N-M" against a file of `size` bytes -> [first, last) or nullopt when it
// cannot be satisfied. No multi-range.
std::optional<std::pair<std::uint64_t, std::uint64_t>> ParseRange(std::string_view h,
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
    if (res.file.empty()) return Write(std::move(res), head);
    WriteFile(std::move(res), req.Header("range"), head);
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

template <class Protocol>
class ServerImpl final : public Server {
 public:
  ServerImpl(std::shared_ptr<Shared> shared, std::string address)
      : shared_(std::move(shared)), acceptor_(ioc_), retry_(ioc_), address_(std::move(address)) {}

  ~ServerImpl() override { Stop(Duration::zero()); }

  Result<void> Listen(const typename Protocol::endpoint& endpoint) {
    beast::error_code ec;
    acceptor_.open(endpoint.protocol(), ec);
    if constexpr (std::is_same_v<Protocol, asio::ip::tcp>) {
      if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    }
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      return Fail(ec == asio::error::address_in_use  ? ErrorCode::already_exists
                  : ec == asio::error::access_denied ? ErrorCode::permission_denied
                                                     : ErrorCode::io,
                  "listen on " + address_ + ": " + ec.message());
    }
    if constexpr (std::is_same_v<Protocol, asio::ip::tcp>) {
      port_ = acceptor_.local_endpoint().port();
      const auto ip = acceptor_.local_endpoint().address();
      address_ =
          (ip.is_v6() ? "[" + ip.to_string() + "]" : ip.to_string()) + ":" + std::to_string(port_);
    }
    return {};
  }

  std::uint16_t port() const override { return port_; }
  std::string address() const override { return address_; }
  std::size_t active_connections() const override {
    std::lock_guard lock(shared_->mu);
    return shared_->connections;
  }

  bool tls() const override { return shared_->Tls() != nullptr; }

  Result<void> ReloadTls() override {
    if (!tls()) return Fail(ErrorCode::unsupported, address_ + " serves plain HTTP, not HTTPS");
    auto ctx =
        tls::MakeServerContext(shared_->options.tls_cert_file, shared_->options.tls_key_file);
    if (!ctx) return std::unexpected(ctx.error());
    std::lock_guard lock(shared_->tls_mu);
    shared_->tls = std::move(*ctx);
    return {};
  }

  void Start() override {
    Accept();
    for (int i = 0; i < std::max(1, shared_->options.threads); ++i) {
      threads_.emplace_back([this] { ioc_.run(); });
    }
  }

  void Stop(Duration drain) override {
    if (stopped_.exchange(true)) return;
    shared_->draining = true;
    asio::post(ioc_, [this] {
      beast::error_code ec;
      acceptor_.close(ec);
      retry_.cancel();
    });
    ForEachSession([](auto& s) { s.CloseIfIdle(); });
    {
      std::unique_lock lock(shared_->mu);
      shared_->idle_cv.wait_for(lock, drain, [&] { return shared_->connections == 0; });
    }
    ForEachSession([](auto& s) { s.CloseNow(); });
    {
      // Closed sockets complete their handlers promptly; then the context runs out of work.
      std::unique_lock lock(shared_->mu);
      shared_->idle_cv.wait_for(lock, std::chrono::seconds(2),
                                [&] { return shared_->connections == 0; });
    }
    ioc_.stop();
    for (auto& t : threads_) {
      if (t.joinable()) t.join();
    }
    if constexpr (std::is_same_v<Protocol, asio::local::stream_protocol>)
      ::unlink(address_.c_str());
  }

 private:
  void ForEachSession(const std::function<void(SessionBase&)>& fn) {
    std::lock_guard lock(sessions_mu_);
    for (auto& weak : sessions_) {
      if (auto s = weak.lock()) fn(*s);
    }
  }

  // Closes up to `n` idle connections, oldest first; how many it closed.
  std::size_t ShedIdle(std::size_t n) {
    std::size_t shed = 0;
    ForEachSession([&](SessionBase& s) {
      if (shed < n && s.Idle()) {
        s.CloseIfIdle();
        ++shed;
      }
    });
    return shed;
  }

  // Whether a new connection from `source` may stay; counts it when it may.
  bool Admit(const std::string& source) {
    bool full = false;
    {
      std::lock_guard lock(shared_->mu);
      if (!shared_->per_source.Add(source, shared_->options.max_connections_per_source)) {
        shared_->shed.Add(address_,
                          "new connections from " + source + " over its limit of " +
                              std::to_string(shared_->options.max_connections_per_source),
                          1);
        return false;
      }
      full = shared_->connections >= shared_->options.max_connections;
    }
    // Not under shared_->mu: a session's last reference may drop inside ShedIdle, and its
    // deleter takes that lock.
    const bool made_room = full && ShedIdle(1) > 0;
    std::lock_guard lock(shared_->mu);
    if (full && !made_room) {
      shared_->shed.Add(address_, "new connections (every connection busy at the limit)", 1);
      shared_->per_source.Remove(source);
      return false;
    }
    if (full) shared_->shed.Add(address_, "idle connections at the connection limit", 1);
    ++shared_->connections;
    return true;
  }

  // Out of file descriptors: shed an eighth of the idle connections (at least one) and try
  // again shortly. Accepting at once would spin: the pending connection is still there.
  void AcceptLater() {
    std::size_t idle = 0;
    ForEachSession([&](SessionBase& s) {
      if (s.Idle()) ++idle;
    });
    shared_->shed.Add(address_, "idle connections (out of file descriptors)",
                      ShedIdle(std::max<std::size_t>(1, idle / 8)));
    retry_.expires_after(std::chrono::milliseconds(10));
    retry_.async_wait([this](beast::error_code ec) {
      if (!ec) Accept();
    });
  }

  void Accept() {
    acceptor_.async_accept(asio::make_strand(ioc_), [this](beast::error_code ec,
                                                           typename Protocol::socket socket) {
      if (ec) {
        if (ec == asio::error::operation_aborted || !acceptor_.is_open()) return;
        if (ec == asio::error::no_descriptors ||
            ec == beast::error_code(ENFILE, beast::system_category())) {
          return AcceptLater();
        }
        log::Get("http").warn("accept on {}: {}", address_, ec.message());
        return Accept();
      }
      std::string remote = "unix";
      std::string source;
      std::optional<uid_t> uid;
      if constexpr (std::is_same_v<Protocol, asio::ip::tcp>) {
        beast::error_code e;
        const auto ep = socket.remote_endpoint(e);
        if (!e) {
          source = ep.address().to_string();
          remote = source + ":" + std::to_string(ep.port());
        }
      } else {
        ucred cred{};
        socklen_t len = sizeof cred;
        if (::getsockopt(socket.native_handle(), SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0) {
          uid = cred.uid;
          source = "uid " + std::to_string(cred.uid);
        }
      }
      if (!Admit(source)) {
        beast::error_code e;
        socket.close(e);
        return Accept();
      }
      auto tls = shared_->Tls();
      if constexpr (kTcp) {
        if (tls) {
          Begin<true>(std::move(socket), std::move(source), std::move(remote), uid, std::move(tls));
          return Accept();
        }
      }
      Begin<false>(std::move(socket), std::move(source), std::move(remote), uid, nullptr);
      Accept();
    });
  }

  template <bool kTls>
  void Begin(typename Protocol::socket socket, std::string source, std::string remote,
             std::optional<uid_t> uid, std::shared_ptr<ssl::context> tls) {
    using S = Session<Protocol, kTls>;
    auto session = std::shared_ptr<S>(
        new S(std::move(socket), shared_, std::move(remote), uid, std::move(tls)),
        [shared = shared_, source = std::move(source)](S* s) {
          delete s;
          std::lock_guard lock(shared->mu);
          --shared->connections;
          shared->per_source.Remove(source);
          shared->idle_cv.notify_all();
        });
    {
      std::lock_guard lock(sessions_mu_);
      std::erase_if(sessions_, [](const auto& w) { return w.expired(); });
      sessions_.push_back(session);
    }
    session->Run();
  }

  static constexpr bool kTcp = std::is_same_v<Protocol, asio::ip::tcp>;

  std::shared_ptr<Shared> shared_;
  asio::io_context ioc_;
  typename Protocol::acceptor acceptor_;
  asio::steady_timer retry_;  // accept again after running out of file descriptors
  std::string address_;
  std::uint16_t port_ = 0;
  std::vector<std::thread> threads_;
  std::atomic<bool> stopped_{false};
  std::mutex sessions_mu_;
  std::list<std::weak_ptr<SessionBase>> sessions_;
};

}  // namespace

Result<std::unique_ptr<Server>> Server::ListenTcp(const HostPort& address, Router router,
                                                  ServerOptions options) {
  beast::error_code ec;
  auto ip = asio::ip::make_address(address.host == "localhost" ? "127.0.0.1" : address.host, ec);
  if (ec) {
    return Fail(ErrorCode::invalid_argument,
                "listen address '" + address.host + "' is not an IP address (or localhost)");
  }
  auto shared = std::make_shared<Shared>();
  if (options.tls_cert_file.empty() != options.tls_key_file.empty()) {
    return Fail(ErrorCode::invalid_argument,
                "HTTPS needs both a certificate file and a key file; only one was given");
  }
  if (!options.tls_cert_file.empty()) {
    auto ctx = tls::MakeServerContext(options.tls_cert_file, options.tls_key_file);
    if (!ctx) return std::unexpected(ctx.error());
    shared->tls = std::move(*ctx);
  }
  shared->router = std::move(router);
  shared->options = WithLimits(std::move(options));
  auto server = std::make_unique<ServerImpl<asio::ip::tcp>>(shared, address.ToString());
  if (auto r = server->Listen({ip, address.port}); !r) return std::unexpected(r.error());
  return std::unique_ptr<Server>(std::move(server));
}

Result<std::unique_ptr<Server>> Server::ListenUnix(const std::string& path, Router router,
                                                   ServerOptions options, mode_t mode) {
  if (!options.tls_cert_file.empty() || !options.tls_key_file.empty()) {
    return Fail(ErrorCode::invalid_argument, "HTTPS is for TCP listeners, not unix sockets");
  }
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      return Fail(ErrorCode::already_exists,
                  path + " exists and is not a socket; refusing to replace it");
    }
    ::unlink(path.c_str());
  }
  auto shared = std::make_shared<Shared>();
  shared->router = std::move(router);
  shared->options = WithLimits(std::move(options));
  auto server = std::make_unique<ServerImpl<asio::local::stream_protocol>>(shared, path);
  const mode_t old = ::umask(static_cast<mode_t>(~mode & 0777));
  auto r = server->Listen(asio::local::stream_protocol::endpoint(path));
  ::umask(old);
  if (!r) return std::unexpected(r.error());
  return std::unique_ptr<Server>(std::move(server));
}

}  // namespace steward::http
