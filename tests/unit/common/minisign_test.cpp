#include "common/minisign.hpp"

#include <gtest/gtest.h>

#include "common/base64.hpp"
#include "tests/support/temp_dir.hpp"

namespace steward::minisign {
namespace {

// Made by minisign 0.11: `minisign -G -W`, then `minisign -S -t "tc here"` (prehashed) and
// `minisign -S -l -t legacy` over the 6 bytes "hello\n".
constexpr std::string_view kMinisignPub =
    "untrusted comment: minisign public key 47C7DC8C5836844E\n"
    "RWROhDZYjNzHR1QpHDDV9kWalwHa5JiyiDlObEXCnxPMWNhsOmCA0/d5\n";
constexpr std::string_view kMinisignSig =
    "untrusted comment: signature from minisign secret key\n"
    "RUROhDZYjNzHRzV0L27ft6yVixlLun4bOyKN3Poj4RvxrVLV7HkC0MJy/"
    "CG2RT41TDwcYErsQE0Rc5HCsM5Ghz3zLeYJylZ25QE=\n"
    "trusted comment: tc here\n"
    "fX0DAlmBPyBwoE7j6dfcIkia8QtpaNG7qibG5xFXzaPZmWrgrDTtUZyqbONBb0qib+Cf7KUSNmF1oyIWM5j2CQ==\n";
constexpr std::string_view kMinisignLegacySig =
    "untrusted comment: signature from minisign secret key\n"
    "RWROhDZYjNzHR9ReFNpBghTyg655So6u44HPj/"
    "wSJFawMKUMTwD19uN77g8uUq6kT5eMuZcBPYEB17rWjLFQ0zgJ0d+siULmCwE=\n"
    "trusted comment: legacy\n"
    "pYII8mlX6rnxXToy0IaT+Ex513YXntwmCCFZqkamrqlHGgooBTKK9lqkhf3i0IIDC8YVadDiuLBPQtNf4Zn4Aw==\n";
constexpr std::string_view kMessage = "hello\n";

std::string Replace(std::string text, std::string_view from, std::string_view to) {
  const auto pos = text.find(from);
  EXPECT_NE(pos, std::string::npos) << from;
  if (pos != std::string::npos) text.replace(pos, from.size(), to);
  return text;
}

TEST(Minisign, VerifiesSignaturesMadeByMinisign) {
  auto pk = ParsePublicKeyFile(kMinisignPub);
  ASSERT_TRUE(pk) << pk.error().ToString();
  EXPECT_EQ(KeyIdHex(pk->key_id), "47C7DC8C5836844E");
  auto sig = ParseSignatureFile(kMinisignSig);
  ASSERT_TRUE(sig) << sig.error().ToString();
  EXPECT_EQ(sig->algorithm, Algorithm::kPrehashed);
  auto comment = VerifyBytes(*pk, *sig, kMessage);
  ASSERT_TRUE(comment) << comment.error().ToString();
  EXPECT_EQ(*comment, "tc here");
  EXPECT_EQ(sig->ToFile(), kMinisignSig);  // byte-identical when written back
  EXPECT_EQ(pk->ToFile(), kMinisignPub);
}

TEST(Minisign, LegacySignaturesOnlyWhenAllowed) {
  auto pk = ParsePublicKeyFile(kMinisignPub);
  auto sig = ParseSignatureFile(kMinisignLegacySig);
  ASSERT_TRUE(pk && sig);
  EXPECT_EQ(sig->algorithm, Algorithm::kLegacy);
  auto refused = VerifyBytes(*pk, *sig, kMessage);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::sig_algorithm);
  EXPECT_NE(refused.error().message.find("legacy"), std::string::npos);
  auto allowed = VerifyBytes(*pk, *sig, kMessage, {.allow_legacy = true});
  ASSERT_TRUE(allowed) << allowed.error().ToString();
  EXPECT_EQ(*allowed, "legacy");
}

TEST(Minisign, AcceptsCrlfAndMissingFinalNewline) {
  std::string crlf;
  for (char c : kMinisignSig) {
    if (c == '\n') crlf += '\r';
    crlf += c;
  }
  EXPECT_TRUE(ParseSignatureFile(crlf));
  EXPECT_TRUE(ParseSignatureFile(kMinisignSig.substr(0, kMinisignSig.size() - 1)));
  EXPECT_TRUE(ParsePublicKeyBase64("RWROhDZYjNzHR1QpHDDV9kWalwHa5JiyiDlObEXCnxPMWNhsOmCA0/d5"));
}

TEST(Minisign, SignThenVerifyAndEveryTamperFails) {
  const auto key = SecretKey::Generate();
  const auto pk = key.public_key();
  auto sig = SignBytes(key, "payload", "trusted words");
  ASSERT_TRUE(sig);
  auto reparsed = ParseSignatureFile(sig->ToFile());
  ASSERT_TRUE(reparsed);
  EXPECT_EQ(*VerifyBytes(pk, *reparsed, "payload"), "trusted words");

  auto tampered_data = VerifyBytes(pk, *reparsed, "payloaD");
  ASSERT_FALSE(tampered_data);
  EXPECT_EQ(tampered_data.error().code, ErrorCode::sig_invalid);
  EXPECT_NE(tampered_data.error().message.find("does not match"), std::string::npos);

  auto comment = *reparsed;
  comment.trusted_comment = "trusted wordz";
  auto tampered_comment = VerifyBytes(pk, comment, "payload");
  ASSERT_FALSE(tampered_comment);
  EXPECT_EQ(tampered_comment.error().code, ErrorCode::sig_comment_invalid);

  const auto other = SecretKey::Generate();
  auto wrong_key = VerifyBytes(other.public_key(), *reparsed, "payload");
  ASSERT_FALSE(wrong_key);
  EXPECT_EQ(wrong_key.error().code, ErrorCode::sig_key_mismatch);
  EXPECT_NE(wrong_key.error().message.find(KeyIdHex(pk.key_id)), std::string::npos);

  // Key ids are hints anyone can forge: another key claiming the same id still fails.
  auto impostor = other.public_key();
  impostor.key_id = pk.key_id;
  auto collision = VerifyBytes(impostor, *reparsed, "payload");
  ASSERT_FALSE(collision);
  EXPECT_EQ(collision.error().code, ErrorCode::sig_invalid);
}

TEST(Minisign, SignFileStreamsAndMatchesBytes) {
  test::TempDir dir;
  const auto path = dir.Write("f", "file contents");
  const auto key = SecretKey::Generate();
  auto sig = SignFile(key, path, "c");
  ASSERT_TRUE(sig);
  EXPECT_TRUE(VerifyBytes(key.public_key(), *sig, "file contents"));
  EXPECT_TRUE(VerifyFile(key.public_key(), *sig, path));
  dir.Write("f", "file contentz");
  auto bad = VerifyFile(key.public_key(), *sig, path);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::sig_invalid);
}

