#include "tests/soak/invariants.hpp"

#include <signal.h>

#include <fstream>
#include <iterator>

namespace steward::test::soak {

namespace {

namespace fs = std::filesystem;

constexpr const char* kComponents[] = {"agent", "steward-updater"};

// A version directory's name is <version>-<sha8>.
std::string VersionOfDir(const std::string& dir) { return dir.substr(0, dir.rfind('-')); }

std::set<std::string> VersionDirs(const fs::path& state, const std::string& component) {
  std::set<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(state / "components" / component / "versions", ec))
    out.insert(e.path().filename().string());
  return out;
}

std::string CurrentDir(const fs::path& state, const std::string& component) {
  std::error_code ec;
  return fs::read_symlink(state / "components" / component / "current", ec).filename().string();
}

// The version directory a process runs from ("" when not from one).
std::string DirOfProcess(pid_t pid) {
  std::error_code ec;
  const auto exe = fs::read_symlink("/proc/" + std::to_string(pid) + "/exe", ec);
  return ec ? "" : exe.parent_path().filename().string();
}

// Live `steward-updater run` processes for the config at `config`: the daemon, not its
// check-in helpers or a new version's self-test.
int UpdaterDaemons(const std::string& config) {
  int n = 0;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator("/proc", ec)) {
    const std::string name = e.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream in(e.path() / "cmdline");
    const std::string cmd((std::istreambuf_iterator<char>(in)), {});
    if (cmd.find(config) == std::string::npos) continue;
    const auto first = cmd.find('\0');
    if (first == std::string::npos || cmd.compare(first + 1, 4, std::string("run\0", 4)) != 0)
      continue;
    std::ifstream stat(e.path() / "stat");
    const std::string text((std::istreambuf_iterator<char>(stat)), {});
    if (text.find(") Z ") == std::string::npos) ++n;
  }
  return n;
}

struct Journal {
  bool ok = false;
  std::string error;
  std::map<std::string, std::set<std::string>> dirs;  // component → dirs a transaction names
  std::map<std::string, std::set<std::string>> bad;   // component → versions marked bad
  std::vector<std::string> open;                      // transactions not closed
  std::string node_id;
};

// Reads a copy of state.db (and its WAL), so the host's own files stay as the updater left
// them.
Journal ReadJournal(const fs::path& state) {
  Journal j;
  TempDir copy;
  std::error_code ec;
  for (const char* suffix : {"", "-wal"}) {
    const fs::path from = state / (std::string("state.db") + suffix);
    if (fs::exists(from)) fs::copy_file(from, copy / ("state.db" + std::string(suffix)), ec);
  }
  auto db = sqlite::Db::Open((copy / "state.db").string(), sqlite::OpenOptions{.create = false});
  if (!db) {
    j.error = db.error().ToString();
    return j;
  }
  auto txn = db->Prepare(
      "SELECT id, component, from_dir, prev_dir, to_dir, state, result, closed FROM txn");
  auto bad = db->Prepare("SELECT component, version FROM bad_version");
  auto id = db->Prepare("SELECT value FROM setting WHERE key = 'node_id'");
  if (!txn || !bad || !id) {
    j.error = "the journal's tables do not read";
    return j;
  }
  for (auto row = txn->Step(); row && *row; row = txn->Step()) {
    auto& dirs = j.dirs[txn->Text(1)];
    for (int col : {2, 3, 4}) dirs.insert(fs::path(txn->Text(col)).filename().string());
    if (txn->Int(7) == 0) {
      j.open.push_back("txn " + std::to_string(txn->Int(0)) + " " + txn->Text(1) + " in " +
                       txn->Text(5));
    }
  }
  for (auto row = bad->Step(); row && *row; row = bad->Step())
    j.bad[bad->Text(0)].insert(bad->Text(1));
  if (auto row = id->Step(); row && *row) j.node_id = id->Text(0);
  j.ok = true;
  return j;
}

// A component's status entry (status["components"][] by name, the updater's own block for
// "steward-updater").
json UnitOf(const json& status, const std::string& component) {
  if (!status.is_object()) return nullptr;
  if (component == "steward-updater") return status["updater"];
  for (const auto& c : status["components"])
    if (c["name"] == component) return c;
  return nullptr;
}

