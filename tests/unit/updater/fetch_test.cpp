// Fetcher against a hostile HTTP server on loopback: every way a server or the disk can fail
// ends in a precise error code, no version directory, and at most a resumable partial.
#include "updater/fetch.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/files.hpp"
#include "common/json_strict.hpp"
#include "common/zstd_patch.hpp"
#include "tests/support/fake_artifact.hpp"
#include "tests/support/hostile_server.hpp"
#include "tests/support/temp_dir.hpp"
#include "updater/layout.hpp"

namespace steward::updater {
namespace {

namespace fs = std::filesystem;
using test::ArtifactFor;
using test::FakeElf;
using test::HostileConn;
using test::HostileRequest;
using test::HostileServer;
using namespace std::chrono_literals;

constexpr std::size_t kSize = 256 * 1024;

FetchOptions TestOptions() {
  FetchOptions o;
  o.platform = test::kPlatform;
  o.reserve_bytes = 0;
  o.persist_every = 32 * 1024;
  o.client.connect_timeout = 5s;
  o.client.timeout = 30s;
  o.client.low_speed_time = 10s;
  return o;
}

std::vector<std::string> List(const fs::path& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) out.push_back(e.path().filename());
  std::sort(out.begin(), out.end());
  return out;
}

std::string Slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Raw handlers for misbehaving servers.
HostileServer::Handler Raw(std::string bytes) {
  return [bytes](const HostileRequest&, HostileConn& c) { c.Send(bytes); };
}

std::string Head(std::string_view status, const std::string& extra) {
  return "HTTP/1.1 " + std::string(status) + "\r\nConnection: close\r\n" + extra + "\r\n";
}

class FetchTest : public ::testing::Test {
 protected:
  FetchRequest Request(const std::string& body, const std::string& url) {
    FetchRequest r;
    r.component = "agent";
    r.version = "1.2.3";
    r.binary = "steward-agent";
    r.artifact = ArtifactFor(body, url);
    return r;
  }
  fs::path Versions() const { return ComponentLayout(dir_.path(), "agent").Versions(); }
  fs::path Staging() const { return dir_.path() / "staging"; }
  // After a failure: no version directory, and staging holds nothing or the resumable pair.
  void ExpectNothingInstalled(bool partial_allowed) {
    EXPECT_TRUE(List(Versions()).empty());
    const auto staged = List(Staging());
    if (!partial_allowed) {
      EXPECT_TRUE(staged.empty()) << ::testing::PrintToString(staged);
      return;
    }
    EXPECT_LE(staged.size(), 2u) << ::testing::PrintToString(staged);
    for (const auto& n : staged) {
      EXPECT_TRUE(n.ends_with(".partial") || n.ends_with(".resume.json")) << n;
    }
  }
  Result<Installed> Fetch(const FetchRequest& req, FetchOptions o = TestOptions()) {
    Fetcher f(dir_.path(), std::move(o));
    return f.FetchAndInstall(req);
  }

