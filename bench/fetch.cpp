// Fetch + verify + install of a large artifact from a local HTTP server, side by side in one run
// with `curl -o` alone, with `curl -o` followed by `sha256sum`, and with `curl -o` followed by
// `sync FILE` (the same download made durable, which an install must be and `curl -o` is not).
// Each contender runs `STEWARD_BENCH_ROUNDS` times (default 3), interleaved; the best time of
// each is compared. Size in MiB from STEWARD_BENCH_FETCH_MIB (default 512); BENCH_TMPDIR: where
// the files live (default /tmp; /dev/shm takes the disk out). BENCH_HTTP_HELPER=1: through the
// updater's HTTP helper process, as the updater fetches by default. Goal: ≤ 1.10 × `curl -o`.
#include "updater/fetch.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "common/hash.hpp"
#include "common/http_helper.hpp"
#include "common/http_server.hpp"
#include "common/log.hpp"
#include "common/platform.hpp"

namespace {

namespace fs = std::filesystem;
using namespace steward;
using Steady = std::chrono::steady_clock;

std::uint16_t ElfMachine() {
  const std::string_view p = HostPlatform();
  if (p.ends_with("aarch64")) return 183;
  return 62;
}

// An ELF header for this host followed by pseudo-random bytes (incompressible, like a binary).
void MakeArtifact(const fs::path& path, std::uint64_t size) {
  std::ofstream out(path, std::ios::binary);
  std::vector<std::uint64_t> block(1 << 17);
  std::uint64_t x = 0x9e3779b97f4a7c15ULL;
  for (std::uint64_t done = 0; done < size;) {
    for (auto& w : block) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      w = x;
    }
    auto* bytes = reinterpret_cast<char*>(block.data());
    if (done == 0) {
      const unsigned char ident[20] = {0x7f, 'E', 'L', 'F', 2, 1, 1, 0, 0, 0,
                                       0,    0,   0,   0,   0, 0, 2, 0, 0, 0};
      std::copy(ident, ident + 20, bytes);
      bytes[18] = static_cast<char>(ElfMachine() & 0xff);
      bytes[19] = static_cast<char>(ElfMachine() >> 8);
    }
    const std::uint64_t n = std::min<std::uint64_t>(block.size() * 8, size - done);
    out.write(bytes, static_cast<std::streamsize>(n));
    done += n;
  }
}

double Run(const std::string& command) {
  const auto t0 = Steady::now();
  const int rc = std::system(command.c_str());
  const double s = std::chrono::duration<double>(Steady::now() - t0).count();
  if (rc != 0) {
    std::fprintf(stderr, "bench_fetch: '%s' failed (%d)\n", command.c_str(), rc);
    std::exit(1);
  }
  return s;
}

}  // namespace

