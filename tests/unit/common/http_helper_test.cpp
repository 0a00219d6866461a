// HTTP requests run in a helper process (the real `steward-updater http-helper`): the answer
// arrives as in-process, libcurl stays out of this process, and a helper that dies, idles out,
// is abandoned or answers garbage costs one request at most, never a hang.
#include "common/http_helper.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <future>
#include <sstream>

#include "common/files.hpp"
#include "tests/support/hostile_server.hpp"
#include "tests/support/process.hpp"

namespace steward::http {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using test::HostileConn;
using test::HostileRequest;
using test::HostileServer;

// STEWARD_TEST_HTTP_HELPER=<steward-updater>: every Client of this test binary runs its
// requests through that helper (ctest runs the HTTP client suites once more that way).
const bool kHelperFromEnvironment = [] {
  if (const char* exe = std::getenv("STEWARD_TEST_HTTP_HELPER"); exe != nullptr) {
    UseHelperProcess({exe, "http-helper"});
  }
  return true;
}();

struct ProcStat {
  char state = '?';  // 'Z': a zombie
  pid_t ppid = 0;
};

ProcStat StatOf(pid_t pid) {
  // A process that ends while it is read fails the read (ESRCH): it is gone, not a helper.
  auto text = files::ReadFile("/proc/" + std::to_string(pid) + "/stat", 4096);
  const std::string line = text.value_or("");
  ProcStat st;
  const auto close = line.rfind(')');  // the command name may hold spaces and parentheses
  if (close == std::string::npos) return st;
  std::istringstream rest(line.substr(close + 1));
  rest >> st.state >> st.ppid;
  return st;
}

char StateOf(pid_t pid) { return StatOf(pid).state; }

// This process's children: the HTTP helpers it started (zombies included).
std::vector<pid_t> Helpers() {
  std::vector<pid_t> out;
  for (const auto& e : fs::directory_iterator("/proc")) {
    const std::string name = e.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    const auto pid = static_cast<pid_t>(std::stoi(name));
    if (StatOf(pid).ppid == ::getpid()) out.push_back(pid);
  }
  return out;
}

std::vector<pid_t> LiveHelpers() {
  std::vector<pid_t> live;
  for (pid_t p : Helpers()) {
    if (StateOf(p) != 'Z') live.push_back(p);
  }
  return live;
}

bool LibcurlMappedHere() {
  std::ifstream maps("/proc/self/maps");
  std::string text((std::istreambuf_iterator<char>(maps)), {});
  return text.find("libcurl") != std::string::npos;
}

class HttpHelper : public ::testing::Test {
 protected:
  void SetUp() override {
    saved_ = HelperProcess();
    UseHelperProcess({test::Bin("steward-updater"), "http-helper"});
  }
  void TearDown() override {
    UseHelperProcess(saved_);
    for (pid_t p : Helpers()) {
      ::kill(p, SIGKILL);
      ::waitpid(p, nullptr, 0);
    }
  }
  static ClientOptions Options() {
    ClientOptions o;
    o.allow_insecure_http = true;
    o.timeout = std::chrono::seconds(10);
    return o;
  }
  std::vector<std::string> saved_;
};

HostileServer::Handler Hello() {
  return [](const HostileRequest&, HostileConn& c) {
    c.Send("HTTP/1.1 200 OK\r\nX-Test: yes\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello");
  };
}

// The helper confines itself unless started with --no-sandbox (no_new_privs is set with the
// capabilities dropped, before Landlock's restriction, and shows in /proc).
TEST_F(HttpHelper, TheHelperIsConfinedUnlessToldNotToBe) {
  HostileServer srv(Hello());
  auto no_new_privs = [&] {
    Client client(Options());
    auto r = client.Get(srv.Url("/x"));
    EXPECT_TRUE(r) << r.error().ToString();
    const auto live = LiveHelpers();
    EXPECT_EQ(live.size(), 1u);
    std::ifstream in("/proc/" + std::to_string(live.empty() ? 0 : live[0]) + "/status");
    const std::string status((std::istreambuf_iterator<char>(in)), {});
    return status.find("NoNewPrivs:\t1") != std::string::npos;
  };
  EXPECT_TRUE(no_new_privs());
  ASSERT_TRUE(test::Eventually([&] { return LiveHelpers().empty(); }, 10s));
  UseHelperProcess({test::Bin("steward-updater"), "http-helper", "--no-sandbox"});
  std::ifstream self("/proc/self/status");
  const std::string ours((std::istreambuf_iterator<char>(self)), {});
  const bool inherited = ours.find("NoNewPrivs:\t1") != std::string::npos;  // a confined runner
  EXPECT_EQ(no_new_privs(), inherited);
}

TEST_F(HttpHelper, RequestsRunInTheHelperAndTheAnswerIsTheSame) {
  const bool mapped_before = LibcurlMappedHere();
  HostileServer srv(Hello());
  Client client(Options());
  std::vector<std::pair<std::uint64_t, std::uint64_t>> progress;
  RequestSpec spec;
  spec.url = srv.Url("/x");
  spec.headers.push_back("X-Asked: 1");
  spec.progress = [&](std::uint64_t got, std::uint64_t total) {
    progress.emplace_back(got, total);
  };
  auto r = client.Perform(spec);
  ASSERT_TRUE(r) << r.error().ToString();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "hello");
  EXPECT_EQ(r->Header("x-test"), "yes");
  ASSERT_EQ(srv.requests().size(), 1u);
  EXPECT_EQ(srv.requests()[0].Header("x-asked"), "1");
  EXPECT_EQ(progress.back(), (std::pair<std::uint64_t, std::uint64_t>{5, 5}));
  EXPECT_EQ(LiveHelpers().size(), 1u);
  if (!mapped_before) {
    EXPECT_FALSE(LibcurlMappedHere());
  }
  // The URL policy is the helper's, with the same words (refused before any connection).
  ClientOptions strict = Options();
  strict.allow_insecure_http = false;
  auto refused_strict = Client(strict).Get("http://192.0.2.1/x");
  ASSERT_FALSE(refused_strict);
  EXPECT_EQ(refused_strict.error().code, ErrorCode::http_scheme);
  EXPECT_NE(refused_strict.error().message.find("allow_insecure_http"), std::string::npos);
}

