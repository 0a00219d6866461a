// The check-in client against a loopback server whose answers the test writes byte by byte:
// machine id, the request body, and every way an answer can be broken. A broken answer is an
// error naming what was wrong, and the caller's state stays as it was.
#include "updater/checkin.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tests/support/hostile_server.hpp"
#include "tests/support/temp_dir.hpp"
#include "updater/exit_status.hpp"

namespace steward::updater {
namespace {

using nlohmann::json;
using test::HostileConn;
using test::HostileRequest;
using test::HostileServer;
using namespace std::chrono_literals;

bool IsLowerHex(const std::string& s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

HostileServer::Handler Reply(int status, std::string content_type, std::string body) {
  return [=](const HostileRequest&, HostileConn& conn) {
    conn.Send("HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Type: " + content_type +
              "\r\nContent-Length: " + std::to_string(body.size()) +
              "\r\nConnection: close\r\n\r\n" + body);
  };
}

HostileServer::Handler Json(std::string body) {
  return Reply(200, "application/json", std::move(body));
}

const char* kGoodAnswer =
    R"({"releases":[{"component":"agent","channel":"stable","version":"1.2.0",)"
    R"("manifest":"{\"x\": 1}\n","signatures":["sig-a","sig-b"]}],)"
    R"("flags":{"b":true,"a":[1,2]},"controllers":["http://127.0.0.1:1","http://127.0.0.1:2/"],)"
    R"("checkin_interval_s":90,"roots":[]})";

class CheckinHostileTest : public ::testing::Test {
 protected:
  test::TempDir dir;
  HostileServer server{Json(kGoodAnswer)};
  Config config;
  CheckinState state;

  void SetUp() override {
    config.path = "updater.toml";
    config.state_dir = dir.path().string();
    config.controller.emplace();
    config.controller->urls = {Base()};
    config.controller->enroll_token_file = dir.Write("enroll-token", "enroll-token-0123456789\n");
    state.node_id = "n-1";
    state.node_token = "token-1";
    state.controllers = {Base()};
  }

  std::string Base() const { return server.Url(""); }

  Result<CheckinAnswer> CheckIn(CheckinLimits limits = {}) {
    CheckinClient client(config, "0.1.0", limits);
    return client.CheckIn(state, {});
  }

