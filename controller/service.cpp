#include "controller/service.hpp"

#include <array>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <unordered_map>

#include "common/files.hpp"
#include "common/hash.hpp"
#include "common/http_client.hpp"
#include "common/log.hpp"
#include "common/rfc3339.hpp"
#include "common/token_file.hpp"
#include "controller/flags.hpp"
#include "controller/rollout.hpp"

namespace steward::controller {

using nlohmann::json;

namespace {

constexpr std::size_t kMaxCheckinBody = 64 * 1024;
constexpr std::size_t kMaxComponents = 64;

// Constant time in the contents (lengths are not secret: every token has the same length).
bool SecretEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  volatile unsigned char diff = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    diff = static_cast<unsigned char>(
        diff | (static_cast<unsigned char>(a[i]) ^ static_cast<unsigned char>(b[i])));
  }
  return diff == 0;
}

bool AnySecretEquals(const std::vector<std::string>& secrets, std::string_view given) {
  bool found = false;
  for (const auto& s : secrets) found = SecretEquals(s, given) || found;  // no early exit
  return found;
}

std::string TokenHash(std::string_view token) { return HexEncode(Sha256Of(token)); }

std::int64_t UnixSeconds(WallTime t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

http::Response JsonResponse(int status, const json& body) {
  return http::Response::Json(status, body.dump());
}

http::Response Err(ErrorCode code, std::string_view message) {
  return http::Response::Error(http::StatusFor(code), code, message);
}

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

struct ComponentSummary {
  std::string name;
  std::string channel;
  std::string running_version;
  std::string state;
  std::string last_update_key;  // from|to|result of the last reported update
};

struct NodeState {
  NodeRecord record;
  std::vector<ComponentSummary> components;
};

// Reads the components of a check-in body; errors say which field was wrong.
Result<std::vector<ComponentSummary>> ReadComponents(const json& body) {
  std::vector<ComponentSummary> out;
  auto it = body.find("components");
  if (it == body.end()) return out;
  if (!it->is_array()) return Fail(ErrorCode::bad_request, "field 'components' must be an array");
  if (it->size() > kMaxComponents) {
    return Fail(ErrorCode::bad_request,
                "more than " + std::to_string(kMaxComponents) + " components in one check-in");
  }
  for (std::size_t i = 0; i < it->size(); ++i) {
    const auto& c = (*it)[i];
    const std::string where = "components[" + std::to_string(i) + "]";
    if (!c.is_object()) return Fail(ErrorCode::bad_request, where + " must be an object");
    ComponentSummary s;
    auto name = StringField(c, "name", true, 64);
    if (!name) return std::unexpected(name.error().Wrap(where));
    auto channel = StringField(c, "channel", true, 64);
    if (!channel) return std::unexpected(channel.error().Wrap(where));
    auto running = StringField(c, "running_version", false, 128);
    if (!running) return std::unexpected(running.error().Wrap(where));
    auto state = StringField(c, "state", false, 64);
    if (!state) return std::unexpected(state.error().Wrap(where));
    if (!trust::IsValidName(*name) || !trust::IsValidName(*channel)) {
      return Fail(ErrorCode::bad_request,
                  where + ": name and channel must match [a-z0-9][a-z0-9_-]{0,63}");
    }
    s.name = std::move(*name);
    s.channel = std::move(*channel);
    s.running_version = std::move(*running);
    s.state = std::move(*state);
    if (auto lu = c.find("last_update"); lu != c.end() && !lu->is_null()) {
      if (!lu->is_object()) {
        return Fail(ErrorCode::bad_request, where + ": field 'last_update' must be an object");
      }
      // Built from the checked values, where a null field reads as "" (never throws).
      std::vector<std::string> parts;
      for (const char* f : {"from", "to", "result", "error_code"}) {
        auto v = StringField(*lu, f, false, 128);
        if (!v) return std::unexpected(v.error().Wrap(where + ".last_update"));
        parts.push_back(std::move(*v));
      }
      s.last_update_key = parts[0] + "|" + parts[1] + "|" + parts[2] + "|" + parts[3];
    }
    out.push_back(std::move(s));
  }
  return out;
}

std::vector<ComponentSummary> ComponentsOfReport(const std::string& report) {
  if (report.empty()) return {};
  json body = json::parse(report, nullptr, false);
  if (!body.is_object()) return {};
  return ReadComponents(body).value_or(std::vector<ComponentSummary>{});
}

using Key = std::pair<std::string, std::string>;  // component, channel

class ServiceImpl final : public Service {
 public:
  ServiceImpl(Store& store, Clock& clock, ServiceOptions options)
      : store_(store), clock_(clock), opt_(std::move(options)) {}

  Result<void> Load() {
    auto nodes = store_.ListNodes();
    if (!nodes) return std::unexpected(nodes.error());
    for (auto& n : *nodes) {
      NodeState st;
      st.components = ComponentsOfReport(n.report);
      st.record = std::move(n);
      IndexNode(st.record);
      nodes_.emplace(st.record.id, std::move(st));
    }
    auto releases = store_.ListReleases();
    if (!releases) return std::unexpected(releases.error());
    for (auto& r : *releases) AddReleaseToCache(std::move(r));
    auto rollouts = store_.ListRollouts();
    if (!rollouts) return std::unexpected(rollouts.error());
    for (auto& r : *rollouts) rollouts_[{r.component, r.channel}] = std::move(r);
    auto flags = store_.ListFlags();
    if (!flags) return std::unexpected(flags.error());
    flags_ = FlagTable(*flags);
    return {};
  }

  void SetPublicUrl(std::string url) override {
    std::lock_guard lock(mu_);
    opt_.public_url = std::move(url);
  }

  Result<void> Heartbeat() override {
    std::string url;
    {
      std::lock_guard lock(mu_);
      url = opt_.public_url;
    }
    const auto now = UnixSeconds(clock_.Now());
    if (!url.empty()) {
      if (auto r = store_.Heartbeat(url, now); !r) return r;
    }
    // The live list is read here, off the check-in path, so a check-in never waits on the store.
    const auto since =
        now - std::chrono::duration_cast<std::chrono::seconds>(opt_.member_ttl).count();
    auto members = store_.ListMembers(since);
    if (!members) return std::unexpected(members.error());
    json urls = json::array();
    for (const auto& m : *members) urls.push_back(m.url);
    if (urls.empty() && !url.empty()) urls.push_back(url);
    std::lock_guard lock(mu_);
    controllers_json_ = urls.dump();
    return {};
  }

  http::Router MakeRouter() override {
    http::Router r;
    auto bind = [this](http::Response (ServiceImpl::*fn)(const http::Request&)) {
      return [this, fn](const http::Request& req) { return (this->*fn)(req); };
    };
    r.Add("GET", "/healthz", bind(&ServiceImpl::Healthz))
        .Add("GET", "/readyz", bind(&ServiceImpl::Readyz))
        .Add("GET", "/metrics", bind(&ServiceImpl::Metrics))
        .Add("POST", "/v1/enroll", bind(&ServiceImpl::Enroll))
        .Add("POST", "/v1/checkin", bind(&ServiceImpl::Checkin))
        .Add("GET", "/v1/artifacts/{sha256}", bind(&ServiceImpl::Artifact))
        .Add("POST", "/v1/admin/releases", Admin(bind(&ServiceImpl::PublishRelease)))
        .Add("GET", "/v1/admin/releases", Admin(bind(&ServiceImpl::ListReleases)))
        .Add("PUT", "/v1/admin/rollouts/{component}/{channel}",
             Admin(bind(&ServiceImpl::PutRollout)))
        .Add("GET", "/v1/admin/rollouts", Admin(bind(&ServiceImpl::ListRollouts)))
        .Add("GET", "/v1/admin/nodes", Admin(bind(&ServiceImpl::ListNodes)))
        .Add("GET", "/v1/admin/nodes/{id}", Admin(bind(&ServiceImpl::ShowNode)))
        .Add("GET", "/v1/admin/fleet", Admin(bind(&ServiceImpl::Fleet)))
        .Add("GET", "/v1/admin/flags", Admin(bind(&ServiceImpl::GetFlags)))
        .Add("PUT", "/v1/admin/flags", Admin(bind(&ServiceImpl::PutFlags)));
    return r;
  }

 private:
  // ---- auth ----------------------------------------------------------------------------------

  http::Handler Admin(http::Handler inner) {
    return [this, inner = std::move(inner)](const http::Request& req) {
      const auto token = req.BearerToken();
      if (token.empty()) {
        ++auth_failures_;
        return Err(ErrorCode::unauthorized,
                   "missing admin token: send 'Authorization: Bearer <admin token>'");
      }
      if (!AnySecretEquals(opt_.admin_tokens, token)) {
        ++auth_failures_;
        return Err(ErrorCode::unauthorized, "the admin token is not valid");
      }
      return inner(req);
    };
  }

  // ---- health --------------------------------------------------------------------------------

  http::Response Healthz(const http::Request&) {
    return http::Response::Json(200, R"({"status":"ok"})");
  }

  http::Response Readyz(const http::Request&) {
    if (auto r = store_.Ping(); !r) {
      return Err(ErrorCode::unavailable, "store not reachable: " + r.error().message);
    }
    return http::Response::Json(200, R"({"status":"ready"})");
  }

  http::Response Metrics(const http::Request&) {
    std::string out;
    auto counter = [&](std::string_view name, std::string_view help, std::uint64_t v,
                       std::string_view type = "counter") {
      out += "# HELP " + std::string(name) + " " + std::string(help) + "\n# TYPE " +
             std::string(name) + " " + std::string(type) + "\n" + std::string(name) + " " +
             std::to_string(v) + "\n";
    };
    counter("steward_controller_checkins_total", "Check-ins answered.", checkins_.load());
    counter("steward_controller_enrollments_total", "Nodes enrolled.", enrollments_.load());
    counter("steward_controller_enroll_takeovers_refused_total",
            "Enrollments naming an enrolled machine id without its node token (given a new id).",
            takeovers_refused_.load());
    counter("steward_controller_auth_failures_total", "Requests refused for their token.",
            auth_failures_.load());
    counter("steward_controller_releases_published_total", "Releases accepted.", published_.load());
    std::lock_guard lock(mu_);
    counter("steward_controller_nodes", "Enrolled nodes.", nodes_.size(), "gauge");
    counter("steward_controller_releases", "Published releases.", releases_.size(), "gauge");
    out +=
        "# HELP steward_controller_rollout_percent Rollout percent per component and channel.\n"
        "# TYPE steward_controller_rollout_percent gauge\n";
    for (const auto& [key, r] : rollouts_) {
      out += "steward_controller_rollout_percent{component=\"" + key.first + "\",channel=\"" +
             key.second + "\",version=\"" + r.version + "\"} " + json(r.percent).dump() + "\n";
    }
    out +=
        "# HELP steward_controller_rollout_paused 1 when the rollout is paused.\n"
        "# TYPE steward_controller_rollout_paused gauge\n";
    for (const auto& [key, r] : rollouts_) {
      out += "steward_controller_rollout_paused{component=\"" + key.first + "\",channel=\"" +
             key.second + "\"} " + (r.paused ? "1" : "0") + "\n";
    }
    auto res = http::Response::Text(200, std::move(out));
    res.content_type = "text/plain; version=0.0.4";
    return res;
  }

  // ---- enrollment and check-in ---------------------------------------------------------------

  http::Response Enroll(const http::Request& req) {
    auto body = ParseBody(req, "enroll");
    if (!body) return http::Response::FromError(body.error());
    auto token = StringField(*body, "enroll_token", false, 1024);
    if (!token) return http::Response::FromError(token.error());
    if (token->empty()) {
      ++auth_failures_;
      return Err(ErrorCode::unauthorized, "missing field 'enroll_token'");
    }
    if (!AnySecretEquals(opt_.enroll_tokens, *token)) {
      ++auth_failures_;
      return Err(ErrorCode::unauthorized,
                 "the enroll token is not valid; check the host's enroll_token_file");
    }
    auto hostname = StringField(*body, "hostname", true, 255);
    if (!hostname) return http::Response::FromError(hostname.error());
    auto machine_id = StringField(*body, "machine_id", true, 128);
    if (!machine_id) return http::Response::FromError(machine_id.error());
    auto platform = StringField(*body, "platform", true, 64);
    if (!platform) return http::Response::FromError(platform.error());

    const std::string node_token = RandomHex(32);
    const std::string proof = req.BearerToken();
    NodeRecord rec;
    bool refused_takeover = false;
    {
      std::lock_guard lock(mu_);
      // A machine id is what the host says it is, so it proves nothing: a node enrolling again
      // keeps its id only when it shows its current node token. Anyone else claiming that
      // machine id (a copied disk image, a guess) gets a node of its own.
      const NodeState* same = nullptr;
      if (auto it = proof.empty() ? by_token_.end() : by_token_.find(TokenHash(proof));
          it != by_token_.end() && nodes_.at(it->second).record.machine_id == *machine_id) {
        same = &nodes_.at(it->second);
      }
      refused_takeover = same == nullptr && by_machine_.contains(*machine_id);
      if (same != nullptr) {
        by_token_.erase(same->record.token_hash);
        rec = same->record;
      } else {
        rec.id = "n-" + RandomHex(12);
        rec.enrolled_at = UnixSeconds(clock_.Now());
      }
      rec.token_hash = TokenHash(node_token);
      rec.hostname = *hostname;
      rec.machine_id = *machine_id;
      rec.platform = *platform;
      if (auto r = store_.SaveNode(rec); !r) return http::Response::FromError(r.error());
      auto& st = nodes_[rec.id];
      st.record = rec;
      IndexNode(rec);
    }
    if (refused_takeover) {
      ++takeovers_refused_;
      log::Get("controller")
          .warn(
              "enroll for machine_id={} without that node's token: enrolled as a new node={} "
              "remote={} hostname={}",
              *machine_id, rec.id, req.remote, rec.hostname);
    }
    ++enrollments_;
    log::Get("controller")
        .debug("enrolled node={} hostname={} platform={}", rec.id, rec.hostname, rec.platform);
    return JsonResponse(200, json{{"node_id", rec.id}, {"node_token", node_token}});
  }

  http::Response Checkin(const http::Request& req) {
    const auto token = req.BearerToken();
    if (token.empty()) {
      ++auth_failures_;
      return Err(ErrorCode::unauthorized,
                 "missing node token: send 'Authorization: Bearer <node token>'");
    }
    if (req.body.size() > kMaxCheckinBody) {
      return Err(ErrorCode::payload_too_large,
                 "check-in body larger than " + std::to_string(kMaxCheckinBody) + " bytes");
    }
    auto body = ParseBody(req, "check-in");
    if (!body) return http::Response::FromError(body.error());
    auto node_id = StringField(*body, "node_id", true, 64);
    if (!node_id) return http::Response::FromError(node_id.error());
    auto components = ReadComponents(*body);
    if (!components) return http::Response::FromError(components.error());
    const std::string hash = TokenHash(token);
    std::string report = req.body;  // already checked to be one JSON object

    std::string answer;
    {
      std::lock_guard lock(mu_);
      auto owner = by_token_.find(hash);
      if (owner == by_token_.end()) owner = AdoptFromStore(*node_id, hash);
      if (owner == by_token_.end()) {
        ++auth_failures_;
        return Err(ErrorCode::unauthorized, "the node token is not valid; enroll again");
      }
      auto& st = nodes_.at(owner->second);
      if (!SecretEquals(st.record.token_hash, hash)) {
        ++auth_failures_;
        return Err(ErrorCode::unauthorized, "the node token is not valid; enroll again");
      }
      if (st.record.id != *node_id) {
        ++auth_failures_;
        return Err(ErrorCode::forbidden, "this token belongs to node " + st.record.id + ", not " +
                                             *node_id + "; a node can only report for itself");
      }
      const auto now = UnixSeconds(clock_.Now());
      RecordUpdates(st, *components, now);
      st.record.last_seen = now;
      st.record.report = std::move(report);
      st.components = std::move(*components);
      if (auto r = store_.SaveNode(st.record); !r) return http::Response::FromError(r.error());
      answer = Answer(st);
    }
    ++checkins_;
    return http::Response::Json(200, std::move(answer));
  }

  // Records newly reported update results towards the rollout they belong to, and halts the
  // rollout when too many rolled back. Called with mu_ held.
  void RecordUpdates(NodeState& st, const std::vector<ComponentSummary>& now_reported,
                     std::int64_t now) {
    for (const auto& c : now_reported) {
      if (c.last_update_key.empty()) continue;
      bool seen = false;
      for (const auto& old : st.components) {
        if (old.name == c.name && old.last_update_key == c.last_update_key) seen = true;
      }
      if (seen) continue;
      auto it = rollouts_.find({c.name, c.channel});
      if (it == rollouts_.end()) continue;
      auto& rollout = it->second;
      // from|to|result|error_code
      std::vector<std::string> parts;
      std::size_t start = 0;
      for (int i = 0; i < 3; ++i) {
        const auto bar = c.last_update_key.find('|', start);
        parts.push_back(c.last_update_key.substr(start, bar - start));
        start = bar + 1;
      }
      parts.push_back(c.last_update_key.substr(start));
      if (parts[1] != rollout.version || parts[2].empty()) continue;
      UpdateResult u{st.record.id, c.name,   rollout.seed, parts[0],
                     parts[1],     parts[2], parts[3],     now};
      auto fresh = store_.RecordUpdateResult(u);
      if (!fresh) {
        log::Get("rollout").error("recording update result node={}: {}", st.record.id,
                                  fresh.error().message);
        continue;
      }
      if (!*fresh || rollout.paused) continue;
      auto counts = store_.CountUpdateResults(rollout.seed, c.name);
      if (!counts) continue;
      if (auto why = HaltReason(*counts, opt_.halt_rollback_rate, opt_.halt_min_attempts,
                                rollout.version)) {
        RolloutRecord halted = rollout;
        halted.paused = true;
        halted.halt_reason = *why;
        halted.updated_at = now;
        if (auto r = store_.PutRollout(halted); !r) {
          log::Get("rollout").error("halting rollout: {}", r.error().message);
          continue;
        }
        rollout = std::move(halted);
        log::Get("rollout").warn("component={} channel={} {}", c.name, c.channel, *why);
      }
    }
  }

  // The check-in answer. Called with mu_ held.
  std::string Answer(const NodeState& st) {
    std::string out = R"({"releases":[)";
    bool first = true;
    for (const auto& c : st.components) {
      auto it = rollouts_.find({c.name, c.channel});
      if (it == rollouts_.end()) continue;
      std::optional<SemVer> running;
      if (auto v = SemVer::Parse(c.running_version)) running = *v;
      const auto choice = Choose(it->second, running, st.record.id);
      if (choice.kind == Choice::Kind::none) continue;
      auto rel = release_json_.find(c.name + "/" + c.channel + "/" + choice.version);
      if (rel == release_json_.end()) continue;
      if (!first) out += ',';
      first = false;
      out += rel->second;
    }
    out += R"(],"flags":)";
    // A node reports a handful of components: a small array on the stack, no allocation.
    std::array<std::string_view, kMaxComponents> channels;
    std::size_t n = 0;
    for (const auto& c : st.components) {
      if (n < channels.size()) channels[n++] = c.channel;
    }
    flags_.AppendEffective(out, std::span(channels.data(), n));
    out += R"(,"controllers":)";
    out += ControllersJson();
    out += R"(,"checkin_interval_s":)" + std::to_string(opt_.checkin_interval_s) + R"(,"roots":)" +
           opt_.roots_json + "}";
    return out;
  }

  // Live controllers as of the last Heartbeat. Called with mu_ held.
  const std::string& ControllersJson() {
    if (controllers_json_.empty()) {
      controllers_json_ = json::array({opt_.public_url}).dump();
    }
    return controllers_json_;
  }

  // ---- artifacts -----------------------------------------------------------------------------

  http::Response Artifact(const http::Request& req) {
    const auto& sha = req.params.at("sha256");
    if (!ParseSha256Hex(sha)) {
      return Err(ErrorCode::bad_request, "artifact name must be 64 lower-case hex digits");
    }
    const auto path = std::filesystem::path(opt_.blob_dir) / sha;
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec)) {
      return Err(ErrorCode::not_found, "no artifact " + sha + " in the blob directory");
    }
    return http::Response::File(path.string());
  }

  // ---- admin: releases -----------------------------------------------------------------------

  http::Response PublishRelease(const http::Request& req) {
    auto r = Publish(req);
    if (!r) {
      log::Get("controller").warn("release refused: {}", r.error().ToString());
      return http::Response::FromError(r.error());
    }
    return *r;
  }

  Result<http::Response> Publish(const http::Request& req) {
    auto body = ParseBody(req, "release");
    if (!body) return std::unexpected(body.error());
    auto manifest = StringField(*body, "manifest", true, trust::kMaxManifestBytes + 1);
    if (!manifest) return std::unexpected(manifest.error());
    std::vector<std::string> sigs;
    auto s = body->find("signatures");
    if (s == body->end() || !s->is_array() || s->empty()) {
      return Fail(ErrorCode::bad_request,
                  "field 'signatures' must be a non-empty array of .minisig texts");
    }
    for (const auto& sig : *s) {
      if (!sig.is_string()) {
        return Fail(ErrorCode::bad_request, "field 'signatures' must hold strings");
      }
      sigs.push_back(sig.get<std::string>());
    }
    auto parsed = trust::ParseManifest(*manifest);
    if (!parsed) return std::unexpected(parsed.error());
    trust::Floor floor;
    {
      std::lock_guard lock(mu_);
      for (const auto& rel : releases_) {
        if (rel.component != parsed->component || rel.channel != parsed->channel) continue;
        if (rel.sequence >= floor.sequence) {
          floor.sequence = rel.sequence;
          floor.root_version = rel.root_version;
          floor.manifest_sha256 = ParseSha256Hex(rel.manifest_sha256);
        }
      }
    }
    trust::Expect expect;
    expect.component = parsed->component;
    expect.channel = parsed->channel;
    auto verified = trust::VerifyRelease(opt_.root, *manifest, sigs, floor, expect, clock_.Now());
    if (!verified) return std::unexpected(verified.error());
    const auto& m = verified->manifest;
    const auto sha_hex = HexEncode(verified->manifest_sha256);
    if (floor.manifest_sha256 && *floor.manifest_sha256 == verified->manifest_sha256) {
      return JsonResponse(200, json{{"published", false},
                                    {"reason", "this exact release is already published"},
                                    {"component", m.component},
                                    {"channel", m.channel},
                                    {"version", m.version.ToString()},
                                    {"sequence", m.sequence}});
    }
    if (m.artifacts.empty()) {
      return Fail(ErrorCode::bad_request, "the release lists no artifacts");
    }
    if (auto r = CheckArtifacts(m); !r) return std::unexpected(r.error());

    ReleaseRecord rec;
    rec.component = m.component;
    rec.channel = m.channel;
    rec.version = m.version.ToString();
    rec.sequence = m.sequence;
    rec.root_version = m.root_version;
    rec.manifest = *manifest;
    rec.signatures = sigs;
    rec.manifest_sha256 = sha_hex;
    rec.published_at = UnixSeconds(clock_.Now());
    rec.expires = UnixSeconds(m.expires);
    {
      std::lock_guard lock(mu_);
      for (const auto& rel : releases_) {
        if (rel.component == rec.component && rel.channel == rec.channel &&
            (rel.version == rec.version || rel.sequence >= rec.sequence)) {
          return Fail(ErrorCode::already_exists,
                      "release " + rec.component + "/" + rec.channel + " " + rec.version +
                          " conflicts with published " + rel.version + " (sequence " +
                          std::to_string(rel.sequence) + ")");
        }
      }
      if (auto r = store_.InsertRelease(rec); !r) return std::unexpected(r.error());
      AddReleaseToCache(rec);
    }
    ++published_;
    log::Get("controller")
        .info("published component={} channel={} version={} sequence={}", rec.component,
              rec.channel, rec.version, rec.sequence);
    auto out = ReleaseSummary(rec);
    out["published"] = true;
    out["signers"] = verified->signers;
    return JsonResponse(201, out);
  }

  // Every artifact URL (and mirror) must answer a HEAD with 2xx and the declared size.
  Result<void> CheckArtifacts(const trust::Manifest& m) {
    http::ClientOptions copt;
    copt.allow_insecure_http = opt_.allow_insecure_http;
    copt.ca_file = opt_.artifact_ca_file;
    copt.connect_timeout = std::chrono::seconds(5);
    copt.timeout = std::chrono::seconds(15);
    copt.max_redirects = 3;
    http::Client client(copt);
    for (const auto& [platform, a] : m.artifacts) {
      std::vector<std::string> urls{a.url};
      urls.insert(urls.end(), a.mirrors.begin(), a.mirrors.end());
      for (const auto& url : urls) {
        const std::string where = "artifact " + platform + " at " + url;
        if (auto own = OwnBlob(url)) {
          // Served by this controller: look at the blob itself rather than asking ourselves
          // over HTTP (which would need a free server thread).
          std::error_code ec;
          const auto size = std::filesystem::file_size(*own, ec);
          if (ec) {
            return Fail(ErrorCode::artifact_unreachable,
                        where +
                            " is not in this controller's blob directory (it answers 404); "
                            "upload it before publishing");
          }
          if (size != a.size) {
            return Fail(ErrorCode::size_mismatch, where + " has size " + std::to_string(size) +
                                                      ", the manifest declares " +
                                                      std::to_string(a.size));
          }
          continue;
        }
        http::RequestSpec spec;
        spec.method = "HEAD";
        spec.url = url;
        auto res = client.Perform(spec);
        if (!res) {
          return Fail(ErrorCode::artifact_unreachable,
                      where + " is unreachable: " + res.error().message);
        }
        if (res->status < 200 || res->status > 299) {
          return Fail(ErrorCode::artifact_unreachable, where + " answered HTTP " +
                                                           std::to_string(res->status) +
                                                           "; upload it before publishing");
        }
        const auto length = res->Header("content-length");
        if (length != std::to_string(a.size)) {
          return Fail(ErrorCode::size_mismatch,
                      where + " has size " + (length.empty() ? "unknown" : length) +
                          ", the manifest declares " + std::to_string(a.size));
        }
      }
    }
    return {};
  }

  // The blob path when `url` is this controller's own /v1/artifacts/{sha256}.
  std::optional<std::filesystem::path> OwnBlob(const std::string& url) {
    std::string prefix;
    {
      std::lock_guard lock(mu_);
      prefix = opt_.public_url;
    }
    while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
    prefix += "/v1/artifacts/";
    if (prefix.size() <= 14 || !url.starts_with(prefix)) return std::nullopt;
    const auto sha = url.substr(prefix.size());
    if (!ParseSha256Hex(sha)) return std::nullopt;
    return std::filesystem::path(opt_.blob_dir) / sha;
  }

  json ReleaseSummary(const ReleaseRecord& r) const {
    return json{{"component", r.component},
                {"channel", r.channel},
                {"version", r.version},
                {"sequence", r.sequence},
                {"root_version", r.root_version},
                {"manifest_sha256", r.manifest_sha256},
                {"signatures", r.signatures.size()},
                {"published_at", FormatRfc3339(WallTime{std::chrono::seconds(r.published_at)})},
                {"expires", FormatRfc3339(WallTime{std::chrono::seconds(r.expires)})}};
  }

  http::Response ListReleases(const http::Request& req) {
    const auto component = req.Query("component");
    const auto channel = req.Query("channel");
    json out = json::array();
    std::lock_guard lock(mu_);
    for (const auto& r : releases_) {
      if (component && *component != r.component) continue;
      if (channel && *channel != r.channel) continue;
      out.push_back(ReleaseSummary(r));
    }
    return JsonResponse(200, json{{"releases", out}});
  }

  // Called with mu_ held (or before serving).
  void AddReleaseToCache(ReleaseRecord r) {
    json entry{{"component", r.component},
               {"channel", r.channel},
               {"version", r.version},
               {"manifest", r.manifest},
               {"signatures", r.signatures}};
    release_json_[r.component + "/" + r.channel + "/" + r.version] = entry.dump();
    releases_.push_back(std::move(r));
  }

  const ReleaseRecord* FindRelease(const std::string& component, const std::string& channel,
                                   const std::string& version) const {
    for (const auto& r : releases_) {
      if (r.component == component && r.channel == channel && r.version == version) return &r;
    }
    return nullptr;
  }

  // ---- admin: rollouts -----------------------------------------------------------------------

  http::Response PutRollout(const http::Request& req) {
    const auto& component = req.params.at("component");
    const auto& channel = req.params.at("channel");
    if (!trust::IsValidName(component) || !trust::IsValidName(channel)) {
      return Err(ErrorCode::bad_request,
                 "component and channel must match [a-z0-9][a-z0-9_-]{0,63}");
    }
    auto body = ParseBody(req, "rollout");
    if (!body) return http::Response::FromError(body.error());
    for (const auto& [k, v] : body->items()) {
      if (k != "version" && k != "percent" && k != "paused" && k != "minimum") {
        return Err(ErrorCode::bad_request,
                   "unknown field '" + k + "'; allowed: version, percent, paused, minimum");
      }
    }
    auto version = StringField(*body, "version", false, 128);
    if (!version) return http::Response::FromError(version.error());
    auto minimum = StringField(*body, "minimum", false, 128);
    if (!minimum) return http::Response::FromError(minimum.error());
    std::optional<double> percent;
    if (auto p = body->find("percent"); p != body->end()) {
      if (!p->is_number() || p->get<double>() < 0 || p->get<double>() > 100) {
        return Err(ErrorCode::bad_request, "field 'percent' must be a number from 0 to 100");
      }
      percent = p->get<double>();
    }
    std::optional<bool> paused;
    if (auto p = body->find("paused"); p != body->end()) {
      if (!p->is_boolean()) return Err(ErrorCode::bad_request, "field 'paused' must be a boolean");
      paused = p->get<bool>();
    }

    std::lock_guard lock(mu_);
    auto existing = rollouts_.find({component, channel});
    RolloutRecord r;
    if (existing != rollouts_.end()) {
      r = existing->second;
    } else if (version->empty() || !percent) {
      return Err(ErrorCode::bad_request, "a new rollout needs 'version' and 'percent'");
    } else {
      r.component = component;
      r.channel = channel;
    }
    if (!version->empty() && *version != r.version) {
      if (!FindRelease(component, channel, *version)) {
        return Err(ErrorCode::not_found, "no published release " + component + "/" + channel + " " +
                                             *version + "; publish it first");
      }
      r.version = *version;
      r.seed = NewSeed();  // a new target is a new rollout: new buckets, new counts
      r.halt_reason.clear();
      r.paused = false;
    }
    if (body->contains("minimum")) {
      if (!minimum->empty()) {
        if (!FindRelease(component, channel, *minimum)) {
          return Err(ErrorCode::not_found, "no published release " + component + "/" + channel +
                                               " " + *minimum + " for 'minimum'");
        }
        auto mv = SemVer::Parse(*minimum);
        auto tv = SemVer::Parse(r.version);
        if (!mv || !tv || !(*mv < *tv)) {
          return Err(ErrorCode::bad_request,
                     "'minimum' " + *minimum + " must be below the target " + r.version);
        }
      }
      r.minimum = *minimum;
    }
    if (percent) r.percent = *percent;
    if (paused) {
      r.paused = *paused;
      if (!*paused) r.halt_reason.clear();
    }
    r.updated_at = UnixSeconds(clock_.Now());
    if (auto res = store_.PutRollout(r); !res) return http::Response::FromError(res.error());
    rollouts_[{component, channel}] = r;
    log::Get("rollout").info("component={} channel={} version={} percent={} paused={}", component,
                             channel, r.version, r.percent, r.paused);
    return JsonResponse(200, RolloutJson(r));
  }

  // Called with mu_ held.
  json RolloutJson(const RolloutRecord& r) {
    std::int64_t on_target = 0;
    std::int64_t in_channel = 0;
    std::int64_t in_bucket = 0;
    for (const auto& [id, st] : nodes_) {
      for (const auto& c : st.components) {
        if (c.name != r.component || c.channel != r.channel) continue;
        ++in_channel;
        if (c.running_version == r.version) ++on_target;
        if (InRollout(Bucket(r.seed, id), r.percent)) ++in_bucket;
      }
    }
    auto counts = store_.CountUpdateResults(r.seed, r.component).value_or(UpdateCounts{});
    return json{{"component", r.component},
                {"channel", r.channel},
                {"version", r.version},
                {"minimum", r.minimum},
                {"percent", r.percent},
                {"paused", r.paused},
                {"halt_reason", r.halt_reason},
                {"updated_at", FormatRfc3339(WallTime{std::chrono::seconds(r.updated_at)})},
                {"nodes", in_channel},
                {"nodes_in_bucket", in_bucket},
                {"nodes_on_target", on_target},
                {"update_attempts", counts.attempts},
                {"rolled_back", counts.rolled_back}};
  }

  http::Response ListRollouts(const http::Request&) {
    json out = json::array();
    std::lock_guard lock(mu_);
    for (const auto& [key, r] : rollouts_) out.push_back(RolloutJson(r));
    return JsonResponse(200, json{{"rollouts", out}});
  }

  // ---- admin: flags -------------------------------------------------------------------------

  http::Response GetFlags(const http::Request&) {
    std::lock_guard lock(mu_);
    return http::Response::Json(200, flags_.Document());
  }

  http::Response PutFlags(const http::Request& req) {
    auto change = ParseFlagChange(req.body);
    if (!change) return http::Response::FromError(change.error());
    const auto now = UnixSeconds(clock_.Now());
    std::vector<FlagRecord> set;
    std::vector<FlagRecord> unset;
    for (const auto& [name, value] : change->set)
      set.push_back({change->channel, name, value, now});
    for (const auto& name : change->unset) unset.push_back({change->channel, name, "", now});

    std::lock_guard lock(mu_);
    if (auto r = flags_.Check(*change); !r) return http::Response::FromError(r.error());
    // The store first: what a check-in is told is always what a restarted controller tells.
    if (auto r = store_.UpdateFlags(set, unset); !r) return http::Response::FromError(r.error());
    flags_.Apply(*change);
    log::Get("controller")
        .info("flags scope={} set={} unset={}",
              change->channel.empty() ? "global" : "channel:" + change->channel, set.size(),
              unset.size());
    return http::Response::Json(200, flags_.Document());
  }

  // ---- admin: nodes and fleet ----------------------------------------------------------------

  static json NodeSummary(const NodeState& st) {
    json comps = json::array();
    for (const auto& c : st.components) {
      comps.push_back(json{{"name", c.name},
                           {"channel", c.channel},
                           {"running_version", c.running_version},
                           {"state", c.state}});
    }
    const auto& r = st.record;
    return json{
        {"id", r.id},
        {"hostname", r.hostname},
        {"platform", r.platform},
        {"enrolled_at", FormatRfc3339(WallTime{std::chrono::seconds(r.enrolled_at)})},
        {"last_seen", r.last_seen ? json(FormatRfc3339(WallTime{std::chrono::seconds(r.last_seen)}))
                                  : json(nullptr)},
        {"components", comps}};
  }

  http::Response ListNodes(const http::Request&) {
    std::map<std::string, json> sorted;
    std::lock_guard lock(mu_);
    json out = json::array();
    for (const auto& [id, st] : nodes_) sorted.emplace(id, NodeSummary(st));
    for (auto& [id, j] : sorted) out.push_back(std::move(j));
    return JsonResponse(200, json{{"nodes", out}});
  }

  http::Response ShowNode(const http::Request& req) {
    const auto& id = req.params.at("id");
    std::lock_guard lock(mu_);
    auto it = nodes_.find(id);
    if (it == nodes_.end()) return Err(ErrorCode::not_found, "no node " + id);
    auto out = NodeSummary(it->second);
    out["machine_id"] = it->second.record.machine_id;
    out["report"] = it->second.record.report.empty()
                        ? json(nullptr)
                        : json::parse(it->second.record.report, nullptr, false);
    return JsonResponse(200, out);
  }

  http::Response Fleet(const http::Request&) {
    std::lock_guard lock(mu_);
    json versions = json::object();
    json states = json::object();
    for (const auto& [id, st] : nodes_) {
      for (const auto& c : st.components) {
        const auto v = c.running_version.empty() ? std::string("none") : c.running_version;
        const auto s = c.state.empty() ? std::string("unknown") : c.state;
        auto& vc = versions[c.name][v];
        vc = vc.is_null() ? 1 : vc.get<int>() + 1;
        auto& sc = states[c.name][s];
        sc = sc.is_null() ? 1 : sc.get<int>() + 1;
      }
    }
    json rollouts = json::array();
    for (const auto& [key, r] : rollouts_) rollouts.push_back(RolloutJson(r));
    return JsonResponse(200, json{{"nodes", nodes_.size()},
                                  {"versions", versions},
                                  {"states", states},
                                  {"rollouts", rollouts}});
  }

  // A token this controller has not seen may belong to a node that enrolled (or enrolled
  // again) through another controller sharing the store: when the store holds node `id` with
  // that token, its record replaces what is in memory. by_token_.end() otherwise. Called with
  // mu_ held.
  std::unordered_map<std::string, std::string>::iterator AdoptFromStore(const std::string& id,
                                                                        const std::string& hash) {
    auto found = store_.GetNode(id);
    if (!found || !*found || !SecretEquals((*found)->token_hash, hash)) return by_token_.end();
    if (auto old = nodes_.find(id); old != nodes_.end()) {
      by_token_.erase(old->second.record.token_hash);
    }
    NodeState st;
    st.components = ComponentsOfReport((*found)->report);
    st.record = std::move(**found);
    IndexNode(st.record);
    nodes_[id] = std::move(st);
    log::Get("controller")
        .debug("node={} known from the store (enrolled through another controller)", id);
    return by_token_.find(hash);
  }

  // Called with mu_ held (or before serving).
  void IndexNode(const NodeRecord& r) {
    by_token_[r.token_hash] = r.id;
    by_machine_.try_emplace(r.machine_id, r.id);  // a machine id names the node that had it first
  }

  Store& store_;
  Clock& clock_;
  ServiceOptions opt_;

  std::mutex mu_;
  std::unordered_map<std::string, NodeState> nodes_;
  std::unordered_map<std::string, std::string> by_token_;    // token hash -> node id
  std::unordered_map<std::string, std::string> by_machine_;  // machine id -> node id
  std::vector<ReleaseRecord> releases_;
  std::unordered_map<std::string, std::string> release_json_;  // comp/channel/version -> JSON
  std::map<Key, RolloutRecord> rollouts_;
  FlagTable flags_;
  std::string controllers_json_;  // live controllers, as of the last Heartbeat

  std::atomic<std::uint64_t> checkins_{0};
  std::atomic<std::uint64_t> enrollments_{0};
  std::atomic<std::uint64_t> takeovers_refused_{0};
  std::atomic<std::uint64_t> auth_failures_{0};
  std::atomic<std::uint64_t> published_{0};
};

}  // namespace

