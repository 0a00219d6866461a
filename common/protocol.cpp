// The wire messages: one encoder and one decoder each (see protocol.hpp for the rules).
#include "common/protocol.hpp"

#include <algorithm>
#include <utility>

#include "common/rfc3339.hpp"
#include "common/trust.hpp"
#include "common/wire_json.hpp"

namespace steward::protocol {

namespace {

using wire::Dump;
using wire::json;
using wire::OrNull;
using wire::ParseObject;
using wire::Reader;
using wire::Voice;

constexpr std::string_view kInProgress = "in_progress";

// Unwraps a Result into `out`, or returns its error from the enclosing function.
#define STEWARD_READ(out, expr)                             \
  do {                                                      \
    auto r_ = (expr);                                       \
    if (!r_) return std::unexpected(std::move(r_.error())); \
    out = std::move(*r_);                                   \
  } while (false)

// ---- exits and updates ----------------------------------------------------------------------

json ExitJson(const std::optional<ExitInfo>& e, bool details) {
  if (!e) return nullptr;
  json out{{"kind", ExitKindName(e->kind)},
           {"code", OrNull(e->code)},
           {"signal", OrNull(e->signal)},
           {"at", FormatRfc3339(e->at)}};
  if (details) {
    out["core_dumped"] = e->core_dumped;
    out["oom"] = e->oom;
  }
  return out;
}

// nullopt (no error) when the kind is one this build does not know.
Result<std::optional<ExitInfo>> ReadExit(const Reader& r) {
  std::string kind, at;
  STEWARD_READ(kind, r.String("kind", true));
  STEWARD_READ(at, r.String("at", true));
  ExitInfo e;
  STEWARD_READ(e.code, r.SmallInt("code"));
  STEWARD_READ(e.signal, r.SmallInt("signal"));
  STEWARD_READ(e.core_dumped, r.Bool("core_dumped"));
  STEWARD_READ(e.oom, r.Bool("oom"));
  auto when = ParseRfc3339(at);
  if (!when)
    return std::unexpected(
        r.Invalid("field 'at' must be an RFC 3339 time, not \"" + BodySnippet(at) + "\""));
  e.at = *when;
  const auto known = ExitKindFromName(kind);
  if (!known) return std::optional<ExitInfo>();
  e.kind = *known;
  return std::optional<ExitInfo>(std::move(e));
}

Result<std::optional<ExitInfo>> ReadOptionalExit(const Reader& r, std::string_view key) {
  const json* obj = nullptr;
  STEWARD_READ(obj, r.Object(key));
  if (obj == nullptr) return std::optional<ExitInfo>();
  return ReadExit(r.At(*obj, std::string(key)));
}

json UpdateReportJson(const std::optional<UpdateReport>& u) {
  if (!u) return nullptr;
  json out{{"from", u->from},
           {"to", u->to},
           {"result", u->result ? UpdateResultName(*u->result) : kInProgress},
           {"error_code", u->error_code},
           {"error", u->error}};
  if (!u->superseded.empty()) out["superseded"] = u->superseded;
  if (!u->download.empty()) out["download"] = u->download;
  return out;
}

// The controller keeps at most this much of each reported update field.
constexpr std::size_t kMaxUpdateField = 128;

Result<std::optional<UpdateReport>> ReadUpdateReport(const Reader& r) {
  UpdateReport u;
  std::string result;
  STEWARD_READ(u.from, r.String("from", false, kMaxUpdateField));
  STEWARD_READ(u.to, r.String("to", false, kMaxUpdateField));
  STEWARD_READ(result, r.String("result", false, kMaxUpdateField));
  STEWARD_READ(u.error_code, r.String("error_code", false, kMaxUpdateField));
  STEWARD_READ(u.error, r.String("error"));
  STEWARD_READ(u.superseded, r.String("superseded", false, kMaxUpdateField));
  STEWARD_READ(u.download, r.String("download", false, kMaxUpdateField));
  if (result != kInProgress) {
    u.result = UpdateResultFromName(result);
    if (!u.result) return std::optional<UpdateReport>();  // null, or a newer peer's result
  }
  return std::optional<UpdateReport>(std::move(u));
}

json UpdateStatusJson(const std::optional<UpdateStatus>& t) {
  if (!t) return nullptr;
  return json{{"id", t->id},
              {"from", OrNull(t->from)},
              {"to", OrNull(t->to)},
              {"state", t->state},
              {"result", t->result ? json(UpdateResultName(*t->result)) : json(nullptr)},
              {"error_code", OrNull(t->error_code)},
              {"error", OrNull(t->error)},
              {"healthy_s", t->healthy_s},
              {"grace_s", t->grace_s},
              {"superseded", OrNull(t->superseded)},
              {"download", OrNull(t->download)}};
}

Result<std::optional<UpdateStatus>> ReadUpdateStatus(const Reader& parent, std::string_view key) {
  const json* obj = nullptr;
  STEWARD_READ(obj, parent.Object(key));
  if (obj == nullptr) return std::optional<UpdateStatus>();
  const Reader r = parent.At(*obj, std::string(key));
  UpdateStatus t;
  std::optional<std::int64_t> id;
  std::string result;
  STEWARD_READ(id, r.Int("id"));
  t.id = id.value_or(0);
  STEWARD_READ(t.from, r.String("from"));
  STEWARD_READ(t.to, r.String("to"));
  STEWARD_READ(t.state, r.String("state"));
  STEWARD_READ(result, r.String("result"));
  STEWARD_READ(t.error_code, r.String("error_code"));
  STEWARD_READ(t.error, r.String("error"));
  STEWARD_READ(t.healthy_s, r.Number("healthy_s"));
  STEWARD_READ(t.grace_s, r.Number("grace_s"));
  STEWARD_READ(t.superseded, r.String("superseded"));
  STEWARD_READ(t.download, r.String("download"));
  if (!result.empty()) {
    t.result = UpdateResultFromName(result);
    if (!t.result) return std::optional<UpdateStatus>();  // a newer updater's result
  }
  return std::optional<UpdateStatus>(std::move(t));
}

// ---- check-in report ------------------------------------------------------------------------

json ComponentJson(const ComponentReport& c) {
  return json{{"name", c.name},
              {"channel", c.channel},
              {"running_version", c.running_version},
              {"installed_version", c.installed_version},
              {"previous_version", c.previous_version},
              {"desired_state", c.desired_state},
              {"state", c.state},
              {"last_exit", ExitJson(c.last_exit, false)},
              {"restarts", c.restarts},
              {"crash_loop", c.crash_loop},
              {"last_update", UpdateReportJson(c.last_update)}};
}

Result<ComponentReport> ReadComponent(const Reader& r) {
  ComponentReport c;
  STEWARD_READ(c.name, r.String("name", true, 64));
  STEWARD_READ(c.channel, r.String("channel", true, 64));
  STEWARD_READ(c.running_version, r.String("running_version", false, 128));
  STEWARD_READ(c.state, r.String("state", false, 64));
  if (!trust::IsValidName(c.name) || !trust::IsValidName(c.channel)) {
    return std::unexpected(r.Invalid("name and channel must match [a-z0-9][a-z0-9_-]{0,63}"));
  }
  const json* last_update = nullptr;
  STEWARD_READ(last_update, r.Object("last_update"));
  if (last_update != nullptr) {
    STEWARD_READ(c.last_update, ReadUpdateReport(r.At(*last_update, "last_update")));
  }
  STEWARD_READ(c.installed_version, r.String("installed_version"));
  STEWARD_READ(c.previous_version, r.String("previous_version"));
  STEWARD_READ(c.desired_state, r.String("desired_state"));
  STEWARD_READ(c.last_exit, ReadOptionalExit(r, "last_exit"));
  std::optional<std::int64_t> restarts;
  STEWARD_READ(restarts, r.Int("restarts"));
  c.restarts = restarts.value_or(0);
  STEWARD_READ(c.crash_loop, r.Bool("crash_loop"));
  return c;
}

Result<HostFacts> ReadHost(const Reader& r) {
  HostFacts h;
  STEWARD_READ(h.os, r.String("os"));
  STEWARD_READ(h.arch, r.String("arch"));
  STEWARD_READ(h.kernel, r.String("kernel"));
  STEWARD_READ(h.uptime_s, r.Int("uptime_s"));
  return h;
}

// ---- status document ------------------------------------------------------------------------

json ComponentStatusJson(const ComponentStatus& u) {
  return json{{"name", u.name},
              {"state", u.state},
              {"pid", OrNull(u.pid)},
              {"desired_state", u.desired_state},
              {"running_version", OrNull(u.running_version)},
              {"installed_version", OrNull(u.installed_version)},
              {"previous_version", OrNull(u.previous_version)},
              {"last_exit", ExitJson(u.last_exit, true)},
              {"restarts", u.restarts},
              {"consecutive_failures", u.consecutive_failures},
              {"crash_loop", u.crash_loop},
              {"status", u.status},
              {"last_error", OrNull(u.last_error)},
              {"waiting", OrNull(u.waiting)},
              {"update", UpdateStatusJson(u.update)}};
}

Result<ComponentStatus> ReadComponentStatus(const Reader& r) {
  ComponentStatus c;
  std::optional<std::int64_t> restarts, failures;
  STEWARD_READ(c.name, r.String("name", true));
  STEWARD_READ(c.state, r.String("state"));
  STEWARD_READ(c.pid, r.SmallInt("pid"));
  STEWARD_READ(c.desired_state, r.String("desired_state"));
  STEWARD_READ(c.running_version, r.String("running_version"));
  STEWARD_READ(c.installed_version, r.String("installed_version"));
  STEWARD_READ(c.previous_version, r.String("previous_version"));
  STEWARD_READ(c.last_exit, ReadOptionalExit(r, "last_exit"));
  STEWARD_READ(restarts, r.Int("restarts"));
  STEWARD_READ(failures, r.Int("consecutive_failures"));
  c.restarts = restarts.value_or(0);
  c.consecutive_failures = failures.value_or(0);
  STEWARD_READ(c.crash_loop, r.Bool("crash_loop"));
  STEWARD_READ(c.status, r.String("status"));
  STEWARD_READ(c.last_error, r.String("last_error"));
  STEWARD_READ(c.waiting, r.String("waiting"));
  STEWARD_READ(c.update, ReadUpdateStatus(r, "update"));
  return c;
}

Result<CheckinStatus> ReadCheckinStatus(const Reader& r) {
  CheckinStatus c;
  std::optional<std::int64_t> count;
  STEWARD_READ(count, r.Int("count"));
  c.count = static_cast<std::uint64_t>(std::max<std::int64_t>(0, count.value_or(0)));
  STEWARD_READ(c.last_at, r.String("last_at"));
  STEWARD_READ(c.last_error, r.String("last_error"));
  STEWARD_READ(c.controller, r.String("controller"));
  return c;
}

// ---- offers ---------------------------------------------------------------------------------

json ReleaseOfferJson(const ReleaseOffer& o) {
  return json{{"component", o.component},
              {"channel", o.channel},
              {"version", o.version},
              {"manifest", o.manifest},
              {"signatures", o.signatures}};
}

Result<ReleaseOffer> ReadReleaseOffer(const Reader& r) {
  ReleaseOffer o;
  STEWARD_READ(o.component, r.String("component", true));
  STEWARD_READ(o.manifest, r.String("manifest", true));
  STEWARD_READ(o.signatures, r.Strings("signatures", true));
  STEWARD_READ(o.channel, r.String("channel"));
  STEWARD_READ(o.version, r.String("version"));
  return o;
}

Result<UpdateWindows> ReadUpdateWindows(const Reader& r) {
  UpdateWindows w;
  STEWARD_READ(w.component, r.String("component", true));
  STEWARD_READ(w.windows, r.Strings("windows", true));
  STEWARD_READ(w.max_wait_s, r.Int("max_wait_s"));
  return w;
}

Result<RootOffer> ReadRootOffer(const Reader& r) {
  RootOffer o;
  STEWARD_READ(o.root, r.String("root", true));
  STEWARD_READ(o.signatures, r.Strings("signatures", true));
  return o;
}

}  // namespace

std::string BodySnippet(std::string_view body) {
  std::string out;
  for (char c : body.substr(0, 80)) out += (c >= 0x20 && c < 0x7f) ? c : ' ';
  if (body.size() > 80) out += "…";
  return out;
}

// ---- errors ---------------------------------------------------------------------------------

std::string Encode(const ErrorBody& error) {
  json j;
  j["error"]["code"] = error.code;
  j["error"]["message"] = error.message;
  return Dump(j);
}

std::string EncodeError(ErrorCode code, std::string_view message) {
  return Encode(ErrorBody{std::string(ErrorCodeName(code)), std::string(message)});
}

std::optional<ErrorBody> DecodeError(std::string_view body) {
  const json doc = json::parse(body, nullptr, false);
  if (!doc.is_object()) return std::nullopt;
  const auto e = doc.find("error");
  if (e == doc.end() || !e->is_object()) return std::nullopt;
  const auto text = [&](const char* key) {
    const auto it = e->find(key);
    return it != e->end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  return ErrorBody{text("code"), text("message")};
}

// ---- enroll ---------------------------------------------------------------------------------

std::string Encode(const EnrollRequest& request) {
  return Dump(json{{"enroll_token", request.enroll_token},
                   {"hostname", request.hostname},
                   {"machine_id", request.machine_id},
                   {"platform", request.platform}});
}

Result<EnrollRequest> DecodeEnrollRequest(std::string_view body) {
  auto doc = ParseObject(body, Voice::request, "enroll");
  if (!doc) return std::unexpected(doc.error());
  const Reader r(*doc, Voice::request);
  EnrollRequest out;
  STEWARD_READ(out.enroll_token, r.String("enroll_token", false, 1024));
  STEWARD_READ(out.hostname, r.String("hostname", true, 255));
  STEWARD_READ(out.machine_id, r.String("machine_id", true, 128));
  STEWARD_READ(out.platform, r.String("platform", true, 64));
  return out;
}

Result<std::string> DecodeEnrollToken(std::string_view body) {
  auto doc = ParseObject(body, Voice::request, "enroll");
  if (!doc) return std::unexpected(doc.error());
  return Reader(*doc, Voice::request).String("enroll_token", false, 1024);
}

std::string Encode(const EnrollAnswer& answer) {
  return Dump(json{{"node_id", answer.node_id}, {"node_token", answer.node_token}});
}

Result<EnrollAnswer> DecodeEnrollAnswer(std::string_view body) {
  auto doc = ParseObject(body, Voice::answer);
  if (!doc) return std::unexpected(doc.error());
  const Reader r(*doc, Voice::answer);
  EnrollAnswer out;
  STEWARD_READ(out.node_id, r.String("node_id", true, 128));
  STEWARD_READ(out.node_token, r.String("node_token", true, 1024));
  return out;
}

// ---- check-in -------------------------------------------------------------------------------

std::string Encode(const CheckinReport& report) {
  json components = json::array();
  for (const auto& c : report.components) components.push_back(ComponentJson(c));
  return Dump(json{{"node_id", report.node_id},
                   {"updater", {{"version", report.updater_version}}},
                   {"components", std::move(components)},
                   {"host",
                    {{"os", report.host.os},
                     {"arch", report.host.arch},
                     {"kernel", report.host.kernel},
                     {"uptime_s", OrNull(report.host.uptime_s)}}}});
}

Result<CheckinReport> DecodeCheckinReport(std::string_view body) {
  auto doc = ParseObject(body, Voice::request, "check-in");
  if (!doc) return std::unexpected(doc.error());
  const Reader r(*doc, Voice::request);
  CheckinReport out;
  STEWARD_READ(out.node_id, r.String("node_id", true, 64));
  const json* components = nullptr;
  STEWARD_READ(components, r.Array("components"));
  if (components != nullptr && components->size() > kMaxComponents) {
    return Fail(ErrorCode::bad_request,
                "more than " + std::to_string(kMaxComponents) + " components in one check-in");
  }
  STEWARD_READ(out.components, r.Objects<ComponentReport>("components", false, ReadComponent));
  const json* updater = nullptr;
  STEWARD_READ(updater, r.Object("updater"));
  if (updater != nullptr) {
    STEWARD_READ(out.updater_version, r.At(*updater, "updater").String("version"));
  }
  const json* host = nullptr;
  STEWARD_READ(host, r.Object("host"));
  if (host != nullptr) STEWARD_READ(out.host, ReadHost(r.At(*host, "host")));
  return out;
}

std::string Encode(const ReleaseOffer& offer) { return Dump(ReleaseOfferJson(offer)); }

std::string Encode(const std::vector<RootOffer>& roots) {
  json out = json::array();
  for (const auto& r : roots) out.push_back(json{{"root", r.root}, {"signatures", r.signatures}});
  return Dump(out);
}

std::string Encode(const std::vector<UpdateWindows>& windows) {
  json out = json::array();
  for (const auto& w : windows) {
    json one{{"component", w.component}, {"windows", w.windows}};
    if (w.max_wait_s) one["max_wait_s"] = *w.max_wait_s;
    out.push_back(std::move(one));
  }
  return Dump(out);
}

std::string EncodeControllers(const std::vector<std::string>& urls) { return Dump(json(urls)); }

// Written piece by piece, in the order docs/protocol.md shows, so that the pieces (already JSON
// text) are copied as they are rather than parsed again.
std::string Encode(const EncodedCheckinAnswer& answer) {
  std::string out = R"({"releases":[)";
  for (std::size_t i = 0; i < answer.releases.size(); ++i) {
    if (i > 0) out += ',';
    out += answer.releases[i];
  }
  out += R"(],"flags":)";
  out += answer.flags;
  out += R"(,"controllers":)";
  out += answer.controllers;
  if (answer.checkin_interval_s) {
    out += R"(,"checkin_interval_s":)" + std::to_string(*answer.checkin_interval_s);
  }
  out += R"(,"roots":)";
  out += answer.roots;
  if (!answer.windows.empty() && answer.windows != "[]") {
    out += R"(,"windows":)";
    out += answer.windows;
  }
  out += '}';
  return out;
}

std::string Encode(const CheckinAnswer& answer) {
  std::vector<std::string> releases;
  for (const auto& r : answer.releases) releases.push_back(Encode(r));
  const std::string controllers = EncodeControllers(answer.controllers);
  const std::string roots = Encode(answer.roots);
  const std::string windows = Encode(answer.windows);
  return Encode(EncodedCheckinAnswer{{releases.begin(), releases.end()},
                                     answer.flags,
                                     controllers,
                                     answer.checkin_interval_s,
                                     roots,
                                     windows});
}

Result<CheckinAnswer> DecodeCheckinAnswer(std::string_view body) {
  auto doc = ParseObject(body, Voice::answer);
  if (!doc) return std::unexpected(doc.error());
  const Reader r(*doc, Voice::answer);
  CheckinAnswer out;
  STEWARD_READ(out.releases, r.Objects<ReleaseOffer>("releases", true, ReadReleaseOffer));
  const json* flags = nullptr;
  STEWARD_READ(flags, r.Object("flags"));
  if (flags != nullptr) out.flags = Dump(*flags);
  STEWARD_READ(out.checkin_interval_s, r.Int("checkin_interval_s"));
  STEWARD_READ(out.controllers, r.Strings("controllers"));
  STEWARD_READ(out.roots, r.Objects<RootOffer>("roots", false, ReadRootOffer));
  STEWARD_READ(out.windows, r.Objects<UpdateWindows>("windows", false, ReadUpdateWindows));
  return out;
}

// ---- signed releases ------------------------------------------------------------------------

std::string Encode(const SignedRelease& release) {
  return Dump(json{{"manifest", release.manifest}, {"signatures", release.signatures}});
}

Result<SignedRelease> DecodeSignedRelease(std::string_view body) {
  auto doc = ParseObject(body, Voice::request, "release");
  if (!doc) return std::unexpected(doc.error());
  const Reader r(*doc, Voice::request);
  SignedRelease out;
  STEWARD_READ(out.manifest, r.String("manifest", true, trust::kMaxManifestBytes + 1));
  const json* sigs = r.Get("signatures");
  if (sigs == nullptr || !sigs->is_array() || sigs->empty()) {
    return Fail(ErrorCode::bad_request,
                "field 'signatures' must be a non-empty array of .minisig texts");
  }
  for (const auto& s : *sigs) {
    if (!s.is_string()) return Fail(ErrorCode::bad_request, "field 'signatures' must hold strings");
    out.signatures.push_back(s.get<std::string>());
  }
  return out;
}

// ---- status ---------------------------------------------------------------------------------

std::string Encode(const StatusDocument& status) {
  json list = json::array();
  for (const auto& c : status.components) list.push_back(ComponentStatusJson(c));
  json updater{{"version", status.updater.version}, {"state", status.updater.state}};
  if (status.updater.update) updater["update"] = UpdateStatusJson(status.updater.update);
  json doc{{"updater", std::move(updater)}, {"components", std::move(list)}};
  if (const auto& c = status.checkin) {
    doc["checkin"] = json{{"count", c->count},
                          {"last_at", OrNull(c->last_at)},
                          {"last_error", OrNull(c->last_error)},
                          {"controller", OrNull(c->controller)}};
  }
  return Dump(doc);
}

Result<StatusDocument> DecodeStatus(std::string_view body) {
  auto doc = ParseObject(body, Voice::answer);
  if (!doc) return std::unexpected(doc.error());
  const Reader r(*doc, Voice::answer);
  StatusDocument out;
  const json* updater = nullptr;
  STEWARD_READ(updater, r.Object("updater", true));
  const Reader u = r.At(*updater, "updater");
  STEWARD_READ(out.updater.version, u.String("version"));
  STEWARD_READ(out.updater.state, u.String("state"));
  STEWARD_READ(out.updater.update, ReadUpdateStatus(u, "update"));
  STEWARD_READ(out.components, r.Objects<ComponentStatus>("components", true, ReadComponentStatus));
  const json* checkin = nullptr;
  STEWARD_READ(checkin, r.Object("checkin"));
  if (checkin != nullptr) STEWARD_READ(out.checkin, ReadCheckinStatus(r.At(*checkin, "checkin")));
  return out;
}

#undef STEWARD_READ

}  // namespace steward::protocol
