// Cost of the updater's check-in client on top of the HTTP round trip. A loopback server
// answers every check-in with a realistic answer (8 releases of 4 KiB manifests, 2 controllers);
// the client reports 16 components. Baseline: the same POST of a prebuilt body with a plain
// http::Client to the same server, and one nlohmann parse of the answer (the least any client
// does). Rounds interleave; the best of each counts. Goal: a check-in (body built, answer
// checked field by field) costs at most 2 × that baseline: building the body (~60 µs for 16
// components) and the strict read are the client's own work. The bare POST is printed too.
//
//   bench_checkin_client
// Environment: STEWARD_BENCH_CHECKINS per round (default 2000), STEWARD_BENCH_ROUNDS (3).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/http_client.hpp"
#include "common/http_server.hpp"
#include "common/log.hpp"
#include "updater/checkin.hpp"

using namespace steward;
using Steady = std::chrono::steady_clock;

namespace {

std::string AnswerBody() {
  std::string out = R"({"releases":[)";
  for (int i = 0; i < 8; ++i) {
    if (i > 0) out += ',';
    out += R"({"component":"c)" + std::to_string(i) + R"(","channel":"stable","version":"1.0.0",)" +
           R"("manifest":")" + std::string(4096, 'm') + R"(","signatures":[")" +
           std::string(300, 's') + R"("]})";
  }
  out += R"(],"flags":{"a":1},"controllers":["http://127.0.0.1:1","http://127.0.0.1:2"],)"
         R"("checkin_interval_s":60,"roots":[]})";
  return out;
}

std::vector<updater::ComponentReport> Report() {
  std::vector<updater::ComponentReport> out;
  for (int i = 0; i < 16; ++i) {
    updater::ComponentReport c;
    c.name = "c" + std::to_string(i);
    c.channel = "stable";
    c.running_version = c.installed_version = "1.0.0";
    c.desired_state = c.state = "running";
    c.last_update =
        updater::UpdateReport{"0.9.0", "1.0.0", UpdateResult::committed, "", "", "", ""};
    out.push_back(std::move(c));
  }
  return out;
}

long EnvOr(const char* name, long fallback) {
  const char* v = std::getenv(name);
  return v != nullptr ? std::strtol(v, nullptr, 10) : fallback;
}

}  // namespace

int main() {
  const long n = EnvOr("STEWARD_BENCH_CHECKINS", 2000);
  const long rounds = EnvOr("STEWARD_BENCH_ROUNDS", 3);
  const std::string answer = AnswerBody();
  http::Router router;
  router.Add("POST", "/v1/checkin",
             [&answer](const http::Request&) { return http::Response::Json(200, answer); });
  auto server = http::Server::ListenTcp(HostPort{"127.0.0.1", 0}, std::move(router));
  if (!server) {
    std::fprintf(stderr, "listen: %s\n", server.error().ToString().c_str());
    return 1;
  }
  (*server)->Start();
  const std::string base = "http://" + (*server)->address();

  updater::Config config;
  config.controller.emplace();
  config.controller->urls = {base};
  updater::CheckinClient client(config, "0.1.0");
  updater::CheckinState state{"n-1", "token-1", {base}};
  const auto report = Report();
  const std::string body = updater::CheckinBody("n-1", "0.1.0", report);
  http::Client raw;

  double best_client = 1e18, best_raw = 1e18, best_bare = 1e18;
  std::size_t sink = 0;
  for (long r = 0; r < rounds; ++r) {
    auto t0 = Steady::now();
    for (long i = 0; i < n; ++i) {
      auto a = client.CheckIn(state, report);
      if (!a) {
        std::fprintf(stderr, "check-in: %s\n", a.error().ToString().c_str());
        return 1;
      }
    }
    auto t1 = Steady::now();
    for (long i = 0; i < n; ++i) {
      auto a = raw.PostJson(base + "/v1/checkin", body, "token-1");
      if (!a || a->status != 200) {
        std::fprintf(stderr, "raw POST failed\n");
        return 1;
      }
      sink += nlohmann::json::parse(a->body, nullptr, false).size();
    }
    auto t2 = Steady::now();
    for (long i = 0; i < n; ++i) {
      auto a = raw.PostJson(base + "/v1/checkin", body, "token-1");
      if (!a || a->status != 200) {
        std::fprintf(stderr, "raw POST failed\n");
        return 1;
      }
    }
    auto t3 = Steady::now();
    const auto us = [n](auto d) {
      return std::chrono::duration<double, std::micro>(d).count() / static_cast<double>(n);
    };
    best_client = std::min(best_client, us(t1 - t0));
    best_raw = std::min(best_raw, us(t2 - t1));
    best_bare = std::min(best_bare, us(t3 - t2));
  }
  (*server)->Stop(std::chrono::seconds(1));
  std::printf("check-ins per round: %ld, rounds: %ld, answer %zu bytes, body %zu bytes (%zu)\n", n,
              rounds, answer.size(), body.size(), sink);
  std::printf("bare POST without parsing the answer: %.1f us\n", best_bare);
  std::printf("BENCH\tcheck-in client round trip (us)\t%.1f\t%.1f\t%.2f\t<= 2x POST+parse\n",
              best_client, best_raw, best_client / best_raw);
  return 0;
}
