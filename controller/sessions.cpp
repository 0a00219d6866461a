#include "controller/sessions.hpp"

#include <algorithm>

#include "controller/secrets.hpp"

namespace steward::controller {

namespace {

constexpr std::size_t kIdBytes = 32;

bool IsSessionId(std::string_view v) {
  return v.size() == 2 * kIdBytes && std::ranges::all_of(v, [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Calls fn(value) for every cookie named kSessionCookie in a Cookie header.
template <typename Fn>
void ForEachSessionCookie(std::string_view header, Fn fn) {
  while (!header.empty()) {
    const auto semi = header.find(';');
    const auto pair = Trim(header.substr(0, semi));
    header = semi == std::string_view::npos ? std::string_view{} : header.substr(semi + 1);
    const auto eq = pair.find('=');
    if (eq != std::string_view::npos && Trim(pair.substr(0, eq)) == kSessionCookie) {
      fn(Trim(pair.substr(eq + 1)));
    }
  }
}

bool IsChange(std::string_view method) { return method != "GET" && method != "HEAD"; }

}  // namespace

std::string_view RoleName(Role role) { return role == Role::admin ? "admin" : "viewer"; }

Sessions::Sessions(Clock& clock, SessionOptions options) : clock_(clock), opt_(options) {}

bool Sessions::Expired(const Entry& e, MonoTime now) const {
  return now - e.last_used >= opt_.idle || now - e.created >= opt_.absolute;
}

void Sessions::MakeRoom(MonoTime now) {
  std::erase_if(by_hash_, [&](const auto& kv) { return Expired(kv.second, now); });
  while (!by_hash_.empty() && by_hash_.size() >= opt_.max_sessions) {
    auto oldest =
        std::ranges::min_element(by_hash_, {}, [](const auto& kv) { return kv.second.last_used; });
    by_hash_.erase(oldest);
  }
}

NewSession Sessions::Create(Role role) {
  NewSession out{RandomHex(kIdBytes), {role, RandomHex(kIdBytes)}};
  const auto now = clock_.Monotonic();
  std::lock_guard lock(mu_);
  if (by_hash_.size() >= opt_.max_sessions) MakeRoom(now);
  by_hash_[TokenHash(out.id)] = Entry{out.info, now, now};
  return out;
}

std::optional<SessionInfo> Sessions::Find(std::string_view id) {
  if (!IsSessionId(id)) return std::nullopt;
  const auto now = clock_.Monotonic();
  std::lock_guard lock(mu_);
  auto it = by_hash_.find(TokenHash(id));
  if (it == by_hash_.end()) return std::nullopt;
  if (Expired(it->second, now)) {
    by_hash_.erase(it);
    return std::nullopt;
  }
  it->second.last_used = now;
  return it->second.info;
}

void Sessions::Remove(std::string_view id) {
  std::lock_guard lock(mu_);
  by_hash_.erase(TokenHash(id));
}

std::size_t Sessions::size() const {
  std::lock_guard lock(mu_);
  return by_hash_.size();
}

Result<SessionInfo> Sessions::Authorize(const http::Request& req, Role changes_need) {
  auto session = Find(SessionCookie(req.Header("cookie")));
  if (!session) {
    return Fail(ErrorCode::unauthorized,
                "the dashboard session is missing or has expired; sign in again");
  }
  if (!IsChange(req.method)) return *session;
  if (!SecretEquals(session->csrf, req.Header(kCsrfHeader))) {
    return Fail(ErrorCode::forbidden,
                "missing or wrong CSRF token: a change needs the session's token in the "
                "X-Steward-CSRF header");
  }
  if (session->role < changes_need) {
    return Fail(ErrorCode::forbidden,
                "a viewer session can only read; sign in with the admin token to change things");
  }
  return *session;
}

std::string Sessions::SetCookie(std::string_view id) const {
  const auto max_age = std::chrono::duration_cast<std::chrono::seconds>(opt_.absolute).count();
  return std::string(kSessionCookie) + "=" + std::string(id) +
         "; Path=/; HttpOnly; SameSite=Strict; Max-Age=" + std::to_string(max_age) +
         (opt_.secure_cookie ? "; Secure" : "");
}

std::string Sessions::ClearCookie() const {
  return std::string(kSessionCookie) + "=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0" +
         (opt_.secure_cookie ? "; Secure" : "");
}

std::string SessionCookie(std::string_view header) {
  std::string found;
  bool conflict = false;
  ForEachSessionCookie(header, [&](std::string_view v) {
    if (!IsSessionId(v)) return;
    if (!found.empty() && found != v) conflict = true;
    found = v;
  });
  return conflict ? std::string() : found;
}

bool HasSessionCookie(const http::Request& req) {
  bool any = false;
  ForEachSessionCookie(req.Header("cookie"), [&](std::string_view) { any = true; });
  return any;
}

}  // namespace steward::controller