bool Closed(const json& unit) {
  return unit.is_object() && unit["update"].is_object() && !unit["update"]["result"].is_null();
}

}  // namespace

void Invariants::Violation(const std::string& what) {
  ++violations;
  Say("VIOLATION: " + what);
}

void Invariants::CheckRunning() {
  for (auto& hp : fleet_.hosts) {
    SoakHost& host = *hp;
    if (!host.started || host.updater_down) continue;
    const json s1 = host.h->Status();
    const auto agents = host.h->AgentProcesses();
    const int daemons = UpdaterDaemons(host.h->updater.config_path());
    const std::string current = CurrentDir(host.State(), "agent");
    const std::string running_dir = agents.size() == 1 ? DirOfProcess(agents[0]) : "";
    const json s2 = host.h->Status();
    ++checks;
    if (agents.size() > 1) {
      Violation(host.Name() + " runs " + std::to_string(agents.size()) + " agent processes");
    }
    if (daemons > 1) {
      Violation(host.Name() + " runs " + std::to_string(daemons) + " updater daemons");
    }
    // What the host shows marked bad (a rollback after a failed gate) stays bad there.
    for (const auto* component : kComponents) {
      for (const json& s : {s1, s2}) {
        const json u = UnitOf(s, component);
        if (Closed(u) && u["update"]["result"] == "rolled_back" &&
            u["update"]["error_code"] == "health_gate_failed") {
          bad_[host.index][component].insert(u["update"]["to"].get<std::string>());
        }
      }
    }
    const json u1 = UnitOf(s1, "agent");
    const json u2 = UnitOf(s2, "agent");
    const bool still = Closed(u1) && Closed(u2) && u1["update"]["id"] == u2["update"]["id"] &&
                       u1["state"] == "running" && u2["state"] == "running" &&
                       u1["pid"] == u2["pid"] && agents.size() == 1 && u1["pid"] == agents[0] &&
                       current == CurrentDir(host.State(), "agent");
    if (!still) {
      ++skipped;
      continue;
    }
    if (running_dir != current) {
      Violation(host.Name() + " runs the agent from " + running_dir + " but current is " + current);
    }
    const std::string running = u2["running_version"].is_string() ? u2["running_version"] : "";
    if (bad_[host.index]["agent"].contains(running)) {
      Violation(host.Name() + " runs agent " + running + ", which it marked bad");
    }
    const json up = UnitOf(s2, "steward-updater");
    if (up.is_object() && bad_[host.index]["steward-updater"].contains(up.value("version", ""))) {
      Violation(host.Name() + " runs updater " + up.value("version", "") + ", which it marked bad");
    }
  }
}

void Invariants::CheckJournal(SoakHost& host, bool final) {
  // Directories first: a transaction is written before its directory appears.
  std::map<std::string, std::set<std::string>> on_disk;
  for (const auto* component : kComponents)
    on_disk[component] = VersionDirs(host.State(), component);
  const auto agents = host.h->AgentProcesses();
  const Journal j = ReadJournal(host.State());
  ++checks;
  if (!j.ok) {
    Violation(host.Name() + "'s journal does not read: " + j.error);
    return;
  }
  for (const auto& [component, dirs] : on_disk) {
    for (const auto& d : dirs) {
      if (!j.dirs.contains(component) || !j.dirs.at(component).contains(d)) {
        Violation(host.Name() + " has version directory " + component + "/versions/" + d +
                  " without a journal record");
      }
    }
  }
  for (const auto& [component, versions] : j.bad)
    bad_[host.index][component].insert(versions.begin(), versions.end());
  for (const pid_t pid : agents) {
    const std::string version = VersionOfDir(DirOfProcess(pid));
    if (j.bad.contains("agent") && j.bad.at("agent").contains(version)) {
      Violation(host.Name() + " runs agent " + version + " (pid " + std::to_string(pid) +
                "), which its journal marks bad");
    }
  }
  if (j.node_id != host.node_id) {
    Violation(host.Name() + " has node id " + j.node_id + ", enrolled as " + host.node_id);
  }
  if (final) {
    for (const auto& t : j.open) Violation(host.Name() + " ends with " + t + " open");
  }
}

