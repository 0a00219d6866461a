#include "common/trust.hpp"

#include <gtest/gtest.h>

#include "common/rfc3339.hpp"
#include "tests/support/temp_dir.hpp"

namespace steward::trust {
namespace {

using minisign::SecretKey;

std::string Replace(std::string text, std::string_view from, std::string_view to) {
  const auto pos = text.find(from);
  EXPECT_NE(pos, std::string::npos) << from;
  if (pos != std::string::npos) text.replace(pos, from.size(), to);
  return text;
}

std::string Quoted(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "\"" : ",\"") + s + "\"";
  return out;
}

WallTime At(std::string_view text) { return *ParseRfc3339(text); }

std::string Sign(const SecretKey& key, std::string_view bytes, std::string_view comment = "c") {
  return SignBytes(key, bytes, comment)->ToFile();
}

// Five keys: r0..r2 may sign roots, k0..k1 releases (labels equal the names).
class TrustTest : public ::testing::Test {
 protected:
  TrustTest() {
    for (int i = 0; i < 5; ++i) keys_.push_back(SecretKey::Generate());
  }
  const SecretKey& R(int i) { return keys_[static_cast<std::size_t>(i)]; }
  const SecretKey& K(int i) { return keys_[3 + static_cast<std::size_t>(i)]; }

  std::string RootJson(std::uint64_t version = 1, int root_threshold = 2, int release_threshold = 2,
                       std::string_view expires = "2027-11-23T00:00:00Z") {
    std::string keys;
    const char* labels[] = {"r0", "r1", "r2", "k0", "k1"};
    for (std::size_t i = 0; i < 5; ++i) {
      keys += std::string(i ? "," : "") + "\"" + labels[i] + "\":\"" +
              keys_[i].public_key().ToBase64() + "\"";
    }
    return "{\"schema\":\"steward.root/1\",\"version\":" + std::to_string(version) +
           ",\"expires\":\"" + std::string(expires) + "\",\"keys\":{" + keys +
           "},\"roles\":{\"root\":{\"keys\":[" + Quoted({"r0", "r1", "r2"}) +
           "],\"threshold\":" + std::to_string(root_threshold) + "},\"release\":{\"keys\":[" +
           Quoted({"k0", "k1"}) + "],\"threshold\":" + std::to_string(release_threshold) + "}}}";
  }

  Root TheRoot(std::string_view expires = "2027-11-23T00:00:00Z") {
    auto root = ParseRoot(RootJson(1, 2, 2, expires));
    EXPECT_TRUE(root) << root.error().ToString();
    return *root;
  }

  static std::string ManifestJson() {
    return R"({"schema":"steward.release/1","component":"agent","channel":"stable",)"
           R"("version":"1.4.2","sequence":42,"root_version":1,)"
           R"("issued_at":"2026-11-01T00:00:00Z","expires":"2026-12-31T00:00:00Z",)"
           R"("min_updater_version":"1.2.0","artifacts":{"linux-x86_64":{)"
           R"("url":"https://cdn.example/agent-1.4.2","mirrors":["https://m.example/a"],)"
           R"("size":123,"sha256":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",)"
           R"("format":"binary"}}})";
  }

  std::vector<std::string> Sigs(std::string_view bytes) {
    return {Sign(K(0), bytes), Sign(K(1), bytes)};
  }

  static Expect HostExpect() {
    Expect e;
    e.component = "agent";
    e.channel = "stable";
    e.platform = "linux-x86_64";
    e.updater_version = *SemVer::Parse("1.3.0");
    return e;
  }

  const WallTime now_ = At("2026-11-23T15:00:00Z");
  std::vector<SecretKey> keys_;
};

