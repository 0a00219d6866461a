// The wire messages: each documented example (docs/protocol.md) decodes, each message survives
// an encode/decode round trip with the same keys, nullability and types, and hostile input
// (wrong types, missing fields, unknown fields, huge numbers) is refused or read as documented.
#include "common/protocol.hpp"

#include <gtest/gtest.h>

#include <limits>
#include <nlohmann/json.hpp>

#include "common/trust.hpp"

namespace steward::protocol {
namespace {

using nlohmann::json;

const WallTime kNewYear{std::chrono::seconds(1767225600)};  // 2026-01-01T00:00:00Z

// Expects a bad_request whose message contains `what`.
template <class T>
void ExpectBad(const Result<T>& r, const std::string& what, const std::string& input) {
  ASSERT_FALSE(r) << "accepted: " << input;
  EXPECT_EQ(r.error().code, ErrorCode::bad_request) << input;
  EXPECT_NE(r.error().message.find(what), std::string::npos)
      << "message \"" << r.error().message << "\" lacks \"" << what << "\" for " << input;
}

// ---- errors -----------------------------------------------------------------------------------

TEST(ProtocolError, DecodesTheDocumentedExample) {
  const auto e = DecodeError(
      R"({"error": {"code": "unauthorized", "message": "the node token is not valid; enroll again"}})");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code, "unauthorized");
  EXPECT_EQ(e->message, "the node token is not valid; enroll again");
}

TEST(ProtocolError, EncodesTheEnvelope) {
  EXPECT_EQ(json::parse(EncodeError(ErrorCode::forbidden, "not yours")),
            json::parse(R"({"error":{"code":"forbidden","message":"not yours"}})"));
  const ErrorBody e{"some_future_code", "m"};
  EXPECT_EQ(DecodeError(Encode(e)), e);
}

TEST(ProtocolError, HostileBodiesAreNotEnvelopesOrReadAsStringsOnly) {
  for (const char* not_envelope : {"", "<html>proxy</html>", "[1]", R"({"error":"x"})",
                                   R"({"err":{}})", R"({"error":null})"}) {
    EXPECT_FALSE(DecodeError(not_envelope)) << not_envelope;
  }
  const auto odd = DecodeError(R"({"error":{"code":7,"message":["x"],"extra":1},"more":true})");
  ASSERT_TRUE(odd);
  EXPECT_EQ(odd->code, "");
  EXPECT_EQ(odd->message, "");
}

// ---- enroll -----------------------------------------------------------------------------------

TEST(ProtocolEnroll, DecodesTheDocumentedRequestAndRoundTrips) {
  const auto r = DecodeEnrollRequest(
      R"({"enroll_token": "t0k", "hostname": "web-1", "machine_id": "4f0c", "platform": "linux-x86_64"})");
  ASSERT_TRUE(r) << r.error().ToString();
  EXPECT_EQ(*r, (EnrollRequest{"t0k", "web-1", "4f0c", "linux-x86_64"}));
  EXPECT_EQ(DecodeEnrollRequest(Encode(*r)), *r);
  EXPECT_EQ(json::parse(Encode(*r)), json::parse(R"({"enroll_token":"t0k","hostname":"web-1",
            "machine_id":"4f0c","platform":"linux-x86_64"})"));
}

TEST(ProtocolEnroll, RequestFieldsAreCheckedAndNamed) {
  const std::string ok = R"("machine_id":"m","platform":"p")";
  const std::pair<std::string, std::string> cases[] = {
      {"not json", "enroll body is not valid JSON"},
      {"[]", "enroll body must be a JSON object"},
      {R"({"hostname":"h","machine_id":"m"})", "missing field 'platform'"},
      {R"({"hostname":7,)" + ok + "}", "'hostname' must be a string"},
      {R"({"hostname":"",)" + ok + "}", "'hostname' must not be empty"},
      {R"({"hostname":")" + std::string(256, 'h') + "\"," + ok + "}",
       "'hostname' is longer than 255 bytes"},
      {R"({"enroll_token":{},"hostname":"h",)" + ok + "}", "'enroll_token' must be a string"},
  };
  for (const auto& [body, what] : cases) ExpectBad(DecodeEnrollRequest(body), what, body);
  // No token is not a malformed request: the controller answers it with unauthorized.
  auto no_token = DecodeEnrollRequest(R"({"hostname":"h",)" + ok + R"(,"future":[1]})");
  ASSERT_TRUE(no_token) << no_token.error().ToString();
  EXPECT_EQ(no_token->enroll_token, "");
}

