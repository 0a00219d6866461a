// Fleet simulator: N simulated nodes (default 100 000) against the real steward-controller, in
// compressed time, to measure what a bad release costs under the default rollout waves and how
// fast a good one spreads. Each node follows the protocol as the updater does: enroll, check in
// every interval (±20 %), take an offered release, switch to it, and report the result of its
// health gate (or the rollback) on its next check-in. Time is compressed by choosing the real
// length of a check-in interval (--interval, standing for 60 s); the health gate and the
// failure delay are given in intervals, and the rollout's bake is set to 30 intervals (the
// default 30 min, compressed the same way). Everything else is the controller's default.
//
// Scenarios (--scenario):
//   crash    the release crashes at start on every node (rolled back after --crash-after)
//   late30   it fails --fail-after intervals after the switch on 30 % of nodes
//   good     a good release; time until 99 % of the fleet committed it
//   restart  the good release, with the controller stopped and started again mid-rollout
//
//   bench_fleet_sim [--scenario S] [--nodes N] [--interval SECONDS] [--gate INTERVALS]
//                   [--fail-after INTERVALS] [--crash-after INTERVALS] [--fail-share F]
//                   [--max-in-flight N] [--threads T] [--max-seconds S]
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <queue>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common/hash.hpp"
#include "common/http_client.hpp"
#include "common/minisign.hpp"
#include "common/rfc3339.hpp"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using steady = std::chrono::steady_clock;

struct Options {
  std::string scenario = "crash";
  int nodes = 100'000;
  double interval = 0;  // real seconds per simulated minute; 0: nodes / 2500, at least 2
  double gate = 10, fail_after = 5, crash_after = 0.2;  // in intervals
  double fail_share = -1;                               // -1: the scenario's
  long max_in_flight = 0;                               // 0: the controller's default
  int threads = 8;
  double max_seconds = 3600;
};

pid_t g_controller = -1;  // stopped by Die too
fs::path g_dir;           // removed by Die too

[[noreturn]] void Die(const std::string& what) {
  std::cerr << "bench_fleet_sim: " << what << "\n";
  if (g_controller > 0) {
    kill(g_controller, SIGKILL);
    waitpid(g_controller, nullptr, 0);
  }
  std::error_code ec;
  if (!g_dir.empty()) fs::remove_all(g_dir, ec);
  std::_Exit(1);
}

std::string Sign(const steward::minisign::SecretKey& key, const std::string& bytes) {
  auto sig = steward::minisign::SignBytes(key, bytes, "timestamp:0\tfile:sim\thashed");
  if (!sig) Die(sig.error().message);
  return sig->ToFile();
}

void WriteFile(const fs::path& p, const std::string& text) {
  std::ofstream(p, std::ios::binary) << text;
}

// The controller process: started on a port of its own choosing, stopped with SIGTERM.
class ControllerProcess {
 public:
  ControllerProcess(fs::path dir, fs::path bin) : dir_(std::move(dir)), bin_(std::move(bin)) {}
  ~ControllerProcess() { Stop(); }

  void Start() {
    const auto log = dir_ / "controller.log";
    std::error_code ec;
    fs::remove(log, ec);  // the port is read from it: not the one of the controller before
    pid_ = fork();
    if (pid_ == 0) {
      std::freopen("/dev/null", "w", stdout);
      std::freopen(log.c_str(), "w", stderr);
      const auto config = (dir_ / "controller.toml").string();
      execl(bin_.c_str(), bin_.c_str(), "serve", "--config", config.c_str(), nullptr);
      _exit(127);
    }
    g_controller = pid_;
    for (int i = 0; i < 400; ++i) {
      std::stringstream text;
      text << std::ifstream(log).rdbuf();
      const auto s = text.str();
      if (auto at = s.find("listening on 127.0.0.1:"); at != std::string::npos) {
        port = std::atoi(s.c_str() + at + 23);
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    Die("the controller did not start; see " + log.string());
  }

  void Stop() {
    if (pid_ <= 0) return;
    kill(pid_, SIGTERM);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
    g_controller = -1;
  }

  std::string Url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port.load()) + path;
  }