  // Checks in against `handler`: an error with `code` whose message contains `what`, and the
  // state unchanged.
  void ExpectRefused(HostileServer::Handler handler, ErrorCode code, const std::string& what,
                     CheckinLimits limits = {}) {
    server.SetHandler(std::move(handler));
    const CheckinState before = state;
    auto r = CheckIn(limits);
    ASSERT_FALSE(r) << "accepted an answer that should have been refused";
    EXPECT_EQ(r.error().code, code) << r.error().ToString();
    EXPECT_NE(r.error().message.find(what), std::string::npos) << r.error().message;
    EXPECT_NE(r.error().message.find(Base()), std::string::npos) << r.error().message;
    EXPECT_EQ(state, before);
  }
};

TEST(MachineIdTest, StableHexAndDistinctPerStateDir) {
  const auto a = MachineId("/var/lib/steward");
  EXPECT_EQ(a.size(), 64u);
  EXPECT_TRUE(IsLowerHex(a)) << a;
  EXPECT_EQ(a, MachineId("/var/lib/steward"));
  EXPECT_NE(a, MachineId("/var/lib/steward-b"));
}

TEST(MachineIdTest, DoesNotExposeTheRawMachineId) {
  const auto id = MachineId("/var/lib/steward");
  FILE* f = std::fopen("/etc/machine-id", "r");
  if (f == nullptr) GTEST_SKIP() << "no /etc/machine-id here";
  char buf[128] = {};
  const auto n = std::fread(buf, 1, sizeof buf - 1, f);
  std::fclose(f);
  std::string raw(buf, n);
  while (!raw.empty() && raw.back() == '\n') raw.pop_back();
  ASSERT_FALSE(raw.empty());
  EXPECT_EQ(id.find(raw), std::string::npos);
}

TEST(CheckinBodyTest, CarriesEveryField) {
  ComponentReport c;
  c.name = "agent";
  c.channel = "stable";
  c.running_version = "1.2.0";
  c.installed_version = "1.2.0";
  c.previous_version = "1.1.0";
  c.desired_state = "running";
  c.state = "running";
  c.restarts = 3;
  c.crash_loop = true;
  ExitInfo e;
  e.kind = ExitKind::crash;
  e.signal = 11;
  e.at = WallTime{std::chrono::seconds(1767225600)};
  c.last_exit = e;
  c.last_update = UpdateReport{"1.1.0", "1.2.0", UpdateResult::committed, "", "", "", ""};
  ComponentReport bare;
  bare.name = "web";
  bare.channel = "beta";

  const auto body = json::parse(CheckinBody("n-7", "0.3.0", {c, bare}));
  EXPECT_EQ(body["node_id"], "n-7");
  EXPECT_EQ(body["updater"]["version"], "0.3.0");
  ASSERT_EQ(body["components"].size(), 2u);
  const auto& j = body["components"][0];
  EXPECT_EQ(j["name"], "agent");
  EXPECT_EQ(j["channel"], "stable");
  EXPECT_EQ(j["running_version"], "1.2.0");
  EXPECT_EQ(j["installed_version"], "1.2.0");
  EXPECT_EQ(j["previous_version"], "1.1.0");
  EXPECT_EQ(j["desired_state"], "running");
  EXPECT_EQ(j["state"], "running");
  EXPECT_EQ(j["restarts"], 3);
  EXPECT_EQ(j["crash_loop"], true);
  EXPECT_EQ(j["last_exit"]["kind"], "crash");
  EXPECT_EQ(j["last_exit"]["signal"], 11);
  EXPECT_TRUE(j["last_exit"]["code"].is_null());
  EXPECT_EQ(j["last_exit"]["at"], "2026-01-01T00:00:00Z");
  EXPECT_EQ(j["last_update"], json({{"from", "1.1.0"},
                                    {"to", "1.2.0"},
                                    {"result", "committed"},
                                    {"error_code", ""},
                                    {"error", ""}}));
  EXPECT_TRUE(body["components"][1]["last_exit"].is_null());
  EXPECT_TRUE(body["components"][1]["last_update"].is_null());
  EXPECT_EQ(body["host"]["os"], "linux");
  EXPECT_FALSE(body["host"]["arch"].get<std::string>().empty());
  EXPECT_FALSE(body["host"]["kernel"].get<std::string>().empty());
  EXPECT_TRUE(body["host"]["uptime_s"].is_number_integer());
}

TEST(CheckinAnswerTest, ReadsEveryField) {
  auto a = ParseCheckinAnswer(kGoodAnswer, "http://c");
  ASSERT_TRUE(a) << a.error().ToString();
  ASSERT_EQ(a->releases.size(), 1u);
  EXPECT_EQ(a->releases[0].component, "agent");
  EXPECT_EQ(a->releases[0].manifest, "{\"x\": 1}\n");
  EXPECT_EQ(a->releases[0].signatures, (std::vector<std::string>{"sig-a", "sig-b"}));
  EXPECT_EQ(a->flags_json, R"({"a":[1,2],"b":true})");
  EXPECT_EQ(a->interval, Duration(std::chrono::seconds(90)));
  EXPECT_EQ(a->controllers, (std::vector<std::string>{"http://127.0.0.1:1", "http://127.0.0.1:2"}));
}

TEST(CheckinAnswerTest, RootsAreReadStrictly) {
  auto a = ParseCheckinAnswer(R"({"releases":[],"roots":[{"root":"R2","signatures":["s"]}]})", "u");
  ASSERT_TRUE(a) << a.error().ToString();
  ASSERT_EQ(a->roots.size(), 1u);
  EXPECT_EQ(a->roots[0].root, "R2");
  EXPECT_EQ(a->roots[0].signatures, std::vector<std::string>{"s"});
  for (const char* bad : {R"({"releases":[],"roots":{}})", R"({"releases":[],"roots":[7]})",
                          R"({"releases":[],"roots":[{"signatures":[]}]})",
                          R"({"releases":[],"roots":[{"root":"R","signatures":[1]}]})"}) {
    auto r = ParseCheckinAnswer(bad, "http://c");
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, ErrorCode::bad_request) << bad;
    EXPECT_NE(r.error().message.find("roots"), std::string::npos) << r.error().message;
  }
}

