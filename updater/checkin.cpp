// The check-in client: enrollment, check-ins, failover across controllers (ARCHITECTURE §3).
#include "updater/checkin.hpp"

#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <nlohmann/json.hpp>
#include <utility>

#include "common/files.hpp"
#include "common/hash.hpp"
#include "common/http_client.hpp"
#include "common/log.hpp"
#include "common/platform.hpp"
#include "common/rfc3339.hpp"
#include "common/token_file.hpp"

namespace steward::updater {

namespace {

using nlohmann::json;

constexpr std::size_t kMaxControllers = 64;
constexpr std::size_t kMaxUrlLength = 2048;
constexpr std::int64_t kMinIntervalS = 1;
constexpr std::int64_t kMaxIntervalS = 24 * 60 * 60;

std::string HostName() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0 || buf[0] == '\0') return "localhost";
  return buf;
}

bool IsHttpUrl(std::string_view url) {
  return url.starts_with("http://") || url.starts_with("https://");
}

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// The first bytes of a body, printable, for an error message.
std::string Snippet(std::string_view body) {
  std::string out;
  for (char c : body.substr(0, 80)) {
    out += (c >= 0x20 && c < 0x7f) ? c : ' ';
  }
  if (body.size() > 80) out += "…";
  return out;
}

json HostJson() {
  json host{{"os", "unknown"}, {"arch", "unknown"}, {"kernel", ""}, {"uptime_s", nullptr}};
  utsname u{};
  if (::uname(&u) == 0) {
    host["os"] = Lower(u.sysname);
    host["arch"] = std::string(u.machine);
    host["kernel"] = std::string(u.release);
  }
  if (auto text = files::ReadFile("/proc/uptime", 256)) {
    try {
      host["uptime_s"] = static_cast<std::int64_t>(std::stod(*text));
    } catch (const std::exception&) {
      // No uptime: the field stays null.
    }
  }
  return host;
}

json ComponentJson(const ComponentReport& c) {
  json out{{"name", c.name},
           {"channel", c.channel},
           {"running_version", c.running_version},
           {"installed_version", c.installed_version},
           {"previous_version", c.previous_version},
           {"desired_state", c.desired_state},
           {"state", c.state},
           {"last_exit", nullptr},
           {"restarts", c.restarts},
           {"crash_loop", c.crash_loop},
           {"last_update", nullptr}};
  if (c.last_exit) {
    const auto& e = *c.last_exit;
    out["last_exit"] = json{{"kind", std::string(ExitKindName(e.kind))},
                            {"code", e.code ? json(*e.code) : json(nullptr)},
                            {"signal", e.signal ? json(*e.signal) : json(nullptr)},
                            {"at", FormatRfc3339(e.at)}};
  }
  if (c.last_update) {
    const auto& u = *c.last_update;
    out["last_update"] = json{{"from", u.from},
                              {"to", u.to},
                              {"result", u.result},
                              {"error_code", u.error_code},
                              {"error", u.error}};
  }
  return out;
}

Error BadAnswer(const std::string& url, const std::string& what) {
  return Error{ErrorCode::bad_request, "the answer from " + url + " " + what};
}

// An error for a non-2xx answer: the controller's own error when it sent one, else the status,
// the content type and the first bytes (an HTML page from a proxy, say).
Error StatusError(const std::string& what, const std::string& url, const http::ClientResponse& r) {
  std::string detail;
  json body = json::parse(r.body, nullptr, false);
  if (body.is_object() && body.contains("error") && body["error"].is_object()) {
    const auto& e = body["error"];
    const auto code = e.contains("code") && e["code"].is_string() ? e["code"].get<std::string>()
                                                                  : std::string("?");
    const auto msg = e.contains("message") && e["message"].is_string()
                         ? e["message"].get<std::string>()
                         : std::string();
    detail = code + ": " + msg;
  } else {
    const auto type = r.Header("content-type");
    detail = "not a controller error (Content-Type " + (type.empty() ? "none" : type) +
             ", body starts \"" + Snippet(r.body) + "\")";
  }
  return Error{ErrorCode::http_status,
               what + " " + url + " answered HTTP " + std::to_string(r.status) + ": " + detail};
}

// A string member; errors name the field.
Result<std::string> StringMember(const json& obj, const std::string& key, const std::string& url,
                                 const std::string& where, bool non_empty) {
  auto it = obj.find(key);
  if (it == obj.end()) return std::unexpected(BadAnswer(url, "lacks " + where + key));
  if (!it->is_string()) {
    return std::unexpected(
        BadAnswer(url, "has " + where + key + " of type " + it->type_name() + ", not a string"));
  }
  auto s = it->get<std::string>();
  if (non_empty && s.empty()) return std::unexpected(BadAnswer(url, "has an empty " + where + key));
  return s;
}

}  // namespace

