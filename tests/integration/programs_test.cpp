// Every program answers --version and --help, rejects bad usage with exit 64, and validates its
// config with a message naming the file and key.
#include <gtest/gtest.h>

#include "common/codes.hpp"
#include "common/version.hpp"
#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

namespace steward::test {
namespace {

const char* kPrograms[] = {"steward-updater", "steward-agent", "steward-controller", "stewardctl"};

TEST(Programs, VersionPrintsOnlyTheVersion) {
  for (const char* p : kPrograms) {
    auto r = RunProgram({Bin(p), "--version"});
    EXPECT_TRUE(r.status.exited() && r.status.code() == 0) << p;
    EXPECT_EQ(r.out, std::string(BuildVersion()) + "\n") << p;
  }
}

TEST(Programs, HelpExitsZeroAndDescribes) {
  for (const char* p : kPrograms) {
    auto r = RunProgram({Bin(p), "--help"});
    EXPECT_EQ(r.status.code(), 0) << p;
    EXPECT_NE(r.out.find("Usage"), std::string::npos) << p << ": " << r.out;
  }
}

TEST(Programs, UnknownOptionIsUsageError) {
  for (const char* p : kPrograms) {
    auto r = RunProgram({Bin(p), "--no-such-flag"});
    EXPECT_EQ(r.status.code(), exit_code::kUsage) << p;
    EXPECT_NE(r.err.find("--help"), std::string::npos) << p << ": " << r.err;
  }
}

// libcurl is loaded at run time: a broken one fails the self-test (and with it a self-update's
// qualification) with what is missing and what to install, while commands that need no HTTP
// go on working.
TEST(Programs, AnUnloadableLibcurlFailsTheSelftestWithWhatToInstall) {
  TempDir dir;
  dir.Write("libcurl.so.4", "not a shared library\n");
  Child::Options broken;
  broken.env["LD_LIBRARY_PATH"] = dir.path().string();
  auto r = RunProgram({Bin("steward-updater"), "selftest"}, broken);
  EXPECT_NE(r.status.code(), 0);
  EXPECT_NE(r.err.find("cannot load libcurl.so.4"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("install libcurl"), std::string::npos) << r.err;
  auto v = RunProgram({Bin("steward-updater"), "--version"}, broken);
  EXPECT_EQ(v.status.code(), 0) << v.err;
  EXPECT_EQ(RunProgram({Bin("steward-updater"), "selftest"}).status.code(), 0);
}

TEST(Programs, CheckConfigNamesTheBadKey) {
  TempDir dir;
  const auto bad = dir.Write("bad.toml", "listen = \"nowhere\"\n");
  for (const char* p : {"steward-agent", "steward-controller"}) {
    auto r = RunProgram({Bin(p), "check-config", "--config", bad});
    EXPECT_EQ(r.status.code(), exit_code::kConfig) << p;
    EXPECT_NE(r.err.find("bad.toml: key 'listen'"), std::string::npos) << p << ": " << r.err;
  }
  const auto bad_updater = dir.Write("u.toml", "state_dir = 5\n");
  auto r = RunProgram({Bin("steward-updater"), "check-config", "--config", bad_updater});
  EXPECT_EQ(r.status.code(), exit_code::kConfig);
  EXPECT_NE(r.err.find("'state_dir'"), std::string::npos) << r.err;
}

TEST(Programs, ExampleConfigsPass) {
  const std::string src = STEWARD_SOURCE_DIR;
  EXPECT_EQ(RunProgram(
                {Bin("steward-updater"), "check-config", "--config", src + "/configs/updater.toml"})
                .status.code(),
            0);
  EXPECT_EQ(
      RunProgram({Bin("steward-agent"), "check-config", "--config", src + "/configs/agent.toml"})
          .status.code(),
      0);
  EXPECT_EQ(RunProgram({Bin("steward-controller"), "check-config", "--config",
                        src + "/configs/controller.toml"})
                .status.code(),
            0);
}

}  // namespace
}  // namespace steward::test

namespace steward::test {
namespace {

// The demo and the end-to-end scenarios ship these as distinct releases of the agent.
TEST(Programs, ReleaseBuildsReportTheirOwnVersion) {
  for (const char* v : {"1.0.0", "1.1.0", "1.2.0"}) {
    auto r = RunProgram({Bin(std::string("releases/") + v + "/steward-agent"), "--version"});
    EXPECT_EQ(r.status.code(), 0) << v;
    EXPECT_EQ(r.out, std::string(v) + "\n");
  }
}

}  // namespace
}  // namespace steward::test
