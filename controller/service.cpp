// The HTTP layer of the controller: routes, authentication and metrics. Each handler decodes
// the request (common/protocol.hpp, controller/wire.hpp), calls the domain (fleet, releases,
// rollouts, flags, membership) and encodes what it returns; the decisions themselves live in the
// domain.
#include "controller/service.hpp"

#include <atomic>
#include <filesystem>

#include "common/files.hpp"
#include "common/hash.hpp"
#include "common/log.hpp"
#include "common/protocol.hpp"
#include "common/token_file.hpp"
#include "controller/artifact_probe.hpp"
#include "controller/flags.hpp"
#include "controller/fleet.hpp"
#include "controller/membership.hpp"
#include "controller/releases.hpp"
#include "controller/rollout.hpp"
#include "controller/secrets.hpp"
#include "controller/ui_routes.hpp"
#include "controller/windows.hpp"
#include "controller/wire.hpp"

namespace steward::controller {

namespace {

constexpr std::size_t kNodeHistory = 50;  // update results shown with a node

http::Response Err(ErrorCode code, std::string_view message) {
  return http::Response::Error(http::StatusFor(code), code, message);
}

class ServiceImpl final : public Service {
 public:
  ServiceImpl(Store& store, Clock& clock, ServiceOptions options)
      : store_(store),
        opt_(std::move(options)),
        membership_(store, clock, opt_.public_url, opt_.member_ttl),
        probe_({opt_.allow_insecure_http, opt_.artifact_ca_file, opt_.blob_dir,
                [this] { return membership_.PublicUrl(); }}),
        flags_(store, clock),
        windows_(store, clock),
        releases_(store, clock, opt_.root, probe_),
        rollouts_(store, clock, releases_,
                  {opt_.halt_rollback_rate, opt_.halt_min_attempts, opt_.checkin_interval_s}),
        fleet_(store, clock, rollouts_, releases_, flags_, windows_, membership_,
               {opt_.checkin_interval_s, opt_.roots_json}),
        dashboard_(clock, {opt_.admin_tokens, opt_.viewer_tokens, {.secure_cookie = opt_.tls}}) {}

  Result<void> Load() {
    // The generation first: a change made while loading is loaded again by the next Sync.
    auto generation = store_.Generation();
    if (!generation) return std::unexpected(generation.error());
    generation_ = *generation;
    if (auto r = fleet_.Load(); !r) return r;
    return LoadShared();
  }

  Result<bool> Sync() override {
    auto generation = store_.Generation();
    if (!generation) return std::unexpected(generation.error());
    if (*generation == generation_) return false;
    generation_ = *generation;
    if (auto r = LoadShared(); !r) return std::unexpected(r.error());
    return true;
  }

  // What another controller sharing the store may change: releases, rollouts, flags, windows.
  // Nodes are looked up in the store when a check-in shows a token this controller does not know.
  Result<void> LoadShared() {
    if (auto r = releases_.Load(); !r) return r;
    if (auto r = rollouts_.Load(); !r) return r;
    if (auto r = windows_.Load(); !r) return r;
    return flags_.Load();
  }

  void SetPublicUrl(std::string url) override { membership_.SetPublicUrl(std::move(url)); }
  Result<void> Heartbeat() override { return membership_.Heartbeat(); }

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
        .Add("GET", "/v1/admin/fleet", Admin(bind(&ServiceImpl::FleetView)))
        .Add("GET", "/v1/admin/flags", Admin(bind(&ServiceImpl::GetFlags)))
        .Add("PUT", "/v1/admin/flags", Admin(bind(&ServiceImpl::PutFlags)))
        .Add("GET", "/v1/admin/windows", Admin(bind(&ServiceImpl::ListWindows)))
        .Add("PUT", "/v1/admin/windows/{channel}", Admin(bind(&ServiceImpl::PutWindows)));
    dashboard_.AddRoutes(r);
    return r;
  }

 private:
  // ---- auth ----------------------------------------------------------------------------------

  // The admin token as a bearer (stewardctl), or a dashboard session cookie with its CSRF
  // token on changes (controller/sessions.hpp); a viewer session only reads.
  http::Handler Admin(http::Handler inner) {
    return [this, inner = std::move(inner)](const http::Request& req) {
      const auto token = req.BearerToken();
      if (token.empty()) {
        auto session = dashboard_.Authorize(req);
        if (!session) {
          ++auth_failures_;
          return http::Response::FromError(session.error());
        }
        return inner(req);
      }
      if (!AnySecretEquals(opt_.admin_tokens, token)) {
        ++auth_failures_;
        return Err(ErrorCode::unauthorized, "the admin token is not valid");
      }
      return inner(req);
    };
  }