TEST_F(HttpHelper, AHelperThatEndedBetweenRequestsIsReplaced) {
  HostileServer srv(Hello());
  Client client(Options());
  ASSERT_TRUE(client.Get(srv.Url()));
  const auto first = LiveHelpers();
  ASSERT_EQ(first.size(), 1u);
  ::kill(first[0], SIGKILL);
  ASSERT_TRUE(test::Eventually([&] { return StateOf(first[0]) == 'Z'; }, 5s));
  auto again = client.Get(srv.Url());
  ASSERT_TRUE(again) << again.error().ToString();
  EXPECT_EQ(again->body, "hello");
  EXPECT_EQ(srv.requests().size(), 2u);  // the request went out once, by the new helper
}

TEST_F(HttpHelper, AHelperKilledMidRequestIsATransportErrorAndTheNextRequestWorks) {
  HostileServer srv([](const HostileRequest& req, HostileConn& c) {
    if (req.target == "/stall") {
      c.Send("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nfirst");
      c.WaitForPeerClose();
    } else {
      Hello()(req, c);
    }
  });
  Client client(Options());
  RequestSpec spec;
  spec.url = srv.Url("/stall");
  spec.sink = [&](std::string_view) -> Result<void> {
    for (pid_t p : LiveHelpers()) ::kill(p, SIGKILL);
    return {};
  };
  auto r = client.Perform(spec);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::http_transport);
  EXPECT_NE(r.error().message.find("ended mid-request"), std::string::npos) << r.error().message;
  auto next = client.Get(srv.Url());
  ASSERT_TRUE(next) << next.error().ToString();
  EXPECT_EQ(next->body, "hello");
}