bool Invariants::Converged(SoakHost& host, const Targets& targets, std::string& why) {
  const json s = host.h->Status();
  const json agent = UnitOf(s, "agent");
  const json self = UnitOf(s, "steward-updater");
  if (!agent.is_object() || !self.is_object()) {
    why = "its updater does not answer";
    return false;
  }
  const auto& bad = bad_[host.index];
  const std::string running = agent["running_version"].is_string() ? agent["running_version"] : "";
  if (agent["state"] != "running" || !Closed(agent) ||
      (running != targets.agent &&
       !(bad.contains("agent") && bad.at("agent").contains(targets.agent)))) {
    why = "agent " + agent.dump();
    return false;
  }
  if (host.h->AgentProcesses().size() != 1) {
    why = std::to_string(host.h->AgentProcesses().size()) + " agent processes";
    return false;
  }
  if (!targets.updater.empty() && self.value("version", "") != targets.updater &&
      !(bad.contains("steward-updater") && bad.at("steward-updater").contains(targets.updater))) {
    why = "updater " + self.dump();
    return false;
  }
  if (self["update"].is_object() && self["update"]["result"].is_null()) {
    why = "updater self-update still open " + self.dump();
    return false;
  }
  // The controller the host checks in with knows what it runs.
  const std::string url = s["checkin"].is_object() && s["checkin"]["controller"].is_string()
                              ? s["checkin"]["controller"].get<std::string>()
                              : "";
  for (auto& c : fleet_.controllers) {
    if (c.c->url != url) continue;
    auto r = AdminAt(c.direct, "GET", "nodes/" + host.node_id);
    if (!r || r->status != 200) {
      why = "controller " + c.name + " does not show node " + host.node_id;
      return false;
    }
    for (const auto& comp : r->body["components"]) {
      if (comp["name"] == "agent" && comp["running_version"] != running) {
        why = "controller " + c.name + " shows agent " + comp.dump() + ", the host runs " + running;
        return false;
      }
    }
    return true;
  }
  why = "it last checked in with \"" + url + "\"";
  return false;
}

