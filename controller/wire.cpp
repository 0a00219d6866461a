#include "controller/wire.hpp"

#include <nlohmann/json.hpp>

#include "common/rfc3339.hpp"
#include "common/trust.hpp"

namespace steward::controller {

using nlohmann::json;

namespace {

// The body as a JSON object, or the bad_request answer.
Result<json> ParseBody(const http::Request& req, std::string_view what) {
  json body = json::parse(req.body, nullptr, false);
  if (body.is_discarded()) {
    return Fail(ErrorCode::bad_request, std::string(what) + " body is not valid JSON");
  }
  if (!body.is_object()) {
    return Fail(ErrorCode::bad_request, std::string(what) + " body must be a JSON object");
  }
  return body;
}

// A string member; required ones missing or of another type are errors naming the field.
Result<std::string> StringField(const json& obj, std::string_view name, bool required,
                                std::size_t max_len = 256) {
  auto it = obj.find(name);
  if (it == obj.end() || it->is_null()) {
    if (required) return Fail(ErrorCode::bad_request, "missing field '" + std::string(name) + "'");
    return std::string();
  }
  if (!it->is_string()) {
    return Fail(ErrorCode::bad_request, "field '" + std::string(name) + "' must be a string");
  }
  auto s = it->get<std::string>();
  if (s.size() > max_len) {
    return Fail(ErrorCode::bad_request, "field '" + std::string(name) + "' is longer than " +
                                            std::to_string(max_len) + " bytes");
  }
  if (required && s.empty()) {
    return Fail(ErrorCode::bad_request, "field '" + std::string(name) + "' must not be empty");
  }
  return s;
}

std::string Rfc3339(std::int64_t unix_seconds) {
  return FormatRfc3339(WallTime{std::chrono::seconds(unix_seconds)});
}

// A null field reads as "". A result that is neither an update result nor in_progress is
// outside the protocol: the update is not counted, as if none were reported.
Result<std::optional<LastUpdate>> ReadLastUpdate(const json& lu) {
  std::string fields[4];
  const char* names[4] = {"from", "to", "result", "error_code"};
  for (int i = 0; i < 4; ++i) {
    auto v = StringField(lu, names[i], false, 128);
    if (!v) return std::unexpected(v.error());
    fields[i] = std::move(*v);
  }
  if (fields[2].empty()) return std::optional<LastUpdate>{};
  auto result = ResultFromName(fields[2]);
  if (!result) return std::optional<LastUpdate>{};
  return LastUpdate{std::move(fields[0]), std::move(fields[1]), *result, std::move(fields[3])};
}

Result<ComponentReport> ReadComponent(const json& c, const std::string& where) {
  if (!c.is_object()) return Fail(ErrorCode::bad_request, where + " must be an object");
  ComponentReport out;
  std::string* fields[4] = {&out.name, &out.channel, &out.running_version, &out.state};
  const char* names[4] = {"name", "channel", "running_version", "state"};
  const bool required[4] = {true, true, false, false};
  const std::size_t max_len[4] = {64, 64, 128, 64};
  for (int i = 0; i < 4; ++i) {
    auto v = StringField(c, names[i], required[i], max_len[i]);
    if (!v) return std::unexpected(v.error().Wrap(where));
    *fields[i] = std::move(*v);
  }
  if (!trust::IsValidName(out.name) || !trust::IsValidName(out.channel)) {
    return Fail(ErrorCode::bad_request,
                where + ": name and channel must match [a-z0-9][a-z0-9_-]{0,63}");
  }
  if (auto lu = c.find("last_update"); lu != c.end() && !lu->is_null()) {
    if (!lu->is_object()) {
      return Fail(ErrorCode::bad_request, where + ": field 'last_update' must be an object");
    }
    auto update = ReadLastUpdate(*lu);
    if (!update) return std::unexpected(update.error().Wrap(where + ".last_update"));
    out.last_update = std::move(*update);
  }
  return out;
}

Result<std::vector<ComponentReport>> ReadComponents(const json& body) {
  std::vector<ComponentReport> out;
  auto it = body.find("components");
  if (it == body.end()) return out;
  if (!it->is_array()) return Fail(ErrorCode::bad_request, "field 'components' must be an array");
  if (it->size() > kMaxComponents) {
    return Fail(ErrorCode::bad_request,
                "more than " + std::to_string(kMaxComponents) + " components in one check-in");
  }
  for (std::size_t i = 0; i < it->size(); ++i) {
    auto c = ReadComponent((*it)[i], "components[" + std::to_string(i) + "]");
    if (!c) return std::unexpected(c.error());
    out.push_back(std::move(*c));
  }
  return out;
}

json ReleaseJson(const ReleaseRecord& r) {
  return json{{"component", r.component},
              {"channel", r.channel},
              {"version", r.version},
              {"sequence", r.sequence},
              {"root_version", r.root_version},
              {"manifest_sha256", r.manifest_sha256},
              {"signatures", r.signatures.size()},
              {"published_at", Rfc3339(r.published_at)},
              {"expires", Rfc3339(r.expires)}};
}

json RolloutJson(const RolloutStatus& s) {
  const auto& r = s.rollout;
  return json{{"component", r.component},
              {"channel", r.channel},
              {"version", r.version},
              {"minimum", r.minimum},
              {"percent", r.percent},
              {"paused", r.paused},
              {"halt_reason", r.halt_reason},
              {"updated_at", Rfc3339(r.updated_at)},
              {"nodes", s.reach.nodes},
              {"nodes_in_bucket", s.reach.in_bucket},
              {"nodes_on_target", s.reach.on_target},
              {"update_attempts", s.counts.attempts},
              {"rolled_back", s.counts.rolled_back}};
}

json RolloutsJson(const std::vector<RolloutStatus>& statuses) {
  json out = json::array();
  for (const auto& s : statuses) out.push_back(RolloutJson(s));
  return out;
}

json NodeJson(const NodeState& st) {
  json comps = json::array();
  for (const auto& c : st.components) {
    comps.push_back(json{{"name", c.name},
                         {"channel", c.channel},
                         {"running_version", c.running_version},
                         {"state", c.state}});
  }
  const auto& r = st.record;
  return json{{"id", r.id},
              {"hostname", r.hostname},
              {"platform", r.platform},
              {"enrolled_at", Rfc3339(r.enrolled_at)},
              {"last_seen", r.last_seen ? json(Rfc3339(r.last_seen)) : json(nullptr)},
              {"components", comps}};
}

}  // namespace

Result<std::string> DecodeEnrollToken(const http::Request& req) {
  auto body = ParseBody(req, "enroll");
  if (!body) return std::unexpected(body.error());
  return StringField(*body, "enroll_token", false, 1024);
}

Result<EnrollRequest> DecodeEnroll(const http::Request& req) {
  auto body = ParseBody(req, "enroll");
  if (!body) return std::unexpected(body.error());
  EnrollRequest out;
  std::string* fields[3] = {&out.hostname, &out.machine_id, &out.platform};
  const char* names[3] = {"hostname", "machine_id", "platform"};
  const std::size_t max_len[3] = {255, 128, 64};
  for (int i = 0; i < 3; ++i) {
    auto v = StringField(*body, names[i], true, max_len[i]);
    if (!v) return std::unexpected(v.error());
    *fields[i] = std::move(*v);
  }
  out.proof = req.BearerToken();
  out.remote = req.remote;
  return out;
}

std::string EncodeEnrollment(const Enrollment& e) {
  return json{{"node_id", e.node_id}, {"node_token", e.node_token}}.dump();
}

Result<CheckinReport> DecodeCheckin(const http::Request& req) {
  auto body = ParseBody(req, "check-in");
  if (!body) return std::unexpected(body.error());
  auto node_id = StringField(*body, "node_id", true, 64);
  if (!node_id) return std::unexpected(node_id.error());
  auto components = ReadComponents(*body);
  if (!components) return std::unexpected(components.error());
  return CheckinReport{std::move(*node_id), std::move(*components), req.body};
}

// Written by hand from texts made once (offers at publish, flags at a change, controllers at a
// heartbeat): the check-in is the hot path.
std::string EncodeCheckinAnswer(const CheckinAnswer& a) {
  std::string out = R"({"releases":[)";
  for (std::size_t i = 0; i < a.releases.size(); ++i) {
    if (i) out += ',';
    out += a.releases[i]->offer_json;
  }
  out += R"(],"flags":)";
  out += a.flags;
  out += R"(,"controllers":)";
  out += a.controllers;
  out += R"(,"checkin_interval_s":)" + std::to_string(a.checkin_interval_s) + R"(,"roots":)";
  out += a.roots;
  out += '}';
  return out;
}

std::vector<ComponentReport> ComponentsOfReport(const std::string& report) {
  if (report.empty()) return {};
  json body = json::parse(report, nullptr, false);
  if (!body.is_object()) return {};
  return ReadComponents(body).value_or(std::vector<ComponentReport>{});
}

std::string EncodeOffer(const ReleaseRecord& r) {
  return json{{"component", r.component},
              {"channel", r.channel},
              {"version", r.version},
              {"manifest", r.manifest},
              {"signatures", r.signatures}}
      .dump();
}

std::string EncodeControllers(const std::vector<std::string>& urls) {
  json out = json::array();
  for (const auto& u : urls) out.push_back(u);
  return out.dump();
}

std::string EncodeRoots(const std::string& root, const std::vector<std::string>& signatures) {
  return json::array({json{{"root", root}, {"signatures", signatures}}}).dump();
}

Result<PublishRequest> DecodePublish(const http::Request& req) {
  auto body = ParseBody(req, "release");
  if (!body) return std::unexpected(body.error());
  PublishRequest out;
  auto manifest = StringField(*body, "manifest", true, trust::kMaxManifestBytes + 1);
  if (!manifest) return std::unexpected(manifest.error());
  out.manifest = std::move(*manifest);
  auto s = body->find("signatures");
  if (s == body->end() || !s->is_array() || s->empty()) {
    return Fail(ErrorCode::bad_request,
                "field 'signatures' must be a non-empty array of .minisig texts");
  }
  for (const auto& sig : *s) {
    if (!sig.is_string()) {
      return Fail(ErrorCode::bad_request, "field 'signatures' must hold strings");
    }
    out.signatures.push_back(sig.get<std::string>());
  }
  return out;
}

std::string EncodePublished(const PublishOutcome& o) {
  const auto& r = o.release;
  if (!o.published) {
    return json{{"published", false},       {"reason", "this exact release is already published"},
                {"component", r.component}, {"channel", r.channel},
                {"version", r.version},     {"sequence", r.sequence}}
        .dump();
  }
  auto out = ReleaseJson(r);
  out["published"] = true;
  out["signers"] = o.signers;
  return out.dump();
}

std::string EncodeReleases(const std::vector<ReleaseRecord>& releases) {
  json out = json::array();
  for (const auto& r : releases) out.push_back(ReleaseJson(r));
  return json{{"releases", out}}.dump();
}

Result<RolloutChange> DecodeRolloutChange(const http::Request& req) {
  RolloutChange out;
  out.component = req.params.at("component");
  out.channel = req.params.at("channel");
  if (!trust::IsValidName(out.component) || !trust::IsValidName(out.channel)) {
    return Fail(ErrorCode::bad_request,
                "component and channel must match [a-z0-9][a-z0-9_-]{0,63}");
  }
  auto body = ParseBody(req, "rollout");
  if (!body) return std::unexpected(body.error());
  for (const auto& [k, v] : body->items()) {
    if (k != "version" && k != "percent" && k != "paused" && k != "minimum") {
      return Fail(ErrorCode::bad_request,
                  "unknown field '" + k + "'; allowed: version, percent, paused, minimum");
    }
  }
  auto version = StringField(*body, "version", false, 128);
  if (!version) return std::unexpected(version.error());
  out.version = std::move(*version);
  auto minimum = StringField(*body, "minimum", false, 128);
  if (!minimum) return std::unexpected(minimum.error());
  if (body->contains("minimum")) out.minimum = std::move(*minimum);  // null clears it too
  if (auto p = body->find("percent"); p != body->end()) {
    if (!p->is_number() || p->get<double>() < 0 || p->get<double>() > 100) {
      return Fail(ErrorCode::bad_request, "field 'percent' must be a number from 0 to 100");
    }
    out.percent = p->get<double>();
  }
  if (auto p = body->find("paused"); p != body->end()) {
    if (!p->is_boolean()) return Fail(ErrorCode::bad_request, "field 'paused' must be a boolean");
    out.paused = p->get<bool>();
  }
  return out;
}

std::string EncodeRollout(const RolloutStatus& status) { return RolloutJson(status).dump(); }

std::string EncodeRollouts(const std::vector<RolloutStatus>& statuses) {
  return json{{"rollouts", RolloutsJson(statuses)}}.dump();
}

std::string EncodeNodes(const std::vector<NodeState>& nodes) {
  json out = json::array();
  for (const auto& st : nodes) out.push_back(NodeJson(st));
  return json{{"nodes", out}}.dump();
}

std::string EncodeNode(const NodeState& st) {
  auto out = NodeJson(st);
  out["machine_id"] = st.record.machine_id;
  out["report"] =
      st.record.report.empty() ? json(nullptr) : json::parse(st.record.report, nullptr, false);
  return out.dump();
}

std::string EncodeFleet(const FleetCounts& counts, const std::vector<RolloutStatus>& rollouts) {
  return json{{"nodes", counts.nodes},
              {"versions", counts.versions.empty() ? json::object() : json(counts.versions)},
              {"states", counts.states.empty() ? json::object() : json(counts.states)},
              {"rollouts", RolloutsJson(rollouts)}}
      .dump();
}

std::string EncodeNumber(double value) { return json(value).dump(); }

}  // namespace steward::controller