TEST_F(HttpHelper, AnAbandonedRequestEndsItsHelper) {
  HostileServer srv([](const HostileRequest&, HostileConn& c) {
    c.Send("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
    const std::string chunk = "10000\r\n" + std::string(0x10000, 'x') + "\r\n";
    while (c.Send(chunk)) {
    }
  });
  Client client(Options());
  RequestSpec spec;
  spec.url = srv.Url();
  spec.max_bytes = 1ull << 40;
  std::uint64_t got = 0;
  spec.sink = [&](std::string_view chunk) -> Result<void> {
    got += chunk.size();
    if (got > (1u << 20)) return Fail(ErrorCode::cancelled, "enough");
    return {};
  };
  auto r = client.Perform(spec);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::cancelled);
  EXPECT_EQ(r.error().message, "enough");
  // The helper notices the closed socket at its next write and ends; nothing keeps downloading.
  EXPECT_TRUE(test::Eventually([&] { return LiveHelpers().empty(); }, 10s));
}

TEST_F(HttpHelper, AnIdleHelperEndsOnItsOwn) {
  HostileServer srv(Hello());
  Client client(Options());
  ASSERT_TRUE(client.Get(srv.Url()));
  ASSERT_EQ(LiveHelpers().size(), 1u);
  EXPECT_TRUE(test::Eventually([&] { return LiveHelpers().empty(); }, 15s));
  ASSERT_TRUE(client.Get(srv.Url()));  // and a new one serves the next request
}

TEST_F(HttpHelper, AHelperThatCannotStartOrAnswersGarbageFailsTheRequestWithoutHanging) {
  HostileServer srv(Hello());
  UseHelperProcess({"/nonexistent/steward-updater", "http-helper"});
  auto missing = Client(Options()).Get(srv.Url());
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("/nonexistent/steward-updater"), std::string::npos)
      << missing.error().message;

  UseHelperProcess({"/bin/true"});  // ends at once, twice: the request is never taken
  auto gone = Client(Options()).Get(srv.Url());
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().code, ErrorCode::http_transport);
  EXPECT_NE(gone.error().message.find("did not take the request"), std::string::npos)
      << gone.error().message;

  // An oversized frame length, then a well-formed 'A' followed by a frame of unknown type.
  UseHelperProcess({"/bin/sh", "-c", "printf 'garbage!' >&3; exec sleep 30"});
  auto garbage = Client(Options()).Get(srv.Url());
  ASSERT_FALSE(garbage);
  EXPECT_EQ(garbage.error().code, ErrorCode::http_transport);
  UseHelperProcess(
      {"/bin/sh", "-c", R"(printf '\001\000\000\000A\001\000\000\000Z' >&3; exec sleep 30)"});
  auto unknown = Client(Options()).Get(srv.Url());
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.error().message.find("malformed helper answer"), std::string::npos)
      << unknown.error().message;
  EXPECT_TRUE(srv.requests().empty());
}

// The helper's side, in this process over a socketpair: malformed frames end it with 2.
int Serve(std::string_view bytes, bool close_after = true) {
  int sv[2];
  EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  auto served = std::async(std::launch::async, [fd = sv[1]] {
    const int rc = ServeHelper(fd, std::chrono::seconds(5));
    ::close(fd);
    return rc;
  });
  EXPECT_EQ(::send(sv[0], bytes.data(), bytes.size(), MSG_NOSIGNAL),
            static_cast<ssize_t>(bytes.size()));
  if (close_after) ::shutdown(sv[0], SHUT_WR);
  const int rc = served.get();
  ::close(sv[0]);
  return rc;
}

TEST(HttpHelperServe, MalformedFramesEndTheHelperWithTwo) {
  using namespace std::string_view_literals;
  EXPECT_EQ(Serve(""), 0);                                     // the client closed: done
  EXPECT_EQ(Serve("\x01\x00\x00\x00X"sv), 2);                  // not a request
  EXPECT_EQ(Serve("\x00\x00\x00\x00"sv), 2);                   // empty frame
  EXPECT_EQ(Serve("\xff\xff\xff\x7fQ"sv), 2);                  // absurd length
  EXPECT_EQ(Serve("\x05\x00\x00\x00Q\x01\x00\x00\x00"sv), 2);  // truncated request
  EXPECT_EQ(Serve("\x09\x00\x00\x00Q"sv), 2);                  // cut off mid-frame
}

}  // namespace
}  // namespace steward::http
