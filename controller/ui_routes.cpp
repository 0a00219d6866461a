#include "controller/ui_routes.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "common/log.hpp"
#include "controller/secrets.hpp"
#include "controller/ui_assets.hpp"

namespace steward::controller {

namespace {

using nlohmann::json;

// Everything the page loads comes from this origin; no inline script or style, no framing, no
// plugins, forms post nowhere else (docs/security.md#the-dashboard).
constexpr std::string_view kCsp =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

http::Response Hardened(http::Response res) {
  res.headers.emplace_back("Content-Security-Policy", kCsp);
  res.headers.emplace_back("X-Content-Type-Options", "nosniff");
  res.headers.emplace_back("Referrer-Policy", "no-referrer");
  res.headers.emplace_back("X-Frame-Options", "DENY");
  res.headers.emplace_back("Cross-Origin-Opener-Policy", "same-origin");
  return res;
}

http::Response NoStore(http::Response res) {
  res.headers.emplace_back("Cache-Control", "no-store");
  return Hardened(std::move(res));
}

const UiAsset* FindAsset(std::string_view name) {
  const auto assets = UiAssets();
  auto it = std::ranges::find(assets, name, &UiAsset::name);
  return it == assets.end() ? nullptr : &*it;
}

http::Response Serve(const UiAsset& asset, const http::Request& req) {
  http::Response res;
  res.content_type = std::string(asset.content_type);
  res.headers.emplace_back("ETag", std::string(asset.etag));
  // Names are not fingerprinted: the browser revalidates each time, answered by a 304.
  res.headers.emplace_back("Cache-Control", "no-cache");
  if (req.Header("if-none-match") == asset.etag) {
    res.status = 304;
  } else {
    res.body = std::string(asset.bytes);
  }
  return Hardened(std::move(res));
}

std::string SessionJson(const SessionInfo& s) {
  return json{{"role", RoleName(s.role)}, {"csrf", s.csrf}}.dump();
}

}  // namespace

Dashboard::Dashboard(Clock& clock, DashboardOptions options)
    : opt_(std::move(options)), sessions_(clock, opt_.sessions) {}

void Dashboard::AddRoutes(http::Router& r) {
  auto bind = [this](http::Response (Dashboard::*fn)(const http::Request&)) {
    return [this, fn](const http::Request& req) { return (this->*fn)(req); };
  };
  r.Add("GET", "/ui/", bind(&Dashboard::Page))
      .Add("GET", "/ui/{file}", bind(&Dashboard::Asset))
      .Add("POST", "/ui/api/session", bind(&Dashboard::SignIn))
      .Add("GET", "/ui/api/session", bind(&Dashboard::Current))
      .Add("DELETE", "/ui/api/session", bind(&Dashboard::SignOut));
}

Result<SessionInfo> Dashboard::Authorize(const http::Request& req) {
  if (!HasSessionCookie(req)) {
    return Fail(ErrorCode::unauthorized,
                "missing admin token: send 'Authorization: Bearer <admin token>'");
  }
  return sessions_.Authorize(req);
}

// "/ui" and "/ui/" are one route; relative links need the slash.
http::Response Dashboard::Page(const http::Request& req) {
  if (!req.path.ends_with('/')) {
    http::Response res;
    res.status = 308;
    res.content_type = "text/plain; charset=utf-8";
    res.headers.emplace_back("Location", "/ui/");
    return Hardened(std::move(res));
  }
  const auto* index = FindAsset("index.html");
  if (index == nullptr) return Hardened(http::Response::Text(500, "the dashboard was not built"));
  return Serve(*index, req);
}

http::Response Dashboard::Asset(const http::Request& req) {
  const auto* asset = FindAsset(req.params.at("file"));
  if (asset == nullptr) {
    return Hardened(http::Response::Error(404, ErrorCode::not_found,
                                          "no dashboard file " + req.params.at("file")));
  }
  return Serve(*asset, req);
}

http::Response Dashboard::SignIn(const http::Request& req) {
  // A cross-site form can post text/plain but not application/json without a preflight this
  // server never grants: sign-in cannot be forged from another site.
  if (!req.Header("content-type").starts_with("application/json")) {
    return NoStore(http::Response::Error(400, ErrorCode::bad_request,
                                         "sign-in needs Content-Type: application/json"));
  }
  const json body = json::parse(req.body, nullptr, false);
  if (!body.is_object() || !body.contains("token") || !body["token"].is_string()) {
    return NoStore(
        http::Response::Error(400, ErrorCode::bad_request,
                              "sign-in body must be {\"token\": \"<admin or viewer token>\"}"));
  }
  const auto token = body["token"].get<std::string>();
  const bool admin = AnySecretEquals(opt_.admin_tokens, token);
  const bool viewer = AnySecretEquals(opt_.viewer_tokens, token);
  if (!admin && !viewer) {
    ++refused_;
    log::Get("controller").warn("dashboard sign-in refused remote={}", req.remote);
    return NoStore(http::Response::Error(
        401, ErrorCode::unauthorized,
        "the token is not valid: sign in with the admin token or a viewer token"));
  }
  if (auto old = SessionCookie(req.Header("cookie")); !old.empty()) sessions_.Remove(old);
  auto session = sessions_.Create(admin ? Role::admin : Role::viewer);
  log::Get("controller")
      .info("dashboard sign-in role={} remote={}", RoleName(session.info.role), req.remote);
  auto res = http::Response::Json(200, SessionJson(session.info));
  res.headers.emplace_back("Set-Cookie", sessions_.SetCookie(session.id));
  return NoStore(std::move(res));
}

http::Response Dashboard::Current(const http::Request& req) {
  auto session = sessions_.Authorize(req);
  if (!session) return NoStore(http::Response::FromError(session.error()));
  return NoStore(http::Response::Json(200, SessionJson(*session)));
}

http::Response Dashboard::SignOut(const http::Request& req) {
  auto session = sessions_.Authorize(req, Role::viewer);
  if (!session) return NoStore(http::Response::FromError(session.error()));
  sessions_.Remove(SessionCookie(req.Header("cookie")));
  auto res = http::Response::Json(200, R"({"signed_out":true})");
  res.headers.emplace_back("Set-Cookie", sessions_.ClearCookie());
  return NoStore(std::move(res));
}

}  // namespace steward::controller
