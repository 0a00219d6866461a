// A request as the HTTP server hands it to the router, for the dashboard's router tests.
#pragma once

#include <map>
#include <string>

#include "common/http_server.hpp"

namespace steward::controller {

inline http::Request MakeRequest(std::string method, const std::string& target, std::string body,
                                 std::map<std::string, std::string> headers) {
  http::Request r;
  r.method = std::move(method);
  r.target = target;
  const auto q = target.find('?');
  r.path = target.substr(0, q);
  if (q != std::string::npos) r.query = target.substr(q + 1);
  r.body = std::move(body);
  r.headers = std::move(headers);
  return r;
}

}  // namespace steward::controller