  std::atomic<int> port{0};

 private:
  fs::path dir_, bin_;
  pid_t pid_ = -1;
};

// One simulated node; only its worker thread touches it.
struct SimNode {
  std::string id, token;
  bool fails = false;
  double took_at = -1;  // seconds since the start; -1: never took the target
  bool counted_commit = false;
};

struct Fleet {
  const Options& opt;
  ControllerProcess& controller;
  std::vector<SimNode> nodes;
  steady::time_point start = steady::now();
  std::atomic<bool> stop{false};
  std::atomic<long> checkins{0}, failed_checkins{0}, touched{0}, touched_failing{0}, committed{0};

  double Now() const { return std::chrono::duration<double>(steady::now() - start).count(); }

  // The component as the updater reports it at `now`.
  json Report(SimNode& n, double now) {
    json c{{"name", "agent"},
           {"channel", "stable"},
           {"running_version", "1.0.0"},
           {"desired_state", "running"},
           {"state", "running"},
           {"restarts", 0},
           {"crash_loop", false}};
    if (n.took_at < 0) return c;
    const double since = (now - n.took_at) / opt.interval;  // in intervals
    const double fail_at = opt.scenario == "crash" ? opt.crash_after : opt.fail_after;
    std::string result = "in_progress", code;
    if (n.fails && fail_at < opt.gate && since >= fail_at) {
      result = "rolled_back";  // the health gate saw the crash loop
      code = "health_gate_failed";
    } else {
      c["running_version"] = "2.0.0";
      if (since >= opt.gate) result = "committed";
      c["crash_loop"] = n.fails && since >= fail_at;  // failing after its gate passed
    }
    if (result == "committed" && !n.counted_commit) {
      n.counted_commit = true;
      ++committed;
    }
    c["last_update"] = {{"from", "1.0.0"}, {"to", "2.0.0"}, {"result", result}};
    if (!code.empty()) c["last_update"]["error_code"] = code;
    return c;
  }

  // One check-in; false when the controller did not answer.
  bool Checkin(steward::http::Client& http, SimNode& n) {
    const double now = Now();
    const json body{{"node_id", n.id},
                    {"updater", {{"version", "1.0.0"}}},
                    {"components", json::array({Report(n, now)})},
                    {"host", {{"os", "linux"}, {"arch", "x86_64"}}}};
    auto r = http.PostJson(controller.Url("/v1/checkin"), body.dump(), n.token);
    if (!r || r->status != 200) return false;
    // Offered (only 2.0.0 is published) and not tried yet: the node takes it now. A node that
    // rolled back marks the version bad and never tries it again.
    if (n.took_at < 0 && r->body.find("\"releases\":[{") != std::string::npos) {
      n.took_at = now;
      ++touched;
      if (n.fails) ++touched_failing;
    }
    return true;
  }

  void Worker(int t) {
    steward::http::Client http;
    using Due = std::pair<double, std::size_t>;
    std::priority_queue<Due, std::vector<Due>, std::greater<>> due;
    std::mt19937 rng(static_cast<unsigned>(t));
    std::uniform_real_distribution<double> first(0, opt.interval), jitter(0.8, 1.2);
    for (std::size_t i = static_cast<std::size_t>(t); i < nodes.size();
         i += static_cast<std::size_t>(opt.threads)) {
      due.push({first(rng), i});
    }
    while (!stop) {
      const auto [at, i] = due.top();
      const double now = Now();
      if (at > now) {
        std::this_thread::sleep_for(std::chrono::duration<double>(std::min(at - now, 0.05)));
        continue;
      }
      due.pop();
      if (Checkin(http, nodes[i])) {
        ++checkins;
      } else {
        ++failed_checkins;
      }
      due.push({Now() + opt.interval * jitter(rng), i});
    }
  }
};

