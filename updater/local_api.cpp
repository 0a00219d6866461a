#include "updater/local_api.hpp"

#include <chrono>
#include <cmath>
#include <future>
#include <memory>
#include <nlohmann/json.hpp>

#include "common/log.hpp"
#include "common/rfc3339.hpp"
#include "common/version.hpp"
#include "updater/launcher.hpp"

namespace steward::updater {

namespace {

using namespace std::chrono_literals;
using nlohmann::json;

spdlog::logger& Log() { return log::Get("main"); }

json ExitJson(const std::optional<ExitInfo>& e) {
  if (!e) return nullptr;
  return json{{"kind", ExitKindName(e->kind)},
              {"code", e->code ? json(*e->code) : json(nullptr)},
              {"signal", e->signal ? json(*e->signal) : json(nullptr)},
              {"core_dumped", e->core_dumped},
              {"oom", e->oom},
              {"at", FormatRfc3339(e->at)}};
}

json OrNull(const std::string& s) { return s.empty() ? json(nullptr) : json(s); }

json UpdateJson(const TxnView& t) {
  auto seconds = [](Duration d) {
    return std::round(std::chrono::duration<double>(d).count() * 1000.0) / 1000.0;
  };
  return json{{"id", t.id},
              {"from", OrNull(t.from_version)},
              {"to", OrNull(t.to_version)},
              {"state", TxnStateName(t.state)},
              {"result", t.result ? json(UpdateResultName(*t.result)) : json(nullptr)},
              {"error_code", OrNull(t.error_code)},
              {"error", OrNull(t.error)},
              {"healthy_s", seconds(t.healthy)},
              {"grace_s", seconds(t.grace)}};
}

}  // namespace

std::string StatusJson(const std::vector<UnitStatus>& units, std::string_view state,
                       const std::map<std::string, TxnView>& updates,
                       const std::optional<CheckinFacts>& checkin) {
  json list = json::array();
  for (const auto& u : units) {
    auto update = updates.find(u.name);
    list.push_back(
        json{{"name", u.name},
             {"state", UnitStateName(u.state)},
             {"pid", u.pid > 0 ? json(u.pid) : json(nullptr)},
             {"desired_state", DesiredStateName(u.desired)},
             {"running_version", OrNull(u.running_version)},
             {"installed_version", OrNull(u.installed_version)},
             {"previous_version", OrNull(u.previous_version)},
             {"last_exit", ExitJson(u.last_exit)},
             {"restarts", u.restarts},
             {"consecutive_failures", u.consecutive_failures},
             {"crash_loop", u.crash_loop},
             {"status", u.status_text},
             {"last_error", OrNull(u.last_error)},
             {"update", update != updates.end() ? UpdateJson(update->second) : json(nullptr)}});
  }
  json updater{{"version", BuildVersion()}, {"state", state}};
  if (auto self = updates.find(std::string(kUpdaterComponent)); self != updates.end()) {
    updater["update"] = UpdateJson(self->second);
  }
  json doc{{"updater", updater}, {"components", list}};
  if (checkin) {
    doc["checkin"] = json{{"count", checkin->count},
                          {"last_at", OrNull(checkin->last_at)},
                          {"last_error", OrNull(checkin->last_error)},
                          {"controller", OrNull(checkin->controller)}};
  }
  return doc.dump();
}

Result<OfferedRelease> ParseApply(const std::string& component, const std::string& body) {
  const json j = json::parse(body, nullptr, false);
  if (!j.is_object() || !j.contains("manifest") || !j["manifest"].is_string() ||
      !j.contains("signatures") || !j["signatures"].is_array()) {
    return Fail(ErrorCode::bad_request,
                "expected {\"manifest\": \"<signed bytes>\", \"signatures\": [\"<minisig>\"…]}");
  }
  OfferedRelease r{component, j["manifest"].get<std::string>(), {}};
  for (const auto& s : j["signatures"]) {
    if (!s.is_string()) return Fail(ErrorCode::bad_request, "signatures must be strings");
    r.signatures.push_back(s.get<std::string>());
  }
  return r;
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