TEST(ProtocolEnroll, AnswerIsReadStrictly) {
  const auto a = DecodeEnrollAnswer(R"({"node_id": "n-3a9f", "node_token": "ab12", "x": 1})");
  ASSERT_TRUE(a) << a.error().ToString();
  EXPECT_EQ(*a, (EnrollAnswer{"n-3a9f", "ab12"}));
  EXPECT_EQ(DecodeEnrollAnswer(Encode(*a)), *a);
  ExpectBad(DecodeEnrollAnswer(R"({"node_id":"n-9"})"), "lacks node_token", "no token");
  ExpectBad(DecodeEnrollAnswer(R"({"node_id":"","node_token":"t"})"), "has an empty node_id",
            "empty id");
  ExpectBad(DecodeEnrollAnswer(R"({"node_id":1,"node_token":"t"})"),
            "has node_id of type number, not a string", "numeric id");
  ExpectBad(DecodeEnrollAnswer(R"({"node_id":"n","node_token":")" + std::string(1025, 'a') + "\"}"),
            "node_token longer than 1024 bytes", "long token");
  ExpectBad(DecodeEnrollAnswer("<html>"), "is not JSON (starts \"<html>", "html");
}

// ---- check-in report --------------------------------------------------------------------------

// The example of docs/protocol.md, with a real time in last_exit.at.
constexpr const char* kReport = R"({"node_id": "n-3a9f",
 "updater": {"version": "0.1.0"},
 "components": [{"name": "agent", "channel": "stable",
                 "running_version": "1.4.1", "installed_version": "1.4.1",
                 "previous_version": "1.4.0", "desired_state": "running", "state": "running",
                 "last_exit": {"kind": "requested", "code": 0, "signal": 0, "at": "2026-01-01T00:00:00Z"},
                 "restarts": 0, "crash_loop": false,
                 "last_update": {"from": "1.4.0", "to": "1.4.1", "result": "committed",
                                 "error_code": "", "error": ""}}],
 "host": {"os": "linux", "arch": "x86_64", "kernel": "6.1.0", "uptime_s": 86400}})";

CheckinReport FullReport() {
  ComponentReport c;
  c.name = "agent";
  c.channel = "stable";
  c.running_version = c.installed_version = "1.2.0";
  c.previous_version = "1.1.0";
  c.desired_state = c.state = "running";
  c.restarts = 3;
  c.crash_loop = true;
  c.last_exit = ExitInfo{ExitKind::crash, std::nullopt, 11, false, false, kNewYear};
  c.last_update =
      UpdateReport{"1.1.0",     "1.2.0", UpdateResult::rolled_back,    "health_gate_failed",
                   "not ready", "",      "delta_failed: hash_mismatch"};
  ComponentReport open;
  open.name = "web";
  open.channel = "beta";
  open.last_update = UpdateReport{"1.0.0", "2.0.0", std::nullopt, "", "", "1.5.0", ""};
  ComponentReport bare;
  bare.name = "db";
  bare.channel = "stable";
  return CheckinReport{"n-7", "0.3.0", {c, open, bare}, HostFacts{"linux", "x86_64", "6.1", 99}};
}

