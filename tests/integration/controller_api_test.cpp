// The controller's API against the real server on loopback: enrollment, tokens, a node
// reporting for another, oversized and malformed requests, publishing good and bad releases,
// artifacts, health and metrics, and stewardctl as its client.
#include <gtest/gtest.h>

#include "tests/integration/controller_support.hpp"

namespace steward::test {
namespace {

class ControllerApi : public ::testing::Test {
 protected:
  void SetUp() override { c.Start(); }
  Controller c;
};

TEST_F(ControllerApi, EnrollThenCheckinAnswersTheProtocol) {
  auto node = c.Enroll("m1");
  ASSERT_FALSE(node.id.empty());
  EXPECT_EQ(node.token.size(), 64u);  // 256 bits, hex
  auto r = c.Checkin(node, json::array({Controller::Component("agent", "stable", "1.0.0")}));
  ASSERT_EQ(r.status, 200) << r.raw;
  EXPECT_TRUE(r.body["releases"].is_array());
  EXPECT_TRUE(r.body["releases"].empty());
  EXPECT_TRUE(r.body["flags"].is_object());
  EXPECT_EQ(r.body["controllers"], json::array({c.url}));
  EXPECT_EQ(r.body["checkin_interval_s"], 60);
  EXPECT_TRUE(r.body["roots"].is_array());

  auto shown = c.Admin("GET", "nodes/" + node.id);
  ASSERT_EQ(shown.status, 200) << shown.raw;
  EXPECT_EQ(shown.body["hostname"], "host-m1");
  EXPECT_EQ(shown.body["components"][0]["running_version"], "1.0.0");
  EXPECT_EQ(shown.body["report"]["host"]["os"], "linux");

  // The same node enrolling again with its token keeps its id; the old token stops working.
  auto again = c.EnrollRequest("m1", "host-m1", node.token);
  ASSERT_EQ(again.status, 200) << again.raw;
  EXPECT_EQ(again.body["node_id"], node.id);
  EXPECT_EQ(c.Checkin(node, json::array()).status, 401);
  EXPECT_EQ(c.Checkin(Node{node.id, again.body["node_token"]}, json::array()).status, 200);
}

TEST_F(ControllerApi, EnrollingAnEnrolledMachineIdWithoutItsTokenMakesANewNode) {
  auto node = c.Enroll("m1");
  auto other = c.Enroll("m2");
  // Someone who knows the enroll token and m1's machine id, without m1's node token (or with
  // another node's): a node of its own, and m1 keeps its id and token.
  for (const auto& proof : {std::string(), other.token, std::string("forged-token")}) {
    auto r = c.EnrollRequest("m1", "impostor", proof);
    ASSERT_EQ(r.status, 200) << r.raw;
    EXPECT_NE(r.body["node_id"], node.id);
    EXPECT_NE(r.body["node_id"], other.id);
  }
  EXPECT_EQ(c.Checkin(node, json::array()).status, 200);
  EXPECT_EQ(c.Checkin(other, json::array()).status, 200);
  EXPECT_EQ(c.Admin("GET", "nodes/" + node.id).body["hostname"], "host-m1");
  auto metrics = c.Request("GET", "/metrics");
  EXPECT_NE(metrics.raw.find("steward_controller_enroll_takeovers_refused_total 3"),
            std::string::npos)
      << metrics.raw;
  EXPECT_TRUE(c.proc->WaitForOutput("without that node's token", 20s));
  EXPECT_EQ(c.proc->Stderr().find(node.token), std::string::npos);
  EXPECT_EQ(c.proc->Stderr().find(other.token), std::string::npos);
  // After a restart (nodes loaded from the store) the machine id still names the first node.
  c.Restart();
  auto again = c.Enroll("m1");
  EXPECT_NE(again.id, node.id);
  EXPECT_EQ(c.Checkin(node, json::array()).status, 200);
}

TEST_F(ControllerApi, EnrollRefusesBadTokensAndInput) {
  auto bad = c.Request("POST", "/v1/enroll",
                       json{{"enroll_token", "wrong-token-0123456789"},
                            {"hostname", "h"},
                            {"machine_id", "m"},
                            {"platform", "linux-x86_64"}}
                           .dump());
  EXPECT_EQ(bad.status, 401);
  EXPECT_EQ(bad.code(), "unauthorized");
  EXPECT_NE(bad.message().find("enroll token is not valid"), std::string::npos) << bad.raw;

  auto missing = c.Request("POST", "/v1/enroll", json{{"hostname", "h"}}.dump());
  EXPECT_EQ(missing.status, 401);
  EXPECT_NE(missing.message().find("enroll_token"), std::string::npos) << missing.raw;

  auto no_host = c.Request(
      "POST", "/v1/enroll",
      json{{"enroll_token", kEnrollToken}, {"machine_id", "m"}, {"platform", "x"}}.dump());
  EXPECT_EQ(no_host.status, 400);
  EXPECT_EQ(no_host.code(), "bad_request");
  EXPECT_NE(no_host.message().find("'hostname'"), std::string::npos) << no_host.raw;

  auto garbage = c.Request("POST", "/v1/enroll", "{\"enroll_token\": ");
  EXPECT_EQ(garbage.status, 400);
  EXPECT_NE(garbage.message().find("not valid JSON"), std::string::npos) << garbage.raw;

  auto wrong_type = c.Request(
      "POST", "/v1/enroll",
      json{{"enroll_token", kEnrollToken}, {"hostname", 5}, {"machine_id", "m"}, {"platform", "x"}}
          .dump());
  EXPECT_EQ(wrong_type.status, 400);
  EXPECT_NE(wrong_type.message().find("'hostname' must be a string"), std::string::npos);
}

TEST_F(ControllerApi, CheckinRefusesMissingWrongAndForeignTokens) {
  auto a = c.Enroll("ma");
  auto b = c.Enroll("mb");
  auto none = c.Checkin(Node{a.id, ""}, json::array());
  EXPECT_EQ(none.status, 401);
  EXPECT_NE(none.message().find("missing node token"), std::string::npos) << none.raw;

  auto wrong = c.Checkin(Node{a.id, std::string(64, 'f')}, json::array());
  EXPECT_EQ(wrong.status, 401);
  EXPECT_EQ(wrong.code(), "unauthorized");
  EXPECT_NE(wrong.message().find("enroll again"), std::string::npos);

  // b's token, a's id: a node can only report for itself.
  auto foreign = c.Checkin(Node{a.id, b.token}, json::array());
  EXPECT_EQ(foreign.status, 403);
  EXPECT_EQ(foreign.code(), "forbidden");
  EXPECT_NE(foreign.message().find("only report for itself"), std::string::npos) << foreign.raw;
  auto shown = c.Admin("GET", "nodes/" + a.id);
  EXPECT_TRUE(shown.body["last_seen"].is_null()) << "the foreign report must not be recorded";
}

TEST_F(ControllerApi, OversizedAndMalformedRequests) {
  auto node = c.Enroll("m1");
  // Past the check-in cap (64 KiB) but under the server's body limit.
  json big = json::array();
  big.push_back(Controller::Component("agent", "stable", "1.0.0"));
  big[0]["padding"] = std::string(100 * 1024, 'x');
  auto r = c.Checkin(node, big);
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(r.code(), "payload_too_large");

  // Past the server's body limit (2 MiB).
  auto huge = c.Request("POST", "/v1/checkin", std::string(3 << 20, 'x'), node.token);
  EXPECT_EQ(huge.status, 413);
  EXPECT_EQ(huge.code(), "payload_too_large");

  auto not_json = c.Request("POST", "/v1/checkin", "node_id=1", node.token);
  EXPECT_EQ(not_json.status, 400);
  EXPECT_EQ(not_json.code(), "bad_request");

  auto bad_components =
      c.Request("POST", "/v1/checkin", json{{"node_id", node.id}, {"components", "agent"}}.dump(),
                node.token);
  EXPECT_EQ(bad_components.status, 400);
  EXPECT_NE(bad_components.message().find("'components' must be an array"), std::string::npos);

  auto bad_name = c.Checkin(node, json::array({Controller::Component("Agent!", "stable", "1")}));
  EXPECT_EQ(bad_name.status, 400);
  EXPECT_NE(bad_name.message().find("components[0]"), std::string::npos) << bad_name.raw;

  // Null fields in a reported update read as empty; they never break the check-in.
  auto nulls = c.Checkin(
      node,
      json::array({Controller::Component(
          "agent", "stable", "1.0.0",
          json{
              {"from", nullptr}, {"to", "1.0.0"}, {"result", nullptr}, {"error_code", nullptr}})}));
  EXPECT_EQ(nulls.status, 200) << nulls.raw;
  auto bad_update = c.Checkin(
      node, json::array({Controller::Component("agent", "stable", "1.0.0", json{{"result", 7}})}));
  EXPECT_EQ(bad_update.status, 400);
  EXPECT_NE(bad_update.message().find("last_update"), std::string::npos) << bad_update.raw;

  auto no_route = c.Request("GET", "/v1/nothing");
  EXPECT_EQ(no_route.status, 404);
  EXPECT_EQ(no_route.code(), "route_not_found");
  auto wrong_method = c.Request("GET", "/v1/checkin");
  EXPECT_EQ(wrong_method.status, 405);
}

TEST_F(ControllerApi, AdminNeedsTheAdminToken) {
  auto none = c.Request("GET", "/v1/admin/nodes");
  EXPECT_EQ(none.status, 401);
  EXPECT_NE(none.message().find("missing admin token"), std::string::npos);
  auto wrong = c.Request("GET", "/v1/admin/nodes", "", kEnrollToken);
  EXPECT_EQ(wrong.status, 401);
  EXPECT_NE(wrong.message().find("not valid"), std::string::npos);
  auto node = c.Enroll("m1");
  EXPECT_EQ(c.Request("GET", "/v1/admin/fleet", "", node.token).status, 401);
  EXPECT_EQ(c.Admin("GET", "fleet").status, 200);
}

TEST_F(ControllerApi, PublishesAGoodReleaseOnceAndServesItsExactBytes) {
  const auto m = Controller::Manifest("agent", "stable", "1.0.0", 1, c.Blob("agent-1.0.0"));
  const auto sig = Controller::Sign(c.release_key, m);
  auto r = c.Publish(m, {sig});
  ASSERT_EQ(r.status, 201) << r.raw;
  EXPECT_EQ(r.body["version"], "1.0.0");
  EXPECT_EQ(r.body["signers"], json::array({"rel1"}));

  auto again = c.Publish(m, {sig});
  EXPECT_EQ(again.status, 200) << again.raw;
  EXPECT_EQ(again.body["published"], false);

  auto list = c.Admin("GET", "releases");
  ASSERT_EQ(list.body["releases"].size(), 1u) << list.raw;
  EXPECT_EQ(list.body["releases"][0]["sequence"], 1);

  ASSERT_EQ(
      c.Admin("PUT", "rollouts/agent/stable", json{{"version", "1.0.0"}, {"percent", 100}}).status,
      200);
  auto node = c.Enroll("m1");
  auto ci = c.Checkin(node, json::array({Controller::Component("agent", "stable", "0.9.0")}));
  ASSERT_EQ(ci.body["releases"].size(), 1u) << ci.raw;
  EXPECT_EQ(ci.body["releases"][0]["manifest"], m);  // byte for byte
  EXPECT_EQ(ci.body["releases"][0]["signatures"], json::array({sig}));
}

TEST_F(ControllerApi, RefusesBadlySignedExpiredAndUnreachableReleases) {
  const auto art = c.Blob("agent-2.0.0");
  const auto m = Controller::Manifest("agent", "stable", "2.0.0", 5, art);

  // Signed by a key the root does not know.
  auto stranger = minisign::SecretKey::Generate();
  auto r = c.Publish(m, {Controller::Sign(stranger, m)});
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.code(), "threshold_not_met") << r.raw;