std::string MachineId(const std::string& state_dir) {
  std::string key;
  if (auto id = files::ReadFile("/etc/machine-id", 4096); id && !id->empty()) {
    key = *id;
    while (!key.empty() && std::isspace(static_cast<unsigned char>(key.back()))) key.pop_back();
  }
  if (key.empty()) {
    log::Get("checkin").debug("no /etc/machine-id; the machine id is derived from the hostname");
    key = HostName();
  }
  const auto mac =
      HmacSha256(std::span(reinterpret_cast<const std::uint8_t*>(key.data()), key.size()),
                 "steward-updater:" + state_dir);
  return HexEncode(mac);
}

std::string CheckinBody(const std::string& node_id, const std::string& updater_version,
                        const std::vector<ComponentReport>& report) {
  json components = json::array();
  for (const auto& c : report) components.push_back(ComponentJson(c));
  json body{{"node_id", node_id},
            {"updater", {{"version", updater_version}}},
            {"components", std::move(components)},
            {"host", HostJson()}};
  return body.dump(-1, ' ', false, json::error_handler_t::replace);
}

namespace {

// The `signatures` array of a release or root entry: strings only.
Result<std::vector<std::string>> Signatures(const json& entry, const std::string& url,
                                            const std::string& where) {
  auto sigs = entry.find("signatures");
  if (sigs == entry.end()) return std::unexpected(BadAnswer(url, "lacks " + where + "signatures"));
  if (!sigs->is_array()) {
    return std::unexpected(BadAnswer(
        url, "has " + where + "signatures of type " + sigs->type_name() + ", not an array"));
  }
  std::vector<std::string> out;
  for (std::size_t j = 0; j < sigs->size(); ++j) {
    const auto& s = (*sigs)[j];
    if (!s.is_string()) {
      return std::unexpected(BadAnswer(url, "has " + where + "signatures[" + std::to_string(j) +
                                                "] of type " + s.type_name() + ", not a string"));
    }
    out.push_back(s.get<std::string>());
  }
  return out;
}

}  // namespace

Result<CheckinAnswer> ParseCheckinAnswer(std::string_view body, const std::string& url) {
  json doc = json::parse(body, nullptr, false);
  if (doc.is_discarded()) {
    return std::unexpected(BadAnswer(url, "is not JSON (starts \"" + Snippet(body) + "\")"));
  }
  if (!doc.is_object()) {
    return std::unexpected(
        BadAnswer(url, std::string("is a JSON ") + doc.type_name() + ", not an object"));
  }
  CheckinAnswer out;
  auto rel = doc.find("releases");
  if (rel == doc.end()) return std::unexpected(BadAnswer(url, "lacks releases"));
  if (!rel->is_array()) {
    return std::unexpected(
        BadAnswer(url, std::string("has releases of type ") + rel->type_name() + ", not an array"));
  }
  for (std::size_t i = 0; i < rel->size(); ++i) {
    const auto& r = (*rel)[i];
    const std::string where = "releases[" + std::to_string(i) + "].";
    if (!r.is_object()) {
      return std::unexpected(BadAnswer(url, "has releases[" + std::to_string(i) + "] of type " +
                                                r.type_name() + ", not an object"));
    }
    OfferedRelease o;
    auto component = StringMember(r, "component", url, where, true);
    if (!component) return std::unexpected(component.error());
    auto manifest = StringMember(r, "manifest", url, where, true);
    if (!manifest) return std::unexpected(manifest.error());
    auto sigs = Signatures(r, url, where);
    if (!sigs) return std::unexpected(sigs.error());
    o.signatures = std::move(*sigs);
    o.component = std::move(*component);
    o.manifest = std::move(*manifest);
    out.releases.push_back(std::move(o));
  }
  if (auto flags = doc.find("flags"); flags != doc.end() && !flags->is_null()) {
    if (!flags->is_object()) {
      return std::unexpected(BadAnswer(
          url, std::string("has flags of type ") + flags->type_name() + ", not an object"));
    }
    out.flags_json = flags->dump(-1, ' ', false, json::error_handler_t::replace);
  }
  if (auto iv = doc.find("checkin_interval_s"); iv != doc.end() && !iv->is_null()) {
    if (!iv->is_number_integer()) {
      return std::unexpected(BadAnswer(url, std::string("has checkin_interval_s of type ") +
                                                iv->type_name() + ", not an integer"));
    }
    std::int64_t s = 0;
    if (iv->is_number_unsigned()) {
      const auto u = iv->get<std::uint64_t>();
      s = u > static_cast<std::uint64_t>(kMaxIntervalS) ? kMaxIntervalS
                                                        : static_cast<std::int64_t>(u);
    } else {
      s = iv->get<std::int64_t>();
    }
    out.interval = std::chrono::seconds(std::clamp(s, kMinIntervalS, kMaxIntervalS));
  }
  if (auto cs = doc.find("controllers"); cs != doc.end() && !cs->is_null()) {
    if (!cs->is_array()) {
      return std::unexpected(BadAnswer(
          url, std::string("has controllers of type ") + cs->type_name() + ", not an array"));
    }
    for (std::size_t i = 0; i < cs->size(); ++i) {
      const auto& c = (*cs)[i];
      if (!c.is_string()) {
        return std::unexpected(BadAnswer(url, "has controllers[" + std::to_string(i) +
                                                  "] of type " + c.type_name() + ", not a string"));
      }
      auto u = c.get<std::string>();
      while (!u.empty() && u.back() == '/') u.pop_back();
      if (!IsHttpUrl(u) || u.size() > kMaxUrlLength) {
        log::Get("checkin").warn("ignoring controller url=\"{}\" from {}: not an http(s) URL",
                                 Snippet(u), url);
        continue;
      }
      if (std::find(out.controllers.begin(), out.controllers.end(), u) != out.controllers.end()) {
        continue;
      }
      if (out.controllers.size() >= kMaxControllers) break;
      out.controllers.push_back(std::move(u));
    }
  }
  if (auto rs = doc.find("roots"); rs != doc.end() && !rs->is_null()) {
    if (!rs->is_array()) {
      return std::unexpected(
          BadAnswer(url, std::string("has roots of type ") + rs->type_name() + ", not an array"));
    }
    for (std::size_t i = 0; i < rs->size(); ++i) {
      const auto& r = (*rs)[i];
      const std::string where = "roots[" + std::to_string(i) + "].";
      if (!r.is_object()) {
        return std::unexpected(BadAnswer(url, "has roots[" + std::to_string(i) + "] of type " +
                                                  r.type_name() + ", not an object"));
      }
      auto root = StringMember(r, "root", url, where, true);
      if (!root) return std::unexpected(root.error());
      auto sigs = Signatures(r, url, where);
      if (!sigs) return std::unexpected(sigs.error());
      out.roots.push_back(OfferedRoot{std::move(*root), std::move(*sigs)});
    }
  }
  return out;
}

