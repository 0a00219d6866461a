// The dashboard through the controller's router: sign-in with the admin or a viewer token,
// the admin API with a session cookie (CSRF on changes, viewers refused by the API itself),
// sign-out, and the page's files with their security headers.
#include "controller/ui_routes.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "common/minisign.hpp"
#include "common/rfc3339.hpp"
#include "controller/service.hpp"
#include "controller/ui_assets.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/unit/controller/fake_store.hpp"
#include "tests/unit/controller/ui_request.hpp"

namespace steward::controller {
namespace {

using nlohmann::json;

constexpr const char* kAdmin = "admin-token-0123456789abcdef";
constexpr const char* kViewer = "viewer-token-0123456789abcdef";

std::string HeaderOf(const http::Response& res, std::string_view name) {
  for (const auto& [k, v] : res.headers) {
    if (k == name) return v;
  }
  return "";
}

struct DashboardTest : ::testing::Test {
  FakeStore store;
  FakeClock clock;
  std::unique_ptr<Service> service;
  http::Router router;

  void SetUp() override {
    ServiceOptions opt;
    opt.admin_tokens = {kAdmin};
    opt.viewer_tokens = {kViewer};
    auto s = Service::Create(store, clock, opt);
    ASSERT_TRUE(s);
    service = std::move(*s);
    router = service->MakeRouter();
  }

  http::Response Send(std::string method, std::string target, std::string body = "",
                      std::map<std::string, std::string> headers = {}) {
    auto r = MakeRequest(std::move(method), target, std::move(body), std::move(headers));
    return router.Dispatch(r);
  }