TEST(CheckinAnswerTest, ClampsTheInterval) {
  auto low = ParseCheckinAnswer(R"({"releases":[],"checkin_interval_s":0})", "u");
  ASSERT_TRUE(low);
  EXPECT_EQ(low->interval, Duration(std::chrono::seconds(1)));
  auto neg = ParseCheckinAnswer(R"({"releases":[],"checkin_interval_s":-5})", "u");
  ASSERT_TRUE(neg);
  EXPECT_EQ(neg->interval, Duration(std::chrono::seconds(1)));
  auto high =
      ParseCheckinAnswer(R"({"releases":[],"checkin_interval_s":18446744073709551615})", "u");
  ASSERT_TRUE(high);
  EXPECT_EQ(high->interval, Duration(std::chrono::hours(24)));
  auto none = ParseCheckinAnswer(R"({"releases":[]})", "u");
  ASSERT_TRUE(none);
  EXPECT_FALSE(none->interval);
  EXPECT_EQ(none->flags_json, "{}");
}

TEST_F(CheckinHostileTest, GoodAnswerUpdatesTheControllerList) {
  auto r = CheckIn();
  ASSERT_TRUE(r) << r.error().ToString();
  EXPECT_EQ(r->controller, Base());
  EXPECT_EQ(state.controllers,
            (std::vector<std::string>{Base(), "http://127.0.0.1:1", "http://127.0.0.1:2"}));
  EXPECT_EQ(state.node_id, "n-1");
  ASSERT_TRUE(server.WaitForRequests(1, 5000));
  const auto req = server.requests()[0];
  EXPECT_EQ(req.method, "POST");
  EXPECT_EQ(req.target, "/v1/checkin");
  EXPECT_EQ(req.Header("authorization"), "Bearer token-1");
}

TEST_F(CheckinHostileTest, NotJson) {
  ExpectRefused(Json("{\"releases\": ["), ErrorCode::bad_request, "is not JSON");
}

TEST_F(CheckinHostileTest, NotAnObject) {
  ExpectRefused(Json("[1,2]"), ErrorCode::bad_request, "not an object");
}

TEST_F(CheckinHostileTest, DeeplyNested) {
  ExpectRefused(Json(std::string(100000, '[') + std::string(100000, ']')), ErrorCode::bad_request,
                "is a JSON array, not an object");
}

TEST_F(CheckinHostileTest, MissingReleases) {
  ExpectRefused(Json(R"({"flags":{}})"), ErrorCode::bad_request, "lacks releases");
}

TEST_F(CheckinHostileTest, ReleasesOfWrongType) {
  ExpectRefused(Json(R"({"releases":{}})"), ErrorCode::bad_request,
                "releases of type object, not an array");
}

TEST_F(CheckinHostileTest, ReleaseWithoutManifest) {
  ExpectRefused(Json(R"({"releases":[{"component":"a","signatures":[]}]})"), ErrorCode::bad_request,
                "lacks releases[0].manifest");
}

TEST_F(CheckinHostileTest, ManifestNotAString) {
  ExpectRefused(Json(R"({"releases":[{"component":"a","manifest":{},"signatures":[]}]})"),
                ErrorCode::bad_request, "releases[0].manifest of type object, not a string");
}

TEST_F(CheckinHostileTest, SignatureNotAString) {
  ExpectRefused(Json(R"({"releases":[{"component":"a","manifest":"m","signatures":[1]}]})"),
                ErrorCode::bad_request, "releases[0].signatures[0] of type number");
}

TEST_F(CheckinHostileTest, FlagsNotAnObject) {
  ExpectRefused(Json(R"({"releases":[],"flags":"on"})"), ErrorCode::bad_request,
                "flags of type string, not an object");
}

TEST_F(CheckinHostileTest, IntervalNotAnInteger) {
  ExpectRefused(Json(R"({"releases":[],"checkin_interval_s":1.5})"), ErrorCode::bad_request,
                "checkin_interval_s of type number, not an integer");
  ExpectRefused(Json(R"({"releases":[],"checkin_interval_s":"60"})"), ErrorCode::bad_request,
                "checkin_interval_s of type string");
}

