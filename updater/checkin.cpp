// The check-in client: enrollment, check-ins, failover across controllers (ARCHITECTURE §3).
#include "updater/checkin.hpp"

#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <utility>

#include "common/files.hpp"
#include "common/hash.hpp"
#include "common/http_client.hpp"
#include "common/log.hpp"
#include "common/platform.hpp"
#include "common/token_file.hpp"

namespace steward::updater {

namespace {

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

protocol::HostFacts Host() {
  protocol::HostFacts host;
  utsname u{};
  if (::uname(&u) == 0) {
    host.os = Lower(u.sysname);
    host.arch = u.machine;
    host.kernel = u.release;
  }
  if (auto text = files::ReadFile("/proc/uptime", 256)) {
    try {
      host.uptime_s = static_cast<std::int64_t>(std::stod(*text));
    } catch (const std::exception&) {
      // No uptime: the field stays null.
    }
  }
  return host;
}

// An error for a non-2xx answer: the controller's own error when it sent one, else the status,
// the content type and the first bytes (an HTML page from a proxy, say).
Error StatusError(const std::string& what, const std::string& url, const http::ClientResponse& r) {
  std::string detail;
  if (auto e = protocol::DecodeError(r.body)) {
    detail = (e->code.empty() ? "?" : e->code) + ": " + e->message;
  } else {
    const auto type = r.Header("content-type");
    detail = "not a controller error (Content-Type " + (type.empty() ? "none" : type) +
             ", body starts \"" + protocol::BodySnippet(r.body) + "\")";
  }
  return Error{ErrorCode::http_status,
               what + " " + url + " answered HTTP " + std::to_string(r.status) + ": " + detail};
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
  return protocol::Encode(protocol::CheckinReport{node_id, updater_version, report, Host()});
}

Result<CheckinAnswer> ParseCheckinAnswer(std::string_view body, const std::string& url) {
  auto wire = protocol::DecodeCheckinAnswer(body);
  if (!wire) {
    return Fail(ErrorCode::bad_request, "the answer from " + url + " " + wire.error().message);
  }
  CheckinAnswer out;
  out.releases = std::move(wire->releases);
  out.roots = std::move(wire->roots);
  out.windows = std::move(wire->windows);
  out.flags_json = std::move(wire->flags);
  if (wire->checkin_interval_s) {
    out.interval =
        std::chrono::seconds(std::clamp(*wire->checkin_interval_s, kMinIntervalS, kMaxIntervalS));
  }
  for (auto& u : wire->controllers) {
    while (!u.empty() && u.back() == '/') u.pop_back();
    if (!IsHttpUrl(u) || u.size() > kMaxUrlLength) {
      log::Get("checkin").warn("ignoring controller url=\"{}\" from {}: not an http(s) URL",
                               protocol::BodySnippet(u), url);
      continue;
    }
    if (std::find(out.controllers.begin(), out.controllers.end(), u) != out.controllers.end()) {
      continue;
    }
    if (out.controllers.size() >= kMaxControllers) break;
    out.controllers.push_back(std::move(u));
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
    const protocol::EnrollRequest request{tokens->front(), HostName(), MachineId(config.state_dir),
                                          std::string(HostPlatform())};
    const std::string url = base + "/v1/enroll";
    auto r = Post(url, protocol::Encode(request), "");
    if (!r) return std::unexpected(r.error().Wrap("enrolling"));
    if (r->status == 401 || r->status == 403) {
      fatal = true;
      return Fail(ErrorCode::unauthorized,
                  "the controller " + base + " refused the enroll token in " + file + "; check it");
    }
    if (r->status != 200) return std::unexpected(StatusError("enrolling:", url, *r));
    auto answer = protocol::DecodeEnrollAnswer(r->body);
    if (!answer) {
      return Fail(ErrorCode::bad_request,
                  "the enroll answer from " + url + " " + answer.error().message);
    }
    work.node_id = std::move(answer->node_id);
    work.node_token = std::move(answer->node_token);
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
