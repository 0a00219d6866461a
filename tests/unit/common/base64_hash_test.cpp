#include <gtest/gtest.h>

#include <fstream>

#include "common/base64.hpp"
#include "common/hash.hpp"
#include "common/platform.hpp"
#include "common/rfc3339.hpp"
#include "tests/support/temp_dir.hpp"

namespace steward {
namespace {

std::vector<std::uint8_t> Bytes(std::string_view s) { return {s.begin(), s.end()}; }

TEST(Base64, RoundTripsRfc4648Vectors) {
  const std::pair<const char*, const char*> vectors[] = {{"", ""},
                                                         {"f", "Zg=="},
                                                         {"fo", "Zm8="},
                                                         {"foo", "Zm9v"},
                                                         {"foob", "Zm9vYg=="},
                                                         {"fooba", "Zm9vYmE="},
                                                         {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, encoded] : vectors) {
    EXPECT_EQ(Base64Encode(Bytes(plain)), encoded);
    auto back = Base64Decode(encoded);
    ASSERT_TRUE(back) << encoded;
    EXPECT_EQ(*back, Bytes(plain));
  }
}

TEST(Base64, RejectsNonCanonicalText) {
  for (const char* bad : {"Zg", "Zg=", "Zg===", "Z===", "====", "Zh==", "Zm9=", "Zm 9v", "Zm9v\n",
                          "Zm-v", "Zm_v", "Zg==Zg==", "=Zg="}) {
    EXPECT_FALSE(Base64Decode(bad)) << bad;
  }
}

TEST(Hash, KnownDigests) {
  EXPECT_EQ(HexEncode(Sha256Of("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(HexEncode(Blake2b512Of("abc")),
            "ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d17d87c5392aab792dc252d5"
            "de4533cc9518d38aa8dbf1925ab92386edd4009923");
}

TEST(Hash, StreamingEqualsOneShotAcrossChunkBoundaries) {
  test::TempDir dir;
  std::string data(3 * (1 << 20) + 12345, '\0');
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 131 % 251);
  const auto path = dir.Write("big", data);
  auto sha = Sha256FileWithSize(path);
  ASSERT_TRUE(sha);
  EXPECT_EQ(sha->size, data.size());
  EXPECT_EQ(sha->sha256, Sha256Of(data));
  auto b2 = Blake2b512File(path);
  ASSERT_TRUE(b2);
  EXPECT_EQ(*b2, Blake2b512Of(data));
  Sha256 h;
  h.Update(std::string_view(data).substr(0, 7));
  h.Update(std::string_view(data).substr(7));
  EXPECT_EQ(h.Finish(), Sha256Of(data));
}

TEST(Hash, MissingFileIsNotFound) {
  auto r = Sha256File("/nonexistent/steward-file");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::not_found);
  EXPECT_NE(r.error().message.find("/nonexistent/steward-file"), std::string::npos);
}

TEST(Hex, EncodeDecodeAndStrictSha256) {
  EXPECT_EQ(HexEncode(Bytes("\x01\xab")), "01ab");
  EXPECT_EQ(HexDecode("01AB"), Bytes("\x01\xab"));
  EXPECT_FALSE(HexDecode("0"));
  EXPECT_FALSE(HexDecode("zz"));
  const std::string good(64, 'a');
  EXPECT_TRUE(ParseSha256Hex(good));
  EXPECT_FALSE(ParseSha256Hex(std::string(64, 'A')));  // one text form only
  EXPECT_FALSE(ParseSha256Hex(std::string(63, 'a')));
}

TEST(Platform, HostPlatformIsValid) {
  EXPECT_TRUE(IsValidPlatformName(HostPlatform())) << HostPlatform();
#if defined(__linux__) && defined(__x86_64__)
  EXPECT_EQ(HostPlatform(), "linux-x86_64");
#endif
  EXPECT_FALSE(IsValidPlatformName("linux"));
  EXPECT_FALSE(IsValidPlatformName("Linux-x86_64"));
  EXPECT_FALSE(IsValidPlatformName("-x86"));
  EXPECT_FALSE(IsValidPlatformName("linux-x86/64"));
}

TEST(Rfc3339, FormatsAndParsesUtc) {
  auto t = ParseRfc3339("2026-11-23T15:00:00Z");
  ASSERT_TRUE(t);
  EXPECT_EQ(std::chrono::duration_cast<std::chrono::seconds>(t->time_since_epoch()).count(),
            1795446000);
  EXPECT_EQ(FormatRfc3339(*t), "2026-11-23T15:00:00Z");
  EXPECT_TRUE(ParseRfc3339("2024-02-29T23:59:59Z"));
}

TEST(Rfc3339, RejectsOtherForms) {
  for (const char* bad :
       {"2026-11-23T15:00:00+00:00", "2026-11-23 15:00:00Z", "2026-11-23T15:00:00.5Z",
        "2026-13-01T00:00:00Z", "2023-02-29T00:00:00Z", "2026-11-23T24:00:00Z",
        "1969-12-31T23:59:59Z", "2026-11-23t15:00:00z", "9999-12-31T23:59:59Z", ""}) {
    auto r = ParseRfc3339(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, ErrorCode::invalid_argument);
    EXPECT_NE(r.error().message.find("expected UTC"), std::string::npos);
  }
}

TEST(Hmac, MatchesRfc4231) {
  const std::string key = "Jefe";
  const auto mac = HmacSha256({reinterpret_cast<const std::uint8_t*>(key.data()), key.size()},
                              "what do ya want for nothing?");
  EXPECT_EQ(HexEncode(mac), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  // Keys longer than a block are hashed first (RFC 4231 test case 6).
  const std::vector<std::uint8_t> long_key(131, 0xaa);
  EXPECT_EQ(
      HexEncode(HmacSha256(long_key, "Test Using Larger Than Block-Size Key - Hash Key First")),
      "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

}  // namespace
}  // namespace steward
