// Publishing called directly, with the artifact probe faked: what is verified, when the probe
// is asked, and what is kept.
#include "controller/releases.hpp"

#include <gtest/gtest.h>

#include "common/minisign.hpp"
#include "tests/unit/controller/domain.hpp"

namespace steward::controller {
namespace {

using minisign::SecretKey;

// A root with one root key and one release key, both threshold 1, valid past the FakeClock.
class ReleasesTest : public ::testing::Test {
 protected:
  ReleasesTest() : root_key_(SecretKey::Generate()), release_key_(SecretKey::Generate()) {}

  trust::Root Root() const {
    auto root = trust::ParseRoot(
        R"({"schema":"steward.root/1","version":1,"expires":"2031-01-01T00:00:00Z","keys":{"r0":")" +
        root_key_.public_key().ToBase64() + R"(","k0":")" + release_key_.public_key().ToBase64() +
        R"("},"roles":{"root":{"keys":["r0"],"threshold":1},"release":{"keys":["k0"],"threshold":1}}})");
    EXPECT_TRUE(root) << root.error().ToString();
    return root.value_or(trust::Root{});
  }

  static std::string Manifest(std::string_view version, int sequence) {
    return R"({"schema":"steward.release/1","component":"agent","channel":"stable",)"
           R"("version":")" +
           std::string(version) + R"(","sequence":)" + std::to_string(sequence) +
           R"(,"root_version":1,"issued_at":"2029-12-01T00:00:00Z","expires":"2030-06-01T00:00:00Z",)"
           R"("min_updater_version":"1.0.0","artifacts":{"linux-x86_64":{)"
           R"("url":"https://cdn.example/agent","size":123,)"
           R"("sha256":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",)"
           R"("format":"binary"}}})";
  }

  PublishRequest Signed(std::string manifest) const {
    auto sig = minisign::SignBytes(release_key_, manifest, "c");
    EXPECT_TRUE(sig);
    return PublishRequest{std::move(manifest), {sig->ToFile()}};
  }

  SecretKey root_key_;
  SecretKey release_key_;
};

TEST_F(ReleasesTest, PublishVerifiesProbesAndKeepsTheRelease) {
  Domain d({}, Root());
  d.Load();
  auto out = d.releases.Publish(Signed(Manifest("1.0.0", 1)));
  ASSERT_TRUE(out) << out.error().ToString();
  EXPECT_TRUE(out->published);
  EXPECT_EQ(out->signers, std::vector<std::string>{"k0"});
  EXPECT_EQ(out->release.published_at, d.Now());
  EXPECT_EQ(d.probe.checks, 1);
  ASSERT_EQ(d.store.releases.size(), 1u);
  auto found = d.releases.Find("agent", "stable", "1.0.0");
  ASSERT_TRUE(found);
  EXPECT_EQ(found->record.manifest, Manifest("1.0.0", 1));
  EXPECT_NE(found->offer_json.find(R"("version":"1.0.0")"), std::string::npos);

  // The same release again changes nothing and probes nothing.
  out = d.releases.Publish(Signed(Manifest("1.0.0", 1)));
  ASSERT_TRUE(out);
  EXPECT_FALSE(out->published);
  EXPECT_EQ(out->release.sequence, 1u);
  EXPECT_EQ(d.probe.checks, 1);
  EXPECT_EQ(d.releases.size(), 1u);
}

TEST_F(ReleasesTest, ARefusedReleaseIsNotKept) {
  Domain d({}, Root());
  d.Load();
  d.probe.answer = Fail(ErrorCode::artifact_unreachable, "artifact linux-x86_64 is unreachable");
  auto out = d.releases.Publish(Signed(Manifest("1.0.0", 1)));
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().code, ErrorCode::artifact_unreachable);
  EXPECT_EQ(d.releases.size(), 0u);
  EXPECT_TRUE(d.store.releases.empty());

  // Signed by a key the root does not list: refused before any probe.
  d.probe.answer = {};
  auto forged = Signed(Manifest("1.0.1", 2));
  forged.signatures = {minisign::SignBytes(SecretKey::Generate(), forged.manifest, "c")->ToFile()};
  out = d.releases.Publish(forged);
  ASSERT_FALSE(out);
  EXPECT_EQ(d.probe.checks, 1);
  EXPECT_TRUE(d.store.releases.empty());
}

}  // namespace
}  // namespace steward::controller