int main() {
  const char* mib_env = std::getenv("STEWARD_BENCH_FETCH_MIB");
  const char* rounds_env = std::getenv("STEWARD_BENCH_ROUNDS");
  const std::uint64_t mib = mib_env != nullptr ? std::strtoull(mib_env, nullptr, 10) : 512;
  const int rounds = rounds_env != nullptr ? std::atoi(rounds_env) : 3;
  const std::uint64_t size = mib << 20;
  (void)log::Init({spdlog::level::warn, log::Format::text, ""});
  if (const char* h = std::getenv("BENCH_HTTP_HELPER"); h != nullptr && std::string(h) == "1") {
    const fs::path updater = fs::read_symlink("/proc/self/exe").parent_path() / "steward-updater";
    http::UseHelperProcess({updater.string(), "http-helper"});
  }

  const char* base = std::getenv("BENCH_TMPDIR");
  std::string tmpl = std::string(base != nullptr ? base : "/tmp") + "/steward-bench-fetch-XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) {
    std::perror("bench_fetch: mkdtemp");
    return 1;
  }
  const fs::path dir = tmpl;
  const fs::path src = dir / "artifact";
  MakeArtifact(src, size);
  auto digest = Sha256File(src);
  if (!digest) return 1;

  http::Router router;
  router.Add("GET", "/artifact",
             [&](const http::Request&) { return http::Response::File(src.string()); });
  http::ServerOptions so;
  so.threads = 1;
  auto server = http::Server::ListenTcp({"127.0.0.1", 0}, std::move(router), so);
  if (!server) {
    std::fprintf(stderr, "bench_fetch: %s\n", server.error().ToString().c_str());
    return 1;
  }
  (*server)->Start();
  const std::string url = "http://" + (*server)->address() + "/artifact";
  const fs::path out = dir / "curl.out";

  double best_curl = 1e9, best_curl_sha = 1e9, best_curl_sync = 1e9, best_ours = 1e9;
  for (int i = 0; i < rounds; ++i) {
    best_curl = std::min(best_curl, Run("curl -sS -o " + out.string() + " " + url));
    fs::remove(out);
    best_curl_sha = std::min(best_curl_sha, Run("curl -sS -o " + out.string() + " " + url +
                                                " && sha256sum " + out.string() + " >/dev/null"));
    fs::remove(out);
    best_curl_sync = std::min(best_curl_sync, Run("curl -sS -o " + out.string() + " " + url +
                                                  " && sync " + out.string()));
    fs::remove(out);

    const fs::path state = dir / ("state" + std::to_string(i));
    updater::FetchOptions options;
    options.reserve_bytes = 0;
    if (const char* p = std::getenv("STEWARD_BENCH_PERSIST_MIB"); p != nullptr) {
      options.persist_every = std::strtoull(p, nullptr, 10) << 20;
    }
    Steady::time_point last_byte{};
    options.progress = [&](const updater::FetchProgress& p) {
      if (p.received == p.size) last_byte = Steady::now();
    };
    updater::Fetcher fetcher(state, options);
    updater::FetchRequest req;
    req.component = "bench";
    req.version = "1.0.0";
    req.artifact.url = url;
    req.artifact.size = size;
    req.artifact.sha256 = *digest;
    req.artifact.format = "binary";
    const auto t0 = Steady::now();
    auto r = fetcher.FetchAndInstall(req);
    const double s = std::chrono::duration<double>(Steady::now() - t0).count();
    if (!r) {
      std::fprintf(stderr, "bench_fetch: download phase %.3fs\n",
                   std::chrono::duration<double>(last_byte - t0).count());
      std::fprintf(stderr, "bench_fetch: %s\n", r.error().ToString().c_str());
      return 1;
    }
    best_ours = std::min(best_ours, s);
    const double tail = std::chrono::duration<double>(Steady::now() - last_byte).count();
    fs::remove_all(state);
    std::printf(
        "round %d: steward %.3fs, of which after the last byte %.3fs (hash, format check, fsync, "
        "rename); best so far: curl -o %.3fs, curl -o + sha256sum %.3fs, curl -o + sync %.3fs\n",
        i + 1, s, tail, best_curl, best_curl_sha, best_curl_sync);
  }
  (*server)->Stop(std::chrono::seconds(1));
  fs::remove_all(dir);

  std::printf("BENCH\tfetch+verify+install %llu MiB (s) vs curl -o\t%.3f\t%.3f\t%.2f\t<= 1.10\n",
              static_cast<unsigned long long>(mib), best_ours, best_curl, best_ours / best_curl);
  std::printf(
      "BENCH\tfetch+verify+install %llu MiB (s) vs curl -o + sha256sum\t%.3f\t%.3f\t%.2f\t-\n",
      static_cast<unsigned long long>(mib), best_ours, best_curl_sha, best_ours / best_curl_sha);
  std::printf("BENCH\tfetch+verify+install %llu MiB (s) vs curl -o + sync\t%.3f\t%.3f\t%.2f\t-\n",
              static_cast<unsigned long long>(mib), best_ours, best_curl_sync,
              best_ours / best_curl_sync);
  return 0;
}
