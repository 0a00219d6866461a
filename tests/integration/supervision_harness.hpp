// Shared by the supervision_*_test.cpp files: runs a real steward-updater on a config in a
// temp dir, talks to its local API over the unix socket, and stops it when the test ends.
#pragma once

#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "common/http_client.hpp"
#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

namespace steward::test {

using nlohmann::json;

inline std::string Fixture() { return Bin("steward_fixture_child"); }

// A TOML array of strings.
inline std::string Args(const std::vector<std::string>& args) {
  std::string s = "[";
  for (const auto& a : args) s += (s.size() > 1 ? ", " : "") + json(a).dump();
  return s + "]";
}

// One [[component]] running the fixture child.
inline std::string Component(const std::string& name, const std::vector<std::string>& args,
                             const std::string& extra = "") {
  return "[[component]]\nname = \"" + name + "\"\nexec = \"" + Fixture() +
         "\"\nargs = " + Args(args) + "\n" + extra + "\n";
}

class UpdaterProcess {
 public:
  explicit UpdaterProcess(const TempDir& dir) : dir_(dir) {}
  ~UpdaterProcess() {
    if (proc_ && proc_->running()) {
      proc_->Signal(SIGTERM);
      proc_->Wait(std::chrono::seconds(15));
    }
  }

  std::string socket() const { return (dir_ / "run" / "updater.sock").string(); }
  std::string config_path() const { return (dir_ / "updater.toml").string(); }

  // Writes the config and starts `steward-updater run`; returns once the API says "running".
  void Start(const std::string& components, const Child::Options& options = {}) {
    WriteConfig(components);
    Launch(options);
    ASSERT_TRUE(Eventually(
        [&] {
          auto s = Status();
          return s.is_object() && s["updater"]["state"] == "running";
        },
        std::chrono::seconds(20)))
        << proc_->Stderr();
  }

  // Writes updater.toml: the test's state directory and socket, then `components`.
  void WriteConfig(const std::string& components) const {
    dir_.Write("updater.toml", "state_dir = \"" + (dir_ / "state").string() + "\"\nsocket = \"" +
                                   socket() + "\"\nlog_level = \"debug\"\n" + components);
  }

  // Starts `steward-updater run` on the config written by Start, without waiting.
  void Launch(const Child::Options& options = {}) {
    proc_.emplace(
        Child::Spawn({Bin("steward-updater"), "run", "--config", config_path()}, options));
  }

  // The local API's status document, or null when it does not answer.
  json Status() const {
    http::ClientOptions options;
    options.unix_socket = socket();
    options.timeout = std::chrono::seconds(10);
    http::Client client(options);
    auto r = client.Get("http://localhost/v1/status");
    if (!r || r->status != 200) return nullptr;
    return json::parse(r->body, nullptr, false);
  }

  json Unit(const std::string& name) const {
    const json s = Status();
    if (!s.is_object()) return nullptr;
    for (const auto& c : s["components"]) {
      if (c["name"] == name) return c;
    }
    return nullptr;
  }

  // Waits until `pred` holds for the component's status entry.
  bool WaitUnit(const std::string& name, const std::function<bool(const json&)>& pred,
                std::chrono::milliseconds timeout = std::chrono::seconds(20)) const {
    return Eventually(
        [&] {
          const json u = Unit(name);
          return u.is_object() && pred(u);
        },
        timeout);
  }

  // Sends SIGTERM and waits for the exit; returns the status.
  std::optional<ExitStatus> Stop(std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
    proc_->Signal(SIGTERM);
    return proc_->Wait(timeout);
  }

  RunResult Cli(const std::vector<std::string>& args) const {
    std::vector<std::string> argv{Bin("steward-updater")};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.push_back("--socket");
    argv.push_back(socket());
    return RunProgram(argv);
  }

  Child& proc() { return *proc_; }
  const Child& proc() const { return *proc_; }
  std::string Logs() const { return proc_ ? proc_->Stdout() + proc_->Stderr() : ""; }

 private:
  const TempDir& dir_;
  std::optional<Child> proc_;
};

inline bool Alive(pid_t pid) {
  // A zombie still has a /proc entry; only a reaped process is gone.
  return std::filesystem::exists("/proc/" + std::to_string(pid));
}

inline std::string Kind(const json& unit) {
  if (!unit.contains("last_exit") || !unit["last_exit"].is_object()) return "";
  return unit["last_exit"]["kind"].get<std::string>();
}

}  // namespace steward::test