  // Signature of other bytes.
  auto tampered = m;
  tampered.replace(tampered.find("2.0.0"), 5, "2.0.1");
  r = c.Publish(tampered, {Controller::Sign(c.release_key, m)});
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.code(), "sig_invalid") << r.raw;

  // Not a signature at all.
  r = c.Publish(m, {"hello"});
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.code(), "sig_malformed") << r.raw;

  // Signed by the root key: not a release key.
  r = c.Publish(m, {Controller::Sign(c.root_key, m)});
  EXPECT_EQ(r.code(), "threshold_not_met") << r.raw;

  // Expired.
  const auto old = Controller::Manifest("agent", "stable", "2.0.0", 5, art,
                                        std::chrono::system_clock::now() - std::chrono::hours(2));
  r = c.Publish(old, {Controller::Sign(c.release_key, old)});
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.code(), "expired") << r.raw;

  // Artifact missing from where the manifest says it is.
  json gone = art;
  gone["url"] = c.url + "/v1/artifacts/" + std::string(64, 'a');
  const auto missing = Controller::Manifest("agent", "stable", "2.0.0", 5, gone);
  r = c.Publish(missing, {Controller::Sign(c.release_key, missing)});
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.code(), "artifact_unreachable") << r.raw;
  EXPECT_NE(r.message().find("404"), std::string::npos) << r.raw;

  // Artifact of another size.
  json wrong_size = art;
  wrong_size["size"] = 12345;
  const auto sized = Controller::Manifest("agent", "stable", "2.0.0", 5, wrong_size);
  r = c.Publish(sized, {Controller::Sign(c.release_key, sized)});
  EXPECT_EQ(r.code(), "size_mismatch") << r.raw;
  EXPECT_NE(r.message().find("12345"), std::string::npos) << r.raw;

  // Malformed manifest.
  r = c.Publish("{\"schema\":", {Controller::Sign(c.release_key, "{\"schema\":")});
  EXPECT_EQ(r.code(), "manifest_malformed") << r.raw;

  EXPECT_TRUE(c.Admin("GET", "releases").body["releases"].empty());

  // A good one, then an older sequence is refused.
  r = c.Publish(m, {Controller::Sign(c.release_key, m)});
  ASSERT_EQ(r.status, 201) << r.raw;
  const auto older = Controller::Manifest("agent", "stable", "1.9.0", 4, art);
  r = c.Publish(older, {Controller::Sign(c.release_key, older)});
  EXPECT_EQ(r.code(), "sequence_rollback") << r.raw;
}

