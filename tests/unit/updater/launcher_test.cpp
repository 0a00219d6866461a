#include "updater/launcher.hpp"

#include <gtest/gtest.h>

#include "common/files.hpp"
#include "tests/support/temp_dir.hpp"
#include "updater/layout.hpp"

namespace steward::updater {
namespace {

namespace fs = std::filesystem;

class LauncherTest : public testing::Test {
 protected:
  LauncherTest() {
    self_ = dir_.Write("usr/bin/steward-updater", "#!/bin/sh\n");
    fs::permissions(self_, fs::perms::owner_all);
    self_ = fs::canonical(self_);
  }

  fs::path Install(const std::string& version) {
    const auto bin = dir_.Write(
        "state/components/steward-updater/versions/" + version + "/steward-updater", "#!/bin/sh\n");
    fs::permissions(bin, fs::perms::owner_all);
    return fs::canonical(bin);
  }
  void Link(const std::string& link, const std::string& version) {
    EXPECT_TRUE(files::SwitchSymlink(Component() / link, "versions/" + version));
  }
  fs::path State() const { return dir_ / "state"; }
  fs::path Component() const { return ComponentLayout(State(), kUpdaterComponent).Dir(); }
  fs::path Choose() {
    auto c = ChooseUpdaterBinary(State(), self_, 3);
    EXPECT_TRUE(c) << c.error().message;
    return c ? c->binary : fs::path();
  }

  test::TempDir dir_;
  fs::path self_;
};

TEST_F(LauncherTest, WithoutSelfUpdateRunsThePackagedBinary) {
  EXPECT_EQ(Choose(), self_);
  EXPECT_FALSE(fs::exists(Component() / "launch-attempts"));
}

TEST_F(LauncherTest, RunsTheCurrentVersionAndCountsTheAttempt) {
  const auto v2 = Install("1.1.0-aaaa");
  Link("current", "1.1.0-aaaa");
  EXPECT_EQ(Choose(), v2);
  EXPECT_EQ(files::ReadFile(Component() / "launch-attempts", 1000).value(),
            "1 " + v2.string() + "\n");
}

TEST_F(LauncherTest, FallsBackToPreviousAfterRepeatedFailedStarts) {
  const auto v1 = Install("1.0.0-bbbb");
  const auto v2 = Install("1.1.0-aaaa");
  Link("previous", "1.0.0-bbbb");
  Link("current", "1.1.0-aaaa");
  // Three launches of 1.1.0 that never reported a proper start.
  EXPECT_EQ(Choose(), v2);
  EXPECT_EQ(Choose(), v2);
  EXPECT_EQ(Choose(), v2);
  // From then on the previous version runs, and keeps running on later launches.
  EXPECT_EQ(Choose(), v1);
  ASSERT_TRUE(MarkUpdaterStarted(State(), v1));
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(Choose(), v1);
    ASSERT_TRUE(MarkUpdaterStarted(State(), v1));
  }
}

TEST_F(LauncherTest, AProperStartClearsTheCount) {
  const auto v2 = Install("1.1.0-aaaa");
  Link("current", "1.1.0-aaaa");
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(Choose(), v2);
    ASSERT_TRUE(MarkUpdaterStarted(State(), v2));
  }
}

TEST_F(LauncherTest, BothVersionsBrokenFallsBackToThePackagedBinary) {
  Install("1.0.0-bbbb");
  Install("1.1.0-aaaa");
  Link("previous", "1.0.0-bbbb");
  Link("current", "1.1.0-aaaa");
  for (int i = 0; i < 6; ++i) Choose();
  EXPECT_EQ(Choose(), self_);
}

TEST_F(LauncherTest, ANewCurrentVersionGetsItsOwnChances) {
  const auto v2 = Install("1.1.0-aaaa");
  const auto v3 = Install("1.2.0-cccc");
  Link("current", "1.1.0-aaaa");
  for (int i = 0; i < 3; ++i) Choose();
  EXPECT_EQ(Choose(), self_);
  Link("current", "1.2.0-cccc");
  EXPECT_EQ(Choose(), v3);
  (void)v2;
}

TEST_F(LauncherTest, BrokenInstallationsAreIgnored) {
  // A dangling link, a non-executable file and garbage in the attempts file.
  ASSERT_TRUE(files::MakeDirs(Component()));
  ASSERT_TRUE(files::SwitchSymlink(Component() / "current", "versions/missing"));
  EXPECT_EQ(Choose(), self_);
  dir_.Write("state/components/steward-updater/versions/1.3.0-dddd/steward-updater", "x");
  Link("current", "1.3.0-dddd");
  EXPECT_EQ(Choose(), self_);
  const auto v2 = Install("1.1.0-aaaa");
  Link("current", "1.1.0-aaaa");
  dir_.Write("state/components/steward-updater/launch-attempts", "garbage\n-5 x\n\0\n");
  EXPECT_EQ(Choose(), v2);
}

}  // namespace
}  // namespace steward::updater
