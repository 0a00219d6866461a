// The HTTP server: listening on TCP (plain or TLS) or a unix socket, accepting within the
// guard's limits (shedding the oldest idle connection when descriptors run out), draining on
// stop. One connection is common/http_session.hpp's.
#include "common/http_server.hpp"

#include <list>
#include <thread>

#include "common/http_session.hpp"
#include "common/tls_context.hpp"

namespace steward::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace ssl = boost::asio::ssl;

// ---- Server ----------------------------------------------------------------------------------

namespace {

using server_internal::Session;
using server_internal::SessionBase;
using server_internal::Shared;

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
    shared_->JoinBlocking();
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