struct CheckinClient::Impl {
  Config config;
  std::string version;
  CheckinLimits limits;
  http::Client client;
  spdlog::logger& log = log::Get("checkin");

  Impl(const Config& c, std::string v, CheckinLimits l)
      : config(c), version(std::move(v)), limits(l), client(Options()) {}

  http::ClientOptions Options() const {
    http::ClientOptions o;
    if (config.controller) {
      o.ca_file = config.controller->ca_file;
      o.allow_insecure_http = config.controller->allow_insecure_http;
      o.proxy = config.controller->proxy;
    }
    o.connect_timeout = limits.connect_timeout;
    o.timeout = limits.timeout;
    o.low_speed_time = limits.timeout;
    o.max_redirects = 0;
    o.max_response_bytes = limits.max_response_bytes;
    o.user_agent = "steward-updater/" + version;
    return o;
  }

  // The controllers in the order they are tried.
  std::vector<std::string> Order(const CheckinState& state) const {
    std::vector<std::string> out;
    auto add = [&](std::string url) {
      while (!url.empty() && url.back() == '/') url.pop_back();
      if (url.empty() || std::find(out.begin(), out.end(), url) != out.end()) return;
      out.push_back(std::move(url));
    };
    for (const auto& u : state.controllers) add(u);
    for (const auto& u : config.controller->urls) add(u);
    return out;
  }

  Result<http::ClientResponse> Post(const std::string& url, const std::string& body,
                                    const std::string& bearer) {
    http::RequestSpec spec;
    spec.method = "POST";
    spec.url = url;
    spec.body = body;
    spec.headers = {"Content-Type: application/json", "Accept: application/json"};
    spec.bearer_token = bearer;
    return client.Perform(spec);
  }

