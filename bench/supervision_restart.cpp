// Benchmark (b): time from a supervised child's death to its replacement, with
// restart_delay = 0. The child records CLOCK_MONOTONIC at its start and just before it exits;
// latency = next start - previous death, which covers reaping, classification, the decision and
// fork/exec, and whatever the updater does while the new child starts (the exit record in the
// state database, the log line). Baseline, side by side: a shell loop `while :; do child;
// done`, the least a supervisor can do. Two children: supervision_restart_child (static C: it
// stamps right after exec, so the figure ends at the spawn) and this program itself with
// --child (C++: its start includes the dynamic loader and libstdc++, as a real program's).
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

struct Run {
  std::vector<double> ours, baseline;
  bool complete = true;
};

// `restarts` of `child` (program and its leading arguments; the timestamp file is appended)
// under the updater and under the shell loop, in `rounds` that alternate between the two, so
// that a VM whose speed drifts during the run slows both alike.
Run Measure(const fs::path& dir, const fs::path& updater, const std::vector<std::string>& child,
            std::size_t restarts, std::size_t rounds) {
  Run run;
  const std::size_t per_round = std::max<std::size_t>(1, restarts / rounds);
  std::string program, args;
  for (const auto& a : child) {
    if (program.empty()) {
      program = a;
    } else {
      args += "\"" + a + "\", ";
    }
  }
  for (std::size_t round = 0; round < rounds && run.complete; ++round) {
    const std::string tag = fs::path(program).filename().string() + "." + std::to_string(round);
    const std::string ours = (dir / ("ours." + tag)).string();
    const std::string base = (dir / ("baseline." + tag)).string();
    const fs::path config = dir / "updater.toml";
    {
      std::ofstream cfg(config);
      cfg << "state_dir = \"" << (dir / "state").string() << "\"\n"
          << "socket = \"" << (dir / "run/updater.sock").string() << "\"\n"
          << "log_level = \"warn\"\n"
          << "[[component]]\nname = \"bench\"\nexec = \"" << program << "\"\n"
          << "args = [" << args << "\"" << ours << "\"]\n"
          << "readiness = \"none\"\nrestart_delay = \"0s\"\nrestart_delay_max = \"0s\"\n";
    }
    const pid_t up = Start({updater.string(), "run", "--config", config.string()});
    run.complete = WaitFor(ours, per_round, std::chrono::seconds(120));
    ::kill(up, SIGTERM);
    ::waitpid(up, nullptr, 0);

    std::vector<std::string> loop_argv = {"/bin/sh", "-c", "while :; do \"$@\"; done", "sh"};
    loop_argv.insert(loop_argv.end(), child.begin(), child.end());
    loop_argv.push_back(base);
    const pid_t loop = Start(loop_argv);
    run.complete = WaitFor(base, per_round, std::chrono::seconds(120)) && run.complete;
    ::kill(-loop, SIGKILL);
    ::waitpid(loop, nullptr, 0);

    const auto ra = Latencies(ours), rb = Latencies(base);
    run.ours.insert(run.ours.end(), ra.begin(), ra.end());
    run.baseline.insert(run.baseline.end(), rb.begin(), rb.end());
  }
  return run;
}

void Print(const char* what, const Run& run, const char* goal) {
  const double med = Percentile(run.ours, 0.5), bmed = Percentile(run.baseline, 0.5);
  const double p90 = Percentile(run.ours, 0.9), bp90 = Percentile(run.baseline, 0.9);
  std::printf("%s: %zu restarts under the updater, %zu under the shell loop\n", what,
              run.ours.size(), run.baseline.size());
  std::printf("BENCH\tchild death -> %s, median (ms)\t%.3f\t%.3f\t%.2f\t%s\n", what, med, bmed,
              bmed > 0 ? med / bmed : 0.0, goal);
  std::printf("BENCH\tchild death -> %s, p90 (ms)\t%.3f\t%.3f\t%.2f\t-\n", what, p90, bp90,
              bp90 > 0 ? p90 / bp90 : 0.0);
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
  const fs::path self = fs::read_symlink("/proc/self/exe");
  const fs::path updater = self.parent_path() / "steward-updater";
  const fs::path static_child = self.parent_path() / "supervision_restart_child";
  const char* base_dir = std::getenv("BENCH_TMPDIR");
  std::string tmpl =
      std::string(base_dir != nullptr ? base_dir : "/tmp") + "/steward-bench-restart-XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) {
    std::perror("bench_supervision_restart: mkdtemp");
    return 1;
  }
  const fs::path dir = tmpl;
  // The spawn: a static child stamps its start right after exec. A C++ child: its dynamic
  // loading of libstdc++ (2-3 ms on a small VM) is in both columns.
  const Run spawn = Measure(dir, updater, {static_child.string()}, restarts, rounds);
  const Run cxx = Measure(dir, updater, {self.string(), "--child"}, restarts, rounds);
  Print("new child spawned", spawn, "<= 5 ms");
  Print("new C++ child running", cxx, "-");
  const bool ok = spawn.complete && cxx.complete;
  if (!ok) std::fprintf(stderr, "bench_supervision_restart: fewer restarts seen than asked\n");
  std::error_code ec;
  fs::remove_all(dir, ec);
  return ok ? 0 : 1;
}
