// The real controller while one source opens 10 000 connections and never finishes a request
// on any of them: the fleet's check-ins keep their latency, /healthz answers, nothing is lost,
// and the controller's log says what it shed.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <thread>

#include "common/files.hpp"
#include "tests/integration/controller_support.hpp"

namespace steward::test {
namespace {

constexpr int kSlowConnections = 10000;

// Opens `count` connections from 127.0.0.2, each with half a request line, and keeps them.
class Flood {
 public:
  Flood(std::uint16_t port, int count) {
    worker_ = std::thread([this, port, count] {
      for (int i = 0; i < count && !stop_; ++i) {
        files::UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
        if (!fd) break;
        sockaddr_in from{};
        from.sin_family = AF_INET;
        ::inet_pton(AF_INET, "127.0.0.2", &from.sin_addr);
        sockaddr_in to{};
        to.sin_family = AF_INET;
        to.sin_port = htons(port);
        to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (::bind(fd.Get(), reinterpret_cast<sockaddr*>(&from), sizeof from) != 0 ||
            ::connect(fd.Get(), reinterpret_cast<sockaddr*>(&to), sizeof to) != 0) {
          continue;
        }
        (void)::send(fd.Get(), "GET /healthz HTT", 16, MSG_NOSIGNAL);
        held_.push_back(std::move(fd));
        ++opened_;
      }
    });
  }
  ~Flood() {
    stop_ = true;
    worker_.join();
  }
  int opened() const { return opened_; }

 private:
  std::atomic<bool> stop_{false};
  std::atomic<int> opened_{0};
  std::vector<files::UniqueFd> held_;
  std::thread worker_;
};

TEST(Flood, OneSourceWithTenThousandSlowConnectionsDoesNotStopTheFleet) {
  // The test holds every slow connection itself, and the controller inherits the limit.
  rlimit lim{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &lim), 0);
  if (lim.rlim_max < kSlowConnections + 1024) GTEST_SKIP() << "open-file limit too low";
  lim.rlim_cur = lim.rlim_max;
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &lim), 0);

  Controller c;
  c.Start();
  std::vector<Node> nodes;
  for (int i = 0; i < 5; ++i) nodes.push_back(c.Enroll("flood-" + std::to_string(i)));

  std::vector<double> latencies_ms;
  int answered = 0;
  auto checkin_round = [&] {
    for (const auto& node : nodes) {
      const auto start = std::chrono::steady_clock::now();
      auto r = c.Checkin(node, json::array({Controller::Component("agent", "stable", "1.0.0")}));
      latencies_ms.push_back(
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
              .count());
      if (r.status == 200) ++answered;
    }
  };
  int rounds = 0;
  {
    Flood flood(static_cast<std::uint16_t>(std::stoi(c.url.substr(c.url.rfind(':') + 1))),
                kSlowConnections);
    // Check in all the while the flood builds up, and on once it is complete.
    while (flood.opened() < kSlowConnections && rounds < 2000) {
      checkin_round();
      ++rounds;
    }
    ASSERT_EQ(flood.opened(), kSlowConnections);
    for (int i = 0; i < 20; ++i, ++rounds) checkin_round();
    EXPECT_EQ(c.Request("GET", "/healthz").status, 200);
  }
  EXPECT_EQ(answered, rounds * static_cast<int>(nodes.size())) << "check-ins lost";
  std::sort(latencies_ms.begin(), latencies_ms.end());
  const double p99 = latencies_ms[latencies_ms.size() * 99 / 100];
  EXPECT_LT(p99, 100.0) << "check-in p99 " << p99 << " ms over " << latencies_ms.size();
  EXPECT_NE(c.proc->Stderr().find("shed"), std::string::npos) << c.proc->Stderr();
  // The nodes and their reports are all there.
  auto fleet = c.Admin("GET", "nodes");
  ASSERT_EQ(fleet.status, 200) << fleet.raw;
  EXPECT_NE(fleet.raw.find("flood-4"), std::string::npos) << fleet.raw;
}

}  // namespace
}  // namespace steward::test
