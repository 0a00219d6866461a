// HTTP requests in a short-lived helper process. A process that calls UseHelperProcess never
// loads libcurl itself: each Client starts a helper (`argv`, e.g. `steward-updater
// http-helper`) at its first request, sends it every request over a socket and gets the status,
// headers and body back as they arrive. The helper exits once it has been idle for a while, so
// libcurl and its TLS libraries are resident only while requests are being made, and the
// parser of everything a server sends runs outside the supervising process.
//
// Frames on the socket: u32 length (little endian) of what follows, a type byte, the payload.
//   client → helper  'Q' request: mode (perform | check URL), client options, request
//   helper → client  'A' request taken · 'H' status and headers · 'B' body bytes ·
//                    'D' done · 'F' failed (error code, message)
// A helper that ends before 'A' never saw the request: the client retries once with a new one.
// A client that gives up on a request (its sink or head check failed) closes the socket; the
// helper ends at its next write.
//
// The protocol is here (http_helper.cpp); the socket and starting the helper are the
// platform's (http_helper_channel.hpp, http_helper_posix.cpp).
#pragma once

#include <string>
#include <vector>

#include "common/clock.hpp"
#include "common/files.hpp"
#include "common/http_client.hpp"

namespace steward::http {

// From now on every Client of this process runs its requests in a helper started as `argv`
// (argv[0] is the program's path) with the socket on fd 3. Empty: in this process (the default).
// `name`, when given, is the helper's argv[0] instead of the path (what `ps` shows).
void UseHelperProcess(std::vector<std::string> argv, std::string name = "");
std::vector<std::string> HelperProcess();

// The helper's side: serves requests on `fd` until the client closes it or no request came for
// `idle`. Returns the process exit code (0, or 2 for a malformed frame).
int ServeHelper(int fd, Duration idle);

// The client's side of one helper, used by Client when UseHelperProcess is set.
class HelperConnection {
 public:
  Result<ClientResponse> Perform(const ClientOptions& options, const RequestSpec& spec);
  Result<void> CheckUrl(const ClientOptions& options, std::string_view url);

 private:
  enum class Mode : std::uint8_t { perform = 1, check = 2 };
  Result<ClientResponse> Call(Mode mode, const ClientOptions& options, const RequestSpec& spec);
  Result<void> Start();
  // Hands `request` to a helper, starting one when none runs; true once a helper took it.
  Result<bool> Submit(std::string_view request, int wait_ms);
  void Abandon() { fd_ = files::UniqueFd(); }  // the helper ends at its next read or write

  files::UniqueFd fd_;
};

}  // namespace steward::http