TEST(ProtocolCheckinReport, DecodesTheDocumentedExample) {
  auto r = DecodeCheckinReport(kReport);
  ASSERT_TRUE(r) << r.error().ToString();
  EXPECT_EQ(r->node_id, "n-3a9f");
  EXPECT_EQ(r->updater_version, "0.1.0");
  ASSERT_EQ(r->components.size(), 1u);
  const auto& c = r->components[0];
  EXPECT_EQ(c.name, "agent");
  EXPECT_EQ(c.previous_version, "1.4.0");
  ASSERT_TRUE(c.last_exit);
  EXPECT_EQ(*c.last_exit, (ExitInfo{ExitKind::requested, 0, 0, false, false, kNewYear}));
  ASSERT_TRUE(c.last_update);
  EXPECT_EQ(c.last_update->result, UpdateResult::committed);
  EXPECT_EQ(r->host, (HostFacts{"linux", "x86_64", "6.1.0", 86400}));
}

TEST(ProtocolCheckinReport, EncodesEveryFieldAndRoundTrips) {
  const auto report = FullReport();
  const auto text = Encode(report);
  const json j = json::parse(text);
  const auto& c = j["components"][0];
  EXPECT_EQ(c["last_exit"], json::parse(R"({"kind":"crash","code":null,"signal":11,
                                            "at":"2026-01-01T00:00:00Z"})"));
  EXPECT_EQ(c["last_update"], json::parse(R"({"from":"1.1.0","to":"1.2.0","result":"rolled_back",
                                              "error_code":"health_gate_failed","error":"not ready",
                                              "download":"delta_failed: hash_mismatch"})"));
  EXPECT_EQ(c["restarts"], 3);
  EXPECT_EQ(j["components"][1]["last_update"]["result"], "in_progress");
  EXPECT_EQ(j["components"][1]["last_update"]["superseded"], "1.5.0");
  EXPECT_FALSE(c["last_update"].contains("superseded")) << "only when an update superseded one";
  EXPECT_FALSE(j["components"][1]["last_update"].contains("download")) << "only once downloaded";
  EXPECT_TRUE(j["components"][2]["last_exit"].is_null());
  EXPECT_TRUE(j["components"][2]["last_update"].is_null());
  EXPECT_EQ(j["components"][2]["running_version"], "");  // "" on this wire, never null
  EXPECT_EQ(j["host"],
            json::parse(R"({"os":"linux","arch":"x86_64","kernel":"6.1","uptime_s":99})"));
  auto back = DecodeCheckinReport(text);
  ASSERT_TRUE(back) << back.error().ToString();
  EXPECT_EQ(*back, report);

  CheckinReport no_uptime = report;
  no_uptime.host.uptime_s.reset();
  EXPECT_TRUE(json::parse(Encode(no_uptime))["host"]["uptime_s"].is_null());
}

TEST(ProtocolCheckinReport, HostileReportsAreRefusedNamingTheField) {
  auto with = [](const std::string& component) {
    return R"({"node_id":"n-1","components":[)" + component + "]}";
  };
  std::string many = R"({"node_id":"n-1","components":[)";
  for (int i = 0; i < 65; ++i) many += std::string(i ? "," : "") + R"({"name":"a","channel":"b"})";
  many += "]}";
  const std::pair<std::string, std::string> cases[] = {
      {"node_id=1", "check-in body is not valid JSON"},
      {R"({"components":[]})", "missing field 'node_id'"},
      {R"({"node_id":"n-1","components":"agent"})", "'components' must be an array"},
      {many, "more than 64 components in one check-in"},
      {with("7"), "components[0]"},
      {with(R"({"name":"Agent!","channel":"stable"})"),
       "components[0]: name and channel must match"},
      {with(R"({"channel":"stable"})"), "components[0]: missing field 'name'"},
      {with(R"({"name":"a","channel":"b","running_version":1})"),
       "'running_version' must be a string"},
      {with(R"({"name":"a","channel":"b","last_update":{"result":7}})"),
       "components[0].last_update: field 'result' must be a string"},
      {with(R"({"name":"a","channel":"b","last_update":[]})"), "'last_update' must be an object"},
      {with(R"({"name":"a","channel":"b","restarts":"3"})"), "'restarts' must be an integer"},
      {with(R"({"name":"a","channel":"b","restarts":1.5})"), "'restarts' must be an integer"},
      {with(R"({"name":"a","channel":"b","crash_loop":1})"), "'crash_loop' must be a boolean"},
      {with(R"({"name":"a","channel":"b","last_exit":{"kind":"crash","at":"yesterday"}})"),
       "components[0].last_exit: field 'at' must be an RFC 3339 time"},
      {with(R"({"name":"a","channel":"b","last_exit":{"kind":"crash","signal":4294967296,)"
            R"("at":"2026-01-01T00:00:00Z"}})"),
       "'signal' must be a 32-bit integer"},
      {R"({"node_id":"n-1","host":{"uptime_s":"long"}})",
       "host: field 'uptime_s' must be an integer"},
  };
  for (const auto& [body, what] : cases) ExpectBad(DecodeCheckinReport(body), what, body);
}

