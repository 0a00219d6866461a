#include "controller/wire.hpp"

#include <algorithm>
#include <charconv>
#include <nlohmann/json.hpp>

#include "common/duration.hpp"
#include "common/protocol.hpp"
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
              {"rolled_back", s.counts.rolled_back},
              {"environment", s.counts.environment},
              {"canary", r.waves.canary},
              {"max_in_flight", r.waves.max_in_flight},
              {"bake", r.waves.bake_s},
              {"immediate", r.waves.immediate},
              {"wave", r.wave},
              {"wave_started_at", Rfc3339(r.wave_started_at)},
              {"offered", s.waves.offered},
              {"in_flight", s.waves.in_flight},
              {"committed", s.waves.committed},
              {"failed", s.waves.failed}};
}

// An optional whole number in [0, max]; absent and null leave `out` empty.
Result<void> CountField(const json& obj, std::string_view name, std::int64_t max,
                        std::optional<std::int64_t>& out) {
  auto it = obj.find(name);
  if (it == obj.end() || it->is_null()) return {};
  if (!it->is_number_integer() || it->get<std::int64_t>() < 0 || it->get<std::int64_t>() > max) {
    return Fail(ErrorCode::bad_request, "field '" + std::string(name) +
                                            "' must be a whole number from 0 to " +
                                            std::to_string(max) + " (0: the default)");
  }
  out = it->get<std::int64_t>();
  return {};
}

// Booleans a rollout change may carry.
Result<void> BoolField(const json& obj, std::string_view name, std::optional<bool>& out) {
  auto it = obj.find(name);
  if (it == obj.end()) return {};
  if (!it->is_boolean()) {
    return Fail(ErrorCode::bad_request, "field '" + std::string(name) + "' must be a boolean");
  }
  out = it->get<bool>();
  return {};
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

// What the fleet keeps of a check-in report: the fields it counts and offers by, and the body.
Result<CheckinReport> KeptReport(std::string body) {
  auto report = protocol::DecodeCheckinReport(body);
  if (!report) return std::unexpected(report.error());
  std::vector<ComponentReport> components;
  components.reserve(report->components.size());
  for (auto& c : report->components) {
    std::optional<LastUpdate> update;
    if (c.last_update) {
      auto& u = *c.last_update;
      update = LastUpdate{std::move(u.from), std::move(u.to), u.result, std::move(u.error_code)};
    }
    components.push_back(ComponentReport{std::move(c.name), std::move(c.channel),
                                         std::move(c.running_version), std::move(c.state),
                                         std::move(update), c.crash_loop});
  }
  return CheckinReport{std::move(report->node_id), std::move(components), std::move(body)};
}

}  // namespace

Result<CheckinReport> DecodeCheckin(const http::Request& req) { return KeptReport(req.body); }

std::string EncodeCheckinAnswer(const CheckinAnswer& a) {
  protocol::EncodedCheckinAnswer out{{},      a.flags,  a.controllers, a.checkin_interval_s,
                                     a.roots, a.windows};
  out.releases.reserve(a.releases.size());
  for (const auto& r : a.releases) out.releases.push_back(r->offer_json);
  return protocol::Encode(out);
}

