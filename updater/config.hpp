// steward-updater's configuration (/etc/steward/updater.toml; ARCHITECTURE §4).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.hpp"
#include "common/error.hpp"

namespace steward::updater {

struct ControllerConfig {
  std::vector<std::string> urls;  // seeds; the live list is learned from check-ins
  std::string enroll_token_file = "/etc/steward/enroll-token";
  Duration checkin_interval = std::chrono::seconds(60);
  std::string ca_file;
  bool allow_insecure_http = false;
  std::string proxy;  // for the controller and artifact servers; empty: https_proxy etc. apply
};

// What an operator wants of a component; the name is what the configuration, the state
// database and `status` say.
enum class DesiredState : std::uint8_t { running, stopped };
std::string_view DesiredStateName(DesiredState state);
std::optional<DesiredState> DesiredStateFromName(std::string_view name);

// How a component tells it is ready: a READY=1 notify message, an HTTP probe answering 2xx, or
// at once when spawned.
enum class Readiness : std::uint8_t { notify, http, none };
std::string_view ReadinessName(Readiness readiness);

struct ComponentConfig {
  std::string name;
  std::string channel = "stable";
  std::string binary;  // managed: file inside the installed version directory
  std::string exec;    // unmanaged: a fixed program, never updated
  std::vector<std::string> args;
  std::map<std::string, std::string> env;
  std::string user;
  std::string working_dir;
  DesiredState desired = DesiredState::running;
  Readiness readiness = Readiness::notify;
  std::string readiness_url;  // the URL probed for Readiness::http
  Duration start_timeout = std::chrono::seconds(90);
  Duration stop_timeout = std::chrono::seconds(30);
  Duration watchdog = Duration::zero();
  Duration grace = std::chrono::minutes(10);
  Duration restart_delay = std::chrono::seconds(1);
  Duration restart_delay_max = std::chrono::seconds(300);
  Duration restart_reset = std::chrono::minutes(10);      // healthy this long: backoff starts over
  std::int64_t crash_loop_failures = 5;                   // this many failures within
  Duration crash_loop_window = std::chrono::minutes(10);  // this window is a crash loop
  std::string pin;                                        // stay on this version
  bool hold = false;                                      // take no updates
  bool reload_on_flags = false;  // SIGHUP when the controller's feature flags change

  bool Managed() const { return exec.empty(); }
  // The readiness as the configuration writes it: "notify", "none" or "http:<url>".
  std::string ReadinessText() const;
};

// Self-update (ARCHITECTURE §4): the updater takes releases of component "steward-updater" on
// this channel; absent: it never updates itself.
struct SelfUpdateConfig {
  std::string channel = "stable";
  Duration grace = std::chrono::minutes(10);
};

struct Config {
  std::string path;  // where it was loaded from
  std::string state_dir = "/var/lib/steward";
  std::string socket = "/run/steward/updater.sock";
  std::string log_level = "info";
  std::string log_format = "text";
  // HTTP requests (check-ins, downloads, readiness probes) run in a short-lived helper process,
  // so the updater itself never loads libcurl and its TLS libraries. false: in the updater.
  bool http_helper = true;
  // The helper drops its capabilities and confines itself with Landlock before its first
  // request: it writes, creates, removes and executes nothing. false: unconfined.
  bool http_helper_sandbox = true;
  std::optional<ControllerConfig> controller;
  std::string root = "/etc/steward/root.json";
  std::vector<ComponentConfig> components;
  std::optional<SelfUpdateConfig> self_update;
};

Result<Config> LoadConfig(const std::string& path);
Result<Config> ParseConfig(std::string_view text, const std::string& name);

}  // namespace steward::updater