TEST(ProtocolCheckinReport, ToleratesWhatANewerOrSparserNodeSends) {
  // Null fields of a reported update read as empty; a null or unknown result says nothing about
  // an outcome, so the update reads as not reported. An unknown exit kind drops last_exit.
  auto r = DecodeCheckinReport(
      R"({"node_id":"n-1","future":{"x":[1]},"components":[
        {"name":"a","channel":"b","last_update":{"from":null,"to":"1.0.0","result":null,"error_code":null}},
        {"name":"c","channel":"b","last_update":{"from":"1","to":"2","result":"teleported"},
         "last_exit":{"kind":"abducted","at":"2026-01-01T00:00:00Z"}},
        {"name":"d","channel":"b","last_update":{"to":"2","result":"in_progress"},"new_field":true,
         "restarts":18446744073709551615}]})");
  ASSERT_TRUE(r) << r.error().ToString();
  ASSERT_EQ(r->components.size(), 3u);
  EXPECT_FALSE(r->components[0].last_update);
  EXPECT_FALSE(r->components[1].last_update);
  EXPECT_FALSE(r->components[1].last_exit);
  ASSERT_TRUE(r->components[2].last_update);
  EXPECT_EQ(r->components[2].last_update->result, std::nullopt);
  EXPECT_EQ(r->components[2].last_update->from, "");
  EXPECT_EQ(r->components[2].restarts, std::numeric_limits<std::int64_t>::max());
  EXPECT_EQ(r->host, HostFacts{});  // no host: the defaults
}

// ---- check-in answer --------------------------------------------------------------------------

constexpr const char* kAnswer =
    R"({"releases": [{"component": "agent", "channel": "stable", "version": "1.4.2",
               "manifest": "{\"schema\": 1}\n",
               "signatures": ["untrusted comment: a\nsig"]}],
 "flags": {"console.embedded": true},
 "controllers": ["https://controller-1.example:8443"],
 "checkin_interval_s": 60,
 "roots": []})";

