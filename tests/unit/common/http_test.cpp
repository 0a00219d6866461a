// The HTTP server and client against each other on loopback and over a unix socket.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio.hpp>
#include <future>
#include <nlohmann/json.hpp>
#include <thread>

#include "common/http_client.hpp"
#include "common/http_server.hpp"
#include "tests/support/temp_dir.hpp"

namespace steward::http {
namespace {

using namespace std::chrono_literals;

Router TestRouter() {
  Router r;
  r.Add("GET", "/healthz", [](const Request&) { return Response::Json(200, R"({"ok":true})"); })
      .Add("POST", "/echo", [](const Request& req) { return Response::Text(200, req.body); })
      .Add("GET", "/v1/nodes/{id}",
           [](const Request& req) {
             return Response::Json(200, nlohmann::json{{"id", req.params.at("id")},
                                                       {"q", req.Query("x").value_or("-")},
                                                       {"token", req.BearerToken()}}
                                            .dump());
           })
      .Add("GET", "/throw", [](const Request&) -> Response { throw std::runtime_error("boom"); })
      .Add("GET", "/uid", [](const Request& req) {
        return Response::Text(200, req.peer_uid ? std::to_string(*req.peer_uid) : "none");
      });
  return r;
}

struct Running {
  std::unique_ptr<Server> server;
  std::string base;
  explicit Running(Router router, ServerOptions options = {}) {
    auto s = Server::ListenTcp({"127.0.0.1", 0}, std::move(router), options);
    EXPECT_TRUE(s) << s.error().message;
    server = std::move(*s);
    server->Start();
    base = "http://" + server->address();
  }
  ~Running() { server->Stop(1s); }
};

TEST(Http, RoutesParamsQueryAndBearer) {
  Running srv(TestRouter());
  Client client;
  auto r = client.Get(srv.base + "/healthz");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, R"({"ok":true})");
  EXPECT_EQ(r->Header("content-type"), "application/json");

  auto n = client.Get(srv.base + "/v1/nodes/ab%20c?x=1%2B1&y=2", "tok");
  ASSERT_TRUE(n);
  auto j = nlohmann::json::parse(n->body);
  EXPECT_EQ(j["id"], "ab c");
  EXPECT_EQ(j["q"], "1+1");
  EXPECT_EQ(j["token"], "tok");

  auto e = client.PostJson(srv.base + "/echo", R"({"a":1})");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->body, R"({"a":1})");
}

TEST(Http, UnknownRouteWrongMethodAndThrowingHandler) {
  Running srv(TestRouter());
  Client client;
  auto missing = client.Get(srv.base + "/nope").value();
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(nlohmann::json::parse(missing.body)["error"]["code"], "route_not_found");
  auto wrong = client.PostJson(srv.base + "/healthz", "{}").value();
  EXPECT_EQ(wrong.status, 405);
  EXPECT_EQ(nlohmann::json::parse(wrong.body)["error"]["code"], "method_not_allowed");
  auto boom = client.Get(srv.base + "/throw").value();
  EXPECT_EQ(boom.status, 500);
  // The server keeps serving.
  EXPECT_EQ(client.Get(srv.base + "/healthz").value().status, 200);
}

TEST(Http, OversizeBodyAndHeadersAreRejected) {
  ServerOptions options;
  options.max_body = 1024;
  options.max_header = 2048;
  Running srv(TestRouter(), options);
  Client client;
  auto big = client.PostJson(srv.base + "/echo", std::string(4096, 'x')).value();
  EXPECT_EQ(big.status, 413);
  EXPECT_EQ(nlohmann::json::parse(big.body)["error"]["code"], "payload_too_large");
  RequestSpec spec;
  spec.url = srv.base + "/healthz";
  spec.headers.push_back("X-Big: " + std::string(4096, 'y'));
  auto hdr = client.Perform(spec).value();
  EXPECT_EQ(hdr.status, 431);
}

// Sends raw bytes and returns whatever the server answers before closing.
std::string RawExchange(std::uint16_t port, const std::string& bytes) {
  boost::asio::io_context ioc;
  boost::asio::ip::tcp::socket sock(ioc);
  sock.connect({boost::asio::ip::make_address("127.0.0.1"), port});
  boost::asio::write(sock, boost::asio::buffer(bytes));
  std::string out;
  boost::system::error_code ec;
  char buf[4096];
  for (;;) {
    const auto n = sock.read_some(boost::asio::buffer(buf), ec);
    if (ec) break;
    out.append(buf, n);
  }
  return out;
}

