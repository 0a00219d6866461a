// Check-in throughput of the real steward-controller with its SQLite store. Enrolls N nodes
// (default 10 000), publishes a signed release with a 50 % rollout, then runs check-ins as fast
// as possible over keep-alive connections, and the same server's /healthz the same way as the
// baseline. Prints check-ins/s, p50 and p99 latency and their ratio to /healthz. With --tls the
// controller serves HTTPS with a certificate from `stewardctl tls init` (connections are
// opened once, so this measures the cost per request on kept-alive TLS connections). With
// --store postgresql://… (an empty database: the run writes to it) a second controller on that
// store is measured the same way after the SQLite one, and compared with it.
//
//   bench_checkin [--nodes N] [--seconds S] [--connections C] [--threads T] [--tls]
//                 [--store postgresql://…]
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common/hash.hpp"
#include "common/minisign.hpp"
#include "common/rfc3339.hpp"

extern char** environ;

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

pid_t g_controller = -1;
std::filesystem::path g_dir;
SSL_CTX* g_tls = nullptr;  // set with --tls: every connection speaks TLS, trusting the bench's CA

// Stops the controller and removes the temp dir before exiting.
[[noreturn]] void Die(const std::string& what) {
  std::cerr << "bench_checkin: " << what << "\n";
  if (g_controller > 0) {
    kill(g_controller, SIGKILL);
    waitpid(g_controller, nullptr, 0);
  }
  std::error_code ec;
  if (!g_dir.empty()) std::filesystem::remove_all(g_dir, ec);
  std::_Exit(1);
}

void Write(const fs::path& p, const std::string& text) {
  std::ofstream f(p, std::ios::binary);
  f << text;
  if (!f) Die("writing " + p.string());
}

std::string Read(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

std::string Escape(const std::string& s) {
  std::string out;
  for (char ch : s) {
    if (ch == '"' || ch == '\\') {
      out += '\\';
      out += ch;
    } else if (static_cast<unsigned char>(ch) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", ch);
      out += buf;
    } else {
      out += ch;
    }
  }
  return out;
}

std::string Sign(const steward::minisign::SecretKey& key, const std::string& bytes) {
  auto sig = steward::minisign::SignBytes(key, bytes, "timestamp:0\tfile:bench\thashed");
  if (!sig) Die(sig.error().message);
  return sig->ToFile();
}

// One keep-alive HTTP/1.1 connection.
class Conn {
 public:
  explicit Conn(std::uint16_t port) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) Die("connect");
    int one = 1;
    setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (g_tls != nullptr) {
      ssl_ = SSL_new(g_tls);
      if (ssl_ == nullptr || SSL_set_fd(ssl_, fd_) != 1 || SSL_connect(ssl_) != 1) {
        Die("TLS handshake with the controller failed");
      }
    }
  }
  ~Conn() {
    if (ssl_ != nullptr) SSL_free(ssl_);
    close(fd_);
  }
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;

  // Returns the status; the body in `body`.
  int Call(const std::string& method, const std::string& path, const std::string& token,
           const std::string& payload, std::string& body) {
    std::string req = method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
    if (!token.empty()) req += "Authorization: Bearer " + token + "\r\n";
    if (!payload.empty()) {
      req += "Content-Type: application/json\r\nContent-Length: " + std::to_string(payload.size()) +
             "\r\n";
    }
    req += "\r\n" + payload;
    for (std::size_t off = 0; off < req.size();) {
      const auto n = ssl_ != nullptr
                         ? SSL_write(ssl_, req.data() + off, static_cast<int>(req.size() - off))
                         : send(fd_, req.data() + off, req.size() - off, MSG_NOSIGNAL);
      if (n <= 0) Die("send");
      off += static_cast<std::size_t>(n);
    }
    std::size_t header_end;
    while ((header_end = buf_.find("\r\n\r\n")) == std::string::npos) Fill();
    const int status = std::atoi(buf_.c_str() + 9);
    std::size_t length = 0;
    auto cl = buf_.find("Content-Length: ");
    if (cl == std::string::npos || cl > header_end) cl = buf_.find("content-length: ");
    if (cl != std::string::npos && cl < header_end) length = std::stoul(buf_.substr(cl + 16));
    while (buf_.size() < header_end + 4 + length) Fill();
    body = buf_.substr(header_end + 4, length);
    buf_.erase(0, header_end + 4 + length);
    return status;
  }

 private:
  void Fill() {
    char tmp[16384];
    const auto n =
        ssl_ != nullptr ? SSL_read(ssl_, tmp, sizeof tmp) : recv(fd_, tmp, sizeof tmp, 0);
    if (n <= 0) Die("connection closed by the controller");
    buf_.append(tmp, static_cast<std::size_t>(n));
  }
  int fd_;
  SSL* ssl_ = nullptr;
  std::string buf_;
};