TEST(ProtocolCheckinAnswer, DecodesTheDocumentedExampleAndRoundTrips) {
  auto a = DecodeCheckinAnswer(kAnswer);
  ASSERT_TRUE(a) << a.error().ToString();
  ASSERT_EQ(a->releases.size(), 1u);
  EXPECT_EQ(a->releases[0],
            (ReleaseOffer{
                "agent", "{\"schema\": 1}\n", {"untrusted comment: a\nsig"}, "stable", "1.4.2"}));
  EXPECT_EQ(a->flags, R"({"console.embedded":true})");
  EXPECT_EQ(a->controllers, std::vector<std::string>{"https://controller-1.example:8443"});
  EXPECT_EQ(a->checkin_interval_s, 60);
  EXPECT_TRUE(a->roots.empty());
  EXPECT_EQ(json::parse(Encode(*a)), json::parse(kAnswer));
  EXPECT_EQ(DecodeCheckinAnswer(Encode(*a)), *a);

  CheckinAnswer rotated;
  rotated.roots = {RootOffer{"{\"version\": 2}", {"s1", "s2"}}};
  const json j = json::parse(Encode(rotated));
  EXPECT_EQ(j, json::parse(R"({"releases":[],"flags":{},"controllers":[],
                               "roots":[{"root":"{\"version\": 2}","signatures":["s1","s2"]}]})"));
  EXPECT_EQ(DecodeCheckinAnswer(Encode(rotated)), rotated);

  CheckinAnswer windowed;
  windowed.windows = {UpdateWindows{"agent", {"mon-fri 02:00 2h Europe/Berlin"}, 259200},
                      UpdateWindows{"db", {"sat,sun 03:00 1h UTC", "daily 12:00 1m UTC"}, {}}};
  EXPECT_EQ(json::parse(Encode(windowed))["windows"],
            json::parse(R"([{"component":"agent","windows":["mon-fri 02:00 2h Europe/Berlin"],
                             "max_wait_s":259200},
                            {"component":"db","windows":["sat,sun 03:00 1h UTC","daily 12:00 1m UTC"]}])"));
  EXPECT_EQ(DecodeCheckinAnswer(Encode(windowed)), windowed);
  // No windows: the answer's bytes are what they were before windows existed.
  EXPECT_FALSE(json::parse(Encode(rotated)).contains("windows"));
}