  // Enrolls at `base`. `fatal` is set when no other controller would do better (the token is
  // refused or unreadable).
  Result<void> Enroll(const std::string& base, CheckinState& work, bool& fatal) {
    const auto& file = config.controller->enroll_token_file;
    auto tokens = ReadTokenFile(file);
    if (!tokens) {
      fatal = true;
      return std::unexpected(tokens.error().Wrap("reading the enroll token"));
    }
    const json body{{"enroll_token", tokens->front()},
                    {"hostname", HostName()},
                    {"machine_id", MachineId(config.state_dir)},
                    {"platform", std::string(HostPlatform())}};
    const std::string url = base + "/v1/enroll";
    auto r = Post(url, body.dump(-1, ' ', false, json::error_handler_t::replace), "");
    if (!r) return std::unexpected(r.error().Wrap("enrolling"));
    if (r->status == 401 || r->status == 403) {
      fatal = true;
      return Fail(ErrorCode::unauthorized,
                  "the controller " + base + " refused the enroll token in " + file + "; check it");
    }
    if (r->status != 200) return std::unexpected(StatusError("enrolling:", url, *r));
    json doc = json::parse(r->body, nullptr, false);
    if (!doc.is_object()) {
      return Fail(ErrorCode::bad_request, "the enroll answer from " + url +
                                              " is not a JSON object (starts \"" +
                                              Snippet(r->body) + "\")");
    }
    auto id = StringMember(doc, "node_id", url, "", true);
    if (!id) return std::unexpected(id.error());
    auto token = StringMember(doc, "node_token", url, "", true);
    if (!token) return std::unexpected(token.error());
    if (id->size() > 128 || token->size() > 1024) {
      return Fail(ErrorCode::bad_request, "the enroll answer from " + url +
                                              " has a node_id or node_token that is too long");
    }
    work.node_id = std::move(*id);
    work.node_token = std::move(*token);
    log.info("enrolled node={} controller={}", work.node_id, base);
    return {};
  }

  // One controller: enroll when needed, check in, re-enroll once on 401.
  Result<CheckinAnswer> Try(const std::string& base, CheckinState& work,
                            const std::vector<ComponentReport>& report, bool& fatal) {
    if (auto r = client.CheckUrl(base); !r) return std::unexpected(r.error());
    bool enrolled_now = false;
    if (work.node_id.empty() || work.node_token.empty()) {
      if (auto r = Enroll(base, work, fatal); !r) return std::unexpected(r.error());
      enrolled_now = true;
    }
    const std::string url = base + "/v1/checkin";
    for (;;) {
      auto r = Post(url, CheckinBody(work.node_id, version, report), work.node_token);
      if (!r) return std::unexpected(r.error().Wrap("checking in"));
      if (r->status == 401 && !enrolled_now) {
        log.info("node={} controller={} refused the node token; enrolling again", work.node_id,
                 base);
        work.node_id.clear();
        work.node_token.clear();
        if (auto e = Enroll(base, work, fatal); !e) return std::unexpected(e.error());
        enrolled_now = true;
        continue;
      }
      if (r->status == 401) {
        return Fail(ErrorCode::unauthorized, "checking in at " + url +
                                                 ": the controller refused the node token it "
                                                 "had just issued");
      }
      if (r->status != 200) return std::unexpected(StatusError("checking in:", url, *r));
      auto answer = ParseCheckinAnswer(r->body, url);
      if (!answer) return std::unexpected(answer.error());
      answer->controller = base;
      return answer;
    }
  }

  Result<CheckinAnswer> CheckIn(CheckinState& state, const std::vector<ComponentReport>& report) {
    if (!config.controller) {
      return Fail(ErrorCode::config_invalid,
                  "no [controller] in " + config.path + "; add one with a seed url to check in");
    }
    const auto order = Order(state);
    if (order.empty()) {
      return Fail(ErrorCode::config_invalid,
                  "no controller to check in with: [controller] urls in " + config.path +
                      " is empty and none was learned");
    }
    CheckinState work = state;
    std::string failures;
    ErrorCode last = ErrorCode::unavailable;
    for (const auto& base : order) {
      bool fatal = false;
      auto answer = Try(base, work, report, fatal);
      if (answer) {
        std::vector<std::string> list{base};
        for (const auto& u : answer->controllers) {
          if (u != base) list.push_back(u);
        }
        work.controllers = std::move(list);
        state = std::move(work);
        log.debug("checked in node={} controller={} releases={}", state.node_id, base,
                  answer->releases.size());
        return answer;
      }
      if (fatal) return std::unexpected(answer.error());
      log.warn("check-in failed controller={}: {}", base, answer.error().message);
      if (!failures.empty()) failures += "; ";
      failures += base + ": " + answer.error().message;
      last = answer.error().code;
    }
    if (order.size() == 1) return Fail(last, failures);
    return Fail(last, "no controller answered the check-in: " + failures);
  }
};

CheckinClient::CheckinClient(const Config& config, std::string updater_version,
                             CheckinLimits limits)
    : impl_(std::make_unique<Impl>(config, std::move(updater_version), limits)) {}

CheckinClient::~CheckinClient() = default;

Result<CheckinAnswer> CheckinClient::CheckIn(CheckinState& state,
                                             const std::vector<ComponentReport>& report) {
  return impl_->CheckIn(state, report);
}

}  // namespace steward::updater
