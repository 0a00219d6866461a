// The end-to-end scenarios' building blocks: a real steward-controller (or two, or a scripted
// stand-in), several hosts — each a real steward-updater with its own state directory running a
// real steward-agent release from bin/releases/<version>/ — and helpers that publish the
// releases, steer rollouts and wait on the hosts' local status and the controller's admin API.
// Everything runs on loopback in temp dirs and is stopped when the test ends.
#pragma once

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "common/files.hpp"
#include "common/hash.hpp"
#include "common/sqlite.hpp"
#include "tests/integration/controller_support.hpp"
#include "tests/integration/supervision_harness.hpp"
#include "updater/checkin.hpp"
#include "updater/layout.hpp"

namespace steward::test::e2e {

namespace fs = std::filesystem;

// Short timers for every controller of the suite: nodes check in every second (±20 %), and a
// single rolled-back node halts a rollout.
inline constexpr const char* kControllerTimers =
    "checkin_interval = \"1s\"\n[rollout]\nhalt_min_attempts = 1\n";

// A loopback port nobody listens on right now, for a controller that must come back on the
// same address (its nodes know only that URL).
inline std::uint16_t FreePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), len), 0);
  EXPECT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  ::close(fd);
  return ntohs(addr.sin_port);
}

// The program a component's release ships: "agent" → steward-agent.
inline std::string Program(const std::string& component) {
  return component == "agent" ? "steward-agent" : component;
}

// SHA-256 of a release binary from bin/releases/, computed once per file for the whole run.
inline std::string ReleaseSha(const std::string& path) {
  static std::mutex mu;
  static std::map<std::string, std::string> cache;
  std::lock_guard lock(mu);
  auto it = cache.find(path);
  if (it != cache.end()) return it->second;
  auto sha = Sha256File(path);
  EXPECT_TRUE(sha) << sha.error().ToString();
  return cache[path] = sha ? HexEncode(*sha) : "";
}

// A controller on `port` (0: any) with the suite's timers.
inline std::unique_ptr<Controller> MakeController(std::uint16_t port = 0) {
  auto c = std::make_unique<Controller>(kControllerTimers);
  if (port != 0) {
    auto text = files::ReadFile(c->config(), 1 << 20);
    EXPECT_TRUE(text);
    std::string cfg = *text;
    cfg.replace(cfg.find("127.0.0.1:0"), 11, "127.0.0.1:" + std::to_string(port));
    c->dir.Write("controller.toml", cfg);
  }
  return c;
}

// A release binary as an artifact of `c`: hard-linked into its blob dir; {url, size, sha256}.
inline json ReleaseBlob(Controller& c, const std::string& component, const std::string& version) {
  const std::string path = Bin("releases/" + version + "/" + Program(component));
  const std::string sha = ReleaseSha(path);
  const fs::path blob = c.dir / "blobs" / sha;
  std::error_code ec;
  if (!fs::exists(blob)) {
    fs::create_hard_link(path, blob, ec);
    if (ec) fs::copy_file(path, blob, ec);
  }
  EXPECT_FALSE(ec) << ec.message();
  return json{
      {"url", c.url + "/v1/artifacts/" + sha}, {"size", fs::file_size(path)}, {"sha256", sha}};
}

// Signs release `version` of `component` with the release key and publishes it on `c`; the
// artifact is listed at `c` and at each of `mirrors` (other controllers sharing its blob dir).
inline void Publish(Controller& c, const std::string& component, const std::string& version,
                    int sequence, const std::vector<std::string>& mirrors = {}) {
  const auto blob = ReleaseBlob(c, component, version);
  auto m = json::parse(Controller::Manifest(component, "stable", version, sequence, blob));
  if (!mirrors.empty()) {
    auto& list = m["artifacts"]["linux-x86_64"]["mirrors"] = json::array();
    for (const auto& base : mirrors)
      list.push_back(base + "/v1/artifacts/" + blob["sha256"].get<std::string>());
  }
  const auto bytes = m.dump(2);
  auto r = c.Publish(bytes, {Controller::Sign(c.release_key, bytes)});
  ASSERT_EQ(r.status, 201) << r.raw;
}