TEST(ProtocolCheckinAnswer, HostileAnswersAreRefusedNamingTheField) {
  const std::pair<std::string, std::string> cases[] = {
      {"{\"releases\": [", "is not JSON (starts \"{\"releases\": ["},
      {"[1,2]", "is a JSON array, not an object"},
      {R"({"flags":{}})", "lacks releases"},
      {R"({"releases":{}})", "has releases of type object, not an array"},
      {R"({"releases":[7]})", "has releases[0] of type number, not an object"},
      {R"({"releases":[{"component":"a","signatures":[]}]})", "lacks releases[0].manifest"},
      {R"({"releases":[{"component":"","manifest":"m","signatures":[]}]})",
       "has an empty releases[0].component"},
      {R"({"releases":[{"component":"a","manifest":{},"signatures":[]}]})",
       "releases[0].manifest of type object, not a string"},
      {R"({"releases":[{"component":"a","manifest":"m","signatures":[1]}]})",
       "releases[0].signatures[0] of type number"},
      {R"({"releases":[{"component":"a","manifest":"m","signatures":[],"version":2}]})",
       "releases[0].version of type number, not a string"},
      {R"({"releases":[],"flags":"on"})", "flags of type string, not an object"},
      {R"({"releases":[],"checkin_interval_s":1.5})",
       "checkin_interval_s of type number, not an integer"},
      {R"({"releases":[],"checkin_interval_s":"60"})", "checkin_interval_s of type string"},
      {R"({"releases":[],"checkin_interval_s":1e400})", "is not JSON"},
      {R"({"releases":[],"controllers":["http://a",7]})", "controllers[1] of type number"},
      {R"({"releases":[],"roots":{}})", "roots of type object"},
      {R"({"releases":[],"roots":[{"signatures":[]}]})", "lacks roots[0].root"},
      {R"({"releases":[],"windows":{}})", "windows of type object"},
      {R"({"releases":[],"windows":[{"windows":[]}]})", "lacks windows[0].component"},
      {R"({"releases":[],"windows":[{"component":"a"}]})", "lacks windows[0].windows"},
      {R"({"releases":[],"windows":[{"component":"a","windows":[2]}]})",
       "windows[0].windows[0] of type number"},
      {R"({"releases":[],"windows":[{"component":"a","windows":[],"max_wait_s":"1h"}]})",
       "windows[0].max_wait_s of type string"},
  };
  for (const auto& [body, what] : cases) ExpectBad(DecodeCheckinAnswer(body), what, body);
}

TEST(ProtocolCheckinAnswer, NumbersSaturateAndNullsReadAsAbsent) {
  auto huge = DecodeCheckinAnswer(R"({"releases":[],"checkin_interval_s":18446744073709551615})");
  ASSERT_TRUE(huge);
  EXPECT_EQ(huge->checkin_interval_s, std::numeric_limits<std::int64_t>::max());
  auto neg = DecodeCheckinAnswer(R"({"releases":[],"checkin_interval_s":-5})");
  ASSERT_TRUE(neg);
  EXPECT_EQ(neg->checkin_interval_s, -5);  // clamping is the client's policy
  auto nulls = DecodeCheckinAnswer(
      R"({"releases":[],"flags":null,"controllers":null,"checkin_interval_s":null,"roots":null,"x":1})");
  ASSERT_TRUE(nulls) << nulls.error().ToString();
  EXPECT_EQ(*nulls, CheckinAnswer{});
}

// ---- signed releases --------------------------------------------------------------------------

TEST(ProtocolSignedRelease, DecodesTheDocumentedBodyAndRoundTrips) {
  auto r = DecodeSignedRelease(R"({"manifest": "<exact signed bytes>", "signatures": ["a", "b"]})");
  ASSERT_TRUE(r) << r.error().ToString();
  EXPECT_EQ(*r, (SignedRelease{"<exact signed bytes>", {"a", "b"}}));
  EXPECT_EQ(json::parse(Encode(*r)),
            json::parse(R"({"manifest":"<exact signed bytes>","signatures":["a","b"]})"));
  EXPECT_EQ(DecodeSignedRelease(Encode(*r)), *r);
}

TEST(ProtocolSignedRelease, HostileBodiesAreRefused) {
  const std::string too_long = std::string(trust::kMaxManifestBytes + 2, 'm');
  const std::pair<std::string, std::string> cases[] = {
      {"{", "release body is not valid JSON"},
      {R"({"signatures":["s"]})", "missing field 'manifest'"},
      {R"({"manifest":1,"signatures":["s"]})", "'manifest' must be a string"},
      {R"({"manifest":"m"})", "'signatures' must be a non-empty array"},
      {R"({"manifest":"m","signatures":[]})", "'signatures' must be a non-empty array"},
      {R"({"manifest":"m","signatures":"s"})", "'signatures' must be a non-empty array"},
      {R"({"manifest":"m","signatures":["s",2]})", "'signatures' must hold strings"},
      {R"({"manifest":")" + too_long + R"(","signatures":["s"]})", "'manifest' is longer than"},
  };
  for (const auto& [body, what] : cases) {
    ExpectBad(DecodeSignedRelease(body), what, body.substr(0, 80));
  }
  // One byte over the manifest limit is left to the manifest parser (manifest_too_large).
  EXPECT_TRUE(DecodeSignedRelease(R"({"manifest":")" +
                                  std::string(trust::kMaxManifestBytes + 1, 'm') +
                                  R"(","signatures":["s"]})"));
}

// ---- status document --------------------------------------------------------------------------

// As the updater writes it: one component with an open update, one never started.
constexpr const char* kStatus = R"status({
 "updater": {"version": "0.9.0", "state": "running",
             "update": {"id": 4, "from": "0.8.0", "to": "0.9.0", "state": "committed",
                        "result": "committed", "error_code": null, "error": null,
                        "healthy_s": 12.5, "grace_s": 30.0, "superseded": null,
                        "download": "delta"}},
 "components": [
  {"name": "agent", "state": "running", "pid": 4242, "desired_state": "running",
   "running_version": "1.2.0", "installed_version": "1.2.0", "previous_version": null,
   "last_exit": {"kind": "crash", "code": null, "signal": 11, "core_dumped": true, "oom": false,
                 "at": "2026-01-01T00:00:00Z"},
   "restarts": 2, "consecutive_failures": 1, "crash_loop": false, "status": "serving",
   "last_error": null, "waiting": null,
   "update": {"id": 5, "from": "1.1.0", "to": "1.2.0", "state": "probation", "result": null,
              "error_code": null, "error": null, "healthy_s": 0.25, "grace_s": 60.0,
              "superseded": null, "download": null}},
  {"name": "web", "state": "stopped", "pid": null, "desired_state": "stopped",
   "running_version": null, "installed_version": null, "previous_version": null,
   "last_exit": null, "restarts": 0, "consecutive_failures": 0, "crash_loop": false,
   "status": "", "last_error": "exec: no such file",
   "waiting": "1.3.0 waits for a maintenance window (the next opens 2026-01-02T02:00:00Z)",
   "update": null}],
 "checkin": {"count": 3, "last_at": "2026-01-01T00:00:00Z", "last_error": null,
             "controller": "http://127.0.0.1:1"}})status";

