// The soak's fault injector: from a seeded RNG it picks a fault kind and a target and breaks
// the fleet — kill -9 of an updater, an agent or a controller, a controller stalled by SIGSTOP,
// a host's state directory full, a controller answering slowly, an operator stopping an agent —
// and schedules the repair (the service manager restarting what died, SIGCONT, the disk freed,
// the operator starting the agent again). One fault per host at a time, and one per
// controller pair, so the fleet keeps making progress.
#pragma once

#include <functional>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "tests/soak/invariants.hpp"
#include "tests/soak/soak_fleet.hpp"

namespace steward::test::soak {

enum class Fault {
  kill_updater,
  kill_agent,
  kill_controller,
  stall_controller,
  full_disk,
  slow_controller,
  operator_stop,
};
inline constexpr int kFaultKinds = 7;
const char* FaultName(Fault f);

class Chaos {
 public:
  // `kinds`: the fault kinds this run may inject.
  Chaos(SoakFleet& fleet, Invariants& invariants, std::mt19937_64& rng, std::vector<Fault> kinds)
      : fleet_(fleet), invariants_(invariants), rng_(rng), kinds_(std::move(kinds)) {}

  // Injects one fault of a kind chosen at random among those with a target now.
  void InjectOne();
  // Runs the repairs that are due (all of them, now, with `all`).
  void Repair(bool all);
  bool Pending() const { return !repairs_.empty(); }

  std::map<std::string, int> injected;  // by kind

 private:
  struct Repair_ {
    Clock::time_point due;
    std::string what;
    std::function<bool()> run;  // false: not possible yet, try again in a second
  };
  bool Inject(Fault kind);
  SoakHost* PickHost(bool need_agent);
  SoakController* PickController(bool only_b);
  Clock::duration Between(double lo_s, double hi_s);
  void Later(Clock::duration in, std::string what, std::function<bool()> run);
  bool ControllerFaulted() const { return controller_fault_; }

  SoakFleet& fleet_;
  Invariants& invariants_;
  std::mt19937_64& rng_;
  std::vector<Fault> kinds_;
  std::vector<Repair_> repairs_;
  bool controller_fault_ = false;
};

}  // namespace steward::test::soak
