// The controller on HTTPS with a fleet CA made by `stewardctl tls init`: the updater's
// enrollment, check-in and artifact download over TLS; each way a connection is refused, with
// its code (unknown CA, wrong host name, expired certificate, plain HTTP to the TLS port, TLS
// to a plain port, TLS 1.1, non-AEAD ciphers); the certificate replaced by SIGHUP while
// connections stay up, and a bad pair refused on reload; stewardctl with --ca-file.
#include <gtest/gtest.h>

#include <atomic>
#include <csignal>
#include <filesystem>
#include <thread>

#include "cli/tls.hpp"
#include "tests/integration/controller_support.hpp"
#include "updater/checkin.hpp"

namespace steward::test {
namespace {

namespace fs = std::filesystem;

// A fleet CA in a temp dir with a controller certificate for localhost and 127.0.0.1.
struct Pki {
  TempDir dir;
  explicit Pki(const std::vector<std::string>& names = {"--name", "localhost", "--ip",
                                                        "127.0.0.1"}) {
    std::vector<std::string> argv{Bin("stewardctl"), "tls", "init", "--dir", dir.path().string()};
    argv.insert(argv.end(), names.begin(), names.end());
    auto r = RunProgram(argv);
    EXPECT_TRUE(r.status.exited() && r.status.code() == 0) << r.err;
  }
  std::string ca() const { return (dir / "ca.pem").string(); }
  std::string cert() const { return (dir / "controller.pem").string(); }
  std::string key() const { return (dir / "controller.key").string(); }
  std::string Config() const {
    return "tls_cert_file = \"" + cert() + "\"\ntls_key_file = \"" + key() +
           "\"\nartifact_ca_file = \"" + ca() + "\"\n";
  }
};

// The updater's controller client trusting `ca`.
updater::Config UpdaterConfig(const TempDir& state_dir, const std::string& url, const Controller& c,
                              const std::string& ca) {
  updater::Config config;
  config.path = (state_dir / "updater.toml").string();
  config.state_dir = state_dir.path().string();
  config.controller.emplace();
  config.controller->urls = {url};
  config.controller->enroll_token_file = (c.dir / "enroll-token").string();
  config.controller->ca_file = ca;
  return config;
}

std::vector<updater::ComponentReport> Agent(const std::string& running) {
  updater::ComponentReport r;
  r.name = "agent";
  r.channel = "stable";
  r.running_version = r.installed_version = running;
  r.desired_state = r.state = "running";
  return {r};
}

// GET `url` trusting `ca`: the error code, or "" for a 200.
std::string Fetch(const std::string& url, const std::string& ca) {
  http::ClientOptions o;
  o.ca_file = ca;
  http::Client client(o);
  auto r = client.Get(url);
  if (!r) return std::string(ErrorCodeName(r.error().code)) + ": " + r.error().message;
  return r->status == 200 ? "" : "status " + std::to_string(r->status);
}

std::string CodeOf(const std::string& fetched) { return fetched.substr(0, fetched.find(':')); }

std::string Port(const std::string& url) { return url.substr(url.rfind(':') + 1); }

class ControllerTls : public ::testing::Test {
 protected:
  void SetUp() override {
    c_.ca_file = pki_.ca();
    c_.Start();
    ASSERT_TRUE(c_.url.starts_with("https://127.0.0.1:")) << c_.url;
  }
  Pki pki_;
  Controller c_{pki_.Config()};
};

TEST_F(ControllerTls, UpdaterEnrollsChecksInAndDownloadsOverHttps) {
  c_.PublishVersion("agent", "stable", "1.1.0", 1);
  ASSERT_EQ(
      c_.Admin("PUT", "rollouts/agent/stable", json{{"version", "1.1.0"}, {"percent", 100}}).status,
      200);
  TempDir state_dir;
  updater::CheckinClient client(UpdaterConfig(state_dir, c_.url, c_, pki_.ca()), "0.1.0");
  updater::CheckinState state;
  auto answer = client.CheckIn(state, Agent("1.0.0"));
  ASSERT_TRUE(answer) << answer.error().ToString();
  EXPECT_FALSE(state.node_id.empty());
  ASSERT_EQ(answer->releases.size(), 1u);
  const auto url = c_.url + "/v1/artifacts/" + HexEncode(Sha256Of("binary of 1.1.0"));
  http::ClientOptions o;
  o.ca_file = pki_.ca();
  http::Client download(o);
  auto bytes = download.Get(url);
  ASSERT_TRUE(bytes) << bytes.error().ToString();
  EXPECT_EQ(bytes->body, "binary of 1.1.0");
}

TEST_F(ControllerTls, RefusalsCarryTheirCodes) {
  Pki other;
  EXPECT_EQ(CodeOf(Fetch(c_.url + "/healthz", other.ca())), "tls_untrusted");
  EXPECT_EQ(CodeOf(Fetch(c_.url + "/healthz", "")), "tls_untrusted");
  EXPECT_EQ(CodeOf(Fetch(c_.url + "/healthz", (pki_.dir / "missing.pem").string())), "tls_ca_file");
  // Plain HTTP to the TLS port gets no answer; it is never served.
  EXPECT_EQ(CodeOf(Fetch("http://127.0.0.1:" + Port(c_.url) + "/healthz", pki_.ca())),
            "http_transport");
  EXPECT_EQ(Fetch(c_.url + "/healthz", pki_.ca()), "");
  EXPECT_EQ(Fetch("https://localhost:" + Port(c_.url) + "/healthz", pki_.ca()), "");
}

TEST(ControllerTlsNames, WrongHostNameIsRefused) {
  Pki pki({"--name", "controller.example"});
  Controller c(pki.Config());
  c.Start();
  EXPECT_EQ(CodeOf(Fetch(c.url + "/healthz", pki.ca())), "tls_hostname") << c.url;
}

TEST(ControllerTlsNames, ExpiredCertificateIsRefused) {
  Pki pki;
  cli::tls::ServerCertSpec spec;
  spec.ips = {"127.0.0.1"};
  spec.days = 1;
  spec.not_before = std::chrono::system_clock::now() - std::chrono::hours(24 * 3);
  ASSERT_TRUE(cli::tls::IssueServerCert(pki.dir.path().string(), spec, pki.dir.path().string()));
  Controller c(pki.Config());
  c.Start();
  EXPECT_TRUE(c.proc->WaitForOutput("has expired", 20s)) << c.proc->Stderr();
  EXPECT_EQ(CodeOf(Fetch(c.url + "/healthz", pki.ca())), "tls_expired");
}

TEST(ControllerTlsNames, ABadPairStopsTheStartAndCheckConfigNamesTheFile) {
  Pki pki;
  Controller c(pki.Config());
  auto ok = RunProgram({Bin("steward-controller"), "check-config", "--config", c.config()});
  EXPECT_EQ(ok.status.code(), 0) << ok.err;
  EXPECT_NE(ok.out.find("tls = " + pki.cert()), std::string::npos) << ok.out;

  ASSERT_TRUE(files::AtomicWrite(pki.key(), files::ReadFile(pki.dir / "ca.key", 1 << 20).value()));
  auto check = RunProgram({Bin("steward-controller"), "check-config", "--config", c.config()});
  EXPECT_EQ(check.status.code(), 78);
  EXPECT_NE(check.err.find("tls_key_file " + pki.key() + " is not the key of the certificate"),
            std::string::npos)
      << check.err;
  auto serve = RunProgram({Bin("steward-controller"), "serve", "--config", c.config()});
  EXPECT_EQ(serve.status.code(), 78);
  EXPECT_NE(serve.err.find(pki.key()), std::string::npos) << serve.err;
}

TEST(ControllerTlsNames, TlsToAPlainPortIsAHandshakeError) {
  Controller c;
  c.Start();
  Pki pki;
  EXPECT_EQ(CodeOf(Fetch("https://127.0.0.1:" + Port(c.url) + "/healthz", pki.ca())),
            "tls_handshake");
}

TEST_F(ControllerTls, OldProtocolsAndCiphersAreRefused) {
  auto s_client = [&](std::vector<std::string> extra) {
    std::vector<std::string> argv{"/usr/bin/openssl",          "s_client", "-connect",
                                  "127.0.0.1:" + Port(c_.url), "-CAfile",  pki_.ca()};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return RunProgram(argv, {}, 30s);
  };
  auto ok = s_client({"-tls1_2"});
  EXPECT_EQ(ok.status.code(), 0) << ok.out << ok.err;
  EXPECT_NE(ok.out.find("Verify return code: 0 (ok)"), std::string::npos) << ok.out;
  for (const auto& old : {"-tls1", "-tls1_1"}) {
    auto r = s_client({old, "-cipher", "DEFAULT@SECLEVEL=0"});
    EXPECT_NE(r.status.code(), 0) << old << "\n" << r.out;
  }
  auto cbc = s_client({"-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-SHA256:ECDHE-ECDSA-AES128-SHA"});
  EXPECT_NE(cbc.status.code(), 0) << cbc.out;
}

TEST_F(ControllerTls, SighupReplacesTheCertificateAndKeepsItOnABadPair) {
  // A connection open before the reload keeps working: the client reuses it.
  http::ClientOptions o;
  o.ca_file = pki_.ca();
  http::Client kept(o);
  ASSERT_TRUE(kept.Get(c_.url + "/healthz"));

  // Check-ins on new connections all along, trusting the old CA and the next one.
  Pki next;
  c_.ca_file = pki_.dir.Write("both.pem", files::ReadFile(pki_.ca(), 1 << 20).value() +
                                              files::ReadFile(next.ca(), 1 << 20).value());
  const auto node = c_.Enroll("m1");
  std::atomic<bool> stop{false};
  std::atomic<int> ok{0}, failed{0};
  std::thread load([&] {
    while (!stop) (c_.Checkin(node, json::array()).status == 200 ? ok : failed)++;
  });
  auto more_checkins = [&] {
    const int from = ok;
    return Eventually([&] { return ok >= from + 20; }, 20s);
  };
  EXPECT_TRUE(more_checkins());

  // The controller gets a certificate from the next CA, written over the files it serves.
  // (EXPECT only from here on: the load thread must be joined.)
  EXPECT_TRUE(RunProgram({Bin("stewardctl"), "tls", "issue", "--ca-dir", next.dir.path().string(),
                          "--ip", "127.0.0.1", "--out", pki_.dir.path().string()})
                  .status.code() == 0);
  c_.proc->Signal(SIGHUP);
  EXPECT_TRUE(c_.proc->WaitForOutput("reloaded the TLS certificate", 20s)) << c_.proc->Stderr();
  EXPECT_TRUE(more_checkins());
  EXPECT_EQ(CodeOf(Fetch(c_.url + "/healthz", pki_.ca())), "tls_untrusted");
  EXPECT_EQ(Fetch(c_.url + "/healthz", next.ca()), "");
  auto again = kept.Get(c_.url + "/healthz");
  EXPECT_TRUE(again && again->status == 200) << (again ? "" : again.error().ToString());

  // A key that does not belong to the certificate: refused, the pair in use stays.
  EXPECT_TRUE(
      files::AtomicWrite(pki_.key(), files::ReadFile(pki_.dir / "ca.key", 1 << 20).value()));
  c_.proc->Signal(SIGHUP);
  EXPECT_TRUE(c_.proc->WaitForOutput("refused, the old one stays", 20s)) << c_.proc->Stderr();
  EXPECT_NE(c_.proc->Stderr().find(pki_.key()), std::string::npos);
  EXPECT_TRUE(more_checkins());
  EXPECT_EQ(Fetch(c_.url + "/healthz", next.ca()), "");
  stop = true;
  load.join();
  EXPECT_EQ(failed, 0);
}

TEST_F(ControllerTls, StewardctlTrustsTheCaFileItIsGiven) {
  const std::vector<std::string> argv{Bin("stewardctl"),
                                      "nodes",
                                      "list",
                                      "--controller",
                                      c_.url,
                                      "--token-file",
                                      (c_.dir / "admin-token").string()};
  auto with_flag = argv;
  with_flag.insert(with_flag.end(), {"--ca-file", pki_.ca()});
  auto r = RunProgram(with_flag);
  EXPECT_EQ(r.status.code(), 0) << r.err;
  Child::Options env;
  env.env["STEWARD_CA_FILE"] = pki_.ca();
  r = RunProgram(argv, env);
  EXPECT_EQ(r.status.code(), 0) << r.err;
  r = RunProgram(argv);
  EXPECT_NE(r.status.code(), 0);
  EXPECT_NE(r.err.find("tls_untrusted"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace steward::test
