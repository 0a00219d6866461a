// The download code killed mid-transfer (SIGKILL, or a failpoint crash at a named step) and run
// again: it resumes with a Range request, fetches fewer bytes than the whole artifact the second
// time, installs exactly the right bytes, and never leaves a version directory behind early.
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "common/hash.hpp"
#include "tests/support/fake_artifact.hpp"
#include "tests/support/hostile_server.hpp"
#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

namespace steward::test {
namespace {

namespace fs = std::filesystem;

constexpr std::size_t kSize = 4 * 1024 * 1024;

std::string Slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class FetchResume : public ::testing::Test {
 protected:
  std::vector<std::string> Argv(const std::string& url) const {
    return {Bin("fetch_once"),
            dir_.path().string(),
            "agent",
            "2.0.0",
            std::to_string(kSize),
            HexEncode(Sha256Of(body_)),
            kPlatform,
            "65536",
            url};
  }
  fs::path Record() const {
    return dir_.path() / "staging" / ("agent-" + HexEncode(Sha256Of(body_)) + ".resume.json");
  }
  fs::path Versions() const { return dir_.path() / "components" / "agent" / "versions"; }
  bool NoVersionDir() const { return !fs::exists(Versions()) || fs::is_empty(Versions()); }
  // Offset persisted in the resume record, 0 when there is none.
  std::uint64_t RecordedOffset() const {
    std::smatch m;
    const std::string text = Slurp(Record());
    static const std::regex re("\"offset\":([0-9]+)");
    return std::regex_search(text, m, re) ? std::stoull(m[1]) : 0;
  }
  std::uint64_t Downloaded(const std::string& out) const {
    std::smatch m;
    static const std::regex re("downloaded=([0-9]+) resumed=1");
    EXPECT_TRUE(std::regex_search(out, m, re)) << out;
    return m.empty() ? kSize : std::stoull(m[1]);
  }

  TempDir dir_;
  std::string body_ = FakeElf(kSize, kX86_64, 7);
};

TEST_F(FetchResume, KilledMidDownloadThenResumed) {
  HostileServer::FileOptions stall;
  stall.stall_after = kSize / 2;  // half the file, then the server waits
  HostileServer srv(HostileServer::ServeFile(body_, stall));
  auto child = Child::Spawn(Argv(srv.Url()));
  ASSERT_TRUE(Eventually([&] { return RecordedOffset() >= kSize / 4; }, 20s))
      << child.Stdout() << child.Stderr();
  child.Signal(SIGKILL);
  auto st = child.Wait(10s);
  ASSERT_TRUE(st && st->signaled());
  EXPECT_TRUE(NoVersionDir());
  const std::uint64_t kept = RecordedOffset();

  srv.SetHandler(HostileServer::ServeFile(body_));
  const std::uint64_t sent_before = srv.bytes_sent();
  auto run = RunProgram(Argv(srv.Url()), {}, 30s);
  ASSERT_EQ(run.status.code(), 0) << run.out << run.err;
  const std::uint64_t second = Downloaded(run.out);
  EXPECT_LT(second, kSize);
  EXPECT_EQ(second, kSize - kept);
  EXPECT_LT(srv.bytes_sent() - sent_before, kSize);
  const auto reqs = srv.requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(reqs[1].Header("range"), "bytes=" + std::to_string(kept) + "-");
  const fs::path bin = Versions() / ("2.0.0-" + HexEncode(Sha256Of(body_)).substr(0, 8)) / "agent";
  EXPECT_EQ(Slurp(bin), body_);
  EXPECT_TRUE(fs::is_empty(dir_.path() / "staging"));
}

TEST_F(FetchResume, CrashAfterPersistingTheRecordResumes) {
  HostileServer srv(HostileServer::ServeFile(body_));
  Child::Options crash;
  crash.env["STEWARD_FAILPOINTS"] = "fetch.after_partial_persist=crash";
  auto first = RunProgram(Argv(srv.Url()), crash, 30s);
  ASSERT_EQ(first.status.code(), 137) << first.out << first.err;
  EXPECT_TRUE(NoVersionDir());
  ASSERT_GT(RecordedOffset(), 0u);

  auto run = RunProgram(Argv(srv.Url()), {}, 30s);
  ASSERT_EQ(run.status.code(), 0) << run.out << run.err;
  EXPECT_LT(Downloaded(run.out), kSize);
}

TEST_F(FetchResume, CrashBeforeTheFinalRenameLeavesNoVersionDirectory) {
  HostileServer srv(HostileServer::ServeFile(body_));
  Child::Options crash;
  crash.env["STEWARD_FAILPOINTS"] = "install.before_rename=crash";
  auto first = RunProgram(Argv(srv.Url()), crash, 30s);
  ASSERT_EQ(first.status.code(), 137) << first.out << first.err;
  EXPECT_TRUE(NoVersionDir());

  auto run = RunProgram(Argv(srv.Url()), {}, 30s);
  ASSERT_EQ(run.status.code(), 0) << run.out << run.err;
  EXPECT_FALSE(NoVersionDir());
  EXPECT_TRUE(fs::is_empty(dir_.path() / "staging"));
}

TEST_F(FetchResume, CrashAfterTheFinalRenameIsInstalledOnRestart) {
  HostileServer srv(HostileServer::ServeFile(body_));
  Child::Options crash;
  crash.env["STEWARD_FAILPOINTS"] = "install.after_rename=crash";
  auto first = RunProgram(Argv(srv.Url()), crash, 30s);
  ASSERT_EQ(first.status.code(), 137) << first.out << first.err;
  EXPECT_FALSE(NoVersionDir());

  auto run = RunProgram(Argv(srv.Url()), {}, 30s);
  ASSERT_EQ(run.status.code(), 0) << run.out << run.err;
  EXPECT_NE(run.out.find("downloaded=0"), std::string::npos) << run.out;
  EXPECT_EQ(srv.requests().size(), 1u);
  EXPECT_TRUE(fs::is_empty(dir_.path() / "staging"));
}

}  // namespace
}  // namespace steward::test