TEST(Http, MalformedRequestGetsA400AndTheServerSurvives) {
  Running srv(TestRouter());
  const auto answer = RawExchange(srv.server->port(), "GARBAGE\x01\x02 / HTTP/9.9\r\n\r\n");
  EXPECT_NE(answer.find("400"), std::string::npos) << answer;
  EXPECT_NE(answer.find("bad_request"), std::string::npos) << answer;
  Client client;
  EXPECT_EQ(client.Get(srv.base + "/healthz").value().status, 200);
}

TEST(Http, SlowClientTimesOut) {
  ServerOptions options;
  options.idle_timeout = 200ms;
  Running srv(TestRouter(), options);
  // Half a request line, then nothing: the server closes the connection by itself.
  const auto start = std::chrono::steady_clock::now();
  boost::asio::io_context ioc;
  boost::asio::ip::tcp::socket sock(ioc);
  sock.connect({boost::asio::ip::make_address("127.0.0.1"), srv.server->port()});
  boost::asio::write(sock, boost::asio::buffer(std::string("GET /heal")));
  char buf[16];
  boost::system::error_code ec;
  sock.read_some(boost::asio::buffer(buf), ec);
  EXPECT_TRUE(ec);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
}

TEST(Http, ServesFilesWithRanges) {
  test::TempDir dir;
  std::string content;
  for (int i = 0; i < 300000; ++i) content.push_back(static_cast<char>('a' + i % 26));
  const auto path = dir.Write("blob", content);
  Router router;
  router.Add("GET", "/blob", [&](const Request&) { return Response::File(path); });
  Running srv(std::move(router));
  Client client;
  auto get = client.Get(srv.base + "/blob");
  ASSERT_TRUE(get) << get.error().ToString();
  const auto& whole = *get;
  EXPECT_EQ(whole.status, 200);
  EXPECT_EQ(whole.body, content);
  EXPECT_EQ(whole.Header("accept-ranges"), "bytes");

  // Every request must get an answer; a transport error names itself.
  auto perform = [&](const RequestSpec& s) {
    auto r = client.Perform(s);
    EXPECT_TRUE(r) << s.headers.back() << ": " << (r ? "" : r.error().ToString());
    return r.value_or(ClientResponse{});
  };
  RequestSpec spec;
  spec.url = srv.base + "/blob";
  spec.headers.push_back("Range: bytes=100000-");
  auto tail = perform(spec);
  EXPECT_EQ(tail.status, 206);
  EXPECT_EQ(tail.body, content.substr(100000));
  EXPECT_EQ(tail.Header("content-range"), "bytes 100000-299999/300000");

  spec.headers = {"Range: bytes=999999-"};
  EXPECT_EQ(perform(spec).status, 416);

  // A hostile end that would overflow is clamped to the file's end.
  spec.headers = {"Range: bytes=299990-18446744073709551615"};
  auto clamped = perform(spec);
  EXPECT_EQ(clamped.status, 206);
  EXPECT_EQ(clamped.body, content.substr(299990));
  EXPECT_EQ(clamped.Header("content-range"), "bytes 299990-299999/300000");
  spec.headers = {"Range: bytes=10-5"};
  EXPECT_EQ(perform(spec).status, 416);
}

TEST(Http, ClientCapsResponseBytes) {
  Router router;
  router.Add("GET", "/big",
             [](const Request&) { return Response::Text(200, std::string(10000, 'z')); });
  Running srv(std::move(router));
  ClientOptions options;
  options.max_response_bytes = 1000;
  Client client(options);
  auto r = client.Get(srv.base + "/big");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::too_large);
}

TEST(Http, ClientRefusesPlainHttpBeyondLoopbackAndOtherSchemes) {
  Client client;
  EXPECT_EQ(client.CheckUrl("http://example.com/x").error().code, ErrorCode::http_scheme);
  EXPECT_NE(client.CheckUrl("http://example.com/x").error().message.find("allow_insecure_http"),
            std::string::npos);
  EXPECT_EQ(client.CheckUrl("ftp://127.0.0.1/x").error().code, ErrorCode::http_scheme);
  EXPECT_EQ(client.CheckUrl("file:///etc/passwd").error().code, ErrorCode::http_scheme);
  EXPECT_EQ(client.CheckUrl("not a url").error().code, ErrorCode::invalid_argument);
  EXPECT_TRUE(client.CheckUrl("https://example.com/x"));
  EXPECT_TRUE(client.CheckUrl("http://127.0.0.1:8080/x"));
  EXPECT_TRUE(client.CheckUrl("http://127.5.5.5/x"));
  EXPECT_TRUE(client.CheckUrl("http://[::1]:80/x"));
  EXPECT_TRUE(client.CheckUrl("http://localhost/x"));
  ClientOptions dev;
  dev.allow_insecure_http = true;
  EXPECT_TRUE(Client(dev).CheckUrl("http://example.com/x"));
}