TEST_F(CheckinHostileTest, ControllerNotAString) {
  ExpectRefused(Json(R"({"releases":[],"controllers":["http://a",7]})"), ErrorCode::bad_request,
                "controllers[1] of type number");
}

TEST_F(CheckinHostileTest, NonHttpControllersAreDropped) {
  server.SetHandler(Json(R"({"releases":[],"controllers":["ftp://x","file:///etc","https://c"]})"));
  auto r = CheckIn();
  ASSERT_TRUE(r) << r.error().ToString();
  EXPECT_EQ(state.controllers, (std::vector<std::string>{Base(), "https://c"}));
}

TEST_F(CheckinHostileTest, HtmlErrorPage) {
  ExpectRefused(Reply(500, "text/html", "<html><body>Internal Server Error</body></html>"),
                ErrorCode::http_status, "HTTP 500: not a controller error (Content-Type text/html");
}

TEST_F(CheckinHostileTest, HtmlWithStatus200) {
  ExpectRefused(Reply(200, "text/html", "<html>proxy login</html>"), ErrorCode::bad_request,
                "is not JSON (starts \"<html>proxy login");
}

TEST_F(CheckinHostileTest, ControllerErrorIsQuoted) {
  ExpectRefused(
      Reply(503, "application/json", R"({"error":{"code":"unavailable","message":"store down"}})"),
      ErrorCode::http_status, "HTTP 503: unavailable: store down");
}

TEST_F(CheckinHostileTest, OversizedAnswer) {
  CheckinLimits limits;
  limits.max_response_bytes = 64 * 1024;
  ExpectRefused(Json(std::string(R"({"releases":[],"x":")") + std::string(100 * 1024, 'a') + "\"}"),
                ErrorCode::too_large, "", limits);
}

TEST_F(CheckinHostileTest, StalledServer) {
  CheckinLimits limits;
  limits.timeout = 1s;
  ExpectRefused(
      [](const HostileRequest&, HostileConn& conn) {
        conn.Send(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n"
            "\r\n{\"releases\":");
        conn.WaitForPeerClose();
      },
      ErrorCode::http_stalled, "", limits);
}

TEST_F(CheckinHostileTest, TruncatedAnswer) {
  ExpectRefused(
      [](const HostileRequest&, HostileConn& conn) {
        conn.Send(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n"
            "Connection: close\r\n\r\n{\"releases\":[]");
      },
      ErrorCode::http_truncated, "");
}

TEST_F(CheckinHostileTest, EnrollAnswerMissingToken) {
  state = {};
  server.SetHandler([](const HostileRequest& req, HostileConn& conn) {
    const std::string body = req.target == "/v1/enroll" ? R"({"node_id":"n-9"})" : kGoodAnswer;
    conn.Send("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
              std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body);
  });
  auto r = CheckIn();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::bad_request);
  EXPECT_NE(r.error().message.find("lacks node_token"), std::string::npos) << r.error().message;
  EXPECT_EQ(state, CheckinState{});
}

TEST_F(CheckinHostileTest, EnrollRefused) {
  state = {};
  server.SetHandler(
      Reply(401, "application/json", R"({"error":{"code":"unauthorized","message":"bad token"}})"));
  auto r = CheckIn();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::unauthorized);
  EXPECT_NE(r.error().message.find("refused the enroll token in " +
                                   config.controller->enroll_token_file + "; check it"),
            std::string::npos)
      << r.error().message;
  EXPECT_EQ(state, CheckinState{});
}

TEST_F(CheckinHostileTest, MissingEnrollTokenFile) {
  state = {};
  config.controller->enroll_token_file = (dir / "absent").string();
  auto r = CheckIn();
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("absent"), std::string::npos) << r.error().message;
  EXPECT_EQ(server.requests().size(), 0u);
}

TEST_F(CheckinHostileTest, EnrollSendsMachineIdAndPlatform) {
  state = {};
  std::string seen;
  server.SetHandler([](const HostileRequest& req, HostileConn& conn) {
    const std::string body = req.target == "/v1/enroll"
                                 ? R"({"node_id":"n-9","node_token":"tok-9"})"
                                 : std::string(kGoodAnswer);
    conn.Send("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
              std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body);
  });
  auto r = CheckIn();
  ASSERT_TRUE(r) << r.error().ToString();
  EXPECT_EQ(state.node_id, "n-9");
  EXPECT_EQ(state.node_token, "tok-9");
  const auto reqs = server.requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(reqs[0].target, "/v1/enroll");
  EXPECT_EQ(reqs[1].target, "/v1/checkin");
  EXPECT_EQ(reqs[1].Header("authorization"), "Bearer tok-9");
}