  struct Signed {
    std::string cookie;  // "steward_session=<id>"
    std::string csrf;
    std::string role;
  };
  Signed SignIn(const std::string& token) {
    auto res = Send("POST", "/ui/api/session", json{{"token", token}}.dump(),
                    {{"content-type", "application/json"}});
    EXPECT_EQ(res.status, 200) << res.body;
    const auto set = HeaderOf(res, "Set-Cookie");
    EXPECT_NE(set.find("HttpOnly"), std::string::npos);
    EXPECT_NE(set.find("SameSite=Strict"), std::string::npos);
    EXPECT_EQ(HeaderOf(res, "Cache-Control"), "no-store");
    const auto body = json::parse(res.body, nullptr, false);
    EXPECT_EQ(body.dump().find(token), std::string::npos);
    return {set.substr(0, set.find(';')), body.value("csrf", ""), body.value("role", "")};
  }
};

TEST_F(DashboardTest, SignInGivesACookieAndTheRoleOfTheToken) {
  EXPECT_EQ(SignIn(kAdmin).role, "admin");
  EXPECT_EQ(SignIn(kViewer).role, "viewer");
}

TEST_F(DashboardTest, AWrongOrMalformedSignInIsRefused) {
  auto res = Send("POST", "/ui/api/session", R"({"token":"nope-nope-nope-nope"})",
                  {{"content-type", "application/json"}});
  EXPECT_EQ(res.status, 401);
  EXPECT_TRUE(HeaderOf(res, "Set-Cookie").empty());
  // A form post from another site arrives as text/plain or a form encoding.
  res = Send("POST", "/ui/api/session", json{{"token", kAdmin}}.dump(),
             {{"content-type", "text/plain"}});
  EXPECT_EQ(res.status, 400);
  EXPECT_NE(res.body.find("application/json"), std::string::npos);
  res = Send("POST", "/ui/api/session", R"({"token":5})", {{"content-type", "application/json"}});
  EXPECT_EQ(res.status, 400);
  res = Send("POST", "/ui/api/session", "not json", {{"content-type", "application/json"}});
  EXPECT_EQ(res.status, 400);
  res = Send("GET", "/metrics");
  EXPECT_NE(res.body.find("steward_controller_auth_failures_total 1"), std::string::npos)
      << res.body;
}

TEST_F(DashboardTest, TheAdminApiAcceptsASessionAndChecksCsrfOnChanges) {
  auto admin = SignIn(kAdmin);
  auto res = Send("GET", "/v1/admin/rollouts", "", {{"cookie", admin.cookie}});
  EXPECT_EQ(res.status, 200) << res.body;
  const std::string change = R"({"percent":"lots"})";
  res = Send("PUT", "/v1/admin/rollouts/agent/stable", change, {{"cookie", admin.cookie}});
  EXPECT_EQ(res.status, 403) << res.body;
  EXPECT_NE(res.body.find("CSRF"), std::string::npos);
  auto wrong = admin.csrf;
  wrong[0] = wrong[0] == '0' ? '1' : '0';  // one digit off
  res = Send("PUT", "/v1/admin/rollouts/agent/stable", change,
             {{"cookie", admin.cookie}, {"x-steward-csrf", wrong}});
  EXPECT_EQ(res.status, 403) << res.body;
  // Past authorization, the handler judges the body.
  res = Send("PUT", "/v1/admin/rollouts/agent/stable", change,
             {{"cookie", admin.cookie}, {"x-steward-csrf", admin.csrf}});
  EXPECT_EQ(res.status, 400) << res.body;
}

TEST_F(DashboardTest, AViewerReadsTheApiButEveryChangeIsRefused) {
  auto viewer = SignIn(kViewer);
  EXPECT_EQ(Send("GET", "/v1/admin/fleet", "", {{"cookie", viewer.cookie}}).status, 200);
  EXPECT_EQ(Send("GET", "/v1/admin/nodes", "", {{"cookie", viewer.cookie}}).status, 200);
  auto res = Send("PUT", "/v1/admin/rollouts/agent/stable", R"({"paused":true})",
                  {{"cookie", viewer.cookie}, {"x-steward-csrf", viewer.csrf}});
  EXPECT_EQ(res.status, 403) << res.body;
  EXPECT_EQ(json::parse(res.body)["error"]["code"], "forbidden");
  res = Send("PUT", "/v1/admin/flags", R"({})",
             {{"cookie", viewer.cookie}, {"x-steward-csrf", viewer.csrf}});
  EXPECT_EQ(res.status, 403) << res.body;
  // The viewer token is no bearer token for the API.
  res = Send("GET", "/v1/admin/fleet", "", {{"authorization", std::string("Bearer ") + kViewer}});
  EXPECT_EQ(res.status, 401);
}

TEST_F(DashboardTest, SignOutEndsTheSessionForTheApiToo) {
  auto admin = SignIn(kAdmin);
  auto res = Send("GET", "/ui/api/session", "", {{"cookie", admin.cookie}});
  ASSERT_EQ(res.status, 200);
  EXPECT_EQ(json::parse(res.body)["csrf"], admin.csrf);
  EXPECT_EQ(Send("DELETE", "/ui/api/session", "", {{"cookie", admin.cookie}}).status, 403);
  res = Send("DELETE", "/ui/api/session", "",
             {{"cookie", admin.cookie}, {"x-steward-csrf", admin.csrf}});
  EXPECT_EQ(res.status, 200) << res.body;
  EXPECT_NE(HeaderOf(res, "Set-Cookie").find("Max-Age=0"), std::string::npos);
  EXPECT_EQ(Send("GET", "/ui/api/session", "", {{"cookie", admin.cookie}}).status, 401);
  EXPECT_EQ(Send("GET", "/v1/admin/fleet", "", {{"cookie", admin.cookie}}).status, 401);
  // A viewer can sign itself out.
  auto viewer = SignIn(kViewer);
  EXPECT_EQ(Send("DELETE", "/ui/api/session", "",
                 {{"cookie", viewer.cookie}, {"x-steward-csrf", viewer.csrf}})
                .status,
            200);
}

TEST_F(DashboardTest, TheBearerTokenStillWorksAndItsAbsenceIsExplained) {
  EXPECT_EQ(Send("GET", "/v1/admin/fleet", "", {{"authorization", std::string("Bearer ") + kAdmin}})
                .status,
            200);
  auto res = Send("GET", "/v1/admin/fleet");
  EXPECT_EQ(res.status, 401);
  EXPECT_NE(res.body.find("Authorization: Bearer"), std::string::npos) << res.body;
  res = Send("GET", "/v1/admin/fleet", "", {{"cookie", "steward_session=forged"}});
  EXPECT_EQ(res.status, 401);
  EXPECT_NE(res.body.find("sign in again"), std::string::npos) << res.body;
}

TEST_F(DashboardTest, ThePageIsServedWithItsSecurityHeadersAndAStrongEtag) {
  auto res = Send("GET", "/ui/");
  ASSERT_EQ(res.status, 200) << res.body;
  EXPECT_EQ(res.content_type, "text/html; charset=utf-8");
  const auto csp = HeaderOf(res, "Content-Security-Policy");
  EXPECT_NE(csp.find("default-src 'none'"), std::string::npos);
  EXPECT_NE(csp.find("script-src 'self'"), std::string::npos);
  EXPECT_NE(csp.find("frame-ancestors 'none'"), std::string::npos);
  EXPECT_EQ(csp.find("unsafe"), std::string::npos);
  EXPECT_EQ(HeaderOf(res, "X-Content-Type-Options"), "nosniff");
  EXPECT_EQ(HeaderOf(res, "Referrer-Policy"), "no-referrer");
  const auto etag = HeaderOf(res, "ETag");
  ASSERT_EQ(etag.size(), 66u);  // a quoted SHA-256
  res = Send("GET", "/ui/", "", {{"if-none-match", etag}});
  EXPECT_EQ(res.status, 304);
  EXPECT_TRUE(res.body.empty());
  res = Send("GET", "/ui");
  EXPECT_EQ(res.status, 308);
  EXPECT_EQ(HeaderOf(res, "Location"), "/ui/");
  res = Send("GET", "/ui/nothing.js");
  EXPECT_EQ(res.status, 404);
  EXPECT_EQ(HeaderOf(res, "X-Content-Type-Options"), "nosniff");
}

TEST(UiAssets, EveryFileHasATypeAndItsHashAsEtag) {
  ASSERT_FALSE(UiAssets().empty());
  std::string_view previous;
  for (const auto& a : UiAssets()) {
    EXPECT_LT(previous, a.name);
    previous = a.name;
    EXPECT_FALSE(a.content_type.empty()) << a.name;
    EXPECT_FALSE(a.bytes.empty()) << a.name;
    EXPECT_EQ(a.etag.size(), 66u) << a.name;
  }
}

// A config whose root and token files load, with a viewer token file holding `viewer`.
Config ViewerConfig(test::TempDir& dir, const std::string& viewer) {
  const auto key = minisign::SecretKey::Generate();
  json root{{"schema", "steward.root/1"},
            {"version", 1},
            {"expires", FormatRfc3339(std::chrono::system_clock::now() + std::chrono::hours(24))},
            {"keys", {{"k", key.public_key().ToBase64()}}},
            {"roles",
             {{"root", {{"keys", {"k"}}, {"threshold", 1}}},
              {"release", {{"keys", {"k"}}, {"threshold", 1}}}}}};
  Config cfg;
  cfg.root = dir.Write("root.json", root.dump());
  auto sig = minisign::SignBytes(key, root.dump(), minisign::DefaultTrustedComment(0, "root"));
  EXPECT_TRUE(sig);
  dir.Write("root.json.k.minisig", sig->ToFile());
  cfg.admin_token_file = dir.Write("admin-token", std::string(kAdmin) + "\n");
  cfg.enroll_token_file = dir.Write("enroll-token", "enroll-token-0123456789abcdef\n");
  cfg.viewer_token_file = dir.Write("viewer-token", "# viewers\n" + viewer + "\n");
  return cfg;
}

TEST(DashboardConfig, ViewerTokensAreReadFromTheirFile) {
  test::TempDir dir;
  auto cfg = ViewerConfig(dir, kViewer);
  cfg.tls_cert_file = "cert.pem";
  auto opt = LoadServiceOptions(cfg);
  ASSERT_TRUE(opt) << opt.error().message;
  EXPECT_EQ(opt->viewer_tokens, std::vector<std::string>{kViewer});
  EXPECT_TRUE(opt->tls);
  cfg.viewer_token_file.clear();  // the key is optional
  opt = LoadServiceOptions(cfg);
  ASSERT_TRUE(opt) << opt.error().message;
  EXPECT_TRUE(opt->viewer_tokens.empty());
}

TEST(DashboardConfig, AViewerTokenThatIsAnAdminTokenIsRefused) {
  test::TempDir dir;
  auto opt = LoadServiceOptions(ViewerConfig(dir, kAdmin));
  ASSERT_FALSE(opt);
  EXPECT_EQ(opt.error().code, ErrorCode::config_invalid);
  EXPECT_NE(opt.error().message.find("viewer-token"), std::string::npos) << opt.error().message;
  EXPECT_NE(opt.error().message.find("must differ from every admin token"), std::string::npos);
}

TEST(DashboardConfig, AMissingOrShortViewerTokenFileIsNamed) {
  test::TempDir dir;
  auto cfg = ViewerConfig(dir, "short");
  auto opt = LoadServiceOptions(cfg);
  ASSERT_FALSE(opt);
  EXPECT_NE(opt.error().message.find("viewer-token"), std::string::npos) << opt.error().message;
  cfg.viewer_token_file = (dir / "absent").string();
  opt = LoadServiceOptions(cfg);
  ASSERT_FALSE(opt);
  EXPECT_NE(opt.error().message.find("absent"), std::string::npos) << opt.error().message;
}

TEST(DashboardConfig, TheKeyIsReadFromControllerToml) {
  auto cfg = ParseConfig("viewer_token_file = \"/etc/steward/viewer-token\"\n", "c.toml");
  ASSERT_TRUE(cfg) << cfg.error().message;
  EXPECT_EQ(cfg->viewer_token_file, "/etc/steward/viewer-token");
  EXPECT_TRUE(ParseConfig("", "c.toml")->viewer_token_file.empty());
}

}  // namespace
}  // namespace steward::controller
