#include "updater/config.hpp"

#include <set>

#include "common/config.hpp"
#include "common/semver.hpp"
#include "common/trust.hpp"

namespace steward::updater {

namespace {

using namespace std::chrono_literals;

constexpr std::string_view kDesiredNames[] = {"running", "stopped"};
constexpr std::string_view kReadinessNames[] = {"notify", "http", "none"};
constexpr std::string_view kHttpReadiness = "http:";

// `desired` as the enum; the key's own checks (GetEnum) have reported a bad value.
DesiredState ReadDesired(config::Section& s, DesiredState fallback) {
  std::string name(DesiredStateName(fallback));
  s.GetEnum("desired", name, {kDesiredNames[0], kDesiredNames[1]});
  return DesiredStateFromName(name).value_or(fallback);
}

// `readiness` as the configuration writes it: notify, none or http:<url>. False when it is
// none of them.
bool ParseReadiness(std::string_view text, ComponentConfig& c) {
  if (text.starts_with(kHttpReadiness) && text.size() > kHttpReadiness.size()) {
    c.readiness = Readiness::http;
    c.readiness_url = std::string(text.substr(kHttpReadiness.size()));
    return true;
  }
  for (const Readiness r : {Readiness::notify, Readiness::none}) {
    if (text == ReadinessName(r)) {
      c.readiness = r;
      return true;
    }
  }
  return false;
}

bool ValidName(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (const char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

void ReadComponent(config::Section& s, ComponentConfig& c) {
  s.Get("name", c.name);
  s.Get("channel", c.channel);
  s.Get("binary", c.binary);
  s.Get("exec", c.exec);
  s.Get("args", c.args);
  s.Get("env", c.env);
  s.Get("user", c.user);
  s.Get("working_dir", c.working_dir);
  c.desired = ReadDesired(s, c.desired);
  std::string readiness = c.ReadinessText();
  s.Get("readiness", readiness);
  s.Get("start_timeout", c.start_timeout, 1s, 24h);
  s.Get("stop_timeout", c.stop_timeout, 1s, 1h);
  s.Get("watchdog", c.watchdog, 0s, 1h);
  s.Get("grace", c.grace, 0s, 24h);
  s.Get("restart_delay", c.restart_delay, 0s, 1h);
  s.Get("restart_delay_max", c.restart_delay_max, 0s, 24h);
  s.Get("restart_reset", c.restart_reset, 1s, 24h);
  s.Get("crash_loop_failures", c.crash_loop_failures, 1, 1000);
  s.Get("crash_loop_window", c.crash_loop_window, 1s, 24h);
  s.Get("pin", c.pin);
  s.Get("hold", c.hold);
  s.Get("reload_on_flags", c.reload_on_flags);

  if (!ValidName(c.name)) {
    s.Invalid("name", "required; 1-64 characters of a-z, 0-9, '-', '_'");
  }
  if (!ValidName(c.channel)) s.Invalid("channel", "1-64 characters of a-z, 0-9, '-', '_'");
  if (c.binary.empty() == c.exec.empty()) {
    s.Invalid(c.exec.empty() ? "binary" : "exec",
              "set exactly one of 'binary' (managed, updated) or 'exec' (fixed program)");
  } else if (!c.binary.empty() && c.binary.find('/') != std::string::npos) {
    s.Invalid("binary", "a file name inside the version directory, without '/'");
  } else if (!c.exec.empty() && c.exec.front() != '/') {
    s.Invalid("exec", "an absolute path");
  }
  if (!ParseReadiness(readiness, c)) s.Invalid("readiness", "allowed: notify, none, http:<url>");
  if (c.restart_delay_max < c.restart_delay) {
    s.Invalid("restart_delay_max", "must be at least restart_delay");
  }
  if (!c.pin.empty() && !SemVer::Parse(c.pin)) {
    s.Invalid("pin", "a semantic version such as \"1.2.3\"");
  }
  if (!c.exec.empty() && (!c.pin.empty() || c.hold)) {
    s.Invalid(c.hold ? "hold" : "pin", "only managed components ('binary') take updates");
  }
}

Result<Config> FromDocument(Result<config::Document> doc, const std::string& name) {
  if (!doc) return std::unexpected(doc.error());
  Config cfg;
  cfg.path = name;
  config::Section root = doc->Root();
  root.Get("state_dir", cfg.state_dir);
  root.Get("socket", cfg.socket);
  root.GetEnum("log_level", cfg.log_level,
               {"trace", "debug", "info", "warn", "error", "critical", "off"});
  root.GetEnum("log_format", cfg.log_format, {"text", "json"});
  root.Get("http_helper", cfg.http_helper);
  root.Get("http_helper_sandbox", cfg.http_helper_sandbox);
  if (cfg.state_dir.empty() || cfg.state_dir.front() != '/') {
    root.Invalid("state_dir", "an absolute path");
  }
  if (cfg.socket.empty() || cfg.socket.size() > 100) {
    root.Invalid("socket", "a unix socket path of at most 100 characters");
  }
  if (auto s = root.Table("controller")) {
    ControllerConfig c;
    s->Get("urls", c.urls);
    s->Get("enroll_token_file", c.enroll_token_file);
    s->Get("checkin_interval", c.checkin_interval, 1s, 24h);
    s->Get("ca_file", c.ca_file);
    s->Get("allow_insecure_http", c.allow_insecure_http);
    s->Get("proxy", c.proxy);
    if (c.urls.empty()) s->Invalid("urls", "at least one controller URL");
    for (const auto& url : c.urls) {
      if (!url.starts_with("https://") && !url.starts_with("http://")) {
        s->Invalid("urls", "each URL starts with https:// (or http:// for loopback)");
        break;
      }
    }
    cfg.controller = std::move(c);
  }
  if (auto s = root.Table("trust")) s->Get("root", cfg.root);
  if (auto s = root.Table("self_update")) {
    SelfUpdateConfig u;
    s->Get("channel", u.channel);
    s->Get("grace", u.grace, 0s, 24h);
    if (!trust::IsValidName(u.channel)) s->Invalid("channel", "[a-z0-9][a-z0-9_-]{0,63}");
    cfg.self_update = u;
  }
  std::set<std::string> names;
  for (auto& s : root.TableArray("component")) {
    ComponentConfig c;
    ReadComponent(s, c);
    if (c.name == "steward-updater") {
      s.Invalid("name", "'steward-updater' is the updater itself: use [self_update]");
    }
    if (!c.name.empty() && !names.insert(c.name).second) {
      s.Invalid("name", "component names must be unique");
    }
    cfg.components.push_back(std::move(c));
  }
  if (auto r = doc->Finish(); !r) return std::unexpected(r.error());
  return cfg;
}

}  // namespace

std::string_view DesiredStateName(DesiredState state) {
  return kDesiredNames[static_cast<std::size_t>(state)];
}

std::optional<DesiredState> DesiredStateFromName(std::string_view name) {
  for (std::size_t i = 0; i < std::size(kDesiredNames); ++i) {
    if (kDesiredNames[i] == name) return static_cast<DesiredState>(i);
  }
  return std::nullopt;
}

std::string_view ReadinessName(Readiness readiness) {
  return kReadinessNames[static_cast<std::size_t>(readiness)];
}

std::string ComponentConfig::ReadinessText() const {
  if (readiness == Readiness::http) return std::string(kHttpReadiness) + readiness_url;
  return std::string(ReadinessName(readiness));
}

Result<Config> ParseConfig(std::string_view text, const std::string& name) {
  return FromDocument(config::Document::Parse(text, name), name);
}

Result<Config> LoadConfig(const std::string& path) {
  return FromDocument(config::Document::Load(path), path);
}

}  // namespace steward::updater