void Invariants::WaitConverged(const Targets& targets, std::chrono::seconds deadline) {
  const auto until = Clock::now() + deadline;
  std::map<int, std::string> why;
  while (true) {
    why.clear();
    for (auto& host : fleet_.hosts) {
      std::string reason;
      if (!Converged(*host, targets, reason)) why[host->index] = reason;
    }
    if (why.empty() || Clock::now() >= until) break;
    CheckRunning();
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
  ++checks;
  for (const auto& [index, reason] : why) {
    Violation("host" + std::to_string(index) + " did not converge on agent " + targets.agent +
              (targets.updater.empty() ? "" : ", updater " + targets.updater) + ": " + reason);
  }
  int stayed_back = 0;
  for (auto& host : fleet_.hosts) {
    const json agent = UnitOf(host->h->Status(), "agent");
    if (agent.is_object() && agent["running_version"] != targets.agent) ++stayed_back;
  }
  if (why.empty()) {
    Say("converged: every host on agent " + targets.agent +
        (targets.updater.empty() ? "" : " and updater " + targets.updater) + " (" +
        std::to_string(stayed_back) + " kept back by their own bad mark)");
  }
}

void Invariants::CheckData() {
  for (auto& c : fleet_.controllers) {
    if (!c.Serving()) continue;
    ++checks;
    auto releases = AdminAt(c.direct, "GET", "releases");
    auto rollouts = AdminAt(c.direct, "GET", "rollouts");
    auto flags = AdminAt(c.direct, "GET", "flags");
    if (!releases || !rollouts || !flags) {
      Violation("controller " + c.name + " does not answer the admin API");
      continue;
    }
    for (const auto& [component, versions] : fleet_.published) {
      for (const auto& [version, sequence] : versions) {
        bool found = false;
        for (const auto& r : releases->body["releases"])
          found |= r["component"] == component && r["version"] == version;
        if (!found)
          Violation("controller " + c.name + " lost release " + component + " " + version);
      }
    }
    for (const auto& [component, version] : fleet_.rollouts) {
      bool found = false;
      for (const auto& r : rollouts->body["rollouts"])
        found |= r["component"] == component && r["version"] == version;
      if (!found) {
        Violation("controller " + c.name + " lost rollout " + component + " " + version + ": " +
                  rollouts->raw);
      }
    }
    if (flags->body["global"] != fleet_.flags) {
      Violation("controller " + c.name + " has flags " + flags->body["global"].dump() +
                ", the operator set " + fleet_.flags.dump());
    }
  }
  // Node ids: every host still known under the id it enrolled with, and no other node.
  std::set<std::string> ids;
  for (auto& host : fleet_.hosts) ids.insert(host->node_id);
  auto nodes = AdminAt(fleet_.A().direct, "GET", "nodes");
  std::set<std::string> known;
  if (nodes) {
    for (const auto& n : nodes->body["nodes"]) known.insert(n["id"].get<std::string>());
  }
  ++checks;
  if (known != ids) {
    Violation("controller a knows nodes " + (nodes ? nodes->raw : std::string("(no answer)")) +
              ", the hosts enrolled as " + json(ids).dump());
  }
  const auto stored = e2e::StoreNodeCount(*fleet_.A().c);
  if (stored != static_cast<std::int64_t>(ids.size())) {
    Violation("the store holds " + std::to_string(stored) + " nodes for " +
              std::to_string(ids.size()) + " hosts");
  }
}

void Invariants::CheckCounts() {
  // With b stopped every node checks in with a: its per-version counts must be the hosts'.
  if (fleet_.B().Serving()) fleet_.B().c->Stop();
  fleet_.B().down = true;
  std::map<std::string, std::map<std::string, int>> hosts;
  json fleet;
  const bool agree = Eventually(
      [&] {
        hosts.clear();
        for (auto& host : fleet_.hosts) {
          const json s = host->h->Status();
          const json agent = UnitOf(s, "agent");
          const json self = UnitOf(s, "steward-updater");
          if (!agent.is_object() || !self.is_object()) return false;
          ++hosts["agent"]
                 [agent["running_version"].is_string() ? agent["running_version"] : "none"];
          ++hosts["steward-updater"][self.value("version", "none")];
        }
        auto r = AdminAt(fleet_.A().direct, "GET", "fleet");
        if (!r) return false;
        fleet = r->body;
        for (const auto* component : kComponents) {
          std::map<std::string, int> counts;
          for (const auto& [v, n] : fleet["versions"][component].items()) counts[v] = n;
          if (counts != hosts[component]) return false;
        }
        return true;
      },
      std::chrono::seconds(60));
  ++checks;
  if (!agree) {
    Violation("controller a counts " + fleet["versions"].dump() + ", the hosts run " +
              json(hosts).dump());
  } else {
    Say("controller a's counts agree with the hosts: " + fleet["versions"].dump());
  }
}

void Invariants::CheckFinal(const Targets& targets) {
  CheckData();
  ++checks;
  for (const auto& v : targets.bad_releases) {
    if (!targets.halted.contains(v)) {
      const auto seen = targets.last_seen.find(v);
      Violation("the rollout of bad release " + v + " never halted; last seen on controller " +
                (seen == targets.last_seen.end() ? std::string("(none)") : seen->second));
    }
  }
  for (auto& host : fleet_.hosts) {
    const json agent = UnitOf(host->h->Status(), "agent");
    if (agent.is_object() && agent["running_version"].is_string() &&
        targets.bad_releases.contains(agent["running_version"].get<std::string>())) {
      Violation(host->Name() + " ends on bad release " + agent["running_version"].dump());
    }
  }
  CheckCounts();
  // Every updater stopped: the journals can be read.
  for (auto& host : fleet_.hosts) {
    if (host->h->updater.proc().running()) host->h->updater.Stop(std::chrono::seconds(30));
    host->updater_down = true;
    CheckJournal(*host, true);
  }
}

}  // namespace steward::test::soak
