// Dashboard sessions (docs/dashboard.md, docs/security.md#dashboard-sessions): an admin or
// viewer token is exchanged once for a random session id carried in an HttpOnly,
// SameSite=Strict cookie, so the page never keeps a token. Each session has its own CSRF token
// that every state-changing request repeats in a header. Sessions live in memory only (a
// restarted controller signs everyone out), expire when idle and at an absolute age, and are
// bounded in number. Authorize() is the one decision for a request that came with a cookie.
#pragma once

#include <cstddef>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/clock.hpp"
#include "common/error.hpp"
#include "common/http_server.hpp"

namespace steward::controller {

enum class Role { viewer, admin };
std::string_view RoleName(Role role);

inline constexpr std::string_view kSessionCookie = "steward_session";
inline constexpr std::string_view kCsrfHeader =
    "x-steward-csrf";  // lower-case, as Request keeps it

struct SessionOptions {
  Duration idle = std::chrono::minutes(30);
  Duration absolute = std::chrono::hours(12);
  std::size_t max_sessions = 1024;
  bool secure_cookie = false;  // the listener is HTTPS: the cookie says Secure
};

// What a caller may know of a session: never the id (it only travels in the cookie).
struct SessionInfo {
  Role role = Role::viewer;
  std::string csrf;
};

struct NewSession {
  std::string id;  // the cookie's value
  SessionInfo info;
};

class Sessions {
 public:
  Sessions(Clock& clock, SessionOptions options);

  // A new session; when max_sessions are open, expired ones go first, then the least recently
  // used, so holding many sessions cannot lock anyone out.
  NewSession Create(Role role);
  // The session of a cookie value; none when unknown or expired (an expired one is removed).
  // Refreshes its idle timer.
  std::optional<SessionInfo> Find(std::string_view id);
  void Remove(std::string_view id);
  std::size_t size() const;

  // The access decision for a request carrying the session cookie: unauthorized for a missing,
  // unknown or expired session; forbidden for a change (any method but GET and HEAD) without
  // the session's CSRF token in kCsrfHeader, or from a session below `changes_need` (signing
  // out is a change any session may make).
  Result<SessionInfo> Authorize(const http::Request& request, Role changes_need = Role::admin);

  // Set-Cookie values that start and end a session.
  std::string SetCookie(std::string_view id) const;
  std::string ClearCookie() const;

 private:
  struct Entry {
    SessionInfo info;
    MonoTime created;
    MonoTime last_used;
  };
  bool Expired(const Entry& e, MonoTime now) const;
  void MakeRoom(MonoTime now);  // mu_ held

  Clock& clock_;
  const SessionOptions opt_;
  mutable std::mutex mu_;
  // Keyed by the SHA-256 of the id: the table never holds a usable id, and a lookup compares
  // hashes, not the secret.
  std::unordered_map<std::string, Entry> by_hash_;
};

// The value of the session cookie in a Cookie header, or "" when there is none well formed
// (64 lower-case hex digits). Two session cookies that differ count as none: a cookie planted
// from a sibling domain cannot shadow the real one.
std::string SessionCookie(std::string_view cookie_header);

// True when the request carries a session cookie at all (well formed or not).
bool HasSessionCookie(const http::Request& request);

}  // namespace steward::controller