TEST(Minisign, TrustedCommentRules) {
  const auto key = SecretKey::Generate();
  EXPECT_FALSE(SignBytes(key, "x", "two\nlines"));
  EXPECT_FALSE(SignBytes(key, "x", std::string(kMaxTrustedComment + 1, 'c')));
  EXPECT_TRUE(SignBytes(key, "x", std::string(kMaxTrustedComment, 'c')));
  EXPECT_EQ(DefaultTrustedComment(12, "a.bin"), "timestamp:12\tfile:a.bin\thashed");
}

TEST(Minisign, UnencryptedSecretKeyRoundTrip) {
  const auto key = SecretKey::Generate();
  auto text = key.ToFile(std::nullopt);
  ASSERT_TRUE(text);
  EXPECT_FALSE(*SecretKeyFileIsEncrypted(*text));
  auto back = ParseSecretKeyFile(*text, std::nullopt);
  ASSERT_TRUE(back) << back.error().ToString();
  EXPECT_EQ(back->public_key(), key.public_key());
}

TEST(Minisign, ReadsUnencryptedKeyWrittenByMinisign) {
  // `minisign -G -W` 0.11 output (checksum left zero), the key of kMinisignPub.
  constexpr std::string_view kKey =
      "untrusted comment: minisign encrypted secret key\n"
      "RWQAAEIyAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAToQ2WIzcx0c1lpcqH5p3"
      "4SEh8FVF8Zed+/NfjPb87dY7rlzFsczNG1QpHDDV9kWalwHa5JiyiDlObEXCnxPMWNhsOmCA0/"
      "d5AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n";
  auto key = ParseSecretKeyFile(kKey, std::nullopt);
  ASSERT_TRUE(key) << key.error().ToString();
  EXPECT_EQ(key->public_key(), *ParsePublicKeyFile(kMinisignPub));
}