TEST(ControllerRoot, ExpiredRootRefusesEveryRelease) {
  Controller c("", std::chrono::system_clock::now() - std::chrono::hours(1));
  c.Start();
  const auto m = Controller::Manifest("agent", "stable", "1.0.0", 1, c.Blob("a"));
  auto r = c.Publish(m, {Controller::Sign(c.release_key, m)});
  EXPECT_EQ(r.code(), "expired") << r.raw;
}

TEST(ControllerRoot, UnsignedRootIsAConfigError) {
  Controller c;
  std::filesystem::remove(c.dir / "root.json.root1.minisig");
  auto r = RunProgram({Bin("steward-controller"), "serve", "--config", c.config()}, {}, 20s);
  EXPECT_EQ(r.status.code(), 78);
  EXPECT_NE(r.err.find("threshold_not_met"), std::string::npos) << r.err;
}

TEST_F(ControllerApi, ServesArtifactsHealthAndMetrics) {
  auto art = c.Blob("artifact bytes");
  auto r = c.Request("GET", "/v1/artifacts/" + art["sha256"].get<std::string>());
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.raw, "artifact bytes");
  EXPECT_EQ(c.Request("GET", "/v1/artifacts/../../etc/passwd").status, 404);
  auto bad = c.Request("GET", "/v1/artifacts/XYZ");
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(bad.message().find("64 lower-case hex"), std::string::npos);
  EXPECT_EQ(c.Request("GET", "/v1/artifacts/" + std::string(64, 'b')).code(), "not_found");

  EXPECT_EQ(c.Request("GET", "/healthz").status, 200);
  EXPECT_EQ(c.Request("GET", "/readyz").status, 200);
  c.Enroll("m1");
  auto m = c.Request("GET", "/metrics");
  EXPECT_EQ(m.status, 200);
  EXPECT_NE(m.raw.find("steward_controller_enrollments_total 1\n"), std::string::npos) << m.raw;
  EXPECT_NE(m.raw.find("# TYPE steward_controller_nodes gauge"), std::string::npos);
}

