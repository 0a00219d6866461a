// The dashboard's routes (docs/dashboard.md): the embedded page under /ui/ with its security
// headers, and sign-in, the session's details and sign-out under /ui/api/session. The page
// itself reads only the admin JSON API; Dashboard::Authorize is how that API accepts a session
// cookie in place of the admin token.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "common/http_server.hpp"
#include "controller/sessions.hpp"

namespace steward::controller {

struct DashboardOptions {
  std::vector<std::string> admin_tokens;
  std::vector<std::string> viewer_tokens;  // sign-in for read-only sessions; may be empty
  SessionOptions sessions;
};

class Dashboard {
 public:
  Dashboard(Clock& clock, DashboardOptions options);

  // GET /ui (redirect), /ui/, /ui/{file}; POST, GET and DELETE /ui/api/session.
  void AddRoutes(http::Router& router);

  // For an admin API request without a bearer token: the session's decision
  // (Sessions::Authorize), or unauthorized when the request has no session cookie either.
  Result<SessionInfo> Authorize(const http::Request& request);

  // Sign-in refusals (wrong token), for the controller's auth failure counter.
  std::uint64_t refused() const { return refused_.load(); }

 private:
  http::Response Page(const http::Request& request);
  http::Response Asset(const http::Request& request);
  http::Response SignIn(const http::Request& request);
  http::Response Current(const http::Request& request);
  http::Response SignOut(const http::Request& request);

  const DashboardOptions opt_;
  Sessions sessions_;
  std::atomic<std::uint64_t> refused_{0};
};

}  // namespace steward::controller