  test::TempDir dir_;
  std::string body_ = FakeElf(kSize);
};

TEST_F(FetchTest, InstallsVerifiedExecutableAsCompleteVersionDirectory) {
  HostileServer srv(HostileServer::ServeFile(body_));
  std::uint64_t last_progress = 0;
  FetchOptions o = TestOptions();
  o.progress = [&](const FetchProgress& p) {
    EXPECT_EQ(p.size, kSize);
    EXPECT_GE(p.received, last_progress);
    last_progress = p.received;
  };
  const auto req = Request(body_, srv.Url());
  auto r = Fetch(req, o);
  ASSERT_TRUE(r) << r.error().ToString();
  const std::string name = "1.2.3-" + HexEncode(req.artifact.sha256).substr(0, 8);
  EXPECT_EQ(r->dir, Versions() / name);
  EXPECT_EQ(r->binary, Versions() / name / "steward-agent");
  EXPECT_EQ(r->downloaded, kSize);
  EXPECT_FALSE(r->resumed);
  EXPECT_EQ(r->url, srv.Url());
  EXPECT_EQ(last_progress, kSize);
  EXPECT_EQ(Slurp(r->binary), body_);
  struct stat st {};
  ASSERT_EQ(::stat(r->binary.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0755);
  ASSERT_EQ(::stat(Staging().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700);
  EXPECT_TRUE(List(Staging()).empty());
  EXPECT_EQ(List(Versions()), std::vector<std::string>{name});

  // A second run finds it installed and asks nobody.
  auto again = Fetch(req);
  ASSERT_TRUE(again) << again.error().ToString();
  EXPECT_TRUE(again->already_installed);
  EXPECT_EQ(srv.requests().size(), 1u);

  // A damaged file of the same size is not taken for the artifact.
  std::string damaged = body_;
  damaged[damaged.size() / 2] ^= 0x01;
  {
    std::ofstream out(r->binary, std::ios::binary | std::ios::trunc);
    out.write(damaged.data(), static_cast<std::streamsize>(damaged.size()));
  }
  auto broken = Fetch(req);
  ASSERT_FALSE(broken);
  EXPECT_EQ(broken.error().code, ErrorCode::already_exists);
  EXPECT_NE(broken.error().message.find("SHA-256"), std::string::npos);
}

TEST_F(FetchTest, TruncatedBodyKeepsResumablePartialThenResumesWithRange) {
  const std::string half = body_.substr(0, kSize / 2);
  HostileServer srv(
      Raw(Head("200 OK", "Content-Length: " + std::to_string(kSize) + "\r\n" + "ETag: \"v1\"\r\n") +
          half));
  const auto req = Request(body_, srv.Url());
  auto r = Fetch(req);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::http_truncated) << r.error().ToString();
  ExpectNothingInstalled(true);
  const std::string key = StagingKey("agent", req.artifact.sha256);
  ASSERT_TRUE(fs::exists(Staging() / (key + ".resume.json")));
  EXPECT_NE(Slurp(Staging() / (key + ".resume.json")).find("\"offset\":131072"), std::string::npos);

  srv.SetHandler(HostileServer::ServeFile(body_));
  auto ok = Fetch(req);
  ASSERT_TRUE(ok) << ok.error().ToString();
  EXPECT_TRUE(ok->resumed);
  EXPECT_EQ(ok->downloaded, kSize - kSize / 2);
  EXPECT_EQ(Slurp(ok->binary), body_);
  const auto reqs = srv.requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(reqs[1].Header("range"), "bytes=131072-");
  EXPECT_EQ(reqs[1].Header("if-range"), "\"v1\"");
  EXPECT_TRUE(List(Staging()).empty());
}

TEST_F(FetchTest, NonUtf8ETagStillLeavesAReadableRecord) {
  const std::string half = body_.substr(0, kSize / 2);
  HostileServer srv(Raw(
      Head("200 OK", "Content-Length: " + std::to_string(kSize) + "\r\nETag: \"v\xff\xfe\"\r\n") +
      half));
  const auto req = Request(body_, srv.Url());
  ASSERT_EQ(Fetch(req).error().code, ErrorCode::http_truncated);
  const std::string key = StagingKey("agent", req.artifact.sha256);
  const auto record = Slurp(Staging() / (key + ".resume.json"));
  EXPECT_NE(record.find("\"offset\":131072"), std::string::npos) << record;
  EXPECT_TRUE(json::Parse(record, ErrorCode::resume_invalid)) << record;
  // The record is valid JSON; the mangled validator no longer matches, so the server sends the
  // whole file and the download completes correctly.
  srv.SetHandler(HostileServer::ServeFile(body_));
  auto ok = Fetch(req);
  ASSERT_TRUE(ok) << ok.error().ToString();
  EXPECT_EQ(Slurp(ok->binary), body_);
}

TEST_F(FetchTest, ServerIgnoringRangeRestartsFromZero) {
  HostileServer srv(Raw(Head("200 OK", "Content-Length: " + std::to_string(kSize) + "\r\n") +
                        body_.substr(0, 1000)));
  const auto req = Request(body_, srv.Url());
  ASSERT_EQ(Fetch(req).error().code, ErrorCode::http_truncated);
  HostileServer::FileOptions fo;
  fo.honour_range = false;
  srv.SetHandler(HostileServer::ServeFile(body_, fo));
  auto ok = Fetch(req);
  ASSERT_TRUE(ok) << ok.error().ToString();
  EXPECT_FALSE(ok->resumed);
  EXPECT_EQ(ok->downloaded, kSize);
  EXPECT_EQ(srv.requests().back().Header("range"), "bytes=1000-");
  EXPECT_EQ(Slurp(ok->binary), body_);
}

TEST_F(FetchTest, ChangedFileOnServerRestartsFromZero) {
  // The partial came from ETag v1; the server now has v2, so If-Range makes it send all of it.
  HostileServer srv(
      Raw(Head("200 OK", "Content-Length: " + std::to_string(kSize) + "\r\nETag: \"v1\"\r\n") +
          body_.substr(0, kSize / 2)));
  const auto req = Request(body_, srv.Url());
  ASSERT_EQ(Fetch(req).error().code, ErrorCode::http_truncated);
  HostileServer::FileOptions fo;
  fo.etag = "\"v2\"";
  srv.SetHandler(HostileServer::ServeFile(body_, fo));
  auto ok = Fetch(req);
  ASSERT_TRUE(ok) << ok.error().ToString();
  EXPECT_EQ(ok->downloaded, kSize);
  EXPECT_EQ(Slurp(ok->binary), body_);
}

TEST_F(FetchTest, ResumedPrefixThatNoLongerMatchesIsDownloadedAgainWhole) {
  // A server without validators serves other bytes under the same URL for the first part.
  std::string tampered = body_;
  tampered[100] ^= 1;
  HostileServer srv(Raw(Head("200 OK", "Content-Length: " + std::to_string(kSize) + "\r\n") +
                        tampered.substr(0, kSize / 2)));
  const auto req = Request(body_, srv.Url());
  ASSERT_EQ(Fetch(req).error().code, ErrorCode::http_truncated);
  HostileServer::FileOptions fo;
  fo.etag = "";
  srv.SetHandler(HostileServer::ServeFile(body_, fo));
  auto ok = Fetch(req);
  ASSERT_TRUE(ok) << ok.error().ToString();
  EXPECT_EQ(Slurp(ok->binary), body_);
  EXPECT_EQ(srv.requests().size(), 3u);  // broken, resumed (bad hash), whole
}

TEST_F(FetchTest, CorruptResumeRecordIsDiscarded) {
  HostileServer srv(HostileServer::ServeFile(body_));
  const auto req = Request(body_, srv.Url());
  const std::string key = StagingKey("agent", req.artifact.sha256);
  ASSERT_TRUE(files::MakeDirs(Staging(), 0700));
  dir_.Write("staging/" + key + ".partial", "garbage");
  dir_.Write("staging/" + key + ".resume.json", R"({"schema":"steward.partial/1","offset":"x"})");
  auto ok = Fetch(req);
  ASSERT_TRUE(ok) << ok.error().ToString();
  EXPECT_EQ(ok->downloaded, kSize);
  EXPECT_TRUE(srv.requests().front().Header("range").empty());
}

// Records that must not be trusted: each is discarded and the download starts from byte 0.
TEST_F(FetchTest, HostileResumeRecordsAreDiscarded) {
  HostileServer srv(HostileServer::ServeFile(body_));
  const auto req = Request(body_, srv.Url());
  const std::string key = StagingKey("agent", req.artifact.sha256);
  const std::string sha = HexEncode(req.artifact.sha256);
  auto record = [&](std::uint64_t size, const std::string& digest, std::uint64_t offset) {
    return R"({"schema":"steward.partial/1","url":")" + srv.Url() + R"(","size":)" +
           std::to_string(size) + R"(,"sha256":")" + digest + R"(","offset":)" +
           std::to_string(offset) + R"(,"etag":"\"v1\"","last_modified":""})";
  };
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"offset past size", record(kSize, sha, kSize + 1)},
      {"other artifact", record(kSize, std::string(64, 'a'), 1000)},
      {"other size", record(kSize + 1, sha, 1000)},
      {"longer than the partial", record(kSize, sha, 5000)},
      {"duplicate key", R"({"schema":"steward.partial/1","schema":"x"})"},
      {"not json", "\x01\x02garbage"},
      {"deep nesting", std::string(100, '[') + std::string(100, ']')},
  };
  for (const auto& [what, text] : cases) {
    SCOPED_TRACE(what);
    ASSERT_TRUE(files::MakeDirs(Staging(), 0700));
    dir_.Write("staging/" + key + ".partial", body_.substr(0, 2000));
    dir_.Write("staging/" + key + ".resume.json", text);
    const std::size_t before = srv.requests().size();
    auto ok = Fetch(req);
    ASSERT_TRUE(ok) << ok.error().ToString();
    EXPECT_EQ(ok->downloaded, kSize);
    ASSERT_EQ(srv.requests().size(), before + 1);
    EXPECT_TRUE(srv.requests().back().Header("range").empty());
    EXPECT_TRUE(List(Staging()).empty());
    fs::remove_all(ok->dir);
  }
}

