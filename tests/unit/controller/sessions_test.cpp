// Dashboard sessions on a fake clock: expiry (idle and absolute), the CSRF token, the viewer's
// read-only role, the bound on sessions and cookies a hostile page or proxy might send.
#include "controller/sessions.hpp"

#include <gtest/gtest.h>

namespace steward::controller {
namespace {

using namespace std::chrono_literals;

http::Request WithCookie(std::string method, const std::string& id, std::string csrf = "") {
  http::Request r;
  r.method = std::move(method);
  r.path = r.target = "/v1/admin/rollouts";
  r.headers["cookie"] = "theme=dark; " + std::string(kSessionCookie) + "=" + id;
  if (!csrf.empty()) r.headers[std::string(kCsrfHeader)] = std::move(csrf);
  return r;
}

struct SessionsTest : ::testing::Test {
  FakeClock clock;
  Sessions sessions{clock, SessionOptions{.idle = 10min, .absolute = 1h, .max_sessions = 3}};
};

TEST_F(SessionsTest, ANewSessionIsFoundByItsIdOnly) {
  auto s = sessions.Create(Role::admin);
  EXPECT_EQ(s.id.size(), 64u);
  EXPECT_EQ(s.info.csrf.size(), 64u);
  EXPECT_NE(s.id, s.info.csrf);
  auto found = sessions.Find(s.id);
  ASSERT_TRUE(found);
  EXPECT_EQ(found->role, Role::admin);
  EXPECT_EQ(found->csrf, s.info.csrf);
  EXPECT_FALSE(sessions.Find(s.info.csrf));
  EXPECT_NE(sessions.Create(Role::admin).id, s.id);
}

TEST_F(SessionsTest, IdleSessionsExpireAndUseKeepsThemAlive) {
  auto s = sessions.Create(Role::viewer);
  clock.Advance(9min);
  ASSERT_TRUE(sessions.Find(s.id));  // refreshes the idle timer
  clock.Advance(9min);
  ASSERT_TRUE(sessions.Find(s.id));
  clock.Advance(10min);
  EXPECT_FALSE(sessions.Find(s.id));
  EXPECT_EQ(sessions.size(), 0u);  // an expired session is removed when seen
}

TEST_F(SessionsTest, ASessionEndsAtItsAbsoluteAgeHoweverBusy) {
  auto s = sessions.Create(Role::admin);
  for (int i = 0; i < 6; ++i) {
    clock.Advance(9min + 50s);
    ASSERT_TRUE(sessions.Find(s.id)) << i;
  }
  clock.Advance(1min);
  EXPECT_FALSE(sessions.Find(s.id));
}

TEST_F(SessionsTest, AWallClockJumpDoesNotEndOrExtendASession) {
  auto s = sessions.Create(Role::admin);
  clock.JumpWall(48h);
  EXPECT_TRUE(sessions.Find(s.id));
  clock.JumpWall(-96h);
  clock.Advance(10min);
  EXPECT_FALSE(sessions.Find(s.id));
}

TEST_F(SessionsTest, ReadsNeedNoCsrfTokenButChangesDo) {
  auto s = sessions.Create(Role::admin);
  EXPECT_TRUE(sessions.Authorize(WithCookie("GET", s.id)));
  auto missing = sessions.Authorize(WithCookie("PUT", s.id));
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::forbidden);
  EXPECT_NE(missing.error().message.find("CSRF"), std::string::npos);
  auto wrong = sessions.Authorize(WithCookie("PUT", s.id, std::string(64, 'a')));
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().code, ErrorCode::forbidden);
  // Another session's token is as wrong as a made-up one.
  auto other = sessions.Create(Role::admin);
  EXPECT_FALSE(sessions.Authorize(WithCookie("POST", s.id, other.info.csrf)));
  EXPECT_TRUE(sessions.Authorize(WithCookie("PUT", s.id, s.info.csrf)));
  EXPECT_TRUE(sessions.Authorize(WithCookie("DELETE", s.id, s.info.csrf)));
}

TEST_F(SessionsTest, AViewerReadsButIsRefusedEveryChange) {
  auto s = sessions.Create(Role::viewer);
  EXPECT_TRUE(sessions.Authorize(WithCookie("GET", s.id)));
  for (const char* method : {"PUT", "POST", "DELETE", "PATCH"}) {
    auto r = sessions.Authorize(WithCookie(method, s.id, s.info.csrf));
    ASSERT_FALSE(r) << method;
    EXPECT_EQ(r.error().code, ErrorCode::forbidden);
    EXPECT_NE(r.error().message.find("viewer"), std::string::npos) << r.error().message;
  }
  // Signing out is the one change a viewer makes.
  EXPECT_TRUE(sessions.Authorize(WithCookie("DELETE", s.id, s.info.csrf), Role::viewer));
}