// Runs a program to its end; dies unless it exits 0.
void RunOrDie(std::vector<std::string> argv) {
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  pid_t pid;
  int status = 0;
  if (posix_spawn(&pid, args[0], nullptr, nullptr, args.data(), environ) != 0 ||
      waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    Die("running " + argv[0] + " failed");
  }
}

struct PhaseResult {
  double per_second = 0;
  double p50_ms = 0;
  double p99_ms = 0;
  std::size_t requests = 0;
};

// Runs `connections` threads for `seconds`, each calling `one(conn, thread, i)`.
template <class F>
PhaseResult RunPhase(std::uint16_t port, int connections, double seconds, F one) {
  std::vector<std::vector<double>> lat(static_cast<std::size_t>(connections));
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  const auto start = Clock::now();
  for (int t = 0; t < connections; ++t) {
    threads.emplace_back([&, t] {
      Conn c(port);
      auto& mine = lat[static_cast<std::size_t>(t)];
      for (std::size_t i = 0; !stop.load(std::memory_order_relaxed); ++i) {
        const auto t0 = Clock::now();
        one(c, t, i);
        mine.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  for (auto& th : threads) th.join();
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  std::vector<double> all;
  for (auto& v : lat) all.insert(all.end(), v.begin(), v.end());
  std::sort(all.begin(), all.end());
  PhaseResult r;
  r.requests = all.size();
  r.per_second = static_cast<double>(all.size()) / elapsed;
  if (!all.empty()) {
    r.p50_ms = all[all.size() / 2];
    r.p99_ms = all[std::min(all.size() - 1, all.size() * 99 / 100)];
  }
  return r;
}

// CPU seconds (user + system) the process has used so far.
double CpuSeconds(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  std::getline(f, line);
  std::istringstream rest(line.substr(line.rfind(')') + 2));
  std::string field;
  double ticks = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14 || i == 15) ticks += std::stod(field);
  }
  return ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
}

std::string Fmt(double v, int prec = 1) {
  char b[64];
  std::snprintf(b, sizeof b, "%.*f", prec, v);
  return b;
}

// What every measured controller shares: the temp dir with its root, tokens and blobs.
struct Setup {
  fs::path dir;
  fs::path bin;
  std::string admin;
  std::string enroll;
  const steward::minisign::SecretKey& release_key;
  std::chrono::system_clock::time_point now;
  std::string tls_config;  // "" for plain HTTP
  std::string server_threads;
  int nodes;
  int connections;
  double seconds;
};

struct Measured {
  PhaseResult health;
  PhaseResult checkin;
};

// One controller on `store`, measured: enrollment, /healthz (the baseline), then check-ins.
// Prints its lines prefixed with `label`.
Measured Measure(const Setup& setup, const std::string& store, const std::string& label) {
  const fs::path& dir = setup.dir;
  const auto& bin = setup.bin;
  const auto& admin = setup.admin;
  const auto& enroll = setup.enroll;
  const auto& release_key = setup.release_key;
  const auto now = setup.now;
  const bool tls = !setup.tls_config.empty();
  const int nodes = setup.nodes;
  const int connections = setup.connections;
  const double seconds = setup.seconds;
  const fs::path config_file = dir / ("controller-" + label + ".toml");
  const fs::path log_file = dir / ("controller-" + label + ".log");
  Write(config_file,
        "listen = \"127.0.0.1:0\"\nstore = \"" + store + "\"\nroot = \"" +
            (dir / "root.json").string() + "\"\nadmin_token_file = \"" +
            (dir / "admin-token").string() + "\"\nenroll_token_file = \"" +
            (dir / "enroll-token").string() + "\"\nblob_dir = \"" + (dir / "blobs").string() +
            "\"\n" + setup.tls_config +
            (setup.server_threads.empty() ? "" : "threads = " + setup.server_threads + "\n"));

  // The controller, its log in a file.
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 2, log_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  const std::string config = config_file.string();
  std::vector<char*> args{const_cast<char*>(bin.c_str()), const_cast<char*>("serve"),
                          const_cast<char*>("--config"), const_cast<char*>(config.c_str()),
                          nullptr};
  pid_t pid;
  if (posix_spawn(&pid, bin.c_str(), &fa, nullptr, args.data(), environ) != 0) {
    Die("cannot run " + bin.string());
  }
  g_controller = pid;
  std::uint16_t port = 0;
  for (int i = 0; i < 200 && !port; ++i) {
    const auto log = Read(log_file);
    const auto at = log.find("listening on 127.0.0.1:");
    if (at != std::string::npos)
      port = static_cast<std::uint16_t>(std::atoi(log.c_str() + at + 23));
    else
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  if (!port) Die("controller did not start: " + Read(log_file));

  // A release (its artifact served by the controller itself) and a 50 % rollout.
  const std::string blob(4096, 'b');
  const auto sha = steward::HexEncode(steward::Sha256Of(blob));
  Write(dir / "blobs" / sha, blob);
  const std::string manifest =
      "{\"schema\":\"steward.release/1\",\"component\":\"agent\",\"channel\":\"stable\","
      "\"version\":\"2.0.0\",\"sequence\":1,\"root_version\":1,\"issued_at\":\"" +
      steward::FormatRfc3339(now - std::chrono::hours(1)) + "\",\"expires\":\"" +
      steward::FormatRfc3339(now + std::chrono::hours(24 * 30)) +
      "\",\"artifacts\":{\"linux-x86_64\":{\"url\":\"" + std::string(tls ? "https" : "http") +
      "://127.0.0.1:" + std::to_string(port) + "/v1/artifacts/" + sha +
      "\",\"size\":4096,\"sha256\":\"" + sha + "\",\"format\":\"binary\"}}}";
  {
    Conn c(port);
    std::string body;
    int st = c.Call("POST", "/v1/admin/releases", admin,
                    "{\"manifest\":\"" + Escape(manifest) + "\",\"signatures\":[\"" +
                        Escape(Sign(release_key, manifest)) + "\"]}",
                    body);
    if (st != 201) Die("publish: " + body);
    st = c.Call("PUT", "/v1/admin/rollouts/agent/stable", admin,
                "{\"version\":\"2.0.0\",\"percent\":50}", body);
    if (st != 200) Die("rollout: " + body);
  }

  // Enroll.
  std::vector<std::pair<std::string, std::string>> ids(static_cast<std::size_t>(nodes));
  const auto enroll_start = Clock::now();
  {
    std::vector<std::thread> threads;
    for (int t = 0; t < connections; ++t) {
      threads.emplace_back([&, t] {
        Conn c(port);
        std::string body;
        for (int i = t; i < nodes; i += connections) {
          const int st = c.Call("POST", "/v1/enroll", "",
                                "{\"enroll_token\":\"" + enroll + "\",\"hostname\":\"h" +
                                    std::to_string(i) + "\",\"machine_id\":\"m" +
                                    std::to_string(i) + "\",\"platform\":\"linux-x86_64\"}",
                                body);
          if (st != 200) Die("enroll: " + body);
          auto field = [&](const char* k) {
            const auto a = body.find(std::string("\"") + k + "\":\"") + std::strlen(k) + 4;
            return body.substr(a, body.find('"', a) - a);
          };
          ids[static_cast<std::size_t>(i)] = {field("node_id"), field("node_token")};
        }
      });
    }
    for (auto& th : threads) th.join();
  }
  const double enroll_s = std::chrono::duration<double>(Clock::now() - enroll_start).count();
  std::cout << label << ": enrolled " << nodes << " nodes in " << Fmt(enroll_s, 2) << " s ("
            << Fmt(static_cast<double>(nodes) / enroll_s, 0) << "/s)\n";

  const double cpu0 = CpuSeconds(pid);
  const auto health = RunPhase(port, connections, seconds, [](Conn& c, int, std::size_t) {
    std::string body;
    if (c.Call("GET", "/healthz", "", "", body) != 200) Die("healthz: " + body);
  });
  const double cpu1 = CpuSeconds(pid);
  std::atomic<std::size_t> offered{0};
  const auto checkin = RunPhase(port, connections, seconds, [&](Conn& c, int t, std::size_t i) {
    const auto& [id, token] =
        ids[(static_cast<std::size_t>(t) + i * static_cast<std::size_t>(connections)) % ids.size()];
    std::string body;
    const int st = c.Call(
        "POST", "/v1/checkin", token,
        "{\"node_id\":\"" + id +
            "\",\"updater\":{\"version\":\"0.1.0\"},\"components\":[{\"name\":\"agent\","
            "\"channel\":\"stable\",\"running_version\":\"1.0.0\",\"installed_version\":\"1.0.0\","
            "\"previous_version\":\"0.9.0\",\"desired_state\":\"running\",\"state\":\"running\","
            "\"last_exit\":{\"kind\":\"requested\",\"code\":0,\"signal\":0,\"at\":"
            "\"2026-11-23T15:00:00Z\"},\"restarts\":0,\"crash_loop\":false}],\"host\":{\"os\":"
            "\"linux\",\"arch\":\"x86_64\",\"kernel\":\"6.1.0\",\"uptime_s\":1000}}",
        body);
    if (st != 200) Die("checkin: " + body);
    if (body.find("\"manifest\"") != std::string::npos) ++offered;
  });

  const double cpu2 = CpuSeconds(pid);
  kill(pid, SIGTERM);
  int status = 0;
  waitpid(pid, &status, 0);
  g_controller = -1;
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    const auto log = Read(log_file);
    Die(label + ": the controller did not stop cleanly (" +
        (WIFSIGNALED(status) ? "signal " + std::to_string(WTERMSIG(status))
                             : "exit " + std::to_string(WEXITSTATUS(status))) +
        "); the end of its log:\n" + log.substr(log.size() > 2000 ? log.size() - 2000 : 0));
  }

  std::cout << label << ": healthz:  " << health.requests << " requests, "
            << Fmt(health.per_second, 0) << "/s, p50 " << Fmt(health.p50_ms, 3) << " ms, p99 "
            << Fmt(health.p99_ms, 3) << " ms\n";
  std::cout << label << ": check-in: " << checkin.requests << " requests, "
            << Fmt(checkin.per_second, 0) << "/s, p50 " << Fmt(checkin.p50_ms, 3) << " ms, p99 "
            << Fmt(checkin.p99_ms, 3) << " ms; "
            << Fmt(100.0 * static_cast<double>(offered.load()) /
                       static_cast<double>(std::max<std::size_t>(1, checkin.requests)),
                   1)
            << "% were offered the release (rollout 50%)\n";
  std::cout << label << ": controller CPU per request: healthz "
            << Fmt((cpu1 - cpu0) * 1e6 / static_cast<double>(health.requests), 1)
            << " us, check-in "
            << Fmt((cpu2 - cpu1) * 1e6 / static_cast<double>(checkin.requests), 1)
            << " us; controller used " << Fmt((cpu2 - cpu1) / seconds, 2)
            << " cores during check-ins\n";
  return Measured{health, checkin};
}

}  // namespace

int main(int argc, char** argv) {
  int nodes = 10000;
  double seconds = 10;
  int connections = 8;
  std::string server_threads;  // the controller's `threads`; empty: its default
  bool tls = false;
  std::string store;  // a PostgreSQL store measured after SQLite; "" for none
  const char* kUsage =
      "usage: bench_checkin [--nodes N] [--seconds S] [--connections C] [--threads T] [--tls] "
      "[--store postgresql://…]";
  for (int i = 1; i < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--tls") {
      tls = true;
      --i;
    } else if (i + 1 >= argc) {
      Die(kUsage);
    } else if (a == "--nodes")
      nodes = std::atoi(argv[i + 1]);
    else if (a == "--seconds")
      seconds = std::atof(argv[i + 1]);
    else if (a == "--connections")
      connections = std::atoi(argv[i + 1]);
    else if (a == "--threads")
      server_threads = argv[i + 1];
    else if (a == "--store" && (std::string_view(argv[i + 1]).starts_with("postgresql://") ||
                                std::string_view(argv[i + 1]).starts_with("postgres://")))
      store = argv[i + 1];
    else
      Die(kUsage);
  }
  const auto bin = fs::canonical("/proc/self/exe").parent_path() / "steward-controller";
  char tmpl[] = "/tmp/bench-checkin-XXXXXX";
  if (!mkdtemp(tmpl)) Die("mkdtemp");
  const fs::path dir = tmpl;
  g_dir = dir;

  // Root: one root key, one release key.
  auto root_key = steward::minisign::SecretKey::Generate();
  auto release_key = steward::minisign::SecretKey::Generate();
  const auto now = std::chrono::system_clock::now();
  const std::string root =
      "{\"schema\":\"steward.root/1\",\"version\":1,\"expires\":\"" +
      steward::FormatRfc3339(now + std::chrono::hours(24 * 365)) + "\",\"keys\":{\"root1\":\"" +
      root_key.public_key().ToBase64() + "\",\"rel1\":\"" + release_key.public_key().ToBase64() +
      "\"},\"roles\":{\"root\":{\"keys\":[\"root1\"],\"threshold\":1},\"release\":{\"keys\":["
      "\"rel1\"],\"threshold\":1}}}";
  Write(dir / "root.json", root);
  Write(dir / "root.json.root1.minisig", Sign(root_key, root));
  const std::string admin = "bench-admin-token-0123456789";
  const std::string enroll = "bench-enroll-token-0123456789";
  Write(dir / "admin-token", admin + "\n");
  Write(dir / "enroll-token", enroll + "\n");
  fs::create_directories(dir / "blobs");
  std::string tls_config;
  if (tls) {
    const auto pki = dir / "pki";
    RunOrDie({(bin.parent_path() / "stewardctl").string(), "tls", "init", "--dir", pki.string(),
              "--ip", "127.0.0.1"});
    tls_config = "tls_cert_file = \"" + (pki / "controller.pem").string() +
                 "\"\ntls_key_file = \"" + (pki / "controller.key").string() +
                 "\"\nartifact_ca_file = \"" + (pki / "ca.pem").string() + "\"\n";
    g_tls = SSL_CTX_new(TLS_client_method());
    if (g_tls == nullptr ||
        SSL_CTX_load_verify_locations(g_tls, (pki / "ca.pem").c_str(), nullptr) != 1) {
      Die("cannot set up the TLS client");
    }
    SSL_CTX_set_verify(g_tls, SSL_VERIFY_PEER, nullptr);
  }
  const Setup setup{dir,         bin,         admin,      enroll,
                    release_key, now,         tls_config, server_threads,
                    nodes,       connections, seconds};
  const auto sqlite = Measure(setup, "sqlite:" + (dir / "c.db").string(), "sqlite");
  const auto& health = sqlite.health;
  const auto& checkin = sqlite.checkin;
  std::cout << "BENCH\tcheckins_per_s\t" << Fmt(checkin.per_second, 0) << "\t"
            << Fmt(health.per_second, 0) << "\t" << Fmt(checkin.per_second / health.per_second, 2)
            << "\t>=5000/s and ratio>=0.5\n";
  std::cout << "BENCH\tcheckin_p50_ms\t" << Fmt(checkin.p50_ms, 3) << "\t" << Fmt(health.p50_ms, 3)
            << "\t" << Fmt(checkin.p50_ms / health.p50_ms, 2) << "\t-\n";
  std::cout << "BENCH\tcheckin_p99_ms\t" << Fmt(checkin.p99_ms, 3) << "\t" << Fmt(health.p99_ms, 3)
            << "\t" << Fmt(checkin.p99_ms / health.p99_ms, 2) << "\t-\n";
  if (!store.empty()) {
    const auto other = Measure(setup, store, "postgresql");
    std::cout << "BENCH\tcheckins_per_s_postgresql\t" << Fmt(other.checkin.per_second, 0) << "\t"
              << Fmt(checkin.per_second, 0) << "\t"
              << Fmt(other.checkin.per_second / checkin.per_second, 2) << "\t>=0.7x sqlite\n";
    std::cout << "BENCH\tcheckin_p99_ms_postgresql\t" << Fmt(other.checkin.p99_ms, 3) << "\t"
              << Fmt(checkin.p99_ms, 3) << "\t" << Fmt(other.checkin.p99_ms / checkin.p99_ms, 2)
              << "\t-\n";
  }
  std::error_code ec;
  fs::remove_all(dir, ec);
  return 0;
}
