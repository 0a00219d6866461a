// Benchmark (b): time from a supervised child's death to its replacement running, with
// restart_delay = 0. The child records CLOCK_MONOTONIC at its start and just before it exits;
// latency = next start - previous death, which covers reaping, classification, the decision and
// fork/exec, and whatever the updater does while the new child starts (the exit record in the
// state database, the log line). Baseline, side by side: a shell loop `while :; do child;
// done`, the least a supervisor can do.
//
//   bench_supervision_restart [--restarts N] [--rounds R]   (default 300 in 5 rounds)
//   BENCH_TMPDIR: where the state directory and the timestamps live (default /tmp)
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace fs = std::filesystem;

namespace {

long long NowNs() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<long long>(ts.tv_sec) * 1000000000LL + ts.tv_nsec;
}

void Append(const std::string& file, char tag, long long ns) {
  std::FILE* f = std::fopen(file.c_str(), "a");
  if (f == nullptr) return;
  std::fprintf(f, "%c %lld\n", tag, ns);
  std::fclose(f);
}

int Child(const std::string& file) {
  Append(file, 'S', NowNs());
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  Append(file, 'D', NowNs());
  _exit(1);
}

// Latencies (ms) from "D" to the following "S".
std::vector<double> Latencies(const std::string& file) {
  std::ifstream in(file);
  char tag = 0;
  long long ns = 0;
  long long death = -1;
  std::vector<double> out;
  while (in >> tag >> ns) {
    if (tag == 'D') death = ns;
    if (tag == 'S' && death >= 0) {
      out.push_back(static_cast<double>(ns - death) / 1e6);
      death = -1;
    }
  }
  return out;
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return -1;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())))];
}

bool WaitFor(const std::string& file, std::size_t n, std::chrono::seconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (Latencies(file).size() >= n) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

pid_t Start(const std::vector<std::string>& argv) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::setpgid(0, 0);
    std::freopen("/dev/null", "w", stdout);
    std::freopen("/dev/null", "w", stderr);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    _exit(127);
  }
  return pid;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 3 && std::strcmp(argv[1], "--child") == 0) return Child(argv[2]);
  std::size_t restarts = 300;
  std::size_t rounds = 5;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--restarts") == 0) restarts = std::stoul(argv[i + 1]);
    if (std::strcmp(argv[i], "--rounds") == 0)
      rounds = std::max<std::size_t>(1, std::stoul(argv[i + 1]));
  }
  const std::size_t per_round = std::max<std::size_t>(1, restarts / rounds);
  const fs::path self = fs::read_symlink("/proc/self/exe");
  const fs::path updater = self.parent_path() / "steward-updater";
  const char* base_dir = std::getenv("BENCH_TMPDIR");
  std::string tmpl =
      std::string(base_dir != nullptr ? base_dir : "/tmp") + "/steward-bench-restart-XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) {
    std::perror("bench_supervision_restart: mkdtemp");
    return 1;
  }
  const fs::path dir = tmpl;

  // Rounds alternate between the updater and the shell loop, so that a VM whose speed drifts
  // during the run slows both alike.
  std::vector<double> a, b;
  bool ok = true;
  for (std::size_t round = 0; round < rounds && ok; ++round) {
    const std::string ours = (dir / ("ours." + std::to_string(round))).string();
    const std::string base = (dir / ("baseline." + std::to_string(round))).string();
    const fs::path config = dir / "updater.toml";
    {
      std::ofstream cfg(config);
      cfg << "state_dir = \"" << (dir / "state").string() << "\"\n"
          << "socket = \"" << (dir / "run/updater.sock").string() << "\"\n"
          << "log_level = \"warn\"\n"
          << "[[component]]\nname = \"bench\"\nexec = \"" << self.string() << "\"\n"
          << "args = [\"--child\", \"" << ours << "\"]\n"
          << "readiness = \"none\"\nrestart_delay = \"0s\"\nrestart_delay_max = \"0s\"\n";
    }
    const pid_t up = Start({updater.string(), "run", "--config", config.string()});
    ok = WaitFor(ours, per_round, std::chrono::seconds(120)) && ok;
    ::kill(up, SIGTERM);
    ::waitpid(up, nullptr, 0);

    const pid_t loop =
        Start({"/bin/sh", "-c", "while :; do \"$0\" --child \"$1\"; done", self.string(), base});
    ok = WaitFor(base, per_round, std::chrono::seconds(120)) && ok;
    ::kill(-loop, SIGKILL);
    ::waitpid(loop, nullptr, 0);

    const auto ra = Latencies(ours), rb = Latencies(base);
    a.insert(a.end(), ra.begin(), ra.end());
    b.insert(b.end(), rb.begin(), rb.end());
  }
  if (!ok) {
    std::fprintf(stderr, "bench_supervision_restart: only %zu/%zu restarts seen (ours/baseline)\n",
                 a.size(), b.size());
  }
  const double med = Percentile(a, 0.5), bmed = Percentile(b, 0.5);
  const double p90 = Percentile(a, 0.9), bp90 = Percentile(b, 0.9);
  std::printf("restarts measured: %zu (updater), %zu (shell loop), in %zu alternating rounds\n",
              a.size(), b.size(), rounds);
  std::printf("BENCH\tchild death -> new child running, median (ms)\t%.3f\t%.3f\t%.2f\t<= 5 ms\n",
              med, bmed, bmed > 0 ? med / bmed : 0.0);
  std::printf("BENCH\tchild death -> new child running, p90 (ms)\t%.3f\t%.3f\t%.2f\t-\n", p90, bp90,
              bp90 > 0 ? p90 / bp90 : 0.0);
  std::error_code ec;
  fs::remove_all(dir, ec);
  return ok ? 0 : 1;
}