TEST(Http, ClientReportsConnectionRefused) {
  // Bind then close to find a port nothing listens on.
  std::uint16_t port = 0;
  {
    boost::asio::io_context ioc;
    boost::asio::ip::tcp::acceptor a(ioc, {boost::asio::ip::make_address("127.0.0.1"), 0});
    port = a.local_endpoint().port();
  }
  Client client;
  auto r = client.Get("http://127.0.0.1:" + std::to_string(port) + "/");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::http_transport);
}

TEST(Http, UnixSocketCarriesPeerUid) {
  test::TempDir dir;
  const std::string sock = (dir / "api.sock").string();
  auto server = Server::ListenUnix(sock, TestRouter());
  ASSERT_TRUE(server) << server.error().message;
  (*server)->Start();
  ClientOptions options;
  options.unix_socket = sock;
  Client client(options);
  auto r = client.Get("http://localhost/uid");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->body, std::to_string(::getuid()));
  (*server)->Stop(1s);
  EXPECT_FALSE(std::filesystem::exists(sock));
}

TEST(Http, UnixListenRefusesToReplaceARegularFile) {
  test::TempDir dir;
  const auto path = dir.Write("not-a-socket", "data");
  auto server = Server::ListenUnix(path, TestRouter());
  ASSERT_FALSE(server);
  EXPECT_EQ(server.error().code, ErrorCode::already_exists);
}

TEST(Http, ListenOnBusyPortFails) {
  Running srv(TestRouter());
  auto second = Server::ListenTcp({"127.0.0.1", srv.server->port()}, TestRouter());
  // SO_REUSEADDR does not allow two listeners on one port.
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code, ErrorCode::already_exists);
  EXPECT_FALSE(Server::ListenTcp({"not-an-ip", 0}, TestRouter()));
}

// A deferred answer does not hold a thread that serves connections: with one such thread,
// another request is answered while the deferred one waits, and the deferred one is answered
// with what its work returned.
TEST(Http, ALaterAnswerLeavesTheServingThreadFree) {
  std::promise<void> release, started;
  auto released = release.get_future().share();
  Router router = TestRouter();
  router.Add("POST", "/slow", [released, &started](const Request& req) {
    return Response::Later([released, &started, body = req.body] {
      started.set_value();
      released.wait();
      return Response::Text(201, "done " + body);
    });
  });
  ServerOptions options;
  options.threads = 1;
  Running srv(std::move(router), options);
  auto slow = std::async(std::launch::async, [&] {
    Client client;
    RequestSpec spec;
    spec.method = "POST";
    spec.url = srv.base + "/slow";
    spec.body = "x";
    return client.Perform(spec);
  });
  ASSERT_EQ(started.get_future().wait_for(10s), std::future_status::ready);
  Client client;
  auto quick = client.Get(srv.base + "/healthz");
  ASSERT_TRUE(quick) << quick.error().message;
  EXPECT_EQ(quick->status, 200);
  EXPECT_EQ(slow.wait_for(0s), std::future_status::timeout) << "still waiting on its work";
  release.set_value();
  auto answer = slow.get();
  ASSERT_TRUE(answer) << answer.error().message;
  EXPECT_EQ(answer->status, 201);
  EXPECT_EQ(answer->body, "done x");
}

TEST(Http, StopLetsInFlightRequestsFinish) {
  std::promise<void> entered;
  std::promise<void> release;
  auto release_future = release.get_future().share();
  Router router;
  router.Add("GET", "/slow", [&](const Request&) {
    entered.set_value();
    release_future.wait();
    return Response::Text(200, "done");
  });
  auto server = std::move(Server::ListenTcp({"127.0.0.1", 0}, std::move(router)).value());
  server->Start();
  const std::string url = "http://" + server->address() + "/slow";
  auto answer = std::async(std::launch::async, [&] { return Client().Get(url); });
  entered.get_future().wait();
  auto stopper = std::async(std::launch::async, [&] { server->Stop(5s); });
  release.set_value();
  stopper.get();
  auto r = answer.get();
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->body, "done");
  // No longer accepting.
  EXPECT_FALSE(Client().Get(url));
}

}  // namespace
}  // namespace steward::http