  // Counts refusals for a token (unauthorized, forbidden) among the errors the domain returns.
  http::Response Refused(const Error& error) {
    if (error.code == ErrorCode::unauthorized || error.code == ErrorCode::forbidden) {
      ++auth_failures_;
    }
    return http::Response::FromError(error);
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
            auth_failures_.load() + dashboard_.refused());
    counter("steward_controller_releases_published_total", "Releases accepted.", published_.load());
    counter("steward_controller_nodes", "Enrolled nodes.", fleet_.size(), "gauge");
    counter("steward_controller_releases", "Published releases.", releases_.size(), "gauge");
    const auto rollouts = rollouts_.List();
    out +=
        "# HELP steward_controller_rollout_percent Rollout percent per component and channel.\n"
        "# TYPE steward_controller_rollout_percent gauge\n";
    for (const auto& r : rollouts) {
      out += "steward_controller_rollout_percent{component=\"" + r.component + "\",channel=\"" +
             r.channel + "\",version=\"" + r.version + "\"} " + EncodeNumber(r.percent) + "\n";
    }
    out +=
        "# HELP steward_controller_rollout_paused 1 when the rollout is paused.\n"
        "# TYPE steward_controller_rollout_paused gauge\n";
    for (const auto& r : rollouts) {
      out += "steward_controller_rollout_paused{component=\"" + r.component + "\",channel=\"" +
             r.channel + "\"} " + (r.paused ? "1" : "0") + "\n";
    }
    auto res = http::Response::Text(200, std::move(out));
    res.content_type = "text/plain; version=0.0.4";
    return res;
  }

  // ---- enrollment and check-in ---------------------------------------------------------------

