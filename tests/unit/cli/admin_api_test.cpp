// stewardctl's admin API call against a loopback server whose answers the test writes: the
// controller's error envelope becomes an Error with its code and message, anything else an
// http_status error quoting the answer, and the request carries the admin token.
#include "cli/admin_api.hpp"

#include <gtest/gtest.h>

#include "tests/support/hostile_server.hpp"
#include "tests/support/temp_dir.hpp"

namespace steward::cli {
namespace {

using test::HostileConn;
using test::HostileRequest;
using test::HostileServer;

HostileServer::Handler Reply(int status, std::string body) {
  return [=](const HostileRequest&, HostileConn& conn) {
    conn.Send("HTTP/1.1 " + std::to_string(status) +
              " X\r\nContent-Type: application/json\r\nContent-Length: " +
              std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body);
  };
}

class AdminApiTest : public ::testing::Test {
 protected:
  test::TempDir dir;
  HostileServer server{Reply(200, R"({"releases":[]})")};
  Connection conn{server.Url(""), dir.Write("admin-token", "admin-token-0123456789\n"), ""};
};

TEST_F(AdminApiTest, SendsTheTokenAndReturnsTheAnswer) {
  auto r = Call(conn, "POST", "/v1/admin/releases", R"({"manifest":"m","signatures":["s"]})");
  ASSERT_TRUE(r) << r.error().ToString();
  EXPECT_EQ((*r)["releases"], nlohmann::json::array());
  ASSERT_TRUE(server.WaitForRequests(1, 5000));
  const auto req = server.requests()[0];
  EXPECT_EQ(req.target, "/v1/admin/releases");
  EXPECT_EQ(req.Header("authorization"), "Bearer admin-token-0123456789");
  EXPECT_EQ(req.Header("content-type"), "application/json");
}

TEST_F(AdminApiTest, TheControllersErrorKeepsItsCodeAndMessage) {
  server.SetHandler(Reply(409, R"({"error":{"code":"already_exists","message":"version taken"}})"));
  auto r = Call(conn, "GET", "/v1/admin/releases");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::already_exists);
  EXPECT_EQ(r.error().message, "version taken (HTTP 409)");
}

TEST_F(AdminApiTest, AnErrorWithAnUnknownCodeOrOddFieldsIsAnHttpStatusError) {
  server.SetHandler(Reply(500, R"({"error":{"code":"from_the_future","message":"later"}})"));
  auto future = Call(conn, "GET", "/v1/admin/fleet");
  ASSERT_FALSE(future);
  EXPECT_EQ(future.error().code, ErrorCode::http_status);
  EXPECT_EQ(future.error().message, "later (HTTP 500)");

  server.SetHandler(Reply(400, R"({"error":{"code":7,"message":["x"]}})"));
  auto odd = Call(conn, "GET", "/v1/admin/fleet");
  ASSERT_FALSE(odd);
  EXPECT_EQ(odd.error().code, ErrorCode::http_status);
  EXPECT_EQ(odd.error().message, " (HTTP 400)");
}

TEST_F(AdminApiTest, AnythingElseIsQuoted) {
  server.SetHandler(Reply(502, "bad gateway"));
  auto r = Call(conn, "GET", "/v1/admin/fleet");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::http_status);
  EXPECT_EQ(r.error().message, "controller answered HTTP 502: bad gateway");

  server.SetHandler(Reply(200, "<html>"));
  auto html = Call(conn, "GET", "/v1/admin/fleet");
  ASSERT_FALSE(html);
  EXPECT_EQ(html.error().code, ErrorCode::bad_request);
}

TEST_F(AdminApiTest, NoControllerOrTokenIsAUsageError) {
  auto none = Call(Connection{}, "GET", "/v1/admin/fleet");
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code, ErrorCode::usage);
  ::unsetenv("STEWARD_TOKEN");
  auto no_token = Call(Connection{server.Url(""), "", ""}, "GET", "/v1/admin/fleet");
  ASSERT_FALSE(no_token);
  EXPECT_EQ(no_token.error().code, ErrorCode::usage);
  EXPECT_TRUE(server.requests().empty());
}

TEST(AdminApiCells, CellsAndUrlEncoding) {
  const auto j = nlohmann::json::parse(R"({"s":"x","n":null,"f":25.0,"h":0.5,"i":3,"b":true})");
  EXPECT_EQ(Cell(j, "s"), "x");
  EXPECT_EQ(Cell(j, "n"), "-");
  EXPECT_EQ(Cell(j, "absent"), "-");
  EXPECT_EQ(Cell(j, "f"), "25");
  EXPECT_EQ(Cell(j, "h"), "0.5");
  EXPECT_EQ(Cell(j, "i"), "3");
  EXPECT_EQ(Cell(j, "b"), "true");
  EXPECT_EQ(UrlEncode("a b/c_d.e-f"), "a%20b%2Fc_d.e-f");
}

}  // namespace
}  // namespace steward::cli