TEST_F(FetchTest, PartialThatIsASymlinkIsNotFollowed) {
  HostileServer srv(HostileServer::ServeFile(body_));
  const auto req = Request(body_, srv.Url());
  const std::string key = StagingKey("agent", req.artifact.sha256);
  const std::string victim = dir_.Write("victim", "precious");
  ASSERT_TRUE(files::MakeDirs(Staging(), 0700));
  fs::create_symlink(victim, Staging() / (key + ".partial"));
  dir_.Write("staging/" + key + ".resume.json",
             R"({"schema":"steward.partial/1","url":")" + srv.Url() + R"(","size":)" +
                 std::to_string(kSize) + R"(,"sha256":")" + HexEncode(req.artifact.sha256) +
                 R"(","offset":4,"etag":"","last_modified":""})");
  auto ok = Fetch(req);
  ASSERT_TRUE(ok) << ok.error().ToString();
  EXPECT_EQ(Slurp(victim), "precious");
  EXPECT_EQ(Slurp(ok->binary), body_);
}

TEST_F(FetchTest, ContentLengthLargerThanManifestSizeFailsBeforeAnyByte) {
  HostileServer srv(Raw(Head("200 OK", "Content-Length: " + std::to_string(kSize + 10) + "\r\n") +
                        body_ + "0123456789"));
  auto r = Fetch(Request(body_, srv.Url()));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::size_mismatch) << r.error().ToString();
  EXPECT_NE(r.error().message.find(std::to_string(kSize + 10)), std::string::npos);
  ExpectNothingInstalled(false);
}