TEST_F(CheckinHostileTest, FailsOverInOrderAndNamesEveryUrl) {
  HostileServer second{Reply(500, "text/plain", "boom")};
  HostileServer seed{Reply(502, "text/plain", "bad gateway")};
  state.controllers = {Base(), second.Url("")};
  config.controller->urls = {seed.Url(""), Base()};
  server.SetHandler(Json("nope"));
  const CheckinState before = state;
  auto r = CheckIn();
  ASSERT_FALSE(r);
  const auto& m = r.error().message;
  const auto a = m.find(Base()), b = m.find(second.Url("")), c = m.find(seed.Url(""));
  ASSERT_NE(a, std::string::npos) << m;
  ASSERT_NE(b, std::string::npos) << m;
  ASSERT_NE(c, std::string::npos) << m;
  EXPECT_LT(a, b);
  EXPECT_LT(b, c);
  EXPECT_NE(m.find("is not JSON"), std::string::npos) << m;
  EXPECT_NE(m.find("HTTP 502"), std::string::npos) << m;
  EXPECT_EQ(r.error().code, ErrorCode::http_status);
  EXPECT_EQ(state, before);
  EXPECT_EQ(server.requests().size(), 1u);  // the seed already listed is tried once

  // The seed answers: it goes first, the rest follows the answer's list.
  seed.SetHandler(Json(R"({"releases":[],"controllers":[]})"));
  auto ok = CheckIn();
  ASSERT_TRUE(ok) << ok.error().ToString();
  EXPECT_EQ(ok->controller, seed.Url(""));
  EXPECT_EQ(state.controllers, std::vector<std::string>{seed.Url("")});
}

TEST_F(CheckinHostileTest, ReEnrollsOnceOn401) {
  int checkins = 0;
  server.SetHandler([&checkins](const HostileRequest& req, HostileConn& conn) {
    std::string status = "200 OK", body;
    if (req.target == "/v1/enroll") {
      body = R"({"node_id":"n-2","node_token":"token-2"})";
    } else if (req.Header("authorization") != "Bearer token-2") {
      status = "401 Unauthorized";
      body = R"({"error":{"code":"unauthorized","message":"enroll again"}})";
    } else {
      ++checkins;
      body = R"({"releases":[]})";
    }
    conn.Send("HTTP/1.1 " + status + "\r\nContent-Type: application/json\r\nContent-Length: " +
              std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body);
  });
  auto r = CheckIn();
  ASSERT_TRUE(r) << r.error().ToString();
  EXPECT_EQ(checkins, 1);
  EXPECT_EQ(state.node_id, "n-2");
  EXPECT_EQ(state.node_token, "token-2");
  EXPECT_EQ(server.requests().size(), 3u);
}

TEST_F(CheckinHostileTest, A401AfterEnrollingIsNotRetriedForever) {
  server.SetHandler([](const HostileRequest& req, HostileConn& conn) {
    std::string status = "401 Unauthorized",
                body = R"({"error":{"code":"unauthorized","message":"no"}})";
    if (req.target == "/v1/enroll") {
      status = "200 OK";
      body = R"({"node_id":"n-2","node_token":"token-2"})";
    }
    conn.Send("HTTP/1.1 " + status + "\r\nContent-Type: application/json\r\nContent-Length: " +
              std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body);
  });
  const CheckinState before = state;
  auto r = CheckIn();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::unauthorized);
  EXPECT_NE(r.error().message.find("just issued"), std::string::npos) << r.error().message;
  EXPECT_EQ(state, before);
  EXPECT_EQ(server.requests().size(), 3u);
}

TEST_F(CheckinHostileTest, NoControllerSection) {
  config.controller.reset();
  auto r = CheckIn();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::config_invalid);
  EXPECT_NE(r.error().message.find("[controller]"), std::string::npos);
}

}  // namespace
}  // namespace steward::updater
