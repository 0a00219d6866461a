#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>

#include "cli/cli_main.hpp"
#include "common/files.hpp"
#include "common/platform.hpp"
#include "tests/support/temp_dir.hpp"

namespace steward::cli {
namespace {

struct Run {
  int code;
  std::string out;
  std::string err;
};

Run Ctl(std::vector<std::string> args) {
  args.insert(args.begin(), "stewardctl");
  testing::internal::CaptureStdout();
  testing::internal::CaptureStderr();
  const int code = Main(args);
  Run r{code, testing::internal::GetCapturedStdout(), testing::internal::GetCapturedStderr()};
  return r;
}

std::string Read(const std::filesystem::path& p) { return *files::ReadFile(p, 1 << 20); }

class CliSigning : public ::testing::Test {
 protected:
  std::string P(const std::string& name) { return (dir_ / name).string(); }
  void Key(const std::string& name) {
    auto r =
        Ctl({"key", "generate", "-p", P(name + ".pub"), "-s", P(name + ".key"), "--no-password"});
    ASSERT_EQ(r.code, 0) << r.err;
  }
  test::TempDir dir_;
};

TEST_F(CliSigning, GenerateSignVerify) {
  Key("alice");
  struct stat st {};
  ASSERT_EQ(::stat(P("alice.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_TRUE(Read(P("alice.pub")).starts_with("untrusted comment: minisign public key "));
  dir_.Write("data", "some bytes");
  auto s = Ctl({"sign", "-s", P("alice.key"), "-t", "release 7", P("data")});
  ASSERT_EQ(s.code, 0) << s.err;
  auto v = Ctl({"verify", "-p", P("alice.pub"), P("data")});
  ASSERT_EQ(v.code, 0) << v.err;
  EXPECT_NE(v.out.find("Trusted comment: release 7"), std::string::npos) << v.out;

  dir_.Write("data", "some bytez");
  auto bad = Ctl({"verify", "-p", P("alice.pub"), P("data")});
  EXPECT_EQ(bad.code, exit_code::kDataError);
  EXPECT_NE(bad.err.find("sig_invalid"), std::string::npos) << bad.err;
}

TEST_F(CliSigning, OversizeKeysAndSignaturesAreDataErrors) {
  Key("a");
  dir_.Write("data", "x");
  ASSERT_EQ(Ctl({"sign", "-s", P("a.key"), P("data")}).code, 0);
  dir_.Write("huge.pub", std::string(64 * 1024, 'A'));
  auto key = Ctl({"verify", "-p", P("huge.pub"), P("data")});
  EXPECT_EQ(key.code, exit_code::kDataError);
  EXPECT_NE(key.err.find("key_malformed"), std::string::npos) << key.err;
  dir_.Write("data.minisig", std::string(64 * 1024, 'A'));
  auto sig = Ctl({"verify", "-p", P("a.pub"), P("data")});
  EXPECT_EQ(sig.code, exit_code::kDataError);
  EXPECT_NE(sig.err.find("sig_malformed"), std::string::npos) << sig.err;
}

TEST_F(CliSigning, DefaultTrustedCommentLikeMinisign) {
  Key("a");
  dir_.Write("file.bin", "x");
  ASSERT_EQ(Ctl({"sign", "-s", P("a.key"), "-x", P("sig"), P("file.bin")}).code, 0);
  const auto sig = Read(P("sig"));
  EXPECT_NE(sig.find("trusted comment: timestamp:"), std::string::npos) << sig;
  EXPECT_NE(sig.find("\tfile:file.bin\thashed\n"), std::string::npos) << sig;
}

TEST_F(CliSigning, RefusesToOverwriteKeys) {
  Key("a");
  const auto before = Read(P("a.key"));
  auto again = Ctl({"key", "generate", "-p", P("a.pub"), "-s", P("a.key"), "--no-password"});
  EXPECT_NE(again.code, 0);
  EXPECT_NE(again.err.find("--force"), std::string::npos) << again.err;
  EXPECT_EQ(Read(P("a.key")), before);
}

TEST_F(CliSigning, EncryptedKeyPasswordHandling) {
  dir_.Write("pw", "hunter2\n");
  dir_.Write("wrong", "hunter3\n");
  ASSERT_EQ(Ctl({"key", "generate", "-p", P("e.pub"), "-s", P("e.key"), "--password-file", P("pw"),
                 "--kdf", "interactive"})
                .code,
            0);
  dir_.Write("data", "d");
  auto wrong = Ctl({"sign", "-s", P("e.key"), "--password-file", P("wrong"), P("data")});
  EXPECT_EQ(wrong.code, exit_code::kDataError);
  EXPECT_NE(wrong.err.find("wrong password"), std::string::npos) << wrong.err;
  auto right = Ctl({"sign", "-s", P("e.key"), "--password-file", P("pw"), P("data")});
  EXPECT_EQ(right.code, 0) << right.err;
  EXPECT_EQ(Ctl({"verify", "-p", P("e.pub"), P("data")}).code, 0);
  auto both = Ctl({"key", "generate", "-p", P("x.pub"), "-s", P("x.key"), "--no-password",
                   "--password-file", P("pw")});
  EXPECT_EQ(both.code, exit_code::kUsage);
}

TEST_F(CliSigning, UsageErrorsAndHelp) {
  EXPECT_EQ(Ctl({"sign"}).code, exit_code::kUsage);
  EXPECT_EQ(Ctl({"verify", "-p", P("missing.pub")}).code, exit_code::kUsage);
  for (auto cmd : std::vector<std::vector<std::string>>{{"key", "generate"},
                                                        {"sign"},
                                                        {"verify"},
                                                        {"root", "init"},
                                                        {"root", "verify"},
                                                        {"release", "create"},
                                                        {"release", "verify"}}) {
    cmd.push_back("--help");
    auto r = Ctl(cmd);
    EXPECT_EQ(r.code, 0) << cmd[0];
    EXPECT_NE(r.out.find("Usage"), std::string::npos) << r.out;
  }
  auto missing = Ctl({"verify", "-p", P("missing.pub"), P("data")});
  EXPECT_NE(missing.code, 0);
  EXPECT_NE(missing.err.find("missing.pub"), std::string::npos) << missing.err;
}

TEST_F(CliSigning, RootAndReleaseFlow) {
  for (auto n : {"r0", "r1", "k0", "k1"}) Key(n);
  auto init = Ctl({"root", "init", "--root-key", "r0=" + P("r0.pub"), "--root-key",
                   "r1=" + P("r1.pub"), "--root-threshold", "2", "--release-key",
                   "k0=" + P("k0.pub"), "--release-key", "k1=" + P("k1.pub"), "--release-threshold",
                   "2", "--expires", "365d", "-o", P("root.json")});
  ASSERT_EQ(init.code, 0) << init.err;
  auto unsigned_root = Ctl({"root", "verify", P("root.json")});
  EXPECT_EQ(unsigned_root.code, exit_code::kDataError);
  EXPECT_NE(unsigned_root.err.find("threshold_not_met"), std::string::npos) << unsigned_root.err;
  for (auto n : {"r0", "r1"}) {
    ASSERT_EQ(Ctl({"sign", "-s", P(std::string(n) + ".key"), "--label", n, P("root.json")}).code,
              0);
  }
  auto root_ok = Ctl({"root", "verify", P("root.json")});
  EXPECT_EQ(root_ok.code, 0) << root_ok.err;

  dir_.Write("agent", std::string(1000, 'A'));
  const std::string platform(HostPlatform());
  auto create = Ctl({"release",
                     "create",
                     "--component",
                     "agent",
                     "--channel",
                     "stable",
                     "--version",
                     "1.4.2",
                     "--sequence",
                     "42",
                     "--artifact",
                     platform + "=" + P("agent"),
                     "--url",
                     platform + "=https://cdn.example/a",
                     "--mirror",
                     platform + "=https://mirror.example/a",
                     "--expires",
                     "30d",
                     "--min-updater-version",
                     "1.0.0",
                     "-o",
                     P("m.json")});
  ASSERT_EQ(create.code, 0) << create.err;
  const auto manifest = Read(P("m.json"));
  EXPECT_NE(manifest.find("\"size\": 1000"), std::string::npos) << manifest;
  EXPECT_NE(manifest.find("\"sha256\": \"c2e686823489ced2"), std::string::npos) << manifest;

  ASSERT_EQ(Ctl({"sign", "-s", P("k0.key"), "--label", "k0", P("m.json")}).code, 0);
  auto one = Ctl({"release", "verify", "--root", P("root.json"), P("m.json")});
  EXPECT_EQ(one.code, exit_code::kDataError);
  EXPECT_NE(one.err.find("1 of the 2"), std::string::npos) << one.err;
  ASSERT_EQ(Ctl({"sign", "-s", P("k1.key"), "--label", "k1", P("m.json")}).code, 0);
  auto ok = Ctl({"release", "verify", "--root", P("root.json"), "--platform", platform,
                 "--component", "agent", P("m.json")});
  ASSERT_EQ(ok.code, 0) << ok.err;
  EXPECT_NE(ok.out.find("signed by k0, k1"), std::string::npos) << ok.out;
  auto wrong_platform =
      Ctl({"release", "verify", "--root", P("root.json"), "--platform", "plan9-mips", P("m.json")});
  EXPECT_EQ(wrong_platform.code, exit_code::kDataError);
  EXPECT_NE(wrong_platform.err.find("platform_missing"), std::string::npos);
  auto too_old = Ctl({"release", "verify", "--root", P("root.json"), "--updater-version", "0.9.0",
                      P("m.json"), P("m.json.k0.minisig"), P("m.json.k1.minisig")});
  EXPECT_EQ(too_old.code, exit_code::kDataError);
  EXPECT_NE(too_old.err.find("updater_too_old"), std::string::npos) << too_old.err;
}

TEST_F(CliSigning, RootInitRejectsBadThresholds) {
  Key("r0");
  Key("k0");
  for (auto threshold : {"0", "2"}) {
    auto r = Ctl({"root", "init", "--root-key", "r0=" + P("r0.pub"), "--root-threshold", threshold,
                  "--release-key", "k0=" + P("k0.pub"), "--release-threshold", "1", "--expires",
                  "1d", "-o", P("root.json")});
    EXPECT_EQ(r.code, exit_code::kDataError) << threshold;
    EXPECT_NE(r.err.find("outside 1..1"), std::string::npos) << r.err;
    EXPECT_FALSE(std::filesystem::exists(P("root.json")));
  }
  auto same_key = Ctl({"root", "init", "--root-key", "r0=" + P("r0.pub"), "--root-threshold", "1",
                       "--release-key", "k0=" + P("r0.pub"), "--release-threshold", "1",
                       "--expires", "1d", "-o", P("root.json")});
  EXPECT_EQ(same_key.code, exit_code::kDataError);
  EXPECT_NE(same_key.err.find("same public key twice"), std::string::npos) << same_key.err;
}

TEST_F(CliSigning, ReleaseCreateValidatesItsInputs) {
  dir_.Write("bin", "x");
  auto no_url =
      Ctl({"release", "create", "--component", "agent", "--channel", "stable", "--version", "1.0.0",
           "--sequence", "1", "--artifact", "linux-x86_64=" + P("bin"), "--url",
           "linux-aarch64=https://x/y", "--expires", "1d", "-o", P("m.json")});
  EXPECT_EQ(no_url.code, exit_code::kUsage);
  auto bad_version =
      Ctl({"release", "create", "--component", "agent", "--channel", "stable", "--version", "one",
           "--sequence", "1", "--artifact", "linux-x86_64=" + P("bin"), "--url",
           "linux-x86_64=https://x/y", "--expires", "1d", "-o", P("m.json")});
  EXPECT_NE(bad_version.code, 0);
  EXPECT_NE(bad_version.err.find("semantic version"), std::string::npos) << bad_version.err;
  auto bad_component =
      Ctl({"release", "create", "--component", "Agent!", "--channel", "stable", "--version",
           "1.0.0", "--sequence", "1", "--artifact", "linux-x86_64=" + P("bin"), "--url",
           "linux-x86_64=https://x/y", "--expires", "1d", "-o", P("m.json")});
  EXPECT_EQ(bad_component.code, exit_code::kDataError);
  EXPECT_NE(bad_component.err.find("component name"), std::string::npos) << bad_component.err;
  EXPECT_FALSE(std::filesystem::exists(P("m.json")));
}

}  // namespace
}  // namespace steward::cli