TEST_F(FetchTest, ContentLengthShorterThanManifestSizeIsRefused) {
  HostileServer srv(Raw(Head("200 OK", "Content-Length: 1000\r\n") + body_));
  auto r = Fetch(Request(body_, srv.Url()));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::size_mismatch) << r.error().ToString();
  ExpectNothingInstalled(false);
}

TEST_F(FetchTest, ChunkedBodyLongerThanManifestSizeStopsAtTheSize) {
  HostileServer::FileOptions fo;
  fo.chunked = true;
  HostileServer srv(HostileServer::ServeFile(body_ + "extra bytes", fo));
  auto r = Fetch(Request(body_, srv.Url()));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::size_mismatch) << r.error().ToString();
  EXPECT_NE(r.error().message.find("exceeds the limit of 262144"), std::string::npos);
  ExpectNothingInstalled(false);
}

TEST_F(FetchTest, EndlessChunkedBodyIsCutAtTheManifestSize) {
  HostileServer srv([](const HostileRequest&, HostileConn& c) {
    if (!c.Send(Head("200 OK", "Transfer-Encoding: chunked\r\n"))) return;
    const std::string chunk = "4000\r\n" + std::string(0x4000, 'x') + "\r\n";
    while (c.Send(chunk)) {
    }
  });
  auto r = Fetch(Request(body_, srv.Url()));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::size_mismatch) << r.error().ToString();
  ExpectNothingInstalled(false);
  EXPECT_LT(srv.bytes_sent(), 64u * 1024 * 1024);
}

