// Delta updates in the fetcher: a patch from the installed binary is fetched and applied into
// exactly the artifact; a patch for another base is not tried; every broken patch (corrupt,
// truncated, expanding past the size, making the wrong bytes, served wrong) falls back to the
// full download, installs the right binary and says which way it went.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/files.hpp"
#include "common/zstd_patch.hpp"
#include "tests/support/fake_artifact.hpp"
#include "tests/support/hostile_server.hpp"
#include "tests/support/temp_dir.hpp"
#include "updater/fetch.hpp"
#include "updater/layout.hpp"
#include "updater/staging.hpp"

namespace steward::updater {
namespace {

namespace fs = std::filesystem;
using test::HostileConn;
using test::HostileRequest;
using test::HostileServer;
using namespace std::chrono_literals;

constexpr std::size_t kSize = 512 * 1024;

std::string Slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The next release: the base with scattered edits and some new bytes.
std::string NextRelease(const std::string& base) {
  std::string out = base;
  for (std::size_t at = 4096; at < out.size(); at += 50000) out[at] ^= 0x33;
  out += test::FakeElf(20000, test::kX86_64, 9).substr(64);
  return out;
}

std::size_t CountTarget(const std::vector<HostileRequest>& reqs, const std::string& target) {
  return static_cast<std::size_t>(std::count_if(
      reqs.begin(), reqs.end(), [&](const HostileRequest& r) { return r.target == target; }));
}

class FetchDeltaTest : public ::testing::Test {
 protected:
  FetchDeltaTest() {
    base_path_ = dir_.path() / "installed-steward-agent";
    (void)files::AtomicWrite(base_path_, base_, 0755);
    SetPatch(*patch::Make(base_, next_, 3));
  }

  // The servers answer /artifact with the full artifact and /patch with `patch_served_`.
  void SetPatch(std::string listed, std::optional<std::string> served = std::nullopt) {
    patch_listed_ = std::move(listed);
    patch_served_ = served ? *served : patch_listed_;
    srv_.SetHandler(Routes());
  }

  HostileServer::Handler Routes(HostileServer::Handler patch_handler = nullptr) {
    auto full = HostileServer::ServeFile(next_);
    auto patch = patch_handler ? patch_handler : HostileServer::ServeFile(patch_served_);
    return [full, patch](const HostileRequest& r, HostileConn& c) {
      (r.target == "/patch" ? patch : full)(r, c);
    };
  }

  FetchRequest Request(std::optional<std::string> base_sha_of = std::nullopt) {
    FetchRequest r;
    r.component = "agent";
    r.version = "1.1.0";
    r.binary = "steward-agent";
    r.artifact = test::ArtifactFor(next_, srv_.Url("/artifact"));
    trust::Delta d;
    d.from_sha256 = Sha256Of(base_sha_of ? *base_sha_of : base_);
    d.url = srv_.Url("/patch");
    d.size = patch_listed_.size();
    d.sha256 = Sha256Of(patch_listed_);
    d.format = "zstd-patch";
    r.artifact.deltas.push_back(d);
    r.base = base_path_;
    return r;
  }

  Result<Installed> Fetch(const FetchRequest& req) {
    FetchOptions o;
    o.platform = test::kPlatform;
    o.reserve_bytes = 0;
    o.persist_every = 16 * 1024;
    o.client.connect_timeout = 5s;
    o.client.timeout = 30s;
    Fetcher f(dir_.path(), std::move(o));
    return f.FetchAndInstall(req);
  }

  // The fallback installed exactly the artifact, after one try of the patch.
  void ExpectFellBack(const Result<Installed>& r, std::string_view code) {
    ASSERT_TRUE(r) << r.error().ToString();
    EXPECT_EQ(r->download, "delta_failed: " + std::string(code));
    EXPECT_EQ(Slurp(r->binary), next_);
    const auto reqs = srv_.requests();
    EXPECT_EQ(CountTarget(reqs, "/artifact"), 1u);
    EXPECT_GE(CountTarget(reqs, "/patch"), 1u);
    EXPECT_TRUE(fs::is_empty(dir_.path() / "staging"));
  }