TEST_F(ControllerApi, StewardctlDrivesTheAdminApi) {
  Child::Options env;
  env.env["STEWARD_CONTROLLER"] = c.url;
  env.env["STEWARD_TOKEN"] = kAdminToken;
  const auto m = Controller::Manifest("agent", "stable", "1.2.0", 3, c.Blob("agent-1.2.0"));
  const auto manifest = c.dir.Write("agent-1.2.0.json", m);
  c.dir.Write("agent-1.2.0.json.rel1.minisig", Controller::Sign(c.release_key, m));

  auto r = RunProgram({Bin("stewardctl"), "release", "publish", manifest}, env);
  ASSERT_EQ(r.status.code(), 0) << r.err;
  EXPECT_NE(r.out.find("published agent/stable 1.2.0 (sequence 3)"), std::string::npos) << r.out;

  r = RunProgram({Bin("stewardctl"), "release", "list"}, env);
  EXPECT_NE(r.out.find("1.2.0"), std::string::npos) << r.out << r.err;

  r = RunProgram({Bin("stewardctl"), "rollout", "set", "--component", "agent", "--channel",
                  "stable", "--version", "1.2.0", "--percent", "25"},
                 env);
  ASSERT_EQ(r.status.code(), 0) << r.err;
  EXPECT_NE(r.out.find("version 1.2.0 at 25%"), std::string::npos) << r.out;
  r = RunProgram(
      {Bin("stewardctl"), "rollout", "pause", "--component", "agent", "--channel", "stable"}, env);
  EXPECT_NE(r.out.find("paused"), std::string::npos) << r.out << r.err;
  r = RunProgram({Bin("stewardctl"), "rollout", "resume", "--component", "agent", "--channel",
                  "stable", "--json"},
                 env);
  EXPECT_EQ(json::parse(r.out, nullptr, false).value("paused", true), false) << r.out;

  auto node = c.Enroll("m1");
  c.Checkin(node, json::array({Controller::Component("agent", "stable", "1.1.0")}));
  r = RunProgram({Bin("stewardctl"), "nodes", "list", "--json"}, env);
  auto nodes = json::parse(r.out, nullptr, false);
  ASSERT_TRUE(nodes.is_array()) << r.out << r.err;
  EXPECT_EQ(nodes[0]["id"], node.id);
  r = RunProgram({Bin("stewardctl"), "nodes", "show", node.id}, env);
  EXPECT_NE(r.out.find("host-m1"), std::string::npos) << r.out;
  r = RunProgram({Bin("stewardctl"), "fleet"}, env);
  EXPECT_NE(r.out.find("agent 1.1.0: 1"), std::string::npos) << r.out;

  // Maintenance windows: set in their canonical form, listed, refused when bad, cleared.
  r = RunProgram(
      {Bin("stewardctl"), "windows", "set", "stable", "--window",
       "sun,sat 02:00 120m Europe/Berlin", "--window", "wed 23:30 1h UTC", "--max-wait", "72h"},
      env);
  ASSERT_EQ(r.status.code(), 0) << r.err;
  r = RunProgram({Bin("stewardctl"), "windows", "list"}, env);
  EXPECT_NE(r.out.find("sat,sun 02:00 2h Europe/Berlin"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("wed 23:30 1h UTC"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("3d"), std::string::npos) << r.out;
  r = RunProgram({Bin("stewardctl"), "windows", "set", "stable", "--window", "mon 2:00 1h UTC"},
                 env);
  EXPECT_NE(r.status.code(), 0);
  EXPECT_NE(r.err.find("start '2:00'"), std::string::npos) << r.err;
  r = RunProgram({Bin("stewardctl"), "windows", "clear", "stable"}, env);
  EXPECT_EQ(r.status.code(), 0) << r.err;
  r = RunProgram({Bin("stewardctl"), "windows", "list"}, env);
  EXPECT_NE(r.out.find("no maintenance windows"), std::string::npos) << r.out;

  // Errors carry the server's code; a bad token is refused; no controller is a usage error.
  r = RunProgram({Bin("stewardctl"), "rollout", "set", "--component", "agent", "--channel",
                  "stable", "--version", "9.9.9", "--percent", "5"},
                 env);
  EXPECT_NE(r.status.code(), 0);
  EXPECT_NE(r.err.find("not_found"), std::string::npos) << r.err;
  auto bad_env = env;
  bad_env.env["STEWARD_TOKEN"] = "nope-nope-nope-nope";
  r = RunProgram({Bin("stewardctl"), "fleet"}, bad_env);
  EXPECT_NE(r.err.find("unauthorized"), std::string::npos) << r.err;
  Child::Options no_env;
  no_env.unset_env = {"STEWARD_CONTROLLER", "STEWARD_TOKEN"};
  r = RunProgram({Bin("stewardctl"), "fleet"}, no_env);
  EXPECT_EQ(r.status.code(), 64) << r.err;
  EXPECT_NE(r.err.find("--controller"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace steward::test