Result<ServiceOptions> LoadServiceOptions(const Config& config) {
  ServiceOptions opt;
  auto root = trust::LoadRootFile(config.root);
  if (!root) return std::unexpected(root.error().Wrap("root " + config.root));
  opt.root = std::move(*root);
  if (opt.root.version > 1) {
    auto bytes = files::ReadFile(config.root, trust::kMaxRootBytes);
    if (!bytes) return std::unexpected(bytes.error());
    json sigs = json::array();
    for (const auto& f : trust::SignatureFilesBeside(config.root)) {
      auto sig = files::ReadFile(f, minisign::kMaxSignatureFile);
      if (!sig) return std::unexpected(sig.error());
      sigs.push_back(*sig);
    }
    opt.roots_json = json::array({json{{"root", *bytes}, {"signatures", sigs}}}).dump();
  }
  auto admin = ReadTokenFile(config.admin_token_file);
  if (!admin) return std::unexpected(admin.error());
  opt.admin_tokens = std::move(*admin);
  auto enroll = ReadTokenFile(config.enroll_token_file);
  if (!enroll) return std::unexpected(enroll.error());
  opt.enroll_tokens = std::move(*enroll);
  opt.blob_dir = config.blob_dir;
  opt.public_url = config.public_url;
  opt.checkin_interval_s =
      std::chrono::duration_cast<std::chrono::seconds>(config.checkin_interval).count();
  opt.halt_rollback_rate = config.halt_rollback_rate;
  opt.halt_min_attempts = config.halt_min_attempts;
  opt.allow_insecure_http = config.allow_insecure_http;
  opt.artifact_ca_file = config.artifact_ca_file;
  return opt;
}

Result<std::unique_ptr<Service>> Service::Create(Store& store, Clock& clock,
                                                 ServiceOptions options) {
  auto s = std::make_unique<ServiceImpl>(store, clock, std::move(options));
  if (auto r = s->Load(); !r) return std::unexpected(r.error());
  return std::unique_ptr<Service>(std::move(s));
}

}  // namespace steward::controller