TEST_F(TrustTest, InitialRootNeedsThresholdOfItsOwnRootKeys) {
  const auto text = RootJson();
  const std::vector<std::string> two = {Sign(R(0), text), Sign(R(2), text)};
  auto root = VerifyInitialRoot(text, two);
  ASSERT_TRUE(root) << root.error().ToString();
  EXPECT_EQ(root->version, 1u);
  EXPECT_EQ(root->release.threshold, 2u);
  EXPECT_EQ(root->keys.size(), 5u);

  const std::vector<std::string> one = {Sign(R(0), text)};
  auto short_one = VerifyInitialRoot(text, one);
  ASSERT_FALSE(short_one);
  EXPECT_EQ(short_one.error().code, ErrorCode::threshold_not_met);
  EXPECT_NE(short_one.error().message.find("1 of the 2"), std::string::npos);

  // Release keys do not count for the root role.
  const std::vector<std::string> release_signed = {Sign(R(0), text), Sign(K(0), text)};
  auto wrong_role = VerifyInitialRoot(text, release_signed);
  ASSERT_FALSE(wrong_role);
  EXPECT_EQ(wrong_role.error().code, ErrorCode::threshold_not_met);
}

TEST_F(TrustTest, SameKeyCountsOnceTowardThreshold) {
  const auto root = TheRoot();
  const auto m = ManifestJson();
  // The same signature twice, and two different signatures by the same key.
  const std::vector<std::string> copies = {Sign(K(0), m), Sign(K(0), m)};
  const std::vector<std::string> twice = {Sign(K(0), m, "one"), Sign(K(0), m, "two")};
  for (const auto& sigs : {copies, twice}) {
    auto r = VerifyRelease(root, m, sigs, {}, HostExpect(), now_);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ErrorCode::threshold_not_met);
    EXPECT_NE(r.error().message.find("1 of the 2"), std::string::npos) << r.error().message;
  }
}

TEST_F(TrustTest, ReleaseVerifiesAndReportsSigners) {
  const auto root = TheRoot();
  const auto m = ManifestJson();
  auto r = VerifyRelease(root, m, Sigs(m), {}, HostExpect(), now_);
  ASSERT_TRUE(r) << r.error().ToString();
  EXPECT_EQ(r->manifest.component, "agent");
  EXPECT_EQ(r->manifest.version.ToString(), "1.4.2");
  EXPECT_EQ(r->manifest.sequence, 42u);
  ASSERT_TRUE(r->artifact);
  EXPECT_EQ(r->artifact->size, 123u);
  EXPECT_EQ(r->artifact->mirrors.size(), 1u);
  EXPECT_EQ(r->signers, (std::vector<std::string>{"k0", "k1"}));
  EXPECT_EQ(r->manifest_sha256, Sha256Of(m));
}

TEST_F(TrustTest, UnknownSignersAreIgnoredNotFatal) {
  const auto root = TheRoot();
  const auto m = ManifestJson();
  const auto stranger = SecretKey::Generate();
  auto sigs = Sigs(m);
  sigs.push_back(Sign(stranger, m));
  EXPECT_TRUE(VerifyRelease(root, m, sigs, {}, HostExpect(), now_));
  const std::vector<std::string> only_stranger = {Sign(K(0), m), Sign(stranger, m)};
  auto r = VerifyRelease(root, m, only_stranger, {}, HostExpect(), now_);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::threshold_not_met);
  EXPECT_NE(r.error().message.find(minisign::KeyIdHex(stranger.key_id())), std::string::npos);
}

struct Case {
  std::string name;
  ErrorCode code;
  std::string why;
};

