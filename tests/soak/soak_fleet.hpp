// The fleet the soak runs: two steward-controllers sharing one SQLite store (the nodes reach
// the second through a SlowProxy, so it can answer slowly), twelve hosts each a real
// steward-updater supervising a real steward-agent, and the operator's hand on them: publish,
// roll out, set flags, restart what died. The record of what the operator changed is kept
// here so the end of the soak can check that nothing was lost. Chaos (chaos.hpp) breaks this
// fleet; invariants.hpp checks it; soak_main.cpp runs the schedule.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "tests/e2e/fleet.hpp"
#include "tests/soak/slow_proxy.hpp"
#include "tests/soak/small_disk.hpp"

namespace steward::test::soak {

using Clock = std::chrono::steady_clock;
using e2e::Host;

// A line on stdout, prefixed with the seconds since the soak began.
void Say(const std::string& line);

// One controller of the pair, on a fixed port so it comes back on the same address.
struct SoakController {
  std::string name;  // "a", "b"
  std::unique_ptr<Controller> c;
  std::uint16_t port = 0;
  std::string direct;    // http://127.0.0.1:<port>: the operator's way in, never slowed
  bool down = false;     // killed, not started again yet
  bool stalled = false;  // SIGSTOPped
  bool Serving() const { return !down && !stalled && c && c->proc; }
};

struct SoakHost {
  int index = 0;
  std::unique_ptr<Host> h;
  std::optional<SmallDisk> disk;  // the host whose state directory can fill up
  std::string node_id;            // as enrolled at the start
  bool started = false;
  bool updater_down = false;      // killed, not started again yet
  bool agent_stopped = false;     // stopped by the operator
  Clock::time_point quiet_until;  // no new fault on this host before

  SoakHost() = default;
  SoakHost(const SoakHost&) = delete;
  SoakHost& operator=(const SoakHost&) = delete;
  ~SoakHost() { Shutdown(); }
  // Stops the updater and every process left running from the host's directory, then
  // unmounts its small disk. Safe to call twice.
  void Shutdown();
  std::filesystem::path State() const { return h->dir / "state"; }
  std::string Name() const { return "host" + std::to_string(index); }
};

// An admin request with no test assertion inside: nullopt when the controller does not answer.
std::optional<Reply> AdminAt(const std::string& base, const std::string& method,
                             const std::string& path, const json& body = nullptr);

class SoakFleet {
 public:
  explicit SoakFleet(int host_count) : host_count_(host_count) {}
  SoakFleet(const SoakFleet&) = delete;
  SoakFleet& operator=(const SoakFleet&) = delete;
  ~SoakFleet();

  // Controllers, the proxy, agent 1.0.0 at 100 %, the hosts enrolled and running it; their
  // node ids are recorded. False (with the reason said) when the fleet did not come up.
  bool Start();

  SoakController& A() { return controllers[0]; }
  SoakController& B() { return controllers[1]; }

  // The operator, through controller a; the others are restarted so they read the change from
  // the store (docs/controller.md: a controller sees another's changes only at its start).
  // False when a is not serving now: try again later.
  bool Publish(const std::string& component, const std::string& version);
  bool SetRollout(const std::string& component, const std::string& version, int percent);
  bool SetFlag(const std::string& name, const json& value);
  // Restarts every serving controller but `via`, cleanly.
  void ReloadOthers(const SoakController& via);

  // Test-only failure keys for every host's agent.toml (read at each agent start).
  void SetAgentFailure(const std::string& keys);

  void Kill9(SoakController& c);
  void StartAgain(SoakController& c);
  void StartAgain(SoakHost& host);
  // What exited without being told to is noted in `notes` and started again (the service
  // manager's job). Returns the lines that describe a crash (killed by a signal).
  std::vector<std::string> Watch(std::map<std::string, int>& notes);

  std::vector<SoakController> controllers;
  std::vector<std::unique_ptr<SoakHost>> hosts;
  std::unique_ptr<SlowProxy> proxy;

  // What the operator changed: nothing of it may be lost.
  std::map<std::string, std::map<std::string, int>> published;  // component → version → seq
  std::map<std::string, std::string> rollouts;                  // component → version
  json flags = json::object();

 private:
  void StartHost(SoakHost& host);
  int host_count_;
  std::string agent_failure_;
  std::map<std::string, json> unpublished_;  // component/version → the publish request body
};

}  // namespace steward::test::soak
