// Interoperability with the real `minisign` (0.11) both ways: keys, encrypted keys and
// signatures made by either tool are accepted by the other, and by the library.
#include <gtest/gtest.h>
#include <unistd.h>

#include "common/codes.hpp"
#include "common/files.hpp"
#include "common/minisign.hpp"
#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

namespace steward::test {
namespace {

const std::string kMinisign = "/usr/bin/minisign";

bool HaveMinisign() { return ::access(kMinisign.c_str(), X_OK) == 0; }

#define REQUIRE_MINISIGN() \
  if (!HaveMinisign()) GTEST_SKIP() << "minisign is not installed (apt-get install minisign)"

// Runs a shell pipeline, for feeding passwords to minisign on its standard input.
RunResult Sh(const std::string& script) { return RunProgram({"/bin/sh", "-c", script}); }

std::string Q(const std::filesystem::path& p) { return "'" + p.string() + "'"; }

class SigningInterop : public ::testing::Test {
 protected:
  void SetUp() override {
    data_ = dir_.Write("release.bin", std::string(100000, 'r') + "end");
    dir_.Write("pw", "s3cret pass\n");
  }
  TempDir dir_;
  std::string data_;
};

TEST_F(SigningInterop, MinisignSignsStewardctlVerifies) {
  REQUIRE_MINISIGN();
  auto gen = RunProgram({kMinisign, "-G", "-W", "-p", dir_ / "m.pub", "-s", dir_ / "m.key"});
  ASSERT_EQ(gen.status.code(), 0) << gen.err;
  auto sign =
      RunProgram({kMinisign, "-S", "-s", dir_ / "m.key", "-m", data_, "-t", "minisign made this"});
  ASSERT_EQ(sign.status.code(), 0) << sign.err;
  auto verify = RunProgram({Bin("stewardctl"), "verify", "-p", dir_ / "m.pub", data_});
  ASSERT_EQ(verify.status.code(), 0) << verify.err;
  EXPECT_NE(verify.out.find("Trusted comment: minisign made this"), std::string::npos);

  // The library agrees, from the same files.
  auto pk = minisign::ParsePublicKeyFile(*files::ReadFile(dir_ / "m.pub", 4096));
  auto sig = minisign::ParseSignatureFile(*files::ReadFile(data_ + ".minisig", 16384));
  ASSERT_TRUE(pk && sig);
  auto comment = minisign::VerifyFile(*pk, *sig, data_);
  ASSERT_TRUE(comment) << comment.error().ToString();
  EXPECT_EQ(*comment, "minisign made this");

  // A tampered file fails in both tools.
  dir_.Write("release.bin", std::string(100000, 'r') + "enD");
  auto ours = RunProgram({Bin("stewardctl"), "verify", "-p", dir_ / "m.pub", data_});
  EXPECT_EQ(ours.status.code(), exit_code::kDataError);
  EXPECT_NE(ours.err.find("sig_invalid"), std::string::npos) << ours.err;
  EXPECT_NE(RunProgram({kMinisign, "-V", "-p", dir_ / "m.pub", "-m", data_}).status.code(), 0);
}

TEST_F(SigningInterop, StewardctlSignsMinisignVerifies) {
  REQUIRE_MINISIGN();
  auto gen = RunProgram({Bin("stewardctl"), "key", "generate", "-p", dir_ / "s.pub", "-s",
                         dir_ / "s.key", "--no-password"});
  ASSERT_EQ(gen.status.code(), 0) << gen.err;
  auto sign = RunProgram({Bin("stewardctl"), "sign", "-s", dir_ / "s.key", "-t", "ours", data_});
  ASSERT_EQ(sign.status.code(), 0) << sign.err;
  auto verify = RunProgram({kMinisign, "-V", "-p", dir_ / "s.pub", "-m", data_});
  ASSERT_EQ(verify.status.code(), 0) << verify.err << verify.out;
  EXPECT_NE(verify.out.find("Trusted comment: ours"), std::string::npos) << verify.out;
  // minisign also requires the prehashed form on request (-H): ours is prehashed.
  EXPECT_EQ(RunProgram({kMinisign, "-V", "-H", "-p", dir_ / "s.pub", "-m", data_}).status.code(),
            0);
  // And minisign signs with a key stewardctl generated.
  auto msign = RunProgram({kMinisign, "-S", "-s", dir_ / "s.key", "-m", data_, "-x",
                           dir_ / "by-minisign.sig", "-t", "theirs"});
  ASSERT_EQ(msign.status.code(), 0) << msign.err;
  auto back = RunProgram(
      {Bin("stewardctl"), "verify", "-p", dir_ / "s.pub", "-x", dir_ / "by-minisign.sig", data_});
  EXPECT_EQ(back.status.code(), 0) << back.err;
}

TEST_F(SigningInterop, EncryptedKeysWorkBothWays) {
  REQUIRE_MINISIGN();
  // minisign's own encrypted key (scrypt at minisign's "sensitive" cost), used by stewardctl.
  auto gen = Sh("printf 's3cret pass\\ns3cret pass\\n' | minisign -G -p " + Q(dir_ / "m.pub") +
                " -s " + Q(dir_ / "m.key"));
  ASSERT_EQ(gen.status.code(), 0) << gen.err;
  auto sign = RunProgram({Bin("stewardctl"), "sign", "-s", dir_ / "m.key", "--password-file",
                          dir_ / "pw", "-x", dir_ / "a.sig", data_});
  ASSERT_EQ(sign.status.code(), 0) << sign.err;
  EXPECT_EQ(RunProgram({kMinisign, "-V", "-p", dir_ / "m.pub", "-m", data_, "-x", dir_ / "a.sig"})
                .status.code(),
            0);
  // stewardctl's encrypted key, used by minisign with the same password.
  auto ours = RunProgram({Bin("stewardctl"), "key", "generate", "-p", dir_ / "s.pub", "-s",
                          dir_ / "s.key", "--password-file", dir_ / "pw", "--kdf", "interactive"});
  ASSERT_EQ(ours.status.code(), 0) << ours.err;
  auto msign = Sh("printf 's3cret pass\\n' | minisign -S -s " + Q(dir_ / "s.key") + " -m " +
                  Q(data_) + " -x " + Q(dir_ / "c.sig"));
  ASSERT_EQ(msign.status.code(), 0) << msign.err << msign.out;
  EXPECT_EQ(
      RunProgram({Bin("stewardctl"), "verify", "-p", dir_ / "s.pub", "-x", dir_ / "c.sig", data_})
          .status.code(),
      0);
}

TEST_F(SigningInterop, LegacySignaturesOnlyWithAllowLegacy) {
  REQUIRE_MINISIGN();
  ASSERT_EQ(
      RunProgram({kMinisign, "-G", "-W", "-p", dir_ / "m.pub", "-s", dir_ / "m.key"}).status.code(),
      0);
  ASSERT_EQ(RunProgram({kMinisign, "-S", "-l", "-s", dir_ / "m.key", "-m", data_}).status.code(),
            0);
  auto refused = RunProgram({Bin("stewardctl"), "verify", "-p", dir_ / "m.pub", data_});
  EXPECT_EQ(refused.status.code(), exit_code::kDataError);
  EXPECT_NE(refused.err.find("sig_algorithm"), std::string::npos) << refused.err;
  auto allowed =
      RunProgram({Bin("stewardctl"), "verify", "--allow-legacy", "-p", dir_ / "m.pub", data_});
  EXPECT_EQ(allowed.status.code(), 0) << allowed.err;
}

TEST_F(SigningInterop, WrongKeyAndForgedComment) {
  REQUIRE_MINISIGN();
  ASSERT_EQ(
      RunProgram({kMinisign, "-G", "-W", "-p", dir_ / "a.pub", "-s", dir_ / "a.key"}).status.code(),
      0);
  ASSERT_EQ(
      RunProgram({kMinisign, "-G", "-W", "-p", dir_ / "b.pub", "-s", dir_ / "b.key"}).status.code(),
      0);
  ASSERT_EQ(
      RunProgram({kMinisign, "-S", "-s", dir_ / "a.key", "-m", data_, "-t", "v1"}).status.code(),
      0);
  auto wrong = RunProgram({Bin("stewardctl"), "verify", "-p", dir_ / "b.pub", data_});
  EXPECT_EQ(wrong.status.code(), exit_code::kDataError);
  EXPECT_NE(wrong.err.find("sig_key_mismatch"), std::string::npos) << wrong.err;
  auto sig = *files::ReadFile(data_ + ".minisig", 16384);
  sig.replace(sig.find("trusted comment: v1"), 19, "trusted comment: v2");
  dir_.Write("release.bin.minisig", sig);
  auto forged = RunProgram({Bin("stewardctl"), "verify", "-p", dir_ / "a.pub", data_});
  EXPECT_EQ(forged.status.code(), exit_code::kDataError);
  EXPECT_NE(forged.err.find("sig_comment_invalid"), std::string::npos) << forged.err;
}

}  // namespace
}  // namespace steward::test
