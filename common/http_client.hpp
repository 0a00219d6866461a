// An HTTP client on libcurl, for talking to the controller, the updater's local API and
// artifact servers. https only; plain http only to loopback addresses, over a unix socket, or
// when the config allows it (development). Redirects are few and stay on allowed schemes; every
// request has a connect timeout, an overall deadline and a cap on the bytes it accepts.
// libcurl stays inside http_client.cpp.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.hpp"
#include "common/error.hpp"

namespace steward::http {

// Loads libcurl now; it is otherwise loaded on the first request (a host that only supervises
// never needs it). The error names what is missing.
Result<void> LoadLibcurl();

struct ClientOptions {
  std::string ca_file;               // extra CA bundle; empty: the system's
  bool allow_insecure_http = false;  // plain http beyond loopback (development only)
  std::string unix_socket;           // send every request over this unix socket
  std::string proxy;                 // empty: the usual environment variables apply
  Duration connect_timeout = std::chrono::seconds(10);
  Duration timeout = std::chrono::seconds(60);  // whole request
  // Abort when fewer than low_speed_bytes/s arrive for low_speed_time (a stalled server).
  long low_speed_bytes = 1;
  Duration low_speed_time = std::chrono::seconds(30);
  long max_redirects = 5;
  std::uint64_t max_response_bytes = 16 << 20;
  std::string user_agent = "steward";
  // Receive buffer per transfer; larger buffers mean fewer callbacks on big downloads.
  long buffer_size = 0;  // 0: libcurl's default (16 KiB)
};

struct ClientResponse {
  long status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // lower-case names, last value wins
  std::string Header(std::string_view name) const;
};

// Receives body bytes as they arrive; returning an Error aborts the transfer with it.
using BodySink = std::function<Result<void>(std::string_view chunk)>;
// Sees the final response's status and headers (body empty) once, before the first body byte
// reaches the sink, or after the transfer when there was no body. Redirect responses are not
// shown. Returning an Error aborts the transfer with it: nothing of that body is delivered.
using HeadCheck = std::function<Result<void>(const ClientResponse& head)>;
// Body bytes received so far by this request, and the announced length (0 when unknown).
using ProgressFn = std::function<void(std::uint64_t received, std::uint64_t total)>;

struct RequestSpec {
  std::string method = "GET";
  std::string url;
  std::string body;
  std::vector<std::string> headers;  // "Name: value"
  std::string bearer_token;
  // When set, body bytes go here instead of ClientResponse::body (downloads).
  BodySink sink;
  // Caps the body for this request (0: options.max_response_bytes). A Content-Length above the
  // cap fails before any body byte arrives; a body that grows past it fails at the cap.
  std::uint64_t max_bytes = 0;
  HeadCheck on_head;
  ProgressFn progress;
};

// True for 127.0.0.0/8, ::1 and "localhost".
bool IsLoopbackHost(std::string_view host);

class Client {
 public:
  explicit Client(ClientOptions options = {});
  ~Client();
  Client(Client&&) noexcept;
  Client& operator=(Client&&) noexcept;

  // Performs one request. A non-2xx status is not an error here: callers read .status.
  Result<ClientResponse> Perform(const RequestSpec& spec);
  Result<ClientResponse> Get(const std::string& url, const std::string& bearer = "");
  Result<ClientResponse> PostJson(const std::string& url, const std::string& json,
                                  const std::string& bearer = "");

  // Checks that `url` may be fetched under these options (scheme and host rules).
  Result<void> CheckUrl(std::string_view url) const;

  const ClientOptions& options() const { return options_; }

 private:
  struct Impl;
  ClientOptions options_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace steward::http