  test::TempDir dir_;
  std::string base_ = test::FakeElf(kSize, test::kX86_64, 1);
  std::string next_ = NextRelease(base_);
  fs::path base_path_;
  std::string patch_listed_, patch_served_;
  HostileServer srv_{HostileServer::ServeFile("")};
};

TEST_F(FetchDeltaTest, PatchFromTheInstalledBinaryMakesExactlyTheArtifact) {
  auto r = Fetch(Request());
  ASSERT_TRUE(r) << r.error().ToString();
  EXPECT_EQ(r->download, "delta");
  EXPECT_EQ(Slurp(r->binary), next_);
  EXPECT_EQ(r->downloaded, patch_listed_.size());
  EXPECT_LT(patch_listed_.size(), next_.size() / 10);
  const auto reqs = srv_.requests();
  EXPECT_EQ(CountTarget(reqs, "/patch"), 1u);
  EXPECT_EQ(CountTarget(reqs, "/artifact"), 0u);
  EXPECT_TRUE(fs::is_empty(dir_.path() / "staging"));
  EXPECT_EQ(fs::status(r->binary).permissions() & fs::perms::owner_exec, fs::perms::owner_exec);
}

TEST_F(FetchDeltaTest, PatchForADifferentBaseIsNotTried) {
  auto r = Fetch(Request(std::string("some other build")));
  ASSERT_TRUE(r) << r.error().ToString();
  EXPECT_EQ(r->download, "full");
  EXPECT_EQ(Slurp(r->binary), next_);
  EXPECT_EQ(CountTarget(srv_.requests(), "/patch"), 0u);
}

TEST_F(FetchDeltaTest, NoInstalledBinaryDownloadsTheFullArtifact) {
  auto req = Request();
  req.base.clear();
  auto r = Fetch(req);
  ASSERT_TRUE(r) << r.error().ToString();
  EXPECT_EQ(r->download, "full");
  EXPECT_EQ(CountTarget(srv_.requests(), "/patch"), 0u);
}

TEST_F(FetchDeltaTest, CorruptPatchFallsBackToTheFullDownload) {
  std::string bad = patch_listed_;
  for (std::size_t at = 8; at < bad.size(); at += 97) bad[at] ^= 0x5a;
  SetPatch(bad);
  auto r = Fetch(Request());
  ASSERT_TRUE(r) << r.error().ToString();
  // A corrupt frame either does not decode or makes the wrong bytes; both fall back.
  EXPECT_TRUE(r->download == "delta_failed: delta_corrupt" ||
              r->download == "delta_failed: hash_mismatch" ||
              r->download == "delta_failed: size_mismatch")
      << r->download;
  ExpectFellBack(r, r->download.substr(std::string("delta_failed: ").size()));
}

TEST_F(FetchDeltaTest, TruncatedPatchFallsBackToTheFullDownload) {
  SetPatch(patch_listed_.substr(0, patch_listed_.size() * 2 / 3));
  ExpectFellBack(Fetch(Request()), "delta_corrupt");
}

TEST_F(FetchDeltaTest, PatchExpandingBeyondTheDeclaredSizeFallsBack) {
  SetPatch(*patch::Make(base_, next_ + std::string(100000, 'x'), 3));
  ExpectFellBack(Fetch(Request()), "size_mismatch");
}

TEST_F(FetchDeltaTest, PatchMakingTheWrongBytesFallsBack) {
  std::string other = next_;
  other[kSize / 2] ^= 1;
  SetPatch(*patch::Make(base_, other, 3));
  ExpectFellBack(Fetch(Request()), "hash_mismatch");
}

TEST_F(FetchDeltaTest, PatchServedWrongIsRefusedByItsOwnHashAndFallsBack) {
  std::string served = patch_listed_;
  served[served.size() / 2] ^= 1;
  SetPatch(patch_listed_, served);
  ExpectFellBack(Fetch(Request()), "hash_mismatch");
}

TEST_F(FetchDeltaTest, BrokenPatchDownloadResumesWithRange) {
  // The patch breaks off halfway and the full artifact is not there either: the update fails
  // and keeps the patch's resumable partial.
  const std::string half = patch_listed_.substr(0, patch_listed_.size() / 2);
  srv_.SetHandler([this, half](const HostileRequest& r, HostileConn& c) {
    if (r.target == "/patch") {
      c.Send("HTTP/1.1 200 OK\r\nConnection: close\r\nETag: \"v1\"\r\nContent-Length: " +
             std::to_string(patch_listed_.size()) + "\r\n\r\n" + half);
    } else {
      c.Send("HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
    }
  });
  const auto req = Request();
  auto failed = Fetch(req);
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().code, ErrorCode::http_status) << failed.error().ToString();
  const std::string key = StagingKey("agent", req.artifact.deltas[0].sha256);
  ASSERT_TRUE(fs::exists(dir_.path() / "staging" / (key + ".resume.json")));
  srv_.SetHandler(Routes());
  const std::size_t before = srv_.requests().size();
  auto r = Fetch(req);
  ASSERT_TRUE(r) << r.error().ToString();
  EXPECT_EQ(r->download, "delta");
  EXPECT_TRUE(r->resumed);
  EXPECT_LT(r->downloaded, patch_listed_.size());
  EXPECT_EQ(Slurp(r->binary), next_);
  const auto reqs = srv_.requests();
  ASSERT_GT(reqs.size(), before);
  EXPECT_TRUE(reqs[before].Header("range").starts_with("bytes=")) << reqs[before].target;
}

}  // namespace
}  // namespace steward::updater