TEST_F(FetchTest, StalledServerHitsLowSpeedTimeoutAndKeepsPartial) {
  HostileServer::FileOptions fo;
  fo.stall_after = 1000;
  HostileServer srv(HostileServer::ServeFile(body_, fo));
  FetchOptions o = TestOptions();
  o.client.low_speed_bytes = 100000;
  o.client.low_speed_time = 1s;
  auto r = Fetch(Request(body_, srv.Url()), o);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::http_stalled) << r.error().ToString();
  ExpectNothingInstalled(true);
  EXPECT_EQ(List(Staging()).size(), 2u);
}

TEST_F(FetchTest, RedirectToDisallowedSchemeIsRefused) {
  HostileServer srv(Raw(Head("302 Found", "Location: ftp://127.0.0.1/artifact\r\n")));
  FetchOptions o = TestOptions();
  o.client.allow_insecure_http = true;
  auto r = Fetch(Request(body_, srv.Url()), o);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::http_scheme) << r.error().ToString();
  ExpectNothingInstalled(false);

  srv.SetHandler(Raw(Head("302 Found", "Location: file:///etc/passwd\r\n")));
  auto f = Fetch(Request(body_, srv.Url()), o);
  ASSERT_FALSE(f);
  EXPECT_EQ(f.error().code, ErrorCode::http_scheme) << f.error().ToString();
}

TEST_F(FetchTest, RedirectToPlainHttpNeedsAllowInsecureHttp) {
  HostileServer srv(Raw(Head("302 Found", "Location: http://127.0.0.1:1/artifact\r\n")));
  auto r = Fetch(Request(body_, srv.Url()));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::http_scheme) << r.error().ToString();
}

TEST_F(FetchTest, RedirectLoopIsCut) {
  HostileServer* self = nullptr;
  HostileServer srv([&](const HostileRequest&, HostileConn& c) {
    c.Send(Head("302 Found", "Location: " + self->Url("/again") + "\r\n"));
  });
  self = &srv;
  FetchOptions o = TestOptions();
  o.client.allow_insecure_http = true;
  auto r = Fetch(Request(body_, srv.Url()), o);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::http_redirect) << r.error().ToString();
  EXPECT_LE(srv.requests().size(), 7u);
  ExpectNothingInstalled(false);
}

TEST_F(FetchTest, HtmlErrorPageWith200IsRefused) {
  const std::string page = "<html><body>Service unavailable</body></html>";
  HostileServer srv(Raw(Head("200 OK", "Content-Type: text/html\r\nContent-Length: " +
                                           std::to_string(page.size()) + "\r\n") +
                        page));
  auto r = Fetch(Request(body_, srv.Url()));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::size_mismatch) << r.error().ToString();
  EXPECT_NE(r.error().message.find("text/html"), std::string::npos);
  ExpectNothingInstalled(false);
}

TEST_F(FetchTest, HtmlErrorPageWithoutLengthIsRefused) {
  const std::string page = "<html><body>Service unavailable</body></html>";
  HostileServer srv(Raw(Head("200 OK", "Content-Type: text/html\r\n") + page));
  auto r = Fetch(Request(body_, srv.Url()));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::size_mismatch) << r.error().ToString();
  EXPECT_NE(r.error().message.find("got " + std::to_string(page.size())), std::string::npos);
  ExpectNothingInstalled(false);
}

TEST_F(FetchTest, PartialContentWithoutRangeIsRefused) {
  HostileServer srv(
      Raw(Head("206 Partial Content", "Content-Range: bytes 0-99/" + std::to_string(kSize) +
                                          "\r\nContent-Length: 100\r\n") +
          body_.substr(0, 100)));
  auto r = Fetch(Request(body_, srv.Url()));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::http_status) << r.error().ToString();
  EXPECT_NE(r.error().message.find("206"), std::string::npos);
  ExpectNothingInstalled(false);
}

TEST_F(FetchTest, ErrorStatusIsReported) {
  HostileServer srv(Raw(Head("404 Not Found", "Content-Length: 9\r\n") + "not found"));
  auto r = Fetch(Request(body_, srv.Url()));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::http_status);
  EXPECT_NE(r.error().message.find("HTTP 404"), std::string::npos);
  ExpectNothingInstalled(false);
}

