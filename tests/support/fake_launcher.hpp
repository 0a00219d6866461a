// A Launcher that starts nothing: it records what it was asked to spawn and signal (unit tests
// of the supervisor and of the update executor).
#pragma once

#include <functional>
#include <set>
#include <vector>

#include "updater/process.hpp"

namespace steward::test {

class FakeLauncher final : public updater::Launcher {
 public:
  Result<pid_t> Spawn(const updater::SpawnSpec& spec) override {
    if (on_spawn) on_spawn();
    specs.push_back(spec);
    if (fail_next) {
      fail_next = false;
      return Fail(ErrorCode::spawn_failed, "cannot start " + spec.path + ": No such file");
    }
    return next_pid++;
  }
  void Signal(pid_t pid, updater::ProcessSignal sig, bool tree) override {
    signals.push_back({pid, sig, tree});
  }

  struct Sent {
    pid_t pid;
    updater::ProcessSignal sig;
    bool tree;
  };
  // The signals sent other than the kill of the process tree that cleans up after every exit.
  std::vector<Sent> Deliberate() const {
    std::vector<Sent> out;
    for (std::size_t i = 0; i < signals.size(); ++i) {
      if (cleanup_kills.count(i) == 0) out.push_back(signals[i]);
    }
    return out;
  }
  std::vector<updater::SpawnSpec> specs;
  std::vector<Sent> signals;
  std::set<std::size_t> cleanup_kills;
  pid_t next_pid = 1000;
  bool fail_next = false;
  std::function<void()> on_spawn;  // runs first in each Spawn
};

}  // namespace steward::test
