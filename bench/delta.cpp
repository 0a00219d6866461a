// Delta updates: for pairs of real binaries (the agent 1.0.0 -> 1.1.0 releases the e2e build
// makes, and the updater's 1.0.0 -> 1.2.0 pair, a larger binary), the patch's size as a share of
// the full artifact, the time to make it, the time to apply + verify it and the peak memory of
// the apply, side by side in the same run with `zstd --patch-from` itself (and `bsdiff` when it
// is installed). Apply + verify runs as the fetcher does it (the base mapped, the patch streamed
// through patch::Applier into a file, hashed on the way by StreamHash) in a child process, so
// its peak RSS is its own; the baseline for its time is a plain SHA-256 of the result.
//   bench_delta [BIN_DIR]   (default: the directory of this program; releases/ beneath it)
// STEWARD_BENCH_ROUNDS (default 3): runs of each timed step, the best kept. BENCH_TMPDIR: where
// patches and results go (default /tmp). Goals (issue 24): patch <= 10 % of the full size for a
// minor release of our binaries; apply + verify <= 1.2 x SHA-256 of the result; peak memory of
// the apply <= 2 x the binary's size.
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "common/files.hpp"
#include "common/hash.hpp"
#include "common/zstd_patch.hpp"
#include "updater/stream_hash.hpp"

namespace {

namespace fs = std::filesystem;
using namespace steward;
using Steady = std::chrono::steady_clock;

constexpr int kLevel = 19;  // what stewardctl uses by default

struct Measured {
  double seconds = 0;
  double peak_mib = 0;
  bool ok = false;
};

// Runs argv as a child; its wall time and peak RSS.
Measured RunChild(const std::vector<std::string>& argv) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const auto t0 = Steady::now();
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::execvp(args[0], args.data());
    std::_Exit(127);
  }
  int status = 0;
  struct rusage ru {};
  ::wait4(pid, &status, 0, &ru);
  Measured m;
  m.seconds = std::chrono::duration<double>(Steady::now() - t0).count();
  m.peak_mib = static_cast<double>(ru.ru_maxrss) / 1024.0;
  m.ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
  if (!m.ok) std::fprintf(stderr, "bench_delta: '%s' failed\n", argv[0].c_str());
  return m;
}

// The best of `rounds` runs (the last run's peak memory).
Measured Best(int rounds, const std::vector<std::string>& argv) {
  Measured best;
  best.seconds = 1e9;
  for (int i = 0; i < rounds; ++i) {
    const Measured m = RunChild(argv);
    if (!m.ok) return m;
    best.ok = true;
    best.seconds = std::min(best.seconds, m.seconds);
    best.peak_mib = std::max(best.peak_mib, m.peak_mib);
  }
  return best;
}

bool HaveTool(const std::string& name) {
  return std::system(("command -v " + name + " >/dev/null 2>&1").c_str()) == 0;
}

// Child: make BASE NEW OUT
int MakeMode(const char* base_path, const char* new_path, const char* out) {
  auto base = files::MappedFile::Open(base_path);
  auto result = files::MappedFile::Open(new_path);
  if (!base || !result) return 1;
  auto p = patch::Make(base->View(), result->View(), kLevel);
  if (!p) {
    std::fprintf(stderr, "%s\n", p.error().ToString().c_str());
    return 1;
  }
  return files::AtomicWrite(out, *p, 0644) ? 0 : 1;
}

// Child: apply BASE PATCH OUT SHA256 (as the fetcher applies: streamed, written, hashed).
int ApplyMode(const char* base_path, const char* patch_path, const char* out, const char* sha) {
  auto base = files::MappedFile::Open(base_path);
  auto p = files::MappedFile::Open(patch_path);
  if (!base || !p) return 1;
  const auto want = ParseSha256Hex(sha);
  ::unlink(out);
  auto fd = files::CreateExclusive(out, 0600);
  if (!fd || !want) return 1;
  updater::StreamHash hash;
  const auto window = patch::WindowLogFor(base->View().size(), std::uint64_t{1} << 40);
  patch::Applier applier(base->View(), window.value_or(patch::kMaxWindowLog),
                         std::uint64_t{1} << 40, [&](std::string_view chunk) -> Result<void> {
                           if (auto w = files::WriteAll(fd->Get(), chunk, out); !w) return w;
                           hash.Update(chunk);
                           return {};
                         });
  // The fetcher reads the downloaded patch in 1 MiB pieces.
  const std::string_view bytes = p->View();
  for (std::size_t at = 0; at < bytes.size(); at += 1 << 20) {
    if (auto r = applier.Feed(bytes.substr(at, 1 << 20)); !r) {
      std::fprintf(stderr, "%s\n", r.error().ToString().c_str());
      return 1;
    }
  }
  auto made = applier.Finish();
  if (!made) {
    std::fprintf(stderr, "%s\n", made.error().ToString().c_str());
    return 1;
  }
  return hash.Finish() == *want ? 0 : 2;
}

// Child: sha FILE (the baseline: a plain SHA-256 of the result).
int ShaMode(const char* path) { return Sha256File(path) ? 0 : 1; }

void Line(const std::string& figure, double value, double baseline, const std::string& goal) {
  std::printf("BENCH\t%s\t%.3f\t%.3f\t%.2f\t%s\n", figure.c_str(), value, baseline,
              baseline > 0 ? value / baseline : 0.0, goal.c_str());
}

