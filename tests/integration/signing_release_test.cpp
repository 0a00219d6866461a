// The operator's release flow with the real stewardctl: root.json signed by root keys, rotated
// to a new version, a manifest created and signed (also with plain `minisign -S`), and
// `release verify` saying why a manifest fails.
#include <gtest/gtest.h>
#include <unistd.h>

#include "common/codes.hpp"
#include "common/files.hpp"
#include "common/platform.hpp"
#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

namespace steward::test {
namespace {

class SigningRelease : public ::testing::Test {
 protected:
  RunResult Ctl(std::vector<std::string> args) {
    args.insert(args.begin(), Bin("stewardctl"));
    return RunProgram(args);
  }
  std::string P(const std::string& name) { return (dir_ / name).string(); }
  void Key(const std::string& name) {
    auto r =
        Ctl({"key", "generate", "-p", P(name + ".pub"), "-s", P(name + ".key"), "--no-password"});
    ASSERT_EQ(r.status.code(), 0) << r.err;
  }
  void SignAs(const std::string& label, const std::string& file) {
    auto r = Ctl({"sign", "-s", P(label + ".key"), "--label", label, P(file)});
    ASSERT_EQ(r.status.code(), 0) << r.err;
  }
  void Init(const std::string& out, std::vector<std::string> root_labels, int version) {
    std::vector<std::string> args = {"root", "init"};
    for (const auto& l : root_labels) {
      args.push_back("--root-key");
      args.push_back(l + "=" + P(l + ".pub"));
    }
    for (const auto& a : std::vector<std::string>{
             "--root-threshold", "2", "--release-key", "k0=" + P("k0.pub"), "--release-key",
             "k1=" + P("k1.pub"), "--release-threshold", "2", "--expires", "365d", "--version",
             std::to_string(version), "-o", P(out)}) {
      args.push_back(a);
    }
    auto r = Ctl(args);
    ASSERT_EQ(r.status.code(), 0) << r.err;
  }
  TempDir dir_;
};

TEST_F(SigningRelease, RootRotationAndReleaseVerify) {
  for (auto n : {"r0", "r1", "r2", "n0", "k0", "k1"}) Key(n);
  Init("root.json", {"r0", "r1", "r2"}, 1);
  SignAs("r0", "root.json");
  SignAs("r1", "root.json");
  auto v1 = Ctl({"root", "verify", P("root.json")});
  ASSERT_EQ(v1.status.code(), 0) << v1.err;

  // Version 2 replaces r2 with n0; it needs 2 of the old root keys and 2 of its own.
  Init("root2.json", {"r0", "r1", "n0"}, 2);
  SignAs("n0", "root2.json");
  SignAs("r2", "root2.json");
  auto half = Ctl({"root", "verify", "--previous", P("root.json"), P("root2.json")});
  EXPECT_EQ(half.status.code(), exit_code::kDataError);
  EXPECT_NE(half.err.find("threshold_not_met"), std::string::npos) << half.err;
  SignAs("r0", "root2.json");
  auto rotated = Ctl({"root", "verify", "--previous", P("root.json"), P("root2.json")});
  EXPECT_EQ(rotated.status.code(), 0) << rotated.err;
  auto skipped = Ctl({"root", "verify", "--previous", P("root2.json"), P("root2.json")});
  EXPECT_EQ(skipped.status.code(), exit_code::kDataError);
  EXPECT_NE(skipped.err.find("root_rotation"), std::string::npos) << skipped.err;

  const std::string platform(HostPlatform());
  dir_.Write("agent", "ELF-ish bytes");
  auto create = Ctl({"release",
                     "create",
                     "--component",
                     "agent",
                     "--channel",
                     "stable",
                     "--version",
                     "2.0.0",
                     "--sequence",
                     "7",
                     "--root-version",
                     "2",
                     "--artifact",
                     platform + "=" + P("agent"),
                     "--url",
                     platform + "=http://127.0.0.1/agent",
                     "--expires",
                     "7d",
                     "-o",
                     P("m.json")});
  ASSERT_EQ(create.status.code(), 0) << create.err;
  SignAs("k0", "m.json");
  // A release engineer signs with plain minisign: the same file name convention.
  if (::access("/usr/bin/minisign", X_OK) == 0) {
    auto ms = RunProgram({"/usr/bin/minisign", "-S", "-s", P("k1.key"), "-m", P("m.json"), "-x",
                          P("m.json.k1.minisig")});
    ASSERT_EQ(ms.status.code(), 0) << ms.err;
  } else {
    SignAs("k1", "m.json");
  }
  auto old_root = Ctl({"release", "verify", "--root", P("root.json"), P("m.json")});
  EXPECT_EQ(old_root.status.code(), exit_code::kDataError);
  EXPECT_NE(old_root.err.find("root_version_mismatch"), std::string::npos) << old_root.err;
  auto ok = Ctl({"release", "verify", "--root", P("root2.json"), "--component", "agent",
                 "--channel", "stable", "--platform", platform, P("m.json")});
  ASSERT_EQ(ok.status.code(), 0) << ok.err;
  EXPECT_NE(ok.out.find("verified agent 2.0.0 on stable, sequence 7"), std::string::npos) << ok.out;
  auto channel =
      Ctl({"release", "verify", "--root", P("root2.json"), "--channel", "beta", P("m.json")});
  EXPECT_EQ(channel.status.code(), exit_code::kDataError);
  EXPECT_NE(channel.err.find("channel_mismatch"), std::string::npos) << channel.err;

  // One changed byte in the manifest: the signatures no longer match.
  auto text = *files::ReadFile(P("m.json"), 1 << 20);
  text.replace(text.find("\"sequence\": 7"), 13, "\"sequence\": 8");
  dir_.Write("m.json", text);
  auto tampered = Ctl({"release", "verify", "--root", P("root2.json"), P("m.json")});
  EXPECT_EQ(tampered.status.code(), exit_code::kDataError);
  EXPECT_NE(tampered.err.find("sig_invalid"), std::string::npos) << tampered.err;

  // Oversize manifests are refused before anything else is read.
  dir_.Write("big.json", std::string(300 * 1024, ' '));
  auto big = Ctl({"release", "verify", "--root", P("root2.json"), P("big.json")});
  EXPECT_EQ(big.status.code(), exit_code::kDataError);
  EXPECT_NE(big.err.find("manifest_too_large"), std::string::npos) << big.err;
}

}  // namespace
}  // namespace steward::test