std::vector<ComponentReport> ComponentsOfReport(const std::string& report) {
  if (report.empty()) return {};
  auto decoded = KeptReport(report);
  return decoded ? std::move(decoded->components) : std::vector<ComponentReport>{};
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
  static constexpr std::string_view kAllowed[] = {
      "version", "percent", "paused", "minimum", "canary", "max_in_flight", "bake", "immediate"};
  for (const auto& [k, v] : body->items()) {
    if (std::find(std::begin(kAllowed), std::end(kAllowed), k) == std::end(kAllowed)) {
      return Fail(ErrorCode::bad_request,
                  "unknown field '" + k +
                      "'; allowed: version, percent, paused, minimum, canary, max_in_flight, "
                      "bake, immediate");
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
  constexpr std::int64_t kMaxNodes = 100'000'000;
  constexpr std::int64_t kMaxBakeS = 30 * 24 * 3600;  // a month
  for (auto r :
       {BoolField(*body, "paused", out.paused), BoolField(*body, "immediate", out.immediate),
        CountField(*body, "canary", kMaxNodes, out.canary),
        CountField(*body, "max_in_flight", kMaxNodes, out.max_in_flight),
        CountField(*body, "bake", kMaxBakeS, out.bake_s)}) {
    if (!r) return std::unexpected(r.error());
  }
  return out;
}

Result<WindowsChange> DecodeWindowsChange(const http::Request& req) {
  WindowsChange out;
  out.channel = req.params.at("channel");
  if (!trust::IsValidName(out.channel)) {
    return Fail(ErrorCode::bad_request, "channel must match [a-z0-9][a-z0-9_-]{0,63}");
  }
  auto body = ParseBody(req, "windows");
  if (!body) return std::unexpected(body.error());
  for (const auto& [k, v] : body->items()) {
    if (k != "windows" && k != "max_wait") {
      return Fail(ErrorCode::bad_request, "unknown field '" + k + "'; allowed: windows, max_wait");
    }
  }
  auto windows = body->find("windows");
  if (windows == body->end() || !windows->is_array()) {
    return Fail(ErrorCode::bad_request,
                "field 'windows' must be an array of windows such as \"mon-fri 02:00 2h "
                "Europe/Berlin\" (an empty array clears them)");
  }
  for (const auto& w : *windows) {
    if (!w.is_string() || w.get_ref<const std::string&>().size() > 256) {
      return Fail(ErrorCode::bad_request, "field 'windows' must hold strings of at most 256 bytes");
    }
    out.windows.push_back(w.get<std::string>());
  }
  auto max_wait = StringField(*body, "max_wait", false, 32);
  if (!max_wait) return std::unexpected(max_wait.error());
  if (!max_wait->empty()) {
    auto d = ParseDuration(*max_wait);
    if (!d) return Fail(ErrorCode::bad_request, "field 'max_wait': " + d.error().message);
    out.max_wait_s = std::chrono::duration_cast<std::chrono::seconds>(*d).count();
  }
  return out;
}

std::string EncodeWindows(const std::vector<WindowsRecord>& windows) {
  json out = json::array();
  for (const auto& w : windows) {
    out.push_back(json{
        {"channel", w.channel},
        {"windows", w.windows},
        {"max_wait", w.max_wait_s > 0 ? json(FormatDuration(std::chrono::seconds(w.max_wait_s)))
                                      : json(nullptr)},
        {"updated_at", Rfc3339(w.updated_at)}});
  }
  return json{{"windows", out}}.dump();
}

std::string EncodeRollout(const RolloutStatus& status) { return RolloutJson(status).dump(); }

std::string EncodeRollouts(const std::vector<RolloutStatus>& statuses) {
  return json{{"rollouts", RolloutsJson(statuses)}}.dump();
}

Result<NodeQuery> DecodeNodeQuery(const http::Request& req) {
  NodeQuery q;
  if (auto limit = req.Query("limit")) {
    std::size_t n = 0;
    const auto* end = limit->data() + limit->size();
    const auto [ptr, ec] = std::from_chars(limit->data(), end, n);
    if (ec != std::errc() || ptr != end || n < 1 || n > kMaxNodePage) {
      return Fail(ErrorCode::bad_request,
                  "query 'limit' must be a whole number from 1 to " + std::to_string(kMaxNodePage));
    }
    q.limit = n;
  }
  const std::pair<const char*, std::string*> fields[] = {{"after", &q.after},
                                                         {"component", &q.filter.component},
                                                         {"channel", &q.filter.channel},
                                                         {"version", &q.filter.version},
                                                         {"state", &q.filter.state},
                                                         {"hostname", &q.filter.hostname}};
  for (const auto& [name, field] : fields) {
    auto v = req.Query(name);
    if (!v) continue;
    if (v->size() > 256) {
      return Fail(ErrorCode::bad_request,
                  "query '" + std::string(name) + "' is longer than 256 bytes");
    }
    *field = std::move(*v);
  }
  if (auto c = req.Query("checkin"); c && !c->empty()) {
    q.filter.checkin = FreshnessFromName(*c);
    if (!q.filter.checkin) {
      return Fail(ErrorCode::bad_request, "query 'checkin' must be ok, late or silent");
    }
  }
  return q;
}

std::string EncodeNodePage(const NodePage& page) {
  json nodes = json::array();
  for (const auto& st : page.nodes) nodes.push_back(NodeJson(st));
  return json{{"nodes", nodes}, {"next", page.next.empty() ? json(nullptr) : json(page.next)}}
      .dump();
}

std::string EncodeNode(const NodeState& st, const std::vector<UpdateRecord>& updates) {
  auto out = NodeJson(st);
  out["machine_id"] = st.record.machine_id;
  out["report"] =
      st.record.report.empty() ? json(nullptr) : json::parse(st.record.report, nullptr, false);
  json history = json::array();
  for (const auto& u : updates) {
    history.push_back(json{{"component", u.component},
                           {"from", u.update.from},
                           {"to", u.update.to},
                           {"result", ResultName(u.update.result)},
                           {"error_code", u.update.error_code},
                           {"at", Rfc3339(u.at)}});
  }
  out["updates"] = std::move(history);
  return out.dump();
}

std::string EncodeFleet(const FleetCounts& counts, const std::vector<RolloutStatus>& rollouts,
                        const FleetOverview& overview) {
  json groups = json::array();
  for (const auto& g : overview.groups) {
    groups.push_back(json{{"component", g.component},
                          {"channel", g.channel},
                          {"nodes", g.nodes},
                          {"versions", g.versions},
                          {"states", g.states},
                          {"late", g.late},
                          {"silent", g.silent}});
  }
  return json{
      {"nodes", counts.nodes},
      {"versions", counts.versions.empty() ? json::object() : json(counts.versions)},
      {"states", counts.states.empty() ? json::object() : json(counts.states)},
      {"rollouts", RolloutsJson(rollouts)},
      {"groups", groups},
      {"checkins", {{"ok", overview.ok}, {"late", overview.late}, {"silent", overview.silent}}},
      {"checkin_interval_s", overview.checkin_interval_s}}
      .dump();
}

std::string EncodeNumber(double value) { return json(value).dump(); }

}  // namespace steward::controller