TEST(Minisign, EncryptedSecretKeyNeedsTheRightPassword) {
  const auto key = SecretKey::Generate();
  auto text = key.ToFile("correct horse", KdfLimits::Interactive());
  ASSERT_TRUE(text);
  EXPECT_TRUE(*SecretKeyFileIsEncrypted(*text));
  auto none = ParseSecretKeyFile(*text, std::nullopt);
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code, ErrorCode::key_password);
  EXPECT_NE(none.error().message.find("encrypted"), std::string::npos);
  auto wrong = ParseSecretKeyFile(*text, "battery staple");
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().code, ErrorCode::key_password);
  EXPECT_NE(wrong.error().message.find("wrong password"), std::string::npos);
  auto right = ParseSecretKeyFile(*text, "correct horse");
  ASSERT_TRUE(right) << right.error().ToString();
  EXPECT_EQ(right->public_key(), key.public_key());
}

struct BadFile {
  std::string name;
  std::string text;
  ErrorCode code;
  std::string why;
};

TEST(Minisign, HostileSignatureFiles) {
  const std::string good(kMinisignSig);
  const std::string sig_line =
      "RUROhDZYjNzHRzV0L27ft6yVixlLun4bOyKN3Poj4RvxrVLV7HkC0MJy/"
      "CG2RT41TDwcYErsQE0Rc5HCsM5Ghz3zLeYJylZ25QE=";
  const BadFile cases[] = {
      {"three lines", good.substr(0, good.rfind("fX0")), ErrorCode::sig_malformed, "lines"},
      {"extra line", good + "more\n", ErrorCode::sig_malformed, "lines"},
      {"blank trailing line", good + "\n", ErrorCode::sig_malformed, "lines"},
      {"no untrusted prefix", Replace(good, "untrusted comment: ", "comment: "),
       ErrorCode::sig_malformed, "untrusted comment"},
      {"no trusted prefix", Replace(good, "trusted comment: tc", "trusted: tc"),
       ErrorCode::sig_malformed, "trusted comment"},
      {"short base64", Replace(good, sig_line, sig_line.substr(4)), ErrorCode::sig_malformed,
       "base64 characters"},
      {"bad base64 char", Replace(good, "RURO", "RU*O"), ErrorCode::sig_malformed, "base64"},
      {"unpadded", Replace(good, "25QE=", "25QEA"), ErrorCode::sig_malformed, "base64"},
      {"unknown algorithm", Replace(good, "RURO", "RVRO"), ErrorCode::sig_algorithm, "algorithm"},
      {"NUL byte", Replace(good, "tc here", std::string("tc\0here", 7)), ErrorCode::sig_malformed,
       "NUL"},
      {"stray CR", Replace(good, "tc here", "tc\rhere"), ErrorCode::sig_malformed,
       "carriage return"},
      {"oversize", good + std::string(kMaxSignatureFile, 'x'), ErrorCode::sig_malformed,
       "over the limit"},
      {"long trusted comment", Replace(good, "tc here", std::string(kMaxTrustedComment + 1, 'c')),
       ErrorCode::sig_malformed, "trusted comment is longer"},
      {"long untrusted comment",
       Replace(good, "signature from", std::string(kMaxUntrustedCommentLine, 'u')),
       ErrorCode::sig_malformed, "untrusted comment line is longer"},
      {"bad global signature", Replace(good, "fX0D", "fX0"), ErrorCode::sig_malformed, "global"},
      {"empty", "", ErrorCode::sig_malformed, "lines"},
  };
  for (const auto& c : cases) {
    auto r = ParseSignatureFile(c.text);
    ASSERT_FALSE(r) << c.name;
    EXPECT_EQ(r.error().code, c.code) << c.name << ": " << r.error().ToString();
    EXPECT_NE(r.error().message.find(c.why), std::string::npos)
        << c.name << ": " << r.error().message;
  }
}