void Pair(const std::string& self, const std::string& label, const fs::path& old_bin,
          const fs::path& new_bin, const fs::path& tmp, int rounds) {
  if (!fs::exists(old_bin) || !fs::exists(new_bin)) {
    std::fprintf(stderr, "bench_delta: %s: %s or %s missing; skipped\n", label.c_str(),
                 old_bin.c_str(), new_bin.c_str());
    return;
  }
  const double full = static_cast<double>(fs::file_size(new_bin));
  const std::string sha = HexEncode(*Sha256File(new_bin));
  const fs::path ours = tmp / (label + ".steward.zst-patch");
  const fs::path theirs = tmp / (label + ".zstd.zst-patch");
  const fs::path out = tmp / (label + ".applied");
  const fs::path out_zstd = tmp / (label + ".applied-zstd");

  const Measured make = Best(1, {self, "make", old_bin, new_bin, ours});
  const std::string level = "-" + std::to_string(kLevel);
  const Measured make_zstd = Best(1, {"zstd", "-q", "-f", level, "--single-thread",
                                      "--patch-from=" + old_bin.string(), new_bin, "-o", theirs});
  if (!make.ok || !make_zstd.ok) return;
  const double ours_pct = 100.0 * static_cast<double>(fs::file_size(ours)) / full;
  const double zstd_pct = 100.0 * static_cast<double>(fs::file_size(theirs)) / full;
  Line(label + " patch size (% of full) vs zstd --patch-from", ours_pct, zstd_pct, "<= 10 %");
  Line(label + " make patch (s) vs zstd --patch-from " + level, make.seconds, make_zstd.seconds,
       "report");
  if (HaveTool("bsdiff")) {
    const fs::path bs = tmp / (label + ".bsdiff");
    const Measured b = Best(1, {"bsdiff", old_bin, new_bin, bs});
    if (b.ok) {
      Line(label + " patch size (% of full) vs bsdiff", ours_pct,
           100.0 * static_cast<double>(fs::file_size(bs)) / full, "report");
      Line(label + " make patch (s) vs bsdiff", make.seconds, b.seconds, "report");
    }
  }

  // Interleaved rounds: apply + verify, the plain hash, zstd's own apply.
  Measured apply{1e9, 0, true}, hash{1e9, 0, true}, unzstd{1e9, 0, true};
  for (int i = 0; i < rounds; ++i) {
    const Measured a = RunChild({self, "apply", old_bin, ours, out, sha});
    const Measured h = RunChild({self, "sha", out});
    const Measured z = RunChild({"zstd", "-d", "-q", "-f", "--memory=2048MB",
                                 "--patch-from=" + old_bin.string(), theirs, "-o", out_zstd});
    if (!a.ok || !h.ok || !z.ok) return;
    apply = {std::min(apply.seconds, a.seconds), std::max(apply.peak_mib, a.peak_mib), true};
    hash = {std::min(hash.seconds, h.seconds), std::max(hash.peak_mib, h.peak_mib), true};
    unzstd = {std::min(unzstd.seconds, z.seconds), std::max(unzstd.peak_mib, z.peak_mib), true};
  }
  Line(label + " apply+verify (s) vs sha256 of the result", apply.seconds, hash.seconds, "<= 1.20");
  Line(label + " apply+verify (s) vs zstd -d --patch-from", apply.seconds, unzstd.seconds,
       "report");
  Line(label + " apply peak RSS (MiB) vs binary size", apply.peak_mib, full / (1 << 20), "<= 2.00");
  Line(label + " apply peak RSS (MiB) vs zstd -d --patch-from", apply.peak_mib, unzstd.peak_mib,
       "report");
  for (const auto& f : {ours, theirs, out, out_zstd}) fs::remove(f);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 5 && std::string(argv[1]) == "make") return MakeMode(argv[2], argv[3], argv[4]);
  if (argc == 6 && std::string(argv[1]) == "apply") {
    return ApplyMode(argv[2], argv[3], argv[4], argv[5]);
  }
  if (argc == 3 && std::string(argv[1]) == "sha") return ShaMode(argv[2]);
  const std::string self = fs::canonical("/proc/self/exe").string();
  const fs::path bin = argc > 1 ? fs::path(argv[1]) : fs::path(self).parent_path();
  const char* rounds_env = std::getenv("STEWARD_BENCH_ROUNDS");
  const int rounds = std::max(1, rounds_env != nullptr ? std::atoi(rounds_env) : 3);
  const char* tmp_env = std::getenv("BENCH_TMPDIR");
  const fs::path tmp = fs::path(tmp_env != nullptr ? tmp_env : "/tmp") /
                       ("steward-bench-delta-" + std::to_string(::getpid()));
  fs::create_directories(tmp);
  if (!HaveTool("zstd")) {
    std::fprintf(stderr, "bench_delta: the zstd program is needed for the baseline\n");
    return 1;
  }
  Pair(self, "agent 1.0.0->1.1.0", bin / "releases/1.0.0/steward-agent",
       bin / "releases/1.1.0/steward-agent", tmp, rounds);
  Pair(self, "updater 1.0.0->1.2.0", bin / "releases/1.0.0/steward-updater",
       bin / "releases/1.2.0/steward-updater", tmp, rounds);
  fs::remove_all(tmp);
  return 0;
}