TEST_F(FetchTest, WrongHashIsRefused) {
  std::string other = body_;
  other[kSize - 1] ^= 0x55;
  HostileServer srv(HostileServer::ServeFile(other));
  auto r = Fetch(Request(body_, srv.Url()));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::hash_mismatch) << r.error().ToString();
  EXPECT_NE(r.error().message.find(HexEncode(Sha256Of(other))), std::string::npos);
  ExpectNothingInstalled(false);
}

TEST_F(FetchTest, WrongArchitectureElfIsRefused) {
  const std::string arm = FakeElf(kSize, test::kAarch64);
  HostileServer srv(HostileServer::ServeFile(arm));
  auto r = Fetch(Request(arm, srv.Url()));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::exec_format) << r.error().ToString();
  EXPECT_NE(r.error().message.find("aarch64"), std::string::npos);
  ExpectNothingInstalled(false);
}

TEST_F(FetchTest, NonElfFileIsRefused) {
  const std::string script = "#!/bin/sh\necho hello\n" + std::string(1000, '#');
  HostileServer srv(HostileServer::ServeFile(script));
  auto r = Fetch(Request(script, srv.Url()));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::exec_format) << r.error().ToString();
  EXPECT_NE(r.error().message.find("not an ELF"), std::string::npos);
  ExpectNothingInstalled(false);
}

TEST_F(FetchTest, InjectedWriteErrorIsDiskFull) {
#ifndef STEWARD_FAILPOINTS
  GTEST_SKIP() << "built without failpoints";
#endif
  HostileServer srv(HostileServer::ServeFile(body_));
  ::setenv("STEWARD_FAILPOINTS", "fetch.before_write=error", 1);
  auto r = Fetch(Request(body_, srv.Url()));
  ::unsetenv("STEWARD_FAILPOINTS");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::disk_full) << r.error().ToString();
  EXPECT_NE(r.error().message.find("No space left"), std::string::npos);
  ExpectNothingInstalled(false);
}

TEST_F(FetchTest, NotEnoughFreeSpaceFailsBeforeTheFirstRequest) {
  HostileServer srv(HostileServer::ServeFile(body_));
  FetchOptions o = TestOptions();
  o.reserve_bytes = std::uint64_t{1} << 62;
  auto r = Fetch(Request(body_, srv.Url()), o);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::disk_full) << r.error().ToString();
  EXPECT_NE(r.error().message.find("free"), std::string::npos);
  EXPECT_TRUE(srv.requests().empty());
  ExpectNothingInstalled(false);
}

TEST_F(FetchTest, MirrorFailoverSkipsBrokenAndLyingMirrors) {
  HostileServer missing(Raw(Head("404 Not Found", "Content-Length: 0\r\n")));
  std::string wrong = body_;
  wrong[5000] ^= 1;
  HostileServer liar(HostileServer::ServeFile(wrong));
  HostileServer good(HostileServer::ServeFile(body_));
  auto req = Request(body_, missing.Url());
  req.artifact.mirrors = {liar.Url(), good.Url()};
  auto r = Fetch(req);
  ASSERT_TRUE(r) << r.error().ToString();
  EXPECT_EQ(r->url, good.Url());
  EXPECT_EQ(Slurp(r->binary), body_);
  EXPECT_EQ(missing.requests().size(), 1u);
  EXPECT_EQ(liar.requests().size(), 1u);
  EXPECT_TRUE(List(Staging()).empty());
}

TEST_F(FetchTest, AllMirrorsFailingNamesEachError) {
  HostileServer missing(Raw(Head("404 Not Found", "Content-Length: 0\r\n")));
  std::string wrong = body_;
  wrong[5000] ^= 1;
  HostileServer liar(HostileServer::ServeFile(wrong));
  auto req = Request(body_, missing.Url());
  req.artifact.mirrors = {liar.Url(), "http://example.invalid/artifact"};
  auto r = Fetch(req);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::all_mirrors_failed) << r.error().ToString();
  EXPECT_NE(r.error().message.find("http_status"), std::string::npos);
  EXPECT_NE(r.error().message.find("hash_mismatch"), std::string::npos);
  EXPECT_NE(r.error().message.find("http_scheme"), std::string::npos);
  ExpectNothingInstalled(false);
}