TEST_F(SessionsTest, UnknownRemovedOrExpiredSessionsAreUnauthorized) {
  auto s = sessions.Create(Role::admin);
  auto unknown = sessions.Authorize(WithCookie("GET", std::string(64, '0')));
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, ErrorCode::unauthorized);
  sessions.Remove(s.id);
  EXPECT_FALSE(sessions.Authorize(WithCookie("GET", s.id)));
  auto t = sessions.Create(Role::admin);
  clock.Advance(11min);
  auto expired = sessions.Authorize(WithCookie("GET", t.id));
  ASSERT_FALSE(expired);
  EXPECT_EQ(expired.error().code, ErrorCode::unauthorized);
}

TEST_F(SessionsTest, AtTheLimitExpiredThenLeastRecentlyUsedSessionsGo) {
  auto a = sessions.Create(Role::admin);
  clock.Advance(1min);
  auto b = sessions.Create(Role::admin);
  clock.Advance(1min);
  auto c = sessions.Create(Role::admin);
  clock.Advance(1min);
  ASSERT_TRUE(sessions.Find(a.id));  // a is now used more recently than b
  auto d = sessions.Create(Role::viewer);
  EXPECT_EQ(sessions.size(), 3u);
  EXPECT_TRUE(sessions.Find(a.id));
  EXPECT_FALSE(sessions.Find(b.id));
  EXPECT_TRUE(sessions.Find(c.id));
  EXPECT_TRUE(sessions.Find(d.id));
  for (int i = 0; i < 100; ++i) sessions.Create(Role::viewer);
  EXPECT_EQ(sessions.size(), 3u);
}

TEST(SessionCookie, ReadsOnlyAWellFormedSessionCookie) {
  const std::string id(64, 'a');
  EXPECT_EQ(SessionCookie("steward_session=" + id), id);
  EXPECT_EQ(SessionCookie("a=1;steward_session=" + id + " ; b=2"), id);
  EXPECT_EQ(SessionCookie("a=1; steward_session = " + id), id);
  EXPECT_EQ(SessionCookie(""), "");
  EXPECT_EQ(SessionCookie("steward_session="), "");
  EXPECT_EQ(SessionCookie("steward_session=" + std::string(64, 'A')), "");  // upper case
  EXPECT_EQ(SessionCookie("steward_session=" + std::string(63, 'a')), "");
  EXPECT_EQ(SessionCookie("steward_session=" + std::string(65, 'a')), "");
  EXPECT_EQ(SessionCookie("steward_session=" + std::string(100000, 'a')), "");
  EXPECT_EQ(SessionCookie("steward_session=" + std::string(62, 'a') + "\r\n"), "");
  EXPECT_EQ(SessionCookie("steward_session=\"" + id + "\""), "");
  EXPECT_EQ(SessionCookie("xsteward_session=" + id), "");
  EXPECT_EQ(SessionCookie("steward_session" + id), "");
  EXPECT_EQ(SessionCookie(";;;=;steward_session=" + id + ";;"), id);
  // The same cookie twice is that cookie; two different ones are none (one may be planted).
  EXPECT_EQ(SessionCookie("steward_session=" + id + "; steward_session=" + id), id);
  EXPECT_EQ(SessionCookie("steward_session=" + id + "; steward_session=" + std::string(64, 'b')),
            "");
}

TEST_F(SessionsTest, HostileCookiesAreUnauthorizedNotErrors) {
  for (const std::string& value : {std::string(), std::string("../../etc"), std::string(5000, 'f'),
                                   std::string("%00"), std::string(64, 'g')}) {
    auto r = sessions.Authorize(WithCookie("GET", value));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ErrorCode::unauthorized);
  }
}

TEST(SessionCookieHeader, IsHttpOnlyStrictAndSecureUnderTls) {
  FakeClock clock;
  Sessions plain{clock, SessionOptions{.absolute = 2h}};
  const std::string id(64, 'c');
  EXPECT_EQ(plain.SetCookie(id),
            "steward_session=" + id + "; Path=/; HttpOnly; SameSite=Strict; Max-Age=7200");
  EXPECT_EQ(plain.ClearCookie(), "steward_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
  Sessions tls{clock, SessionOptions{.secure_cookie = true}};
  EXPECT_TRUE(tls.SetCookie(id).ends_with("; Secure"));
  EXPECT_TRUE(tls.ClearCookie().ends_with("; Secure"));
}

}  // namespace
}  // namespace steward::controller
