// The executable-format check: only ELF executables for this host's machine pass.
#include "updater/elf.hpp"

#include <gtest/gtest.h>

#include "common/platform.hpp"
#include "tests/support/fake_artifact.hpp"
#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

namespace steward::updater {
namespace {

TEST(Elf, AcceptsExecutableForTheMachine) {
  EXPECT_TRUE(CheckExecutableHeader(test::FakeElf(128, test::kX86_64), "linux-x86_64"));
  EXPECT_TRUE(CheckExecutableHeader(test::FakeElf(128, test::kAarch64), "linux-aarch64"));
  std::string pie = test::FakeElf(128);
  pie[16] = 3;  // ET_DYN: position-independent executables
  EXPECT_TRUE(CheckExecutableHeader(pie, "linux-x86_64"));
}

TEST(Elf, AcceptsARealProgramOnThisHost) {
  auto r = CheckExecutableFile(test::Bin("steward-updater"), HostPlatform());
  EXPECT_TRUE(r) << r.error().ToString();
}

TEST(Elf, RefusesOtherMachine) {
  auto r = CheckExecutableHeader(test::FakeElf(128, test::kAarch64), "linux-x86_64");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::exec_format);
  EXPECT_NE(r.error().message.find("aarch64"), std::string::npos);
  EXPECT_NE(r.error().message.find("linux-x86_64"), std::string::npos);
}

TEST(Elf, RefusesWrongClassByteOrderAndType) {
  std::string b = test::FakeElf(128);
  b[4] = 1;  // 32-bit
  EXPECT_EQ(CheckExecutableHeader(b, "linux-x86_64").error().code, ErrorCode::exec_format);
  b = test::FakeElf(128);
  b[5] = 2;  // big-endian: the machine field reads differently
  EXPECT_EQ(CheckExecutableHeader(b, "linux-x86_64").error().code, ErrorCode::exec_format);
  b = test::FakeElf(128);
  b[4] = 7;
  auto bad = CheckExecutableHeader(b, "linux-x86_64");
  EXPECT_EQ(bad.error().code, ErrorCode::exec_format);
  EXPECT_NE(bad.error().message.find("malformed"), std::string::npos);
  b = test::FakeElf(128);
  b[16] = 1;  // ET_REL: an object file
  auto rel = CheckExecutableHeader(b, "linux-x86_64");
  EXPECT_EQ(rel.error().code, ErrorCode::exec_format);
  EXPECT_NE(rel.error().message.find("not an executable"), std::string::npos);
}

TEST(Elf, RefusesNonElfAndTruncatedHeaders) {
  auto html = CheckExecutableHeader("<html><body>502</body></html>", "linux-x86_64");
  ASSERT_FALSE(html);
  EXPECT_EQ(html.error().code, ErrorCode::exec_format);
  EXPECT_NE(html.error().message.find("<html>"), std::string::npos);
  EXPECT_EQ(CheckExecutableHeader("", "linux-x86_64").error().code, ErrorCode::exec_format);
  EXPECT_EQ(CheckExecutableHeader(test::FakeElf(40), "linux-x86_64").error().code,
            ErrorCode::exec_format);
}

TEST(Elf, UnknownPlatformIsUnsupported) {
  EXPECT_EQ(CheckExecutableHeader(test::FakeElf(128), "windows-x86_64").error().code,
            ErrorCode::unsupported);
  EXPECT_EQ(CheckExecutableHeader(test::FakeElf(128), "linux-vax").error().code,
            ErrorCode::unsupported);
}

TEST(Elf, FileCheckNamesTheFile) {
  test::TempDir dir;
  const auto path = dir.Write("prog", "#!/bin/sh\n");
  auto r = CheckExecutableFile(path, "linux-x86_64");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::exec_format);
  EXPECT_NE(r.error().message.find("prog"), std::string::npos);
  EXPECT_EQ(CheckExecutableFile(dir / "missing", "linux-x86_64").error().code,
            ErrorCode::not_found);
}

}  // namespace
}  // namespace steward::updater
