// A small HTTP/1.1 server on Boost.Beast for the controller, the agent and the updater's local
// API. Routes read like a table; handlers are plain functions from Request to Response, run on
// the server's own threads. It listens on TCP or a unix socket, enforces header/body limits and
// timeouts, answers errors as {"error":{"code","message"}}, serves files with Range support, and
// stops gracefully: no new connections, in-flight requests finish, then it closes. On TCP it
// speaks HTTPS when given a certificate and key (common/tls_context.hpp sets the protocol
// floor and ciphers); the pair can be replaced while serving.
// Beast, Asio and OpenSSL stay inside the .cpp files.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.hpp"
#include "common/error.hpp"
#include "common/hostport.hpp"

namespace steward::http {

struct Request {
  std::string method;                          // "GET", "POST", …
  std::string target;                          // as sent: "/v1/nodes?limit=10"
  std::string path;                            // "/v1/nodes"
  std::string query;                           // "limit=10"
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  std::map<std::string, std::string> params;  // from the route pattern: {id} -> "abc"
  std::string remote;                         // peer address, "unix" on unix sockets
  std::optional<uid_t> peer_uid;              // unix sockets: the client's uid (SO_PEERCRED)

  // Header by lower-case name, "" when absent.
  std::string Header(std::string_view name) const;
  // Query parameter by name (no percent-decoding beyond %XX and '+'), nullopt when absent.
  std::optional<std::string> Query(std::string_view name) const;
  // The token of "Authorization: Bearer <token>", "" when absent.
  std::string BearerToken() const;
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string file;  // when set, the body is this file's bytes (Range requests honoured)
  // When set, the answer is what this returns, run on the server's pool for blocking work
  // instead of a thread that serves connections (Later).
  std::function<Response()> later;

  static Response Json(int status, std::string body);
  static Response Text(int status, std::string body);
  static Response File(std::string path, std::string content_type = "application/octet-stream");
  // {"error":{"code":"<name>","message":"…"}} with the HTTP status given.
  static Response Error(int status, ErrorCode code, std::string_view message);
  // An Error's HTTP form: status chosen from its code.
  static Response FromError(const steward::Error& error);
  // For a handler that must wait on something slow (another server, a probe): `work` runs on a
  // small pool of its own, so the threads that serve connections go on answering others; the
  // connection waits for its answer (not a file, not another Later).
  static Response Later(std::function<Response()> work);
};

using Handler = std::function<Response(const Request&)>;

class Router {
 public:
  // Pattern segments in braces capture: "/v1/admin/rollouts/{component}/{channel}".
  Router& Add(std::string method, std::string pattern, Handler handler);
  // 404 route_not_found / 405 method_not_allowed when nothing matches.
  Response Dispatch(Request& request) const;

 private:
  struct Route {
    std::string method;
    std::vector<std::string> segments;
    Handler handler;
  };
  std::vector<Route> routes_;
};

struct ServerOptions {
  std::size_t max_body = 1 << 20;
  std::size_t max_header = 16 << 10;
  Duration read_timeout = std::chrono::seconds(30);  // a whole request, once its first byte came
  Duration idle_timeout = std::chrono::seconds(60);  // keep-alive between requests
  // A new connection's request head (line and headers) must be in within this (and within
  // idle_timeout): a client that opens connections and never finishes them holds nothing long.
  Duration header_timeout = std::chrono::seconds(10);
  // Open connections one source may hold (TCP: its IP address; unix sockets: its uid). Beyond
  // it a new connection from that source is closed at once, so one misbehaving source cannot
  // take the server from the others.
  std::size_t max_connections_per_source = 256;
  // Open connections in all; 0: 7/8 of the open-file limit. At the limit, or when accept fails
  // for want of file descriptors, the oldest idle connections are shed to make room.
  std::size_t max_connections = 0;
  int threads = 1;
  std::string server_name = "steward";
  // HTTPS when both are set (TCP only): a PEM chain, the server's certificate first, and its key.
  std::string tls_cert_file;
  std::string tls_key_file;
};

class Server {
 public:
  // Binds and listens at once (port 0: the kernel picks; see port()). Serving starts with Start.
  static Result<std::unique_ptr<Server>> ListenTcp(const HostPort& address, Router router,
                                                   ServerOptions options = {});
  // Creates the socket file with `mode` (an existing socket file is replaced).
  static Result<std::unique_ptr<Server>> ListenUnix(const std::string& path, Router router,
                                                    ServerOptions options = {}, mode_t mode = 0660);
  virtual ~Server() = default;

  virtual std::uint16_t port() const = 0;
  // "127.0.0.1:43117" or the socket path.
  virtual std::string address() const = 0;
  // Runs options.threads threads serving requests.
  virtual void Start() = 0;
  // Stops accepting, lets in-flight requests finish for up to `drain`, then closes everything.
  virtual void Stop(Duration drain) = 0;
  virtual std::size_t active_connections() const = 0;
  // HTTPS servers: loads the certificate and key files again; connections accepted from now on
  // use the new pair, open ones keep theirs. A pair that does not load is an error naming the
  // file, and the pair in use stays. Plain HTTP servers: an error.
  virtual Result<void> ReloadTls() = 0;
  virtual bool tls() const = 0;
};

// HTTP status text-free mapping used by Response::FromError.
int StatusFor(ErrorCode code);

}  // namespace steward::http
