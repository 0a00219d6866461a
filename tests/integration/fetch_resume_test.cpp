// The download code killed mid-transfer (SIGKILL, or a failpoint crash at a named step) and run
// again: it resumes with a Range request, fetches fewer bytes than the whole artifact the second
// time, installs exactly the right bytes, and never leaves a version directory behind early.
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "common/files.hpp"
#include "common/hash.hpp"
#include "common/zstd_patch.hpp"
#include "tests/support/fake_artifact.hpp"
#include "tests/support/hostile_server.hpp"
#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"
#include "updater/layout.hpp"

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
  updater::ComponentLayout Layout() const { return {dir_.path(), "agent"}; }
  fs::path Versions() const { return Layout().Versions(); }
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
  const fs::path bin =
      Layout().Version(updater::VersionDirName("2.0.0", Sha256Of(body_))) / "agent";
  EXPECT_EQ(Slurp(bin), body_);
  EXPECT_TRUE(fs::is_empty(dir_.path() / "staging"));
}

// The same with a delta update: the patch's download is killed halfway and resumed, and the
// patch is then applied into exactly the artifact.
TEST_F(FetchResume, KilledMidDeltaDownloadThenResumed) {
  // The installed binary shares the first half with the new one; the patch carries the rest.
  const std::string base = body_.substr(0, kSize / 2) + FakeElf(kSize / 2, kX86_64, 8);
  const fs::path base_path = dir_.path() / "installed";
  ASSERT_TRUE(files::AtomicWrite(base_path, base, 0755));
  const std::string patch = *patch::Make(base, body_, 3);
  ASSERT_GT(patch.size(), 4u * 65536);
  const std::string patch_sha = HexEncode(Sha256Of(patch));
  const fs::path patch_record = dir_.path() / "staging" / ("agent-" + patch_sha + ".resume.json");
  auto argv = [&](const std::string& url) {
    auto a = Argv(url + "/artifact");
    for (const std::string& s :
         {std::string("--base"), base_path.string(), std::string("--delta"), url + "/patch",
          std::to_string(patch.size()), patch_sha, HexEncode(Sha256Of(base))}) {
      a.push_back(s);
    }
    return a;
  };
  auto serve = [&](HostileServer::FileOptions patch_options) {
    return
        [full = HostileServer::ServeFile(body_),
         p = HostileServer::ServeFile(patch, patch_options)](
            const HostileRequest& r, HostileConn& c) { (r.target == "/patch" ? p : full)(r, c); };
  };
  HostileServer::FileOptions stall;
  stall.stall_after = patch.size() / 2;
  HostileServer srv(serve(stall));
  const std::string base_url = srv.Url("");
  auto child = Child::Spawn(argv(base_url));
  std::uint64_t kept = 0;
  ASSERT_TRUE(Eventually(
      [&] {
        std::smatch m;
        static const std::regex re("\"offset\":([0-9]+)");
        const std::string text = Slurp(patch_record);
        kept = std::regex_search(text, m, re) ? std::stoull(m[1]) : 0;
        return kept >= patch.size() / 4;
      },
      20s))
      << child.Stdout() << child.Stderr();
  child.Signal(SIGKILL);
  auto st = child.Wait(10s);
  ASSERT_TRUE(st && st->signaled());
  EXPECT_TRUE(NoVersionDir());

  srv.SetHandler(serve({}));
  auto run = RunProgram(argv(base_url), {}, 30s);
  ASSERT_EQ(run.status.code(), 0) << run.out << run.err;
  EXPECT_NE(run.out.find("download=delta"), std::string::npos) << run.out;
  EXPECT_LT(Downloaded(run.out), patch.size());
  const auto reqs = srv.requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(reqs[1].target, "/patch");
  EXPECT_TRUE(reqs[1].Header("range").starts_with("bytes=")) << reqs[1].Header("range");
  for (const auto& r : reqs) EXPECT_NE(r.target, "/artifact");
  const fs::path bin =
      Layout().Version(updater::VersionDirName("2.0.0", Sha256Of(body_))) / "agent";
  EXPECT_EQ(Slurp(bin), body_);
  EXPECT_TRUE(fs::is_empty(dir_.path() / "staging"));
}

// A crash (exit 137) at one named failpoint of the download or the install, then a second run.
struct CrashCase {
  const char* name;
  const char* failpoint;
  bool installed_by_the_crash;  // the version directory already exists after the crash
  bool record_kept;             // a resume record with a non-zero offset survives the crash
  bool resumes;                 // the second run fetches fewer bytes than the whole artifact
  bool reuses;                  // the second run downloads nothing: one request in all
  bool staging_emptied;         // staging is empty after the second run
};

void PrintTo(const CrashCase& c, std::ostream* os) { *os << c.failpoint; }

class FetchCrash : public FetchResume, public ::testing::WithParamInterface<CrashCase> {};

TEST_P(FetchCrash, ACrashAtEveryStepLeavesAStateTheNextRunFinishes) {
  const CrashCase& c = GetParam();
  HostileServer srv(HostileServer::ServeFile(body_));
  Child::Options crash;
  crash.env["STEWARD_FAILPOINTS"] = std::string(c.failpoint) + "=crash";
  auto first = RunProgram(Argv(srv.Url()), crash, 30s);
  ASSERT_EQ(first.status.code(), 137) << first.out << first.err;
  EXPECT_EQ(NoVersionDir(), !c.installed_by_the_crash);
  if (c.record_kept) {
    ASSERT_GT(RecordedOffset(), 0u);
  }

  auto run = RunProgram(Argv(srv.Url()), {}, 30s);
  ASSERT_EQ(run.status.code(), 0) << run.out << run.err;
  if (c.resumes) {
    EXPECT_LT(Downloaded(run.out), kSize);
  }
  EXPECT_FALSE(NoVersionDir());
  if (c.reuses) {
    EXPECT_NE(run.out.find("downloaded=0"), std::string::npos) << run.out;
    EXPECT_EQ(srv.requests().size(), 1u);
  }
  if (c.staging_emptied) {
    EXPECT_TRUE(fs::is_empty(dir_.path() / "staging"));
  }
}

INSTANTIATE_TEST_SUITE_P(
    Failpoints, FetchCrash,
    ::testing::Values(
        // Crash after persisting the record: the next run resumes.
        CrashCase{"AfterPersistingTheRecord", "fetch.after_partial_persist", false, true, true,
                  false, false},
        // Crash before the final rename: no version directory; the next run installs it.
        CrashCase{"BeforeTheFinalRename", "install.before_rename", false, false, false, false,
                  true},
        // Crash after the final rename: installed; the next run finds it and downloads nothing.
        CrashCase{"AfterTheFinalRename", "install.after_rename", true, false, false, true, true}),
    [](const ::testing::TestParamInfo<CrashCase>& p) { return std::string(p.param.name); });

}  // namespace
}  // namespace steward::test