TEST_F(TrustTest, EveryReleaseCheckHasItsOwnCode) {
  const auto root = TheRoot();
  const auto m = ManifestJson();
  const auto digest = Sha256Of(m);
  auto run = [&](std::string bytes, std::vector<std::string> sigs, Floor floor, Expect expect,
                 WallTime now,
                 const Root& r) { return VerifyRelease(r, bytes, sigs, floor, expect, now); };
  auto signed_run = [&](std::string bytes, Floor floor = {}, Expect expect = HostExpect(),
                        WallTime now = WallTime{}) {
    if (now == WallTime{}) now = now_;
    return run(bytes, Sigs(bytes), floor, expect, now, root);
  };

  struct Row {
    std::string name;
    Result<VerifiedRelease> result;
    ErrorCode code;
    std::string why;
  };
  auto sig0 = *minisign::ParseSignatureFile(Sign(K(0), m));
  auto comment_tampered = sig0;
  comment_tampered.trusted_comment = "forged";
  auto legacy = sig0;
  legacy.algorithm = minisign::Algorithm::kLegacy;
  // An impostor key that claims k0's key id.
  auto impostor = SecretKey::FromBytes(K(0).key_id(), SecretKey::Generate().bytes());

  Floor floor43;
  floor43.root_version = 1;
  floor43.sequence = 43;
  Floor same_seq;
  same_seq.root_version = 1;
  same_seq.sequence = 42;
  same_seq.manifest_sha256 = Sha256Of("other bytes");
  Floor higher_root;
  higher_root.root_version = 2;
  Floor time_floor;
  time_floor.time_floor = At("2027-01-01T00:00:00Z");
  Expect other_component = HostExpect();
  other_component.component = "updater";
  Expect other_channel = HostExpect();
  other_channel.channel = "beta";
  Expect other_platform = HostExpect();
  other_platform.platform = "linux-aarch64";
  Expect old_updater = HostExpect();
  old_updater.updater_version = *SemVer::Parse("1.1.9");

  std::vector<Row> rows;
  rows.push_back({"oversize", signed_run(m + std::string(kMaxManifestBytes, ' ')),
                  ErrorCode::manifest_too_large, "over the limit"});
  rows.push_back({"too many signatures",
                  run(m, std::vector<std::string>(kMaxSignatures + 1, Sign(K(0), m)), {},
                      HostExpect(), now_, root),
                  ErrorCode::sig_malformed, "at most"});
  rows.push_back({"malformed signature", run(m, {"garbage"}, {}, HostExpect(), now_, root),
                  ErrorCode::sig_malformed, "signature 1"});
  rows.push_back({"legacy signature",
                  run(m, {legacy.ToFile(), Sign(K(1), m)}, {}, HostExpect(), now_, root),
                  ErrorCode::sig_algorithm, "legacy"});
  rows.push_back({"tampered file", run(m + " ", Sigs(m), {}, HostExpect(), now_, root),
                  ErrorCode::sig_invalid, "does not match"});
  rows.push_back({"tampered trusted comment",
                  run(m, {comment_tampered.ToFile(), Sign(K(1), m)}, {}, HostExpect(), now_, root),
                  ErrorCode::sig_comment_invalid, "trusted comment"});
  rows.push_back({"key id collision",
                  run(m, {Sign(*impostor, m), Sign(K(1), m)}, {}, HostExpect(), now_, root),
                  ErrorCode::sig_invalid, "k0"});
  rows.push_back({"wrong keys",
                  run(m, {Sign(R(0), m), Sign(R(1), m)}, {}, HostExpect(), now_, root),
                  ErrorCode::threshold_not_met, "0 of the 2"});
  rows.push_back({"no signatures", run(m, {}, {}, HostExpect(), now_, root),
                  ErrorCode::threshold_not_met, "0 of the 2"});
  rows.push_back({"schema", signed_run(Replace(m, "steward.release/1", "steward.release/2")),
                  ErrorCode::schema_mismatch, "schema"});
  rows.push_back({"hostile JSON",
                  signed_run(Replace(m, "\"sequence\":42", "\"sequence\":42,\"sequence\":43")),
                  ErrorCode::manifest_malformed, "duplicate key"});
  rows.push_back({"wrong type", signed_run(Replace(m, "\"sequence\":42", "\"sequence\":\"42\"")),
                  ErrorCode::manifest_malformed, "must be a whole number, not string"});
  rows.push_back({"number too big",
                  signed_run(Replace(m, "\"sequence\":42", "\"sequence\":9007199254740993")),
                  ErrorCode::manifest_malformed, "2^53"});
  rows.push_back({"unknown field",
                  signed_run(Replace(m, "\"sequence\":42", "\"sequence\":42,\"x\":1")),
                  ErrorCode::manifest_malformed, "unknown field \"x\""});
  rows.push_back({"missing field", signed_run(Replace(m, "\"channel\":\"stable\",", "")),
                  ErrorCode::manifest_malformed, "lacks the field \"channel\""});
  rows.push_back({"bad sha256", signed_run(Replace(m, "\"sha256\":\"a", "\"sha256\":\"A")),
                  ErrorCode::manifest_malformed, "sha256"});
  rows.push_back({"bad url", signed_run(Replace(m, "https://cdn", "ftp://cdn")),
                  ErrorCode::manifest_malformed, "url"});
  rows.push_back({"bad version", signed_run(Replace(m, "\"1.4.2\"", "\"1.4\"")),
                  ErrorCode::manifest_malformed, "semantic version"});
  rows.push_back({"bad platform name", signed_run(Replace(m, "linux-x86_64", "Linux")),
                  ErrorCode::manifest_malformed, "platform name"});
  rows.push_back({"expires before issued",
                  signed_run(Replace(m, "2026-12-31T00:00:00Z", "2026-10-31T00:00:00Z")),
                  ErrorCode::manifest_malformed, "later than issued_at"});
  rows.push_back({"other component", signed_run(m, {}, other_component),
                  ErrorCode::component_mismatch, "\"updater\""});
  rows.push_back(
      {"other channel", signed_run(m, {}, other_channel), ErrorCode::channel_mismatch, "\"beta\""});
  rows.push_back({"manifest from a newer root",
                  signed_run(Replace(m, "\"root_version\":1", "\"root_version\":2")),
                  ErrorCode::root_version_mismatch, "fetch the newer root"});
  rows.push_back({"replayed lower sequence", signed_run(m, floor43), ErrorCode::sequence_rollback,
                  "sequence 43"});
  rows.push_back({"lower root version", signed_run(m, higher_root), ErrorCode::sequence_rollback,
                  "root_version 2"});
  rows.push_back({"same sequence other bytes", signed_run(m, same_seq),
                  ErrorCode::sequence_conflict, "different bytes"});
  rows.push_back({"expired", signed_run(m, {}, HostExpect(), At("2026-12-31T00:00:00Z")),
                  ErrorCode::expired, "manifest expired at 2026-12-31T00:00:00Z"});
  rows.push_back({"expired by time floor", signed_run(m, time_floor), ErrorCode::expired,
                  "now 2027-01-01T00:00:00Z"});
  rows.push_back({"root expired",
                  run(m, Sigs(m), {}, HostExpect(), now_, TheRoot("2026-11-20T00:00:00Z")),
                  ErrorCode::expired, "root.json version 1 expired"});
  rows.push_back({"other platform", signed_run(m, {}, other_platform), ErrorCode::platform_missing,
                  "linux-aarch64"});
  rows.push_back({"updater too old", signed_run(m, {}, old_updater), ErrorCode::updater_too_old,
                  "1.2.0 or newer"});
  for (auto& row : rows) {
    ASSERT_FALSE(row.result) << row.name;
    EXPECT_EQ(row.result.error().code, row.code)
        << row.name << ": " << row.result.error().ToString();
    EXPECT_NE(row.result.error().message.find(row.why), std::string::npos)
        << row.name << ": " << row.result.error().message;
  }

  // Same sequence with the identical bytes is accepted (a re-delivery).
  Floor identical = same_seq;
  identical.manifest_sha256 = digest;
  EXPECT_TRUE(signed_run(m, identical));
}