TEST(ProtocolStatus, DecodesTheDocumentAndRoundTripsKeyForKey) {
  auto s = DecodeStatus(kStatus);
  ASSERT_TRUE(s) << s.error().ToString();
  EXPECT_EQ(s->updater.version, "0.9.0");
  ASSERT_TRUE(s->updater.update);
  EXPECT_EQ(s->updater.update->result, UpdateResult::committed);
  EXPECT_EQ(s->updater.update->download, "delta");
  ASSERT_EQ(s->components.size(), 2u);
  const auto& a = s->components[0];
  EXPECT_EQ(a.pid, 4242);
  EXPECT_EQ(*a.last_exit, (ExitInfo{ExitKind::crash, std::nullopt, 11, true, false, kNewYear}));
  ASSERT_TRUE(a.update);
  EXPECT_EQ(a.update->result, std::nullopt);
  EXPECT_EQ(a.update->healthy_s, 0.25);
  EXPECT_EQ(s->components[1].pid, std::nullopt);
  EXPECT_EQ(s->components[1].last_error, "exec: no such file");
  EXPECT_EQ(s->components[1].waiting,
            "1.3.0 waits for a maintenance window (the next opens 2026-01-02T02:00:00Z)");
  ASSERT_TRUE(s->checkin);
  EXPECT_EQ(s->checkin->count, 3u);
  // Same keys, same nulls, same types as the updater writes.
  EXPECT_EQ(json::parse(Encode(*s)), json::parse(kStatus));
  EXPECT_EQ(DecodeStatus(Encode(*s)), *s);
}

TEST(ProtocolStatus, OptionalPartsAreLeftOut) {
  StatusDocument recovering;
  recovering.updater = UpdaterStatus{"0.9.0", "recovering", std::nullopt};
  EXPECT_EQ(json::parse(Encode(recovering)),
            json::parse(R"({"updater":{"version":"0.9.0","state":"recovering"},"components":[]})"));
}

TEST(ProtocolStatus, HostileDocumentsAreRefused) {
  const std::pair<std::string, std::string> cases[] = {
      {"null", "is a JSON null, not an object"},
      {R"({"components":[]})", "lacks updater"},
      {R"({"updater":{}})", "lacks components"},
      {R"({"updater":{},"components":[{"state":"running"}]})", "lacks components[0].name"},
      {R"({"updater":{},"components":[{"name":"a","pid":"1"}]})",
       "has components[0].pid of type string, not an integer"},
      {R"({"updater":{},"components":[{"name":"a","update":{"healthy_s":"1"}}]})",
       "components[0].update.healthy_s of type string, not a number"},
      {R"({"updater":{"version":3},"components":[]})", "has updater.version of type number"},
  };
  for (const auto& [body, what] : cases) ExpectBad(DecodeStatus(body), what, body);
  // A newer updater's update result drops that update; extra keys are ignored.
  auto newer = DecodeStatus(
      R"({"updater":{"version":"9","state":"running","extra":1},"components":[{"name":"a",
          "update":{"id":1,"state":"done","result":"quantum"}}],"future":[]})");
  ASSERT_TRUE(newer) << newer.error().ToString();
  EXPECT_FALSE(newer->components[0].update);
}

}  // namespace
}  // namespace steward::protocol