TEST(Minisign, HostileKeyFiles) {
  const std::string pub(kMinisignPub);
  const auto key = SecretKey::Generate();
  const std::string sec = *key.ToFile(std::nullopt);
  const std::string sec_line = sec.substr(sec.find('\n') + 1, 212);
  auto raw = *Base64Decode(sec_line);
  auto with = [&](std::size_t at, std::uint8_t v) {
    auto copy = raw;
    copy[at] = v;
    return "untrusted comment: x\n" + Base64Encode(copy) + "\n";
  };
  const BadFile cases[] = {
      {"pub one line", pub.substr(pub.find('\n') + 1), ErrorCode::key_malformed, "lines"},
      {"pub not Ed", Replace(pub, "RWRO", "RVRO"), ErrorCode::key_malformed, "'Ed'"},
      {"pub truncated", Replace(pub, "0/d5", "0/d"), ErrorCode::key_malformed, "base64"},
      {"pub no prefix", Replace(pub, "untrusted comment:", "untrusted:"), ErrorCode::key_malformed,
       "untrusted comment"},
      {"pub oversize", pub + std::string(kMaxKeyFile, ' '), ErrorCode::key_malformed,
       "over the limit"},
      {"sec unknown kdf", with(2, 'X'), ErrorCode::key_malformed, "key derivation"},
      {"sec unknown checksum", with(4, 'X'), ErrorCode::key_malformed, "checksum"},
      {"sec damaged checksum", with(130, static_cast<std::uint8_t>(raw[130] ^ 1)),
       ErrorCode::key_malformed, "checksum"},
      {"sec inconsistent halves", with(100, static_cast<std::uint8_t>(raw[100] ^ 1)),
       ErrorCode::key_malformed, ""},
      {"sec truncated", "untrusted comment: x\n" + sec_line.substr(4) + "\n",
       ErrorCode::key_malformed, "base64"},
  };
  for (const auto& c : cases) {
    Result<void> r;
    if (c.name.starts_with("pub")) {
      auto k = ParsePublicKeyFile(c.text);
      if (!k) r = std::unexpected(k.error());
    } else {
      auto k = ParseSecretKeyFile(c.text, std::nullopt);
      if (!k) r = std::unexpected(k.error());
    }
    ASSERT_FALSE(r) << c.name;
    EXPECT_EQ(r.error().code, c.code) << c.name << ": " << r.error().ToString();
    EXPECT_NE(r.error().message.find(c.why), std::string::npos)
        << c.name << ": " << r.error().message;
  }
  // Absurd scrypt limits in an encrypted key are refused before any work is done.
  auto enc = *key.ToFile("pw", KdfLimits::Interactive());
  auto eraw = *Base64Decode(enc.substr(enc.find('\n') + 1, 212));
  for (int i = 0; i < 8; ++i) eraw[46 + static_cast<std::size_t>(i)] = 0xff;
  auto huge = ParseSecretKeyFile("untrusted comment: x\n" + Base64Encode(eraw) + "\n", "pw");
  ASSERT_FALSE(huge);
  EXPECT_EQ(huge.error().code, ErrorCode::key_malformed);
  EXPECT_NE(huge.error().message.find("scrypt limits"), std::string::npos);
}

}  // namespace
}  // namespace steward::minisign
