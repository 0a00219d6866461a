#include "common/files.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/support/temp_dir.hpp"

namespace steward::files {
namespace {

TEST(Files, AtomicWriteCreatesAndReplaces) {
  test::TempDir dir;
  const auto path = dir / "state.json";
  ASSERT_TRUE(AtomicWrite(path, "one", 0600));
  EXPECT_EQ(ReadFile(path, 100).value(), "one");
  ASSERT_TRUE(AtomicWrite(path, "two"));
  EXPECT_EQ(ReadFile(path, 100).value(), "two");
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0644u);
  // No temp files are left behind.
  int entries = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir.path())) ++entries;
  EXPECT_EQ(entries, 1);
}

TEST(Files, AtomicWriteIntoMissingDirectoryFailsClearly) {
  test::TempDir dir;
  auto r = AtomicWrite(dir / "missing" / "x", "data");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::not_found);
  EXPECT_NE(r.error().message.find("missing"), std::string::npos);
}

TEST(Files, SwitchSymlinkReplacesAtomically) {
  test::TempDir dir;
  fs::create_directories(dir / "v1");
  fs::create_directories(dir / "v2");
  const auto link = dir / "current";
  ASSERT_TRUE(SwitchSymlink(link, "v1"));
  EXPECT_EQ(fs::read_symlink(link), "v1");
  ASSERT_TRUE(SwitchSymlink(link, "v2"));
  EXPECT_EQ(fs::read_symlink(link), "v2");
  int entries = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir.path())) ++entries;
  EXPECT_EQ(entries, 3);
}

TEST(Files, SwitchSymlinkRefusesToReplaceARealFile) {
  test::TempDir dir;
  dir.Write("current", "not a link");
  auto r = SwitchSymlink(dir / "current", "v1");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::already_exists);
  EXPECT_EQ(ReadFile(dir / "current", 100).value(), "not a link");
}

TEST(Files, CreateExclusiveRefusesExistingAndSymlinks) {
  test::TempDir dir;
  auto fd = CreateExclusive(dir / "a", 0600);
  ASSERT_TRUE(fd);
  ASSERT_TRUE(WriteAll(fd->Get(), "hello", "a"));
  auto again = CreateExclusive(dir / "a", 0600);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::already_exists);

  fs::create_symlink(dir / "target", dir / "link");
  auto via_link = CreateExclusive(dir / "link", 0600);
  ASSERT_FALSE(via_link);
  EXPECT_FALSE(fs::exists(dir / "target"));
}

TEST(Files, ReadFileEnforcesLimitAndType) {
  test::TempDir dir;
  dir.Write("big", std::string(1000, 'x'));
  auto r = ReadFile(dir / "big", 999);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::too_large);
  EXPECT_TRUE(ReadFile(dir / "big", 1000));
  EXPECT_EQ(ReadFile(dir.path(), 10).error().code, ErrorCode::invalid_argument);
  EXPECT_EQ(ReadFile(dir / "nope", 10).error().code, ErrorCode::not_found);
}

TEST(Files, ReadFileRefusesAFifoWithoutBlocking) {
  test::TempDir dir;
  const auto fifo = dir / "fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  auto r = ReadFile(fifo, 100);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::invalid_argument);
}

TEST(Files, UnreadableFileIsPermissionError) {
  if (::geteuid() == 0) GTEST_SKIP() << "root reads everything";
  test::TempDir dir;
  const auto p = dir.Write("secret", "x");
  fs::permissions(p, fs::perms::none);
  EXPECT_EQ(ReadFile(p, 10).error().code, ErrorCode::permission_denied);
}

TEST(Files, FreeSpaceAndFsyncDir) {
  test::TempDir dir;
  auto free = FreeSpace(dir.path());
  ASSERT_TRUE(free);
  EXPECT_GT(*free, 0u);
  EXPECT_TRUE(FsyncDir(dir.path()));
  EXPECT_FALSE(FreeSpace(dir / "missing"));
  EXPECT_FALSE(FsyncDir(dir / "missing"));
}

TEST(Files, MakeDirsCreatesNestedAndRejectsFiles) {
  test::TempDir dir;
  ASSERT_TRUE(MakeDirs(dir / "a" / "b" / "c", 0700));
  EXPECT_TRUE(fs::is_directory(dir / "a" / "b" / "c"));
  EXPECT_TRUE(MakeDirs(dir / "a" / "b" / "c"));  // idempotent
  dir.Write("file", "x");
  EXPECT_FALSE(MakeDirs(dir / "file"));
}

}  // namespace
}  // namespace steward::files
