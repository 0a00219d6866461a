// A controller that lies: a scripted stand-in speaks the check-in protocol and offers whatever
// the test crafts — a manifest signed by a key the root does not name, an expired one, an older
// one replayed after a newer was installed. The real steward-updater must refuse each with its
// error code, say so in its status and its next report, and leave the running agent alone.
// (The real controller refuses such releases at publish time, so it cannot serve them.)
#include <gtest/gtest.h>

#include <mutex>

#include "common/http_server.hpp"
#include "tests/e2e/fleet.hpp"

namespace steward::test::e2e {
namespace {

// Enrolls anybody, answers every check-in with the current offer, serves release binaries.
class ScriptedController {
 public:
  ScriptedController() {
    http::Router router;
    router.Add("POST", "/v1/enroll", [](const http::Request&) {
      return http::Response::Json(
          200, json{{"node_id", "n-scripted"}, {"node_token", "scripted-node-token"}}.dump());
    });
    router.Add("POST", "/v1/checkin", [this](const http::Request& req) {
      std::lock_guard lock(mu_);
      last_report_ = json::parse(req.body, nullptr, false);
      ++checkins_;
      return http::Response::Json(
          200, json{{"releases", offer_.is_null() ? json::array() : json::array({offer_})},
                    {"flags", json::object()},
                    {"controllers", json::array()},
                    {"checkin_interval_s", 1},
                    {"roots", json::array()}}
                   .dump());
    });
    auto serve = [](const http::Request& req) {
      for (const char* v : {"1.0.0", "1.1.0", "1.2.0"}) {
        const auto path = Bin(std::string("releases/") + v + "/steward-agent");
        if (ReleaseSha(path) == req.params.at("sha")) return http::Response::File(path);
      }
      return http::Response::Error(404, ErrorCode::not_found, "no such artifact");
    };
    router.Add("GET", "/v1/artifacts/{sha}", serve);
    router.Add("HEAD", "/v1/artifacts/{sha}", serve);
    auto server = http::Server::ListenTcp(HostPort{"127.0.0.1", 0}, std::move(router));
    EXPECT_TRUE(server) << server.error().ToString();
    server_ = std::move(*server);
    server_->Start();
    url = "http://127.0.0.1:" + std::to_string(server_->port());
  }
  ~ScriptedController() { server_->Stop(std::chrono::seconds(1)); }

  void Offer(const std::string& version, const std::string& manifest,
             const std::string& signature) {
    std::lock_guard lock(mu_);
    offer_ = json{{"component", "agent"},
                  {"channel", "stable"},
                  {"version", version},
                  {"manifest", manifest},
                  {"signatures", {signature}}};
  }

  json LastReport() {
    std::lock_guard lock(mu_);
    return last_report_;
  }

  std::string url;

 private:
  std::mutex mu_;
  json offer_;
  json last_report_;
  int checkins_ = 0;
  std::unique_ptr<http::Server> server_;
};

class Refused : public ::testing::Test {
 protected:
  // The manifest of agent `version` served by the scripted controller.
  std::string Manifest(const std::string& version, int sequence,
                       WallTime expires = Controller::DaysFromNow(30)) {
    const auto path = Bin("releases/" + version + "/steward-agent");
    const auto sha = ReleaseSha(path);
    return Controller::Manifest("agent", "stable", version, sequence,
                                json{{"url", scripted_.url + "/v1/artifacts/" + sha},
                                     {"size", std::filesystem::file_size(path)},
                                     {"sha256", sha}},
                                expires);
  }

  void Offer(const std::string& version, const std::string& manifest,
             const minisign::SecretKey& key) {
    scripted_.Offer(version, manifest, Controller::Sign(key, manifest));
  }

  // Waits until the offer was refused with `code`, then checks that nothing moved
  // and that the refusal was reported to the controller. `to`: the version reported as
  // refused, null unless the manifest's signatures verified.
  void ExpectRefused(const std::string& code, const json& to = nullptr) {
    ASSERT_TRUE(host_.updater.WaitUnit("agent",
                                       [&](const json& u) {
                                         return u["update"].is_object() &&
                                                u["update"]["error_code"] == code;
                                       }))
        << host_.Agent().dump() << "\n"
        << host_.Logs();
    const auto u = host_.Agent();
    EXPECT_EQ(u["update"]["result"], "failed") << u.dump();
    // Nothing of an unsigned manifest is taken as true, its version included; a signed one
    // refused later in the order says which version was refused.
    EXPECT_EQ(u["update"]["to"], to) << u.dump();
    EXPECT_EQ(u["update"]["from"], "1.1.0") << u.dump();
    EXPECT_FALSE(u["update"]["error"].get<std::string>().empty()) << u.dump();
    EXPECT_EQ(u["pid"], running_["pid"]) << u.dump();
    EXPECT_EQ(u["restarts"], running_["restarts"]);
    EXPECT_EQ(u["running_version"], "1.1.0");
    EXPECT_EQ(u["installed_version"], "1.1.0");
    EXPECT_EQ(host_.AgentProcesses().size(), 1u);
    ASSERT_TRUE(Eventually(
        [&] {
          const auto r = scripted_.LastReport();
          if (!r.is_object()) return false;
          for (const auto& c : r["components"]) {
            if (c["name"] == "agent" && c["last_update"].is_object() &&
                c["last_update"]["error_code"] == code) {
              return true;
            }
          }
          return false;
        },
        20s))
        << scripted_.LastReport().dump();
  }

  Controller keys_;  // not started: its root and release key only
  ScriptedController scripted_;
  Host host_;
  json running_;
};

TEST_F(Refused, BadSignatureExpiredAndReplayedManifestsLeaveTheNodeRunning) {
  const auto m1 = Manifest("1.0.0", 1);
  Offer("1.0.0", m1, keys_.release_key);
  host_.Start({scripted_.url}, (keys_.dir / "root.json").string());
  ASSERT_TRUE(host_.WaitRunning("1.0.0")) << host_.Logs();
  Offer("1.1.0", Manifest("1.1.0", 2), keys_.release_key);
  ASSERT_TRUE(host_.WaitRunning("1.1.0")) << host_.Logs();
  running_ = host_.Agent();

  // Signed by a key the root does not name.
  Offer("1.2.0", Manifest("1.2.0", 3), minisign::SecretKey::Generate());
  ExpectRefused("threshold_not_met");

  // Properly signed, but its expiry has passed.
  Offer("1.2.0", Manifest("1.2.0", 3, std::chrono::system_clock::now() - std::chrono::hours(1)),
        keys_.release_key);
  ExpectRefused("expired", "1.2.0");

  // The genuine 1.0.0 manifest again, below the sequence floor 1.1.0 raised.
  Offer("1.0.0", m1, keys_.release_key);
  ExpectRefused("sequence_rollback", "1.0.0");
}

}  // namespace
}  // namespace steward::test::e2e