TEST_F(TrustTest, ChecksRunInTheDocumentedOrder) {
  const auto root = TheRoot();
  // Unsigned, wrong component, replayed and expired: the signature check speaks first.
  const auto m = ManifestJson();
  Expect other = HostExpect();
  other.component = "updater";
  Floor floor;
  floor.sequence = 99;
  floor.root_version = 1;
  const std::vector<std::string> one = {Sign(K(0), m)};
  auto r = VerifyRelease(root, m, one, floor, other, At("2030-01-01T00:00:00Z"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::threshold_not_met);
  // Signed: component before floor before expiry.
  r = VerifyRelease(root, m, Sigs(m), floor, other, At("2030-01-01T00:00:00Z"));
  EXPECT_EQ(r.error().code, ErrorCode::component_mismatch);
  r = VerifyRelease(root, m, Sigs(m), floor, HostExpect(), At("2030-01-01T00:00:00Z"));
  EXPECT_EQ(r.error().code, ErrorCode::sequence_rollback);
  r = VerifyRelease(root, m, Sigs(m), {}, HostExpect(), At("2030-01-01T00:00:00Z"));
  EXPECT_EQ(r.error().code, ErrorCode::expired);
}

TEST_F(TrustTest, HostileRoots) {
  const auto good = RootJson();
  const auto k0 = K(0).public_key().ToBase64();
  const auto r0 = R(0).public_key().ToBase64();
  const Case cases[] = {
      {Replace(good, "\"threshold\":2}}", "\"threshold\":0}}"), ErrorCode::root_invalid,
       "outside 1..2"},
      {Replace(good, "\"threshold\":2}}", "\"threshold\":3}}"), ErrorCode::root_invalid,
       "outside 1..2"},
      {Replace(good, k0, r0), ErrorCode::root_invalid, "same public key twice"},
      {Replace(good, "[\"k0\",\"k1\"]", "[\"k0\",\"k9\"]"), ErrorCode::root_invalid, "\"k9\""},
      {Replace(good, "[\"k0\",\"k1\"]", "[\"k0\",\"k0\"]"), ErrorCode::root_invalid, "twice"},
      {Replace(good, "[\"k0\",\"k1\"]", "[]"), ErrorCode::root_invalid, "no keys"},
      {Replace(good, "\"version\":1", "\"version\":0"), ErrorCode::root_malformed, "at least 1"},
      {Replace(good, "\"version\":1", "\"version\":1.0"), ErrorCode::root_malformed,
       "whole numbers"},
      {Replace(good, "\"version\":1", "\"version\":1,\"version\":2"), ErrorCode::root_malformed,
       "duplicate key"},
      {Replace(good, "steward.root/1", "steward.root/9"), ErrorCode::root_malformed, "schema"},
      {Replace(good, "2027-11-23T00:00:00Z", "tomorrow"), ErrorCode::root_malformed, "expires"},
      {Replace(good, k0, "RWxx"), ErrorCode::root_malformed, "key \"k0\""},
      {Replace(good, "\"k0\":", "\"../k0\":"), ErrorCode::root_malformed, "label"},
      {Replace(good, "\"roles\"", "\"extra\":1,\"roles\""), ErrorCode::root_malformed,
       "unknown field"},
      {Replace(good, "\"threshold\":2}}", "\"threshold\":\"2\"}}"), ErrorCode::root_malformed,
       "must be a whole number"},
      {good + std::string(kMaxRootBytes, ' '), ErrorCode::root_malformed, "over the limit"},
      {"[]", ErrorCode::root_malformed, "must be a JSON object"},
  };
  for (const auto& c : cases) {
    auto r = ParseRoot(c.name);
    ASSERT_FALSE(r) << c.name;
    EXPECT_EQ(r.error().code, c.code) << c.name << ": " << r.error().ToString();
    EXPECT_NE(r.error().message.find(c.why), std::string::npos) << r.error().message;
  }
}

TEST_F(TrustTest, RootRotationNeedsOldAndNewThresholds) {
  const auto trusted = TheRoot();
  // Version 2 drops r2 and adds a new root key n0 (threshold 2 of r0, r1, n0).
  const auto n0 = SecretKey::Generate();
  auto v2 = Replace(RootJson(2), "\"" + R(2).public_key().ToBase64() + "\"",
                    "\"" + n0.public_key().ToBase64() + "\"");
  auto sign_with = [&](std::vector<const SecretKey*> signers) {
    std::vector<std::string> sigs;
    for (const auto* k : signers) sigs.push_back(Sign(*k, v2));
    return sigs;
  };
  auto ok = VerifyRootRotation(trusted, v2, sign_with({&R(0), &R(1), &n0}));
  ASSERT_TRUE(ok) << ok.error().ToString();
  EXPECT_EQ(ok->version, 2u);
  EXPECT_EQ(ok->keys.at("r2").bytes, n0.public_key().bytes);

  // r0+r1 satisfy old and new (they are in both); r2 (old only) + n0 (new only) satisfy neither.
  EXPECT_TRUE(VerifyRootRotation(trusted, v2, sign_with({&R(0), &R(1)})));
  auto half = VerifyRootRotation(trusted, v2, sign_with({&R(2), &n0}));
  ASSERT_FALSE(half);
  EXPECT_EQ(half.error().code, ErrorCode::threshold_not_met);
  EXPECT_NE(half.error().message.find("signed by version 1"), std::string::npos);
  auto only_new = VerifyRootRotation(trusted, v2, sign_with({&R(0), &n0}));
  ASSERT_FALSE(only_new);
  EXPECT_EQ(only_new.error().code, ErrorCode::threshold_not_met);

  const auto v3 = RootJson(3);
  std::vector<std::string> sigs3 = {Sign(R(0), v3), Sign(R(1), v3)};
  auto skip = VerifyRootRotation(trusted, v3, sigs3);
  ASSERT_FALSE(skip);
  EXPECT_EQ(skip.error().code, ErrorCode::root_rotation);
  const auto v1 = RootJson(1);
  std::vector<std::string> sigs1 = {Sign(R(0), v1), Sign(R(1), v1)};
  auto same = VerifyRootRotation(trusted, v1, sigs1);
  ASSERT_FALSE(same);
  EXPECT_EQ(same.error().code, ErrorCode::root_rotation);
}

TEST_F(TrustTest, KeysSharingAnIdAreToldApartByTheirBytes) {
  // k1 is replaced by a key that claims k0's id: each signature still counts for its own key.
  keys_[4] = *SecretKey::FromBytes(K(0).key_id(), SecretKey::Generate().bytes());
  const auto root = TheRoot();
  ASSERT_EQ(root.keys.at("k0").key_id, root.keys.at("k1").key_id);
  const auto m = ManifestJson();
  auto r = VerifyRelease(root, m, Sigs(m), {}, HostExpect(), now_);
  ASSERT_TRUE(r) << r.error().ToString();
  EXPECT_EQ(r->signers, (std::vector<std::string>{"k0", "k1"}));
  const std::vector<std::string> same = {Sign(K(1), m), Sign(K(1), m, "again")};
  auto twice = VerifyRelease(root, m, same, {}, HostExpect(), now_);
  ASSERT_FALSE(twice);
  EXPECT_EQ(twice.error().code, ErrorCode::threshold_not_met);
}

TEST_F(TrustTest, LoadRootFileFindsSignaturesBesideIt) {
  test::TempDir dir;
  const auto text = RootJson();
  const auto path = dir.Write("root.json", text);
  dir.Write("root.json.r0.minisig", Sign(R(0), text));
  auto one = LoadRootFile(path);
  ASSERT_FALSE(one);
  EXPECT_EQ(one.error().code, ErrorCode::threshold_not_met);
  EXPECT_NE(one.error().message.find(path), std::string::npos) << one.error().message;
  dir.Write("root.json.r1.minisig", Sign(R(1), text));
  auto two = LoadRootFile(path);
  ASSERT_TRUE(two) << two.error().ToString();
  EXPECT_EQ(two->version, 1u);
  dir.Write("root.json.r1.minisig", "junk");
  auto junk = LoadRootFile(path);
  ASSERT_FALSE(junk);
  EXPECT_EQ(junk.error().code, ErrorCode::sig_malformed);
  auto missing = LoadRootFile(dir / "none.json");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::not_found);
}