  http::Response Enroll(const http::Request& req) {
    auto token = protocol::DecodeEnrollToken(req.body);
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
    auto request = protocol::DecodeEnrollRequest(req.body);
    if (!request) return http::Response::FromError(request.error());
    auto enrolled = fleet_.Enroll({std::move(request->hostname), std::move(request->machine_id),
                                   std::move(request->platform), req.BearerToken(), req.remote});
    if (!enrolled) return http::Response::FromError(enrolled.error());
    if (enrolled->refused_takeover) ++takeovers_refused_;
    ++enrollments_;
    return http::Response::Json(
        200, protocol::Encode(protocol::EnrollAnswer{enrolled->node_id, enrolled->node_token}));
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
    auto report = DecodeCheckin(req);
    if (!report) return http::Response::FromError(report.error());
    auto answer = fleet_.Checkin(token, std::move(*report));
    if (!answer) return Refused(answer.error());
    ++checkins_;
    return http::Response::Json(200, EncodeCheckinAnswer(*answer));
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

  // Publishing probes the release's artifact URLs, which can take seconds: off the threads
  // that answer check-ins.
  http::Response PublishRelease(const http::Request& req) {
    auto request = protocol::DecodeSignedRelease(req.body);
    if (!request) return ReleaseRefused(request.error());
    return http::Response::Later([this, request = std::move(*request)] {
      auto outcome = releases_.Publish(request);
      if (!outcome) return ReleaseRefused(outcome.error());
      if (outcome->published) ++published_;
      return http::Response::Json(outcome->published ? 201 : 200, EncodePublished(*outcome));
    });
  }

  static http::Response ReleaseRefused(const Error& e) {
    log::Get("controller").warn("release refused: {}", e.ToString());
    return http::Response::FromError(e);
  }

  http::Response ListReleases(const http::Request& req) {
    return http::Response::Json(
        200, EncodeReleases(releases_.List(req.Query("component"), req.Query("channel"))));
  }

  // ---- admin: rollouts -----------------------------------------------------------------------

  RolloutStatus Status(RolloutRecord r) const {
    auto reach = fleet_.Reach(r);
    auto counts = rollouts_.Counts(r);
    auto waves = rollouts_.Progress(r);
    return RolloutStatus{std::move(r), reach, counts, waves};
  }

  std::vector<RolloutStatus> Statuses() const {
    std::vector<RolloutStatus> out;
    for (auto& r : rollouts_.List()) out.push_back(Status(std::move(r)));
    return out;
  }

  http::Response PutRollout(const http::Request& req) {
    auto change = DecodeRolloutChange(req);
    if (!change) return http::Response::FromError(change.error());
    auto r = rollouts_.Apply(*change);
    if (!r) return http::Response::FromError(r.error());
    return http::Response::Json(200, EncodeRollout(Status(std::move(*r))));
  }

  http::Response ListRollouts(const http::Request&) {
    return http::Response::Json(200, EncodeRollouts(Statuses()));
  }

  // ---- admin: maintenance windows -------------------------------------------------------------

  http::Response ListWindows(const http::Request&) {
    return http::Response::Json(200, EncodeWindows(windows_.List()));
  }

  http::Response PutWindows(const http::Request& req) {
    auto change = DecodeWindowsChange(req);
    if (!change) return http::Response::FromError(change.error());
    auto r = windows_.Set(*change);
    if (!r) return http::Response::FromError(r.error());
    return http::Response::Json(200, EncodeWindows({*r}));
  }

  // ---- admin: flags -------------------------------------------------------------------------

  http::Response GetFlags(const http::Request&) {
    return http::Response::Json(200, flags_.Document());
  }

  http::Response PutFlags(const http::Request& req) {
    auto change = ParseFlagChange(req.body);
    if (!change) return http::Response::FromError(change.error());
    auto document = flags_.Change(*change);
    if (!document) return http::Response::FromError(document.error());
    return http::Response::Json(200, std::move(*document));
  }

  // ---- admin: nodes and fleet ----------------------------------------------------------------

  // Without a limit, every node that matches (what stewardctl asks for); with one, a page.
  http::Response ListNodes(const http::Request& req) {
    auto query = DecodeNodeQuery(req);
    if (!query) return http::Response::FromError(query.error());
    return http::Response::Json(200, EncodeNodePage(fleet_.Find(*query)));
  }

  http::Response ShowNode(const http::Request& req) {
    const auto& id = req.params.at("id");
    auto node = fleet_.Node(id);
    if (!node) return Err(ErrorCode::not_found, "no node " + id);
    auto updates = store_.ListNodeUpdates(id, kNodeHistory);
    if (!updates) return http::Response::FromError(updates.error());
    return http::Response::Json(200, EncodeNode(*node, *updates));
  }

  http::Response FleetView(const http::Request&) {
    auto overview = fleet_.Overview();
    return http::Response::Json(200, EncodeFleet(CountsOf(overview), Statuses(), overview));
  }

  Store& store_;
  ServiceOptions opt_;
  std::int64_t generation_ = 0;  // the store's, when releases, rollouts and flags were loaded
  Membership membership_;
  HttpArtifactProbe probe_;
  Flags flags_;
  Windows windows_;
  Releases releases_;
  Rollouts rollouts_;
  Fleet fleet_;
  Dashboard dashboard_;

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
    std::vector<std::string> sigs;
    for (const auto& f : trust::SignatureFilesBeside(config.root)) {
      auto sig = files::ReadFile(f, minisign::kMaxSignatureFile);
      if (!sig) return std::unexpected(sig.error());
      sigs.push_back(std::move(*sig));
    }
    opt.roots_json = protocol::Encode(std::vector<protocol::RootOffer>{{*bytes, std::move(sigs)}});
  }
  auto admin = ReadTokenFile(config.admin_token_file);
  if (!admin) return std::unexpected(admin.error());
  opt.admin_tokens = std::move(*admin);
  auto enroll = ReadTokenFile(config.enroll_token_file);
  if (!enroll) return std::unexpected(enroll.error());
  opt.enroll_tokens = std::move(*enroll);
  if (!config.viewer_token_file.empty()) {
    auto viewer = ReadTokenFile(config.viewer_token_file);
    if (!viewer) return std::unexpected(viewer.error());
    opt.viewer_tokens = std::move(*viewer);
    for (const auto& t : opt.viewer_tokens) {
      if (AnySecretEquals(opt.admin_tokens, t)) {
        return Fail(ErrorCode::config_invalid,
                    config.viewer_token_file +
                        ": holds a token of admin_token_file; a viewer token must differ from "
                        "every admin token (make one with: head -c 32 /dev/urandom | od -An -tx1 | "
                        "tr -d ' \\n')");
      }
    }
  }
  opt.tls = !config.tls_cert_file.empty();
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