TEST_F(FetchTest, RejectsNamesThatAreNotPlainFileNames) {
  auto req = Request(body_, "https://example.invalid/a");
  req.component = "../etc";
  auto r = Fetch(req);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::invalid_argument);
  req.component = "agent";
  req.version = "1.0/..";
  EXPECT_EQ(Fetch(req).error().code, ErrorCode::invalid_argument);
  req.version = "1.0.0";
  req.artifact.format = "tar.gz";
  EXPECT_EQ(Fetch(req).error().code, ErrorCode::unsupported);
}

TEST_F(FetchTest, StagingThatIsASymlinkIsRefused) {
  fs::create_directories(dir_.path() / "elsewhere");
  fs::create_directory_symlink(dir_.path() / "elsewhere", Staging());
  HostileServer srv(HostileServer::ServeFile(body_));
  auto r = Fetch(Request(body_, srv.Url()));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::io) << r.error().ToString();
  EXPECT_TRUE(srv.requests().empty());
}

TEST_F(FetchTest, ProxyFromTheConfigCarriesTheRequest) {
  HostileServer proxy(HostileServer::ServeFile(body_));
  auto cfg = ParseConfig(
      "state_dir = \"/var/lib/steward\"\n[controller]\n"
      "urls = [\"https://c.example\"]\nallow_insecure_http = true\n"
      "proxy = \"" +
          proxy.Url("") + "\"\n",
      "updater.toml");
  ASSERT_TRUE(cfg) << cfg.error().ToString();
  FetchOptions o = FetchOptionsFor(*cfg->controller);
  EXPECT_EQ(o.client.proxy, proxy.Url(""));
  EXPECT_TRUE(o.client.allow_insecure_http);
  EXPECT_GE(o.client.timeout, std::chrono::hours(1));  // big artifacts on slow links
  o.platform = test::kPlatform;
  o.reserve_bytes = 0;
  auto r = Fetch(Request(body_, "http://artifacts.invalid/agent"), o);
  ASSERT_TRUE(r) << r.error().ToString();
  ASSERT_EQ(proxy.requests().size(), 1u);
  EXPECT_EQ(proxy.requests()[0].target, "http://artifacts.invalid/agent");
}

TEST(Retention, PrunesStaleStagingEntries) {
  test::TempDir dir;
  fs::create_directories(dir.path() / "staging" / "agent-old.install");
  dir.Write("staging/agent-old.partial", "x");
  dir.Write("staging/agent-new.partial", "x");
  dir.Write("staging/agent-new.resume.json", "{}");
  const std::vector<std::string> keep = {"agent-new"};
  auto removed = PruneStaging(dir.path(), keep);
  ASSERT_TRUE(removed) << removed.error().ToString();
  EXPECT_EQ(removed->size(), 2u);
  EXPECT_EQ(List(dir.path() / "staging"),
            (std::vector<std::string>{"agent-new.partial", "agent-new.resume.json"}));
}

// ---- delta updates ----------------------------------------------------------------------------
// A patch from the installed binary is fetched and applied into exactly the artifact; a patch
// for another base is not tried; every broken patch (corrupt, truncated, expanding past the
// size, making the wrong bytes, served wrong) falls back to the full download, installs the
// right binary and says which way it went.

constexpr std::size_t kDeltaSize = 512 * 1024;

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
    Fetcher f(dir_.path(), TestOptions());
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
  std::string base_ = test::FakeElf(kDeltaSize, test::kX86_64, 1);
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
  // A corrupt frame does not decode, asks for a window it may not have, or makes the wrong
  // bytes; each falls back.
  EXPECT_TRUE(r->download == "delta_failed: delta_corrupt" ||
              r->download == "delta_failed: too_large" ||
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
  other[kDeltaSize / 2] ^= 1;
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