inline void SetRollout(Controller& c, const std::string& version, int percent,
                       const std::string& component = "agent") {
  auto r = c.Admin("PUT", "rollouts/" + component + "/stable",
                   json{{"version", version}, {"percent", percent}, {"paused", false}});
  ASSERT_EQ(r.status, 200) << r.raw;
}

// The controller's rollout of component/stable as in GET rollouts, null when absent.
inline json Rollout(Controller& c, const std::string& component = "agent") {
  auto r = c.Admin("GET", "rollouts");
  for (const auto& x : r.body["rollouts"]) {
    if (x["component"] == component && x["channel"] == "stable") return x;
  }
  return nullptr;
}

// The rollout's seed, read from the controller's store (the API does not show it).
inline std::string RolloutSeed(Controller& c, const std::string& component = "agent") {
  sqlite::OpenOptions o;
  o.create = false;
  o.read_only = true;
  auto db = sqlite::Db::Open((c.dir / "controller.db").string(), o);
  EXPECT_TRUE(db) << db.error().ToString();
  if (!db) return "";
  auto s = db->Prepare("SELECT seed FROM rollouts WHERE component = ?1 AND channel = 'stable'");
  EXPECT_TRUE(s);
  s->Bind(1, component);
  auto row = s->Step();
  EXPECT_TRUE(row && *row);
  return row && *row ? s->Text(0) : "";
}

// Rows in the controller's node table (the store, not one controller's memory).
inline std::int64_t StoreNodeCount(Controller& c) {
  sqlite::OpenOptions o;
  o.create = false;
  o.read_only = true;
  auto db = sqlite::Db::Open((c.dir / "controller.db").string(), o);
  EXPECT_TRUE(db) << db.error().ToString();
  if (!db) return -1;
  auto s = db->Prepare("SELECT COUNT(*) FROM nodes");
  EXPECT_TRUE(s);
  auto row = s->Step();
  EXPECT_TRUE(row && *row);
  return row && *row ? s->Int(0) : -1;
}

// docs/protocol.md: the node is in iff the first 8 bytes of HMAC-SHA256(seed, node id),
// big-endian, are below percent/100 × 2^64. Computed here independently of the controller.
inline bool InBucket(const std::string& seed_hex, const std::string& node_id, int percent) {
  auto key = HexDecode(seed_hex);
  EXPECT_TRUE(key);
  const auto mac = HmacSha256(*key, node_id);
  std::uint64_t bucket = 0;
  for (std::size_t i = 0; i < 8; ++i) bucket = (bucket << 8) | mac[i];
  return static_cast<long double>(bucket) <
         static_cast<long double>(percent) / 100.0L * 18446744073709551616.0L;
}

// One host: a steward-updater with its own state dir, socket and agent config.
class Host {
 public:
  TempDir dir;
  UpdaterProcess updater{dir};
  std::string top_level;  // top-level keys of updater.toml, e.g. "http_helper = false\n"

  // The agent's config; `test_keys` arms its test-only failures.
  void WriteAgentConfig(const std::string& test_keys = "") const {
    dir.Write("agent.toml", "listen = \"127.0.0.1:0\"\nstate_dir = \"" +
                                (dir / "agent-state").string() + "\"\n" + test_keys);
  }

