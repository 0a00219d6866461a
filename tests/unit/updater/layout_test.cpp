// The on-disk layout: paths and version-directory names as docs/fetching.md describes them,
// the pointers' read and atomic switch, and retention.
#include "updater/layout.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "tests/support/temp_dir.hpp"
#include "updater/pointer.hpp"

namespace steward::updater {
namespace {

namespace fs = std::filesystem;

TEST(Layout, PathsAreTheDocumentedOnes) {
  const ComponentLayout l("/var/lib/steward", "agent");
  EXPECT_EQ(l.Dir(), fs::path("/var/lib/steward/components/agent"));
  EXPECT_EQ(l.Versions(), fs::path("/var/lib/steward/components/agent/versions"));
  EXPECT_EQ(l.Version("1.0.0-0a1b2c3d"),
            fs::path("/var/lib/steward/components/agent/versions/1.0.0-0a1b2c3d"));
  EXPECT_EQ(l.PointerPath(Pointer::current), fs::path("/var/lib/steward/components/agent/current"));
  EXPECT_EQ(l.Program(Pointer::previous, "steward-agent"),
            fs::path("/var/lib/steward/components/agent/previous/steward-agent"));
  EXPECT_EQ(StagingDir("/var/lib/steward"), fs::path("/var/lib/steward/staging"));
}

TEST(Layout, VersionDirNamesRoundTrip) {
  Sha256Digest sha{};
  sha[0] = 0x0a;
  sha[1] = 0x1b;
  sha[2] = 0x2c;
  sha[3] = 0x3d;
  EXPECT_EQ(VersionDirName("1.4.2", sha), "1.4.2-0a1b2c3d");
  EXPECT_EQ(VersionOfDir(VersionDirName("1.4.2-rc.1", sha)), "1.4.2-rc.1");
  EXPECT_EQ(VersionOfDir("1.4.2-0a1b2c3d"), "1.4.2");
  EXPECT_EQ(VersionOfDir("1.4.2"), "1.4.2");            // no hash suffix: the name as it is
  EXPECT_EQ(VersionOfDir("1.4.2-rc.1"), "1.4.2-rc.1");  // a suffix that is not 8 long
  EXPECT_EQ(VersionOfDir(""), "");
}

TEST(Layout, PointersSwitchAndReadBack) {
  test::TempDir dir;
  const ComponentLayout l(dir.path(), "agent");
  fs::create_directories(l.Version("1.0.0-aaaaaaaa"));
  fs::create_directories(l.Version("1.1.0-bbbbbbbb"));
  EXPECT_EQ(l.PointedDir(Pointer::current), "");
  ASSERT_TRUE(l.Point(Pointer::current, "1.0.0-aaaaaaaa", true));
  ASSERT_TRUE(l.Point(Pointer::previous, "1.0.0-aaaaaaaa", false));
  ASSERT_TRUE(l.Point(Pointer::current, "1.1.0-bbbbbbbb", true));
  EXPECT_EQ(l.PointedDir(Pointer::current), "1.1.0-bbbbbbbb");
  EXPECT_EQ(l.PointedVersion(Pointer::current), "1.1.0");
  EXPECT_EQ(l.PointedVersion(Pointer::previous), "1.0.0");
  // Relative, so the state directory may move as a whole.
  EXPECT_EQ(fs::read_symlink(l.PointerPath(Pointer::current)), fs::path("versions/1.1.0-bbbbbbbb"));
  ASSERT_TRUE(l.Point(Pointer::previous, "", true));
  EXPECT_FALSE(fs::exists(fs::symlink_status(l.PointerPath(Pointer::previous))));
  EXPECT_EQ(l.PointedDir(Pointer::previous), "");
}

TEST(Layout, APointerWithATrailingSlashNamesItsDirectory) {
  test::TempDir dir;
  const ComponentLayout l(dir.path(), "agent");
  fs::create_directories(l.Version("1.0.0-aaaaaaaa"));
  fs::create_directory_symlink("versions/1.0.0-aaaaaaaa/", l.PointerPath(Pointer::current));
  EXPECT_EQ(ReadPointer(l.PointerPath(Pointer::current)), "1.0.0-aaaaaaaa");
}

TEST(Retention, KeepsCurrentPreviousAndNamedVersions) {
  test::TempDir dir;
  const fs::path comp = dir.path() / "components" / "agent";
  for (const char* v : {"1.0.0-aaaaaaaa", "1.1.0-bbbbbbbb", "1.2.0-cccccccc", "1.3.0-dddddddd"}) {
    fs::create_directories(comp / "versions" / v);
    std::ofstream(comp / "versions" / v / "steward-agent") << "x";
  }
  fs::create_directory_symlink("versions/1.2.0-cccccccc", comp / "current");
  fs::create_directory_symlink("versions/1.1.0-bbbbbbbb", comp / "previous");
  const std::vector<std::string> keep = {"1.3.0-dddddddd"};
  auto removed = PruneVersions(dir.path(), "agent", keep);
  ASSERT_TRUE(removed) << removed.error().ToString();
  EXPECT_EQ(*removed, std::vector<std::string>{"1.0.0-aaaaaaaa"});
  // Exactly the other three are left.
  EXPECT_FALSE(fs::exists(comp / "versions" / "1.0.0-aaaaaaaa"));
  for (const char* v : {"1.1.0-bbbbbbbb", "1.2.0-cccccccc", "1.3.0-dddddddd"}) {
    EXPECT_TRUE(fs::exists(comp / "versions" / v)) << v;
  }
  EXPECT_TRUE(PruneVersions(dir.path(), "nothing-here")->empty());
}

}  // namespace
}  // namespace steward::updater
