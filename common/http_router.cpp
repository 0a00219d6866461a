// The plain parts of the HTTP server: Request accessors, Response constructors (including the
// error envelope and the HTTP status of each error code) and the route table. Nothing here
// touches a socket; common/http_server.cpp owns the connections.

#include "common/hash.hpp"
#include "common/http_server.hpp"
#include "common/protocol.hpp"

namespace steward::http {

std::string Request::Header(std::string_view name) const {
  const auto it = headers.find(std::string(name));
  return it == headers.end() ? std::string() : it->second;
}

namespace {

std::string PercentDecode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out.push_back(' ');
    } else if (auto byte =
                   s[i] == '%' && i + 2 < s.size() ? HexDecode(s.substr(i + 1, 2)) : std::nullopt) {
      out.push_back(static_cast<char>((*byte)[0]));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

}  // namespace

std::optional<std::string> Request::Query(std::string_view name) const {
  std::string_view rest = query;
  while (!rest.empty()) {
    const auto amp = rest.find('&');
    const std::string_view pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view{} : rest.substr(amp + 1);
    const auto eq = pair.find('=');
    if (PercentDecode(pair.substr(0, eq)) == name) {
      return eq == std::string_view::npos ? std::string() : PercentDecode(pair.substr(eq + 1));
    }
  }
  return std::nullopt;
}

std::string Request::BearerToken() const {
  const std::string auth = Header("authorization");
  constexpr std::string_view kPrefix = "Bearer ";
  if (auth.size() <= kPrefix.size() || !auth.starts_with(kPrefix)) return "";
  return auth.substr(kPrefix.size());
}

Response Response::Json(int status, std::string body) {
  Response r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

Response Response::Text(int status, std::string body) {
  Response r;
  r.status = status;
  r.content_type = "text/plain; charset=utf-8";
  r.body = std::move(body);
  return r;
}

Response Response::File(std::string path, std::string content_type) {
  Response r;
  r.content_type = std::move(content_type);
  r.file = std::move(path);
  return r;
}

Response Response::Error(int status, ErrorCode code, std::string_view message) {
  return Json(status, protocol::EncodeError(code, message));
}

int StatusFor(ErrorCode code) {
  switch (code) {
    case ErrorCode::unauthorized:
      return 401;
    case ErrorCode::forbidden:
    case ErrorCode::permission_denied:
      return 403;
    case ErrorCode::not_found:
    case ErrorCode::route_not_found:
    case ErrorCode::unknown_component:
      return 404;
    case ErrorCode::method_not_allowed:
      return 405;
    case ErrorCode::conflict:
    case ErrorCode::already_exists:
    case ErrorCode::update_in_progress:
      return 409;
    case ErrorCode::payload_too_large:
    case ErrorCode::too_large:
    case ErrorCode::manifest_too_large:
      return 413;
    case ErrorCode::internal:
    case ErrorCode::io:
    case ErrorCode::db_query:
    case ErrorCode::db_corrupt:
      return 500;
    case ErrorCode::unavailable:
    case ErrorCode::db_busy:
    case ErrorCode::db_open:
      return 503;
    default:
      break;
  }
  // Everything else the client sent and can fix: bad input, bad signatures, bad values.
  return 400;
}

Response Response::FromError(const steward::Error& error) {
  return Error(StatusFor(error.code), error.code, error.message);
}

Response Response::Later(std::function<Response()> work) {
  Response r;
  r.later = std::move(work);
  return r;
}

// ---- Router ----------------------------------------------------------------------------------

namespace {

std::vector<std::string> SplitPath(std::string_view path) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= path.size()) {
    const auto slash = path.find('/', start);
    const auto end = slash == std::string_view::npos ? path.size() : slash;
    if (end > start) out.emplace_back(path.substr(start, end - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return out;
}

}  // namespace

Router& Router::Add(std::string method, std::string pattern, Handler handler) {
  routes_.push_back(Route{std::move(method), SplitPath(pattern), std::move(handler)});
  return *this;
}

Response Router::Dispatch(Request& request) const {
  const auto segments = SplitPath(request.path);
  bool path_matched = false;
  for (const auto& route : routes_) {
    if (route.segments.size() != segments.size()) continue;
    std::map<std::string, std::string> params;
    bool match = true;
    for (std::size_t i = 0; i < segments.size() && match; ++i) {
      const auto& want = route.segments[i];
      if (want.size() > 2 && want.front() == '{' && want.back() == '}') {
        params[want.substr(1, want.size() - 2)] = PercentDecode(segments[i]);
      } else {
        match = want == segments[i];
      }
    }
    if (!match) continue;
    path_matched = true;
    if (route.method != request.method && !(request.method == "HEAD" && route.method == "GET")) {
      continue;
    }
    request.params = std::move(params);
    return route.handler(request);
  }
  if (path_matched) {
    return Response::Error(405, ErrorCode::method_not_allowed,
                           request.method + " is not allowed on " + request.path);
  }
  return Response::Error(404, ErrorCode::route_not_found, "no route for " + request.path);
}

}  // namespace steward::http