  // Starts the updater checking in with `urls` and trusting `root`; waits until it serves.
  void Start(const std::vector<std::string>& urls, const std::string& root,
             const Child::Options& options = {}, const std::string& extra = "") {
    if (!fs::exists(dir / "agent.toml")) WriteAgentConfig();
    dir.Write("enroll-token", std::string(kEnrollToken) + "\n");
    std::string list;
    for (const auto& u : urls) list += (list.empty() ? "" : ", ") + json(u).dump();
    updater.Start(top_level + "[controller]\nurls = [" + list + "]\nenroll_token_file = \"" +
                      (dir / "enroll-token").string() + "\"\ncheckin_interval = \"1s\"\n" +
                      "[trust]\nroot = \"" + root +
                      "\"\n[[component]]\nname = \"agent\"\nbinary = \"steward-agent\"\nargs = " +
                      Args({"run", "--config", (dir / "agent.toml").string()}) +
                      "\nreadiness = \"notify\"\ngrace = \"1s\"\nstart_timeout = \"5s\"\n"
                      "stop_timeout = \"5s\"\nrestart_delay = \"100ms\"\n"
                      "restart_delay_max = \"200ms\"\ncrash_loop_failures = 2\n" +
                      extra,
                  options);
  }

  json Agent() const { return updater.Unit("agent"); }
  json Status() const { return updater.Status(); }
  std::string MachineId() const { return updater::MachineId((dir / "state").string()); }

  // Waits until the agent's last update went to `version` and ended with `result`.
  bool WaitUpdate(const std::string& version, const std::string& result,
                  std::chrono::milliseconds timeout = 30s) const {
    return updater.WaitUnit(
        "agent",
        [&](const json& u) {
          return u["update"].is_object() && u["update"]["to"] == version &&
                 u["update"]["result"] == result;
        },
        timeout);
  }

  // Committed and running `version`.
  bool WaitRunning(const std::string& version, std::chrono::milliseconds timeout = 30s) const {
    return updater.WaitUnit(
        "agent",
        [&](const json& u) {
          return u["update"].is_object() && u["update"]["to"] == version &&
                 u["update"]["result"] == "committed" && u["state"] == "running" &&
                 u["running_version"] == version;
        },
        timeout);
  }

  std::uint64_t Checkins() const {
    const auto s = Status();
    return s.is_object() && s["checkin"].is_object() ? s["checkin"]["count"].get<std::uint64_t>()
                                                     : 0;
  }

  // Waits until `n` more check-ins succeeded than now.
  bool WaitCheckins(std::uint64_t n, std::chrono::milliseconds timeout = 20s) const {
    const auto from = Checkins();
    return Eventually([&] { return Checkins() >= from + n; }, timeout);
  }

  // Live processes running a binary from this host's agent version directories.
  std::vector<pid_t> AgentProcesses() const {
    return ProcessesRunningFrom(updater::ComponentLayout(dir / "state", "agent").Dir().string() +
                                "/");
  }

  std::string Logs() const { return updater.Logs(); }
};

// Several hosts started alike.
inline std::vector<std::unique_ptr<Host>> MakeHosts(int n) {
  std::vector<std::unique_ptr<Host>> hosts;
  for (int i = 0; i < n; ++i) hosts.push_back(std::make_unique<Host>());
  return hosts;
}

// The controller's node id for each host (by machine id), "" for a host it does not know.
inline std::vector<std::string> NodeIds(Controller& c,
                                        const std::vector<std::unique_ptr<Host>>& hosts) {
  std::map<std::string, std::string> by_machine;
  auto nodes = c.Admin("GET", "nodes");
  for (const auto& n : nodes.body["nodes"]) {
    auto detail = c.Admin("GET", "nodes/" + n["id"].get<std::string>());
    by_machine[detail.body.value("machine_id", "")] = n["id"];
  }
  std::vector<std::string> out;
  for (const auto& h : hosts) out.push_back(by_machine[h->MachineId()]);
  return out;
}

// How many nodes the controller's fleet view counts on `version` of `component`.
inline int FleetCount(Controller& c, const std::string& version,
                      const std::string& component = "agent") {
  auto f = c.Admin("GET", "fleet");
  if (!f.body.is_object() || !f.body["versions"].contains(component)) return 0;
  return f.body["versions"][component].value(version, 0);
}

inline void Kill9(Controller& c) {
  c.proc->Signal(SIGKILL);
  ASSERT_TRUE(c.proc->Wait(20s));
  c.proc.reset();
}

}  // namespace steward::test::e2e