TEST(TrustNames, ComponentChannelAndLabelRules) {
  EXPECT_TRUE(IsValidName("agent"));
  EXPECT_TRUE(IsValidName("node-2_x"));
  EXPECT_FALSE(IsValidName("-agent"));
  EXPECT_FALSE(IsValidName("Agent"));
  EXPECT_FALSE(IsValidName(""));
  EXPECT_TRUE(IsValidLabel("Alice.2026"));
  EXPECT_FALSE(IsValidLabel(".hidden"));
  EXPECT_FALSE(IsValidLabel("a/b"));
}

}  // namespace
}  // namespace steward::trust

namespace steward::trust {

// ---- deltas: patches listed per artifact ------------------------------------------------------

namespace {

const std::string kA64(64, 'a');
const std::string kB64(64, 'b');
const std::string kC64(64, 'c');

std::string DeltaJson(const std::string& from = kB64, const std::string& extra = "") {
  return R"({"from_sha256":")" + from +
         R"(","url":"https://cdn.example/p","mirrors":["https://m.example/p"],"size":9,)"
         R"("sha256":")" +
         kC64 + R"(","format":"zstd-patch")" + extra + "}";
}

std::string ManifestWithDeltas(const std::string& deltas) {
  return R"({"schema":"steward.release/1","component":"agent","channel":"stable",)"
         R"("version":"1.4.2","sequence":42,"root_version":1,)"
         R"("issued_at":"2026-11-01T00:00:00Z","expires":"2026-12-31T00:00:00Z",)"
         R"("artifacts":{"linux-x86_64":{"url":"https://cdn.example/a","size":123,)"
         R"("sha256":")" +
         kA64 + R"(","format":"binary","deltas":)" + deltas + "}}}";
}

}  // namespace

