// The HTTP client's download hooks against a raw loopback server: the head check before the
// first body byte, the progress callback, the cap on an announced length, truncated bodies.
#include <gtest/gtest.h>

#include "common/http_client.hpp"
#include "tests/support/hostile_server.hpp"

namespace steward::http {
namespace {

using test::HostileConn;
using test::HostileRequest;
using test::HostileServer;

HostileServer::Handler Raw(std::string bytes) {
  return [bytes](const HostileRequest&, HostileConn& c) { c.Send(bytes); };
}

TEST(HttpDownload, HeadCheckSeesTheFinalResponseAfterRedirects) {
  HostileServer* self = nullptr;
  HostileServer srv([&](const HostileRequest& req, HostileConn& c) {
    if (req.target == "/a") {
      c.Send("HTTP/1.1 302 Found\r\nLocation: " + self->Url("/b") +
             "\r\nContent-Length: 8\r\nConnection: close\r\n\r\nredirect");
    } else {
      c.Send(
          "HTTP/1.1 200 OK\r\nETag: \"e\"\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello");
    }
  });
  self = &srv;
  ClientOptions o;
  o.allow_insecure_http = true;
  Client client(o);
  std::vector<long> seen;
  std::string got;
  RequestSpec spec;
  spec.url = srv.Url("/a");
  spec.on_head = [&](const ClientResponse& head) -> Result<void> {
    seen.push_back(head.status);
    EXPECT_EQ(head.Header("etag"), "\"e\"");
    EXPECT_TRUE(got.empty());
    return {};
  };
  spec.sink = [&](std::string_view chunk) -> Result<void> {
    got.append(chunk);
    return {};
  };
  auto r = client.Perform(spec);
  ASSERT_TRUE(r) << r.error().ToString();
  EXPECT_EQ(seen, std::vector<long>{200});
  EXPECT_EQ(got, "hello");
}

TEST(HttpDownload, HeadCheckErrorStopsTheBody) {
  HostileServer srv(
      Raw("HTTP/1.1 500 Oops\r\nContent-Length: 5\r\nConnection: close\r\n\r\nerror"));
  Client client;
  bool sink_called = false;
  RequestSpec spec;
  spec.url = srv.Url();
  spec.on_head = [](const ClientResponse& head) -> Result<void> {
    return Fail(ErrorCode::http_status, "status " + std::to_string(head.status));
  };
  spec.sink = [&](std::string_view) -> Result<void> {
    sink_called = true;
    return {};
  };
  auto r = client.Perform(spec);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::http_status);
  EXPECT_EQ(r.error().message, "status 500");
  EXPECT_FALSE(sink_called);
}

TEST(HttpDownload, HeadCheckRunsWhenThereIsNoBody) {
  HostileServer srv(Raw("HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n"));
  Client client;
  long status = 0;
  RequestSpec spec;
  spec.url = srv.Url();
  spec.on_head = [&](const ClientResponse& head) -> Result<void> {
    status = head.status;
    return {};
  };
  ASSERT_TRUE(client.Perform(spec));
  EXPECT_EQ(status, 204);
}

TEST(HttpDownload, AnnouncedLengthAboveTheCapFailsBeforeTheBody) {
  HostileServer srv(Raw("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\nConnection: close\r\n\r\n" +
                        std::string(1000, 'x')));
  Client client;
  bool sink_called = false;
  RequestSpec spec;
  spec.url = srv.Url();
  spec.max_bytes = 100;
  spec.sink = [&](std::string_view) -> Result<void> {
    sink_called = true;
    return {};
  };
  auto r = client.Perform(spec);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::too_large);
  EXPECT_NE(r.error().message.find("announces 1000 bytes"), std::string::npos);
  EXPECT_FALSE(sink_called);
}

TEST(HttpDownload, HeadOfAResourceLargerThanTheCapAnswersItsLength) {
  HostileServer srv(
      Raw("HTTP/1.1 200 OK\r\nContent-Length: 44812472\r\nConnection: close\r\n\r\n"));
  Client client;
  RequestSpec spec;
  spec.method = "HEAD";
  spec.url = srv.Url();
  spec.max_bytes = 100;
  auto r = client.Perform(spec);
  ASSERT_TRUE(r) << r.error().ToString();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->Header("content-length"), "44812472");
}

TEST(HttpDownload, TruncatedBodyIsHttpTruncated) {
  HostileServer srv(
      Raw("HTTP/1.1 200 OK\r\nContent-Length: 100\r\nConnection: close\r\n\r\nonly this"));
  Client client;
  auto r = client.Get(srv.Url());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::http_truncated);
  EXPECT_NE(r.error().message.find("91 bytes remaining"), std::string::npos) << r.error().message;
}

TEST(HttpDownload, ProgressReportsBytesAndAnnouncedTotal) {
  HostileServer srv(HostileServer::ServeFile(std::string(300000, 'p')));
  Client client;
  std::uint64_t last = 0;
  std::uint64_t total = 0;
  RequestSpec spec;
  spec.url = srv.Url();
  spec.max_bytes = 300000;
  spec.sink = [](std::string_view) -> Result<void> { return {}; };
  spec.progress = [&](std::uint64_t received, std::uint64_t announced) {
    EXPECT_GE(received, last);
    last = received;
    total = announced;
  };
  ASSERT_TRUE(client.Perform(spec));
  EXPECT_EQ(last, 300000u);
  EXPECT_EQ(total, 300000u);
}

}  // namespace
}  // namespace steward::http
