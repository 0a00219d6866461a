#include "updater/updater_main.hpp"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <variant>

#include "common/cli_args.hpp"
#include "common/clock.hpp"
#include "common/duration.hpp"
#include "common/failpoint.hpp"
#include "common/files.hpp"
#include "common/hash.hpp"
#include "common/http_client.hpp"
#include "common/http_helper.hpp"
#include "common/log.hpp"
#include "common/minisign.hpp"
#include "common/protocol.hpp"
#include "common/sandbox.hpp"
#include "common/sqlite.hpp"
#include "common/trust.hpp"
#include "common/version.hpp"
#include "updater/config.hpp"
#include "updater/daemon.hpp"
#include "updater/launcher.hpp"

namespace steward::updater {

namespace {

using nlohmann::json;

int CheckConfig(const std::string& path) {
  auto cfg = LoadConfig(path);
  if (!cfg) {
    std::cerr << "steward-updater: " << cfg.error().message << "\n";
    return exit_code::kConfig;
  }
  std::cout << cfg->path << ": ok\n"
            << "state_dir = " << cfg->state_dir << "\nsocket = " << cfg->socket << "\n"
            << "controller = "
            << (cfg->controller ? cfg->controller->urls.front() : "(none: supervision only)")
            << "\n";
  for (const auto& c : cfg->components) {
    std::cout << "component " << c.name << ": "
              << (c.Managed() ? "binary " + c.binary : "exec " + c.exec) << ", desired "
              << DesiredStateName(c.desired) << ", readiness " << c.ReadinessText() << ", grace "
              << FormatDuration(c.grace) << "\n";
  }
  return exit_code::kOk;
}

// The running executable, without the " (deleted)" a replaced file gets.
std::filesystem::path SelfPath() {
  std::error_code ec;
  std::string self = std::filesystem::read_symlink("/proc/self/exe", ec).string();
  if (self.ends_with(" (deleted)")) self.resize(self.size() - 10);
  return self;
}

// The packaged binary is the launcher of self-update: it hands over to the newest committed
// updater version unless that one keeps failing to start (updater/launcher.hpp). Returns the
// launcher's path, which a re-exec goes through again; the launcher passes it on in
// STEWARD_LAUNCHED.
std::filesystem::path LaunchNewestUpdater(const Config& cfg, const std::vector<std::string>& args) {
  const char* launched = std::getenv(std::string(kLaunchedEnv).c_str());
  const std::filesystem::path launcher = launched != nullptr ? launched : SelfPath();
  ::unsetenv(std::string(kLaunchedEnv).c_str());  // components must not inherit it
  if (launched != nullptr) return launcher;
  const auto self = SelfPath();
  auto choice = ChooseUpdaterBinary(cfg.state_dir, self);
  if (!choice) {
    log::Get("main").warn("launcher: {}; running this binary", choice.error().ToString());
    return launcher;
  }
  if (choice->passed_over) log::Get("main").warn("launcher: {}", choice->reason);
  if (choice->binary == self) return launcher;
  log::Get("main").info("launcher: {}: {}", choice->reason, choice->binary.string());
  std::vector<char*> argv;
  std::vector<std::string> copy = args;
  copy[0] = choice->binary.string();
  for (auto& a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  ::setenv(std::string(kLaunchedEnv).c_str(), launcher.c_str(), 1);
  ::execv(argv[0], argv.data());
  ::unsetenv(std::string(kLaunchedEnv).c_str());
  log::Get("main").error("launcher: exec {} failed: {}; running this binary", argv[0],
                         std::strerror(errno));
  return launcher;
}

// Every HTTP request of this process runs in `steward-updater http-helper`: the same binary
// (/proc/self/exe), whatever replaced the file since, so helper and updater speak one protocol.
void UseHttpHelper(bool sandbox) {
  std::vector<std::string> argv = {"/proc/self/exe", "http-helper"};
  if (!sandbox) argv.push_back("--no-sandbox");
  http::UseHelperProcess(std::move(argv), "steward-updater");
}

// At start: says whether the helper will be confined.
void LogHttpHelperSandbox(bool sandbox) {
  if (!sandbox) return;
  if (const int abi = sandbox::LandlockAbi(); abi == 0) {
    log::Get("main").warn(
        "this kernel has no Landlock: the HTTP helper only drops its capabilities and blocks "
        "file-metadata calls (it could still write files root owns); Linux 5.13 or newer with "
        "landlock among its LSMs confines it");
  } else {
    log::Get("main").info("HTTP helper confined by Landlock (ABI {})", abi);
  }
}

// `steward-updater http-helper`: confined, unless told not to or the kernel cannot, before it
// reads its first request; then serves requests on fd 3.
int HttpHelper(bool sandbox) {
  if (sandbox) {
    auto r = sandbox::ConfineToReading();
    if (!r && r.error().code != ErrorCode::unsupported) {
      std::cerr << "steward-updater http-helper: cannot confine itself: " << r.error().message
                << "; set http_helper_sandbox = false in updater.toml to run it unconfined\n";
      return exit_code::kSoftware;
    }
  }
  return http::ServeHelper(3, std::chrono::seconds(2));
}

int Run(const std::string& path, const std::vector<std::string>& args) {
  auto cfg = LoadConfig(path);
  if (!cfg) {
    std::cerr << "steward-updater: " << cfg.error().message << "\n";
    return exit_code::kConfig;
  }
  log::Options options;
  options.level = log::ParseLevel(cfg->log_level).value_or(spdlog::level::info);
  options.format = log::ParseFormat(cfg->log_format).value_or(log::Format::text);
  if (auto r = log::Init(options); !r) {
    std::cerr << "steward-updater: " << r.error().message << "\n";
    return exit_code::kConfig;
  }
  const auto launcher = LaunchNewestUpdater(*cfg, args);
  if (cfg->http_helper) {
    UseHttpHelper(cfg->http_helper_sandbox);
    LogHttpHelperSandbox(cfg->http_helper_sandbox);
  }
  // Lets tests make one version of the updater fail to start, as a broken release would.
  Failpoint("updater.start." + std::string(BuildVersion()));
  const DaemonExit exit = RunDaemon(*cfg, SystemClock::Instance());
  if (!exit.reexec) return exit.code;
  // Same PID, so the components stay our children; the launcher picks the version to run.
  std::vector<std::string> copy = args;
  copy[0] = launcher.string();
  std::vector<char*> argv;
  for (auto& a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  ::execv(argv[0], argv.data());
  log::Get("main").critical("re-exec {} failed: {}", argv[0], std::strerror(errno));
  return exit_code::kSoftware;
}

// `selftest`: what a new updater binary must pass before a self-update switches to it. It
// runs the parts a broken build or a missing library would break, and says its version.
int Selftest(const std::string& config_path) {
  auto fail = [](const std::string& what) {
    std::cerr << "steward-updater: selftest failed: " << what << "\n";
    return exit_code::kSoftware;
  };
  bool sandbox = true;
  if (!config_path.empty()) {
    auto cfg = LoadConfig(config_path);
    if (!cfg) return fail(cfg.error().message);
    sandbox = cfg->http_helper_sandbox;
  }
  if (HexEncode(Sha256Of("abc")) !=
      "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad") {
    return fail("SHA-256 gives a wrong digest");
  }
  const auto key = minisign::SecretKey::Generate();
  auto sig = minisign::SignBytes(key, "selftest", "selftest");
  if (!sig || !minisign::VerifyBytes(key.public_key(), *sig, "selftest")) {
    return fail("Ed25519 signing or verification does not work");
  }
  auto db = sqlite::Db::Open(":memory:");
  if (!db) return fail(db.error().message);
  if (auto curl = http::LoadLibcurl(); !curl) return fail(curl.error().message);
  // The HTTP helper this binary would start for its check-ins answers (it parses a URL),
  // confined as the config says.
  UseHttpHelper(sandbox);
  if (auto helper = http::Client().CheckUrl("https://selftest.invalid/"); !helper) {
    return fail("the HTTP helper process does not work: " + helper.error().message);
  }
  http::UseHelperProcess({});
  std::cout << "steward-updater " << BuildVersion() << " selftest ok\n";
  return exit_code::kOk;
}

// Where the local API listens: --socket, else the config's `socket`.
Result<std::string> ApiSocket(const std::string& socket, const std::string& config_path) {
  if (!socket.empty()) return socket;
  auto cfg = LoadConfig(config_path);
  if (!cfg) return std::unexpected(cfg.error());
  return cfg->socket;
}

// Calls the local API; returns the answer (a JSON object), or prints the error and returns its
// exit code when the call fails.
std::variant<std::string, int> CallApi(const std::string& socket, const std::string& method,
                                       const std::string& path,
                                       const std::string& request_body = "") {
  http::ClientOptions options;
  options.unix_socket = socket;
  options.connect_timeout = std::chrono::seconds(5);
  options.timeout = std::chrono::seconds(30);
  http::Client client(options);
  http::RequestSpec spec;
  spec.method = method;
  spec.url = "http://localhost" + path;
  spec.body = request_body;
  if (!request_body.empty()) spec.headers.push_back("Content-Type: application/json");
  auto r = client.Perform(spec);
  if (!r) {
    std::cerr << "steward-updater: cannot reach the updater at " << socket << ": "
              << r.error().message << "; is `steward-updater run` running?\n";
    return exit_code::kUnavailable;
  }
  if (!json::parse(r->body, nullptr, false).is_object()) {
    std::cerr << "steward-updater: the updater at " << socket << " answered HTTP " << r->status
              << " with a body that is not a JSON object\n";
    return exit_code::kSoftware;
  }
  if (r->status < 200 || r->status >= 300) {
    std::string code = "internal", message = "HTTP " + std::to_string(r->status);
    if (auto e = protocol::DecodeError(r->body)) {
      if (!e->code.empty()) code = e->code;
      if (!e->message.empty()) message = e->message;
    }
    std::cerr << "steward-updater: " << message << " (" << code << ")\n";
    return ExitCodeFor(ErrorCodeFromName(code).value_or(ErrorCode::internal));
  }
  return std::move(r->body);
}

std::string OrDash(const std::string& s) { return s.empty() ? "-" : s; }

template <class Number>
std::string OrDash(const std::optional<Number>& n) {
  return n ? std::to_string(*n) : "-";
}

// "crash signal 11 (core)", or "-" when the component never ended.
std::string LastExit(const std::optional<protocol::ExitInfo>& e) {
  if (!e) return "-";
  std::string out(ExitKindName(e->kind));
  if (e->code) out += " code " + std::to_string(*e->code);
  if (e->signal) out += " signal " + std::to_string(*e->signal);
  if (e->core_dumped) out += " (core)";
  return out;
}

int Status(const std::string& socket, bool as_json) {
  auto r = CallApi(socket, "GET", "/v1/status");
  if (std::holds_alternative<int>(r)) return std::get<int>(r);
  const std::string& body = std::get<std::string>(r);
  if (as_json) {
    std::cout << json::parse(body).dump(2) << "\n";
    return exit_code::kOk;
  }
  auto doc = protocol::DecodeStatus(body);
  if (!doc) {
    std::cerr << "steward-updater: the status from the updater at " << socket << " "
              << doc.error().message << "\n";
    return exit_code::kSoftware;
  }
  std::cout << "updater " << OrDash(doc->updater.version) << ": " << OrDash(doc->updater.state)
            << "\n";
  std::printf("%-16s %-14s %-8s %-8s %-10s %-9s %-32s %s\n", "COMPONENT", "STATE", "PID", "DESIRED",
              "VERSION", "RESTARTS", "LAST EXIT", "STATUS");
  for (const auto& c : doc->components) {
    std::string state = OrDash(c.state);
    if (c.crash_loop) state += "!loop";
    std::string status = c.status;
    if (status.empty() || status == "-") status = OrDash(c.last_error);
    std::printf("%-16s %-14s %-8s %-8s %-10s %-9s %-32s %s\n", c.name.c_str(), state.c_str(),
                OrDash(c.pid).c_str(), OrDash(c.desired_state).c_str(),
                OrDash(c.running_version).c_str(), std::to_string(c.restarts).c_str(),
                LastExit(c.last_exit).c_str(), status.c_str());
  }
  return exit_code::kOk;
}

int Command(const std::string& socket, const std::string& command, const std::string& name) {
  auto r = CallApi(socket, "POST", "/v1/components/" + name + "/" + command);
  if (std::holds_alternative<int>(r)) return std::get<int>(r);
  std::cout << command << " " << name << ": accepted\n";
  return exit_code::kOk;
}

// Offers a signed release to the running updater, as the controller would: it is verified
// there in full before anything is downloaded.
int Apply(const std::string& socket, const std::string& name, const std::string& manifest,
          std::vector<std::string> signatures) {
  auto fail = [](const Error& e) {
    std::cerr << "steward-updater: " << e.message << "\n";
    return ExitCodeFor(e.code);
  };
  auto bytes = files::ReadFile(manifest, trust::kMaxManifestBytes);
  if (!bytes) return fail(bytes.error());
  if (signatures.empty()) {
    for (const auto& f : trust::SignatureFilesBeside(manifest)) signatures.push_back(f.string());
  }
  if (signatures.empty()) {
    return fail(Error{ErrorCode::usage, "no signatures: pass --signature FILE or put " + manifest +
                                            ".minisig next to the manifest"});
  }
  protocol::SignedRelease body{*bytes, {}};
  for (const auto& f : signatures) {
    auto sig = files::ReadFile(f, minisign::kMaxSignatureFile);
    if (!sig) return fail(sig.error());
    body.signatures.push_back(std::move(*sig));
  }
  auto r = CallApi(socket, "POST", "/v1/components/" + name + "/apply", protocol::Encode(body));
  if (std::holds_alternative<int>(r)) return std::get<int>(r);
  const json answer = json::parse(std::get<std::string>(r));
  const auto outcome = answer.find("outcome");
  std::cout << name << ": "
            << (outcome != answer.end() && outcome->is_string() ? outcome->get<std::string>() : "")
            << "\n";
  return exit_code::kOk;
}

}  // namespace

// The command table: one block per subcommand (its flags, then its call), which reads best as
// one list.
int Main(const std::vector<std::string>& args) {
  CLI::App app{"steward-updater: runs, supervises and updates this host's node software"};
  app.name("steward-updater");
  AddVersionFlag(app);
  app.require_subcommand(1);
  std::string config_path = "/etc/steward/updater.toml";
  std::string socket;
  auto* check_config = app.add_subcommand("check-config", "Validate the config file and print it");
  // Internal: started by the running updater for its HTTP requests, talks on fd 3.
  auto* http_helper = app.add_subcommand("http-helper", "")->group("");
  bool no_sandbox = false;
  http_helper->add_flag("--no-sandbox", no_sandbox);
  check_config->add_option("-c,--config", config_path, "Config file")->capture_default_str();
  auto* run = app.add_subcommand("run", "Run the daemon: supervise the configured components");
  std::string selftest_config;
  auto* selftest = app.add_subcommand("selftest", "Check that this binary works (self-update)");
  selftest->add_option("-c,--config", selftest_config, "Also check this config file");
  run->add_option("-c,--config", config_path, "Config file")->capture_default_str();
  bool as_json = false;
  auto* status = app.add_subcommand("status", "Show each component's state");
  status->add_flag("--json", as_json, "Print the local API's JSON");
  std::string component;
  std::vector<CLI::App*> commands;
  for (const char* name : {"start", "stop", "restart"}) {
    auto* sub = app.add_subcommand(name, std::string(name) + " a component");
    sub->add_option("component", component, "Component name")->required();
    commands.push_back(sub);
  }
  std::string manifest;
  std::vector<std::string> signatures;
  auto* apply = app.add_subcommand(
      "apply", "Offer a signed release to a component now (verified in full, then installed)");
  apply->add_option("component", component, "Component name")->required();
  apply->add_option("--manifest", manifest, "The release manifest")->required();
  apply->add_option("--signature", signatures,
                    "Signature file (repeatable; default: <manifest>.*minisig)");
  auto* check = app.add_subcommand("check", "Check in with the controller now");
  std::string bad_version;
  auto* clear_bad =
      app.add_subcommand("clear-bad", "Let a version rolled back on this host be offered again");
  clear_bad->add_option("component", component, "Component name")->required();
  clear_bad->add_option("version", bad_version, "The version marked bad")->required();
  auto* reexec = app.add_subcommand(
      "reexec", "Re-execute the running updater through its launcher; components keep running");
  auto* reload = app.add_subcommand(
      "reload", "Re-read the running updater's config file and apply what changed (as SIGHUP)");
  for (auto* sub :
       {status, commands[0], commands[1], commands[2], apply, check, clear_bad, reexec, reload}) {
    sub->add_option("-c,--config", config_path, "Config file naming the API socket")
        ->capture_default_str();
    sub->add_option("--socket", socket, "The local API socket (instead of the config's)");
  }
  if (auto code = ParseArgs(app, args)) return *code;
  if (check_config->parsed()) return CheckConfig(config_path);
  if (http_helper->parsed()) return HttpHelper(!no_sandbox);
  if (run->parsed()) return Run(config_path, args);
  if (selftest->parsed()) return Selftest(selftest_config);
  auto sock = ApiSocket(socket, config_path);
  if (!sock) {
    std::cerr << "steward-updater: " << sock.error().message << "\n";
    return ExitCodeFor(sock.error().code);
  }
  if (status->parsed()) return Status(*sock, as_json);
  if (apply->parsed()) return Apply(*sock, component, manifest, signatures);
  if (clear_bad->parsed()) {
    auto r = CallApi(*sock, "DELETE", "/v1/components/" + component + "/bad/" + bad_version);
    if (std::holds_alternative<int>(r)) return std::get<int>(r);
    std::cout << component << " " << bad_version << ": no longer marked bad\n";
    return exit_code::kOk;
  }
  if (check->parsed()) {
    auto r = CallApi(*sock, "POST", "/v1/check");
    if (std::holds_alternative<int>(r)) return std::get<int>(r);
    std::cout << "check-in started; `steward-updater status` shows how it went\n";
    return exit_code::kOk;
  }
  if (reload->parsed()) {
    auto r = CallApi(*sock, "POST", "/v1/reload");
    if (std::holds_alternative<int>(r)) return std::get<int>(r);
    std::cout << json::parse(std::get<std::string>(r)).value("summary", "reloaded") << "\n";
    return exit_code::kOk;
  }
  if (reexec->parsed()) {
    auto r = CallApi(*sock, "POST", "/v1/reexec");
    if (std::holds_alternative<int>(r)) return std::get<int>(r);
    std::cout << "re-exec: accepted\n";
    return exit_code::kOk;
  }
  for (auto* sub : commands) {
    if (sub->parsed()) return Command(*sock, sub->get_name(), component);
  }
  return exit_code::kUsage;
}

}  // namespace steward::updater
