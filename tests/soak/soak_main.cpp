// soak_fleet: the fleet soak (docs/soak.md). Two controllers sharing a store and twelve hosts
// on loopback; while a schedule of rollouts runs (good releases, one that crashes at start,
// one that fails its health gate after a while, a self-update of the updater), the chaos
// injects faults at random from a printed seed and the invariants are checked every few
// seconds. Then the faults stop, the fleet must converge, and the final checks run. Exits
// non-zero on any violation. Not a ctest test: `make soak` runs it.
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <sstream>

#include "tests/soak/chaos.hpp"
#include "tests/soak/invariants.hpp"
#include "tests/soak/soak_fleet.hpp"

namespace steward::test::soak {
namespace {

struct Options {
  std::uint64_t seed = 0;
  double minutes = 10;
  std::vector<Fault> faults;
};
Options g_options;
std::atomic<bool> g_interrupted{false};

// One operator step. `agent_failure`: the test-only keys that make a bad release fail on
// every host (they name only that version, so the others run as usual).
struct Step {
  std::string component;
  std::string version;
  int percent;
  bool bad = false;
  std::string agent_failure;
};

const std::vector<Step> kSchedule = {
    {"agent", "1.1.0", 50, false, ""},
    {"agent", "1.1.0", 100, false, ""},
    {"steward-updater", "1.1.0", 100, false, ""},
    {"agent", "1.2.0", 100, true, "test_fail = \"crash\"\ntest_fail_versions = [\"1.2.0\"]\n"},
    {"agent", "1.3.0", 100, false, ""},
    {"agent", "1.4.0", 100, true,
     "test_fail = \"crash\"\ntest_fail_after = \"2s\"\ntest_fail_versions = [\"1.4.0\"]\n"},
    {"agent", "1.5.0", 50, false, ""},
    {"agent", "1.5.0", 100, false, ""},
};

// A bad release must halt within this (3 reports, each a start or a gate that fails).
constexpr auto kHaltDeadline = std::chrono::seconds(180);

bool RunStep(SoakFleet& fleet, const Step& step, int index, Targets& targets) {
  if (!fleet.published[step.component].contains(step.version) &&
      !fleet.Publish(step.component, step.version)) {
    return false;
  }
  if (!step.agent_failure.empty()) fleet.SetAgentFailure(step.agent_failure);
  if (!fleet.SetRollout(step.component, step.version, step.percent)) return false;
  // The flag is the operator's record of the step: checked at the end like the releases.
  // One try: a step whose flag did not take leaves the record at the previous value.
  (void)fleet.SetFlag("soak.step", index + 1);
  if (step.bad) {
    targets.bad_releases.insert(step.version);
  } else if (step.component == "agent") {
    targets.agent = step.version;
  } else {
    targets.updater = step.version;
  }
  return true;
}

// Whether a controller shows the agent rollout of `version` halted; the others are then
// restarted so they stop offering it too.
bool SeenHalted(SoakFleet& fleet, const std::string& version, Targets& targets) {
  for (auto& c : fleet.controllers) {
    if (!c.Serving()) continue;
    auto r = AdminAt(c.direct, "GET", "rollouts");
    if (!r) continue;
    for (const auto& x : r->body["rollouts"]) {
      if (x["component"] == "agent" && x["version"] == version) {
        targets.last_seen[version] = c.name + ": " + x.dump();
      }
      if (x["component"] == "agent" && x["version"] == version && x["paused"] == true &&
          x["halt_reason"].is_string() && !x["halt_reason"].get<std::string>().empty()) {
        Say("rollout of bad release " + version + " halted on controller " + c.name + ": " +
            x.dump());
        fleet.ReloadOthers(c);
        return true;
      }
    }
  }
  return false;
}

// Every host's agent in one line (running version, last update's target and result), with the
// agent rollout as controller a shows it: the soak's progress in its log.
void Progress(SoakFleet& fleet) {
  std::map<std::string, int> seen;
  for (auto& host : fleet.hosts) {
    if (host->updater_down) {
      ++seen["(updater down)"];
      continue;
    }
    const json s = host->h->Status();
    std::string line = "(no answer)";
    for (const auto& c : s.is_object() ? s["components"] : json::array()) {
      if (c["name"] != "agent") continue;
      const json& u = c["update"];
      line = c["running_version"].dump() + " " + c["state"].get<std::string>() + ", last " +
             (u.is_object() ? u["to"].dump() + ":" +
                                  (u["result"].is_null() ? u["state"].dump() : u["result"].dump())
                            : "none");
    }
    ++seen[line];
  }
  std::string out = "hosts:";
  for (const auto& [line, n] : seen) out += "\n    " + std::to_string(n) + " × " + line;
  if (fleet.A().Serving()) {
    if (auto r = AdminAt(fleet.A().direct, "GET", "rollouts")) out += "\n    a: " + r->raw;
  }
  Say(out);
}

void Summary(const Chaos& chaos, const Invariants& inv, const std::map<std::string, int>& notes,
             const Targets& targets) {
  std::ostringstream out;
  out << "\n==== soak summary ====\nseed " << g_options.seed << ", " << g_options.minutes
      << " minutes of faults\nfaults injected:";
  int total = 0;
  for (const auto& [kind, n] : chaos.injected) {
    out << "\n  " << kind << ": " << n;
    total += n;
  }
  out << "\n  total: " << total;
  for (const auto& [what, n] : notes) out << "\n  (seen) " << what << ": " << n;
  out << "\nfinal targets: agent " << targets.agent << ", updater "
      << (targets.updater.empty() ? "(packaged)" : targets.updater)
      << "; bad releases halted: " << targets.halted.size() << "/" << targets.bad_releases.size();
  out << "\ninvariant checks: " << inv.checks << " (" << inv.skipped
      << " host looks skipped mid-change)\nviolations: " << inv.violations;
  out << "\nresult: " << (inv.violations == 0 ? "PASS" : "FAIL");
  if (inv.violations != 0 || g_interrupted) {
    out << "\nreplay: make soak SOAK_SEED=" << g_options.seed
        << " SOAK_MINUTES=" << g_options.minutes;
  }
  std::printf("%s\n", out.str().c_str());
  std::fflush(stdout);
}

TEST(Soak, Fleet) {
  std::mt19937_64 rng(g_options.seed);
  SoakFleet fleet(12);
  ASSERT_TRUE(fleet.Start());
  Invariants inv(fleet);
  Chaos chaos(fleet, inv, rng, g_options.faults);
  std::map<std::string, int> notes;
  Targets targets;
  targets.agent = "1.0.0";

  const auto start = Clock::now();
  const auto chaos_end = start + std::chrono::duration_cast<Clock::duration>(
                                     std::chrono::duration<double>(g_options.minutes * 60));
  const auto dwell =
      std::max<Clock::duration>((chaos_end - start) / kSchedule.size(), std::chrono::seconds(30));
  std::size_t next = 0;
  const Step* last = nullptr;
  auto step_at = start + std::chrono::seconds(5);
  auto fault_at = start + std::chrono::seconds(2);
  auto check_at = start;
  auto progress_at = start;
  std::optional<Clock::time_point> halt_wait;  // since when the last bad step waits to halt
  auto watch = [&] {
    for (const auto& crash : fleet.Watch(notes)) inv.Violation(crash);
  };

  while (Clock::now() < chaos_end && !g_interrupted) {
    const auto now = Clock::now();
    if (halt_wait) {
      if (SeenHalted(fleet, last->version, targets)) {
        targets.halted.insert(last->version);
        halt_wait.reset();
      } else if (now - *halt_wait > kHaltDeadline) {
        halt_wait.reset();  // a violation at the end: the release never halted
      }
    }
    if (!halt_wait && next < kSchedule.size() && now >= step_at &&
        RunStep(fleet, kSchedule[next], static_cast<int>(next), targets)) {
      last = &kSchedule[next];
      if (last->bad) halt_wait = Clock::now();
      ++next;
      step_at = Clock::now() + dwell;
    }
    if (now >= fault_at && !g_options.faults.empty()) {
      chaos.InjectOne();
      fault_at = Clock::now() +
                 std::chrono::milliseconds(std::uniform_int_distribution<int>(1500, 4000)(rng));
    }
    chaos.Repair(false);
    watch();
    if (now >= check_at) {
      inv.CheckRunning();
      check_at = Clock::now() + std::chrono::seconds(5);
    }
    if (now >= progress_at) {
      Progress(fleet);
      progress_at = Clock::now() + std::chrono::seconds(30);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }

  if (!g_interrupted) {
    Say("faults stop; repairing everything, then the fleet must converge");
    const auto repair_until = Clock::now() + std::chrono::seconds(90);
    while (chaos.Pending() && Clock::now() < repair_until) {
      chaos.Repair(true);
      watch();
      std::this_thread::sleep_for(std::chrono::seconds(1));
    }
    // A bad release still waiting for its halt, and a good one left part-way, are finished
    // without faults.
    if (halt_wait) {
      Eventually([&] { return SeenHalted(fleet, last->version, targets); },
                 std::chrono::seconds(90))
          ? (void)targets.halted.insert(last->version)
          : (void)0;
    }
    if (last != nullptr && !last->bad && last->percent < 100) {
      Eventually([&] { return fleet.SetRollout(last->component, last->version, 100); },
                 std::chrono::seconds(30));
    }
    watch();
    inv.WaitConverged(targets, std::chrono::seconds(300));
    inv.CheckFinal(targets);
  }
  Summary(chaos, inv, notes, targets);
  EXPECT_FALSE(g_interrupted) << "interrupted";
  EXPECT_EQ(inv.violations, 0) << "replay: make soak SOAK_SEED=" << g_options.seed;
}

void OnSignal(int) { g_interrupted = true; }

int Usage() {
  std::fprintf(stderr,
               "usage: soak_fleet [--seed N] [--minutes M] [--faults KIND,...]\n"
               "kinds: kill_updater kill_agent kill_controller stall_controller full_disk "
               "slow_controller operator_stop (default: all)\n");
  return 64;
}

}  // namespace
}  // namespace steward::test::soak

int main(int argc, char** argv) {
  using namespace steward::test::soak;
  g_options.seed = std::random_device{}();
  const char* names[] = {"kill_updater", "kill_agent",      "kill_controller", "stall_controller",
                         "full_disk",    "slow_controller", "operator_stop"};
  for (int k = 0; k < kFaultKinds; ++k) g_options.faults.push_back(static_cast<Fault>(k));
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (i + 1 >= argc) return Usage();
    const std::string value = argv[++i];
    if (arg == "--seed") {
      g_options.seed = std::strtoull(value.c_str(), nullptr, 10);
    } else if (arg == "--minutes") {
      g_options.minutes = std::strtod(value.c_str(), nullptr);
    } else if (arg == "--faults") {
      g_options.faults.clear();
      std::stringstream list(value);
      for (std::string name; std::getline(list, name, ',');) {
        int k = 0;
        while (k < kFaultKinds && name != names[k]) ++k;
        if (k == kFaultKinds) return Usage();
        g_options.faults.push_back(static_cast<Fault>(k));
      }
    } else {
      return Usage();
    }
  }
  std::printf("soak seed %llu (replay: make soak SOAK_SEED=%llu)\n",
              static_cast<unsigned long long>(g_options.seed),
              static_cast<unsigned long long>(g_options.seed));
  std::fflush(stdout);
  struct sigaction sa {};
  sa.sa_handler = OnSignal;
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);
  int gtest_argc = 1;
  ::testing::InitGoogleTest(&gtest_argc, argv);
  const int rc = RUN_ALL_TESTS();
  return g_interrupted ? 130 : rc;
}