TEST(TrustDeltas, ParsesEachDeltaOfAnArtifact) {
  auto m = ParseManifest(ManifestWithDeltas("[" + DeltaJson() + "]"));
  ASSERT_TRUE(m) << m.error().ToString();
  const auto& deltas = m->artifacts.at("linux-x86_64").deltas;
  ASSERT_EQ(deltas.size(), 1u);
  EXPECT_EQ(HexEncode(deltas[0].from_sha256), kB64);
  EXPECT_EQ(deltas[0].url, "https://cdn.example/p");
  EXPECT_EQ(deltas[0].mirrors, std::vector<std::string>{"https://m.example/p"});
  EXPECT_EQ(deltas[0].size, 9u);
  EXPECT_EQ(HexEncode(deltas[0].sha256), kC64);
  EXPECT_EQ(deltas[0].format, "zstd-patch");
  // Absent and empty are the same: no patch.
  auto none = ParseManifest(ManifestWithDeltas("[]"));
  ASSERT_TRUE(none) << none.error().ToString();
  EXPECT_TRUE(none->artifacts.at("linux-x86_64").deltas.empty());
}

TEST(TrustDeltas, HostileDeltasAreMalformedWithTheReason) {
  std::string seventeen = "[";
  for (int i = 0; i < 17; ++i) {
    seventeen += (i ? "," : "") +
                 DeltaJson(std::string(62, 'b') + (i < 10 ? "0" : "1") + std::to_string(i % 10));
  }
  seventeen += "]";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"{}", "must be an array"},
      {"[1]", "must be a JSON object"},
      {"[" + DeltaJson(kB64, R"(,"extra":1)") + "]", "unknown field \"extra\""},
      {"[" + DeltaJson("B" + kB64.substr(1)) + "]", "from_sha256 must be 64 lower-case hex"},
      {"[" + DeltaJson(kA64) + "]", "patches the artifact into itself"},
      {"[" + DeltaJson() + "," + DeltaJson() + "]", "two deltas from_sha256"},
      {"[" + Replace(DeltaJson(), "zstd-patch", "bsdiff") + "]", "format \"bsdiff\" is unknown"},
      {"[" + Replace(DeltaJson(), "\"size\":9", "\"size\":0") + "]", "size must be at least 1"},
      {"[" + Replace(DeltaJson(), "\"size\":9", "\"size\":-1") + "]", "negative numbers"},
      {"[" + Replace(DeltaJson(), "https://cdn.example/p", "file:///etc/passwd") + "]",
       "url must be an http(s) URL"},
      {"[" + Replace(DeltaJson(), R"("url":"https://cdn.example/p",)", "") + "]",
       "lacks the field \"url\""},
      {seventeen, "more than 16 deltas"},
  };
  for (const auto& [deltas, why] : cases) {
    auto m = ParseManifest(ManifestWithDeltas(deltas));
    ASSERT_FALSE(m) << deltas;
    EXPECT_EQ(m.error().code, ErrorCode::manifest_malformed) << deltas;
    EXPECT_NE(m.error().message.find(why), std::string::npos) << m.error().message;
  }
}

}  // namespace steward::trust
