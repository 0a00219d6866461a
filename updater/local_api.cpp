#include "updater/local_api.hpp"

#include <chrono>
#include <cmath>
#include <future>
#include <memory>
#include <nlohmann/json.hpp>

#include "common/log.hpp"
#include "common/protocol.hpp"
#include "common/version.hpp"
#include "updater/launcher.hpp"

namespace steward::updater {

namespace {

using namespace std::chrono_literals;
using nlohmann::json;

spdlog::logger& Log() { return log::Get("main"); }

// The status document keeps milliseconds: enough for people, and stable in tests.
protocol::UpdateStatus UpdateOf(const TxnView& t) {
  auto seconds = [](Duration d) {
    return std::round(std::chrono::duration<double>(d).count() * 1000.0) / 1000.0;
  };
  return protocol::UpdateStatus{t.id,
                                t.from_version,
                                t.to_version,
                                std::string(TxnStateName(t.state)),
                                t.result,
                                t.error_code,
                                t.error,
                                seconds(t.healthy),
                                seconds(t.grace),
                                t.superseded,
                                t.download};
}

protocol::ComponentStatus ComponentOf(const UnitStatus& u,
                                      const std::map<std::string, TxnView>& updates,
                                      const std::map<std::string, std::string>& waiting) {
  protocol::ComponentStatus out;
  out.name = u.name;
  out.state = UnitStateName(u.state);
  if (u.pid > 0) out.pid = static_cast<int>(u.pid);
  out.desired_state = DesiredStateName(u.desired);
  out.running_version = u.running_version;
  out.installed_version = u.installed_version;
  out.previous_version = u.previous_version;
  if (u.last_exit) out.last_exit = static_cast<const protocol::ExitInfo&>(*u.last_exit);
  out.restarts = u.restarts;
  out.consecutive_failures = u.consecutive_failures;
  out.crash_loop = u.crash_loop;
  out.status = u.status_text;
  out.last_error = u.last_error;
  if (auto update = updates.find(u.name); update != updates.end()) {
    out.update = UpdateOf(update->second);
  }
  if (auto w = waiting.find(u.name); w != waiting.end()) out.waiting = w->second;
  return out;
}

}  // namespace

std::string StatusJson(const std::vector<UnitStatus>& units, std::string_view state,
                       const std::map<std::string, TxnView>& updates,
                       const std::optional<CheckinFacts>& checkin,
                       const std::map<std::string, std::string>& waiting) {
  protocol::StatusDocument doc;
  doc.updater = {std::string(BuildVersion()), std::string(state), std::nullopt};
  if (auto self = updates.find(std::string(kUpdaterComponent)); self != updates.end()) {
    doc.updater.update = UpdateOf(self->second);
  }
  for (const auto& u : units) doc.components.push_back(ComponentOf(u, updates, waiting));
  if (checkin) {
    doc.checkin = protocol::CheckinStatus{checkin->count, checkin->last_at, checkin->last_error,
                                          checkin->controller};
  }
  return protocol::Encode(doc);
}

Result<OfferedRelease> ParseApply(const std::string& component, const std::string& body) {
  auto release = protocol::DecodeSignedRelease(body);
  if (!release) return std::unexpected(release.error());
  return OfferedRelease{component, std::move(release->manifest), std::move(release->signatures)};
}

LocalApi::LocalApi(std::string config_path, Post post, Daemon& daemon)
    : config_path_(std::move(config_path)), post_(std::move(post)), daemon_(daemon) {}

http::Response LocalApi::OnLoop(std::function<http::Response()> work) {
  if (!serving_.load()) {
    return http::Response::Error(503, ErrorCode::unavailable,
                                 "the updater is recovering its state; try again shortly");
  }
  auto promise = std::make_shared<std::promise<http::Response>>();
  auto future = promise->get_future();
  post_([promise, work = std::move(work)] { promise->set_value(work()); });
  if (future.wait_for(10s) != std::future_status::ready) {
    return http::Response::Error(503, ErrorCode::unavailable,
                                 "the updater did not answer within 10s; try again");
  }
  return future.get();
}

http::Router LocalApi::Routes() {
  http::Router router;
  router.Add("GET", "/v1/status", [this](const http::Request&) {
    if (!serving_.load()) return http::Response::Json(200, StatusJson({}, "recovering"));
    return OnLoop([this] { return http::Response::Json(200, daemon_.Status()); });
  });
  router.Add("POST", "/v1/components/{name}/apply", [this](const http::Request& req) {
    auto offer = ParseApply(req.params.at("name"), req.body);
    if (!offer) return http::Response::FromError(offer.error());
    return OnLoop([this, offer = std::move(*offer)] {
      auto r = daemon_.Apply(offer);
      if (!r) {
        // A refused offer is the request's fault but not its form's: 422, not 400.
        const int status = r.error().code == ErrorCode::unknown_component ? 404 : 422;
        return http::Response::Error(status, r.error().code, r.error().message);
      }
      return http::Response::Json(200,
                                  json{{"component", offer.component}, {"outcome", *r}}.dump());
    });
  });
  router.Add("POST", "/v1/components/{name}/{command}", [this](const http::Request& req) {
    return OnLoop([this, name = req.params.at("name"), command = req.params.at("command")] {
      if (auto r = daemon_.Command(name, command); !r) return http::Response::FromError(r.error());
      return http::Response::Json(
          200, json{{"component", name}, {"command", command}, {"accepted", true}}.dump());
    });
  });
  router.Add("DELETE", "/v1/components/{name}/bad/{version}", [this](const http::Request& req) {
    return OnLoop([this, name = req.params.at("name"), version = req.params.at("version")] {
      if (auto r = daemon_.ClearBad(name, version); !r) {
        return http::Response::Error(r.error().code == ErrorCode::not_found ? 404 : 500,
                                     r.error().code, r.error().message);
      }
      return http::Response::Json(
          200, json{{"component", name}, {"version", version}, {"cleared", true}}.dump());
    });
  });
  router.Add("POST", "/v1/check", [this](const http::Request&) {
    return OnLoop([this] {
      if (!daemon_.CheckNow()) {
        return http::Response::Error(
            409, ErrorCode::unsupported,
            "no [controller] in " + config_path_ + ": this updater only supervises");
      }
      return http::Response::Json(200, json{{"check", "started"}}.dump());
    });
  });
  router.Add("POST", "/v1/reload", [this](const http::Request&) {
    return OnLoop([this] {
      auto r = daemon_.Reload();
      if (!r) return http::Response::FromError(r.error());
      return http::Response::Json(200, json{{"reloaded", true}, {"summary", *r}}.dump());
    });
  });
  router.Add("POST", "/v1/reexec", [this](const http::Request&) {
    return OnLoop([this] {
      Log().info("re-exec requested through the local API");
      daemon_.Reexec();
      return http::Response::Json(200, json{{"reexec", true}}.dump());
    });
  });
  return router;
}

}  // namespace steward::updater