json Rollout(steward::http::Client& http, const ControllerProcess& c, const std::string& admin) {
  auto r = http.Get(c.Url("/v1/admin/rollouts"), admin);
  if (!r || r->status != 200) return json::object();
  auto j = json::parse(r->body, nullptr, false);
  return j.is_object() && !j["rollouts"].empty() ? j["rollouts"][0] : json::object();
}

std::string Fmt(double v, int prec = 1) {
  char b[64];
  std::snprintf(b, sizeof b, "%.*f", prec, v);
  return b;
}

Options Parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i], v = argv[i + 1];
    if (a == "--scenario")
      o.scenario = v;
    else if (a == "--nodes")
      o.nodes = std::stoi(v);
    else if (a == "--interval")
      o.interval = std::stod(v);
    else if (a == "--gate")
      o.gate = std::stod(v);
    else if (a == "--fail-after")
      o.fail_after = std::stod(v);
    else if (a == "--crash-after")
      o.crash_after = std::stod(v);
    else if (a == "--fail-share")
      o.fail_share = std::stod(v);
    else if (a == "--max-in-flight")
      o.max_in_flight = std::stol(v);
    else if (a == "--threads")
      o.threads = std::stoi(v);
    else if (a == "--max-seconds")
      o.max_seconds = std::stod(v);
    else
      Die("unknown option " + a + "; see the comment at the top of bench/fleet_sim.cpp");
  }
  if (argc % 2 == 0) Die("every option takes a value");
  const std::string known[] = {"crash", "late30", "good", "restart"};
  if (std::find(std::begin(known), std::end(known), o.scenario) == std::end(known)) {
    Die("--scenario must be crash, late30, good or restart");
  }
  if (o.interval <= 0) o.interval = std::max(2.0, o.nodes / 2500.0);
  if (o.fail_share < 0)
    o.fail_share = o.scenario == "crash" ? 1.0 : o.scenario == "late30" ? 0.3 : 0;
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  std::set_terminate([] { Die("stopped by an unexpected exception"); });
  const Options opt = Parse(argc, argv);
  const auto bin = fs::canonical("/proc/self/exe").parent_path() / "steward-controller";
  char tmpl[] = "/tmp/fleet-sim-XXXXXX";
  if (!mkdtemp(tmpl)) Die("mkdtemp");
  const fs::path dir = tmpl;
  g_dir = dir;

  auto root_key = steward::minisign::SecretKey::Generate();
  auto release_key = steward::minisign::SecretKey::Generate();
  const auto wall = std::chrono::system_clock::now();
  const std::string root =
      json{{"schema", "steward.root/1"},
           {"version", 1},
           {"expires", steward::FormatRfc3339(wall + std::chrono::hours(24 * 365))},
           {"keys",
            {{"root1", root_key.public_key().ToBase64()},
             {"rel1", release_key.public_key().ToBase64()}}},
           {"roles",
            {{"root", {{"keys", {"root1"}}, {"threshold", 1}}},
             {"release", {{"keys", {"rel1"}}, {"threshold", 1}}}}}}
          .dump();
  WriteFile(dir / "root.json", root);
  WriteFile(dir / "root.json.root1.minisig", Sign(root_key, root));
  const std::string admin = "sim-admin-token-0123456789", enroll = "sim-enroll-token-0123456789";
  WriteFile(dir / "admin-token", admin + "\n");
  WriteFile(dir / "enroll-token", enroll + "\n");
  fs::create_directories(dir / "blobs");
  const long interval_s = std::lround(opt.interval);
  WriteFile(dir / "controller.toml",
            "listen = \"127.0.0.1:0\"\nstore = \"sqlite:" + (dir / "c.db").string() +
                "\"\nroot = \"" + (dir / "root.json").string() + "\"\nadmin_token_file = \"" +
                (dir / "admin-token").string() + "\"\nenroll_token_file = \"" +
                (dir / "enroll-token").string() + "\"\nblob_dir = \"" + (dir / "blobs").string() +
                "\"\ncheckin_interval = \"" + std::to_string(std::max(1L, interval_s)) + "s\"\n");
  ControllerProcess controller(dir, bin);
  controller.Start();
  steward::http::Client http;

  // 2.0.0, its artifact served by the controller itself.
  const std::string blob(4096, 'b');
  const auto sha = steward::HexEncode(steward::Sha256Of(blob));
  WriteFile(dir / "blobs" / sha, blob);
  const std::string manifest = json{
      {"schema", "steward.release/1"},
      {"component", "agent"},
      {"channel", "stable"},
      {"version", "2.0.0"},
      {"sequence", 1},
      {"root_version", 1},
      {"issued_at", steward::FormatRfc3339(wall - std::chrono::hours(1))},
      {"expires", steward::FormatRfc3339(wall + std::chrono::hours(24 * 30))},
      {"artifacts",
       {{"linux-x86_64",
         {{"url", controller.Url("/v1/artifacts/" + sha)},
          {"size", 4096},
          {"sha256", sha},
          {"format", "binary"}}}}}}.dump();
  auto pub = http.PostJson(
      controller.Url("/v1/admin/releases"),
      json{{"manifest", manifest}, {"signatures", {Sign(release_key, manifest)}}}.dump(), admin);
  if (!pub || pub->status != 201) Die("publish: " + (pub ? pub->body : pub.error().message));

  Fleet fleet{opt, controller, std::vector<SimNode>(static_cast<std::size_t>(opt.nodes))};
  {
    const auto t0 = steady::now();
    std::vector<std::thread> threads;
    for (int t = 0; t < opt.threads; ++t) {
      threads.emplace_back([&, t] {
        steward::http::Client c;
        for (std::size_t i = static_cast<std::size_t>(t); i < fleet.nodes.size();
             i += static_cast<std::size_t>(opt.threads)) {
          auto r =
              c.PostJson(controller.Url("/v1/enroll"), json{{"enroll_token", enroll},
                                                            {"hostname", "h" + std::to_string(i)},
                                                            {"machine_id", "m" + std::to_string(i)},
                                                            {"platform", "linux-x86_64"}}
                                                           .dump());
          if (!r || r->status != 200) Die("enroll: " + (r ? r->body : r.error().message));
          const auto j = json::parse(r->body);
          auto& n = fleet.nodes[i];
          n.id = j["node_id"];
          n.token = j["node_token"];
          // A stable 30 % (or all, or none) of the nodes fail, picked by their index.
          n.fails = static_cast<double>(i % 1000) < opt.fail_share * 1000;
        }
      });
    }
    for (auto& th : threads) th.join();
    std::cout << "enrolled " << opt.nodes << " nodes in "
              << Fmt(std::chrono::duration<double>(steady::now() - t0).count()) << " s\n";
  }

  // Every node checks in once on 1.0.0 (the controller learns the channel's size), then the
  // rollout is set as an operator would: 100 %, nothing else but the compressed bake.
  fleet.start = steady::now();
  std::vector<std::thread> workers;
  for (int t = 0; t < opt.threads; ++t) workers.emplace_back([&, t] { fleet.Worker(t); });
  while (fleet.checkins < opt.nodes && fleet.Now() < opt.max_seconds) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  json body{{"version", "2.0.0"}, {"percent", 100}, {"bake", std::lround(30 * opt.interval)}};
  if (opt.max_in_flight > 0) body["max_in_flight"] = opt.max_in_flight;
  steward::http::RequestSpec put;
  put.method = "PUT";
  put.url = controller.Url("/v1/admin/rollouts/agent/stable");
  put.body = body.dump();
  put.headers = {"Content-Type: application/json"};
  put.bearer_token = admin;
  auto set = http.Perform(put);
  if (!set || set->status != 200) Die("rollout: " + (set ? set->body : set.error().message));
  const double set_at = fleet.Now();
  const long checkins_at_set = fleet.checkins;
  std::cout << "scenario " << opt.scenario << ": interval " << Fmt(opt.interval) << " s, gate "
            << Fmt(opt.gate) << " intervals, failing share " << Fmt(opt.fail_share * 100, 0)
            << " %\n";

  // Watch the rollout until it halts (bad releases) or 99 % committed (good ones).
  const bool bad = opt.fail_share > 0;
  double halted_at = -1, reached_at = -1, drain_until = -1;
  long touched_at_halt = 0;
  bool restarted = false;
  json last = json::object();
  while (fleet.Now() < opt.max_seconds) {
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
    const double now = fleet.Now();
    if (auto r = Rollout(http, controller, admin); !r.empty()) last = r;
    if (opt.scenario == "restart" && !restarted && last.value("wave", 0) >= 3) {
      const auto wave_before = last.value("wave", 0);
      controller.Stop();
      std::this_thread::sleep_for(std::chrono::duration<double>(opt.interval / 2));
      controller.Start();
      restarted = true;
      const auto after = Rollout(http, controller, admin);
      std::cout << "restarted the controller in wave " << wave_before << "; it resumed in wave "
                << after.value("wave", -1) << " with " << after.value("in_flight", -1)
                << " in flight\n";
      std::cout << "BENCH\tfleet_sim_restart_wave\t" << wave_before << "\t"
                << after.value("wave", -1) << "\tsame wave\n";
    }
    if (bad && halted_at < 0 && last.value("paused", false)) {
      halted_at = now;
      touched_at_halt = fleet.touched;
      drain_until = now + 3 * opt.interval;  // offers already made are still taken
      std::cout << "halt: " << last.value("halt_reason", "") << "\n";
    }
    if (bad && drain_until > 0 && now >= drain_until) break;
    if (!bad && fleet.committed >= opt.nodes * 99 / 100) {
      reached_at = now;
      break;
    }
  }
  fleet.stop = true;
  for (auto& w : workers) w.join();
  const double ran = fleet.Now() - set_at;
  const double rate = static_cast<double>(fleet.checkins - checkins_at_set) / ran;
  controller.Stop();
  std::error_code ec;
  fs::remove_all(dir, ec);

  std::cout << "check-ins: " << Fmt(rate, 0) << "/s achieved, " << Fmt(opt.nodes / opt.interval, 0)
            << "/s asked; " << fleet.failed_checkins
            << " failed; last rollout state: " << last.dump() << "\n";
  const auto pct = [&](long n) { return Fmt(100.0 * static_cast<double>(n) / opt.nodes, 3); };
  const std::string name = "fleet_sim_" + opt.scenario;
  if (bad) {
    if (halted_at < 0) {
      std::cout << "BENCH\t" << name << "_halt\tnone\tin " << Fmt(ran, 0) << " s\thalt\n";
      return 1;
    }
    const long touched = fleet.touched;
    std::cout << "BENCH\t" << name << "_touched\t" << touched << "\t" << pct(touched) << "%\t"
              << (opt.scenario == "crash" ? "<=0.1%" : "<=0.5%") << " (at the halt "
              << touched_at_halt << ")\n";
    std::cout << "BENCH\t" << name << "_time_to_halt_s\t" << Fmt(halted_at - set_at) << "\t"
              << Fmt((halted_at - set_at) / opt.interval) << " intervals\t-\n";
    return 0;
  }
  if (reached_at < 0) {
    std::cout << "BENCH\t" << name << "_time_to_99pct_s\tnot reached\t" << fleet.committed
              << " committed (" << pct(fleet.committed) << "%) in " << Fmt(ran, 0) << " s\t-\n";
    return 1;
  }
  const double unit = (opt.gate + 2) * opt.interval;
  std::cout << "BENCH\t" << name << "_time_to_99pct_s\t" << Fmt(reached_at - set_at) << "\t"
            << Fmt((reached_at - set_at) / unit, 1) << " x (gate + 2 intervals)\t<=10x\n";
  return 0;
}
