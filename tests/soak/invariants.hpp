// What the soak checks, from what docs/updates.md, supervision.md and controller.md promise:
// on every host at most one process per component, running from the version `current` names;
// no host runs a version marked bad; no version directory without a journal record; after the
// faults stop every journal ends in a terminal state and the fleet converges; the controllers'
// view agrees with the hosts; nothing the operator did is lost; the bad releases halted.
// A broken promise is a violation: said at once with the host and what was seen.
#pragma once

#include <map>
#include <set>
#include <string>

#include "tests/soak/soak_fleet.hpp"

namespace steward::test::soak {

// Where the fleet must end: the versions the operator rolled out last.
struct Targets {
  std::string agent;
  std::string updater;                           // empty: no self-update was rolled out
  std::set<std::string> bad_releases;            // agent versions that must never stay running
  std::set<std::string> halted;                  // the bad releases seen halted
  std::map<std::string, std::string> last_seen;  // bad release → its rollout as last seen
};

class Invariants {
 public:
  explicit Invariants(SoakFleet& fleet) : fleet_(fleet) {}

  // While faults run, on every host whose updater answers: process counts, the running
  // version against `current` and against the versions seen marked bad.
  void CheckRunning();
  // A host whose updater is not running (killed, or stopped at the end): its journal, read
  // from a copy of state.db (a running updater holds it in exclusive mode). `final`: every
  // transaction must be closed too.
  void CheckJournal(SoakHost& host, bool final);
  // Waits up to `deadline` until every host runs the targets and the controller it checks in
  // with says so; a host that did not is a violation.
  void WaitConverged(const Targets& targets, std::chrono::seconds deadline);
  // After convergence: data kept, counts agree, bad releases halted, then every updater is
  // stopped and its journal checked.
  void CheckFinal(const Targets& targets);

  void Violation(const std::string& what);
  int checks = 0;
  int skipped = 0;  // a host in the middle of a change when looked at
  int violations = 0;

 private:
  bool Converged(SoakHost& host, const Targets& targets, std::string& why);
  void CheckData();
  void CheckCounts();
  SoakFleet& fleet_;
  std::map<int, std::map<std::string, std::set<std::string>>> bad_;  // host → component → versions
};

}  // namespace steward::test::soak
