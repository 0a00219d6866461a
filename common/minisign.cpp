#include "common/minisign.hpp"

#include <sodium.h>

#include <cstring>
#include <vector>

#include "common/base64.hpp"
#include "common/files.hpp"

namespace steward::minisign {

namespace {

constexpr std::string_view kUntrustedPrefix = "untrusted comment: ";
constexpr std::string_view kTrustedPrefix = "trusted comment: ";
constexpr std::size_t kPublicKeyLen = 2 + 8 + 32;
constexpr std::size_t kSignatureLen = 2 + 8 + 64;
// sig_alg(2) kdf_alg(2) chk_alg(2) salt(32) opslimit(8) memlimit(8) keynum(8) sk(64) chk(32)
constexpr std::size_t kSecretKeyLen = 2 + 2 + 2 + 32 + 8 + 8 + 8 + 64 + 32;
constexpr std::size_t kEncryptedPartLen = 8 + 64 + 32;
constexpr std::uint64_t kMaxOpslimit = std::uint64_t{1} << 32;
constexpr std::uint64_t kMaxMemlimit = std::uint64_t{2} << 30;

// Splits `text` into exactly `count` lines ending in LF or CRLF (the last terminator optional).
Result<std::vector<std::string_view>> SplitLines(std::string_view text, std::size_t count,
                                                 std::size_t max_bytes, ErrorCode code,
                                                 std::string_view what) {
  if (text.size() > max_bytes) {
    return Fail(code, std::string(what) + " is " + std::to_string(text.size()) +
                          " bytes, over the limit of " + std::to_string(max_bytes));
  }
  if (text.find('\0') != std::string_view::npos) {
    return Fail(code, std::string(what) + " contains a NUL byte");
  }
  std::vector<std::string_view> lines;
  std::size_t pos = 0;
  while (pos < text.size()) {
    const std::size_t nl = text.find('\n', pos);
    std::string_view line = text.substr(pos, nl == std::string_view::npos ? nl : nl - pos);
    if (nl != std::string_view::npos && !line.empty() && line.back() == '\r') {
      line.remove_suffix(1);
    }
    if (line.find('\r') != std::string_view::npos) {
      return Fail(code, std::string(what) + ": line " + std::to_string(lines.size() + 1) +
                            " has a stray carriage return");
    }
    lines.push_back(line);
    if (nl == std::string_view::npos) break;
    pos = nl + 1;
  }
  if (lines.size() != count) {
    return Fail(code, std::string(what) + " has " + std::to_string(lines.size()) +
                          " lines; expected exactly " + std::to_string(count));
  }
  return lines;
}

Result<std::string> UntrustedComment(std::string_view line, ErrorCode code, std::string_view what) {
  if (!line.starts_with(kUntrustedPrefix)) {
    return Fail(code, std::string(what) + ": first line must start with 'untrusted comment: '");
  }
  if (line.size() > kMaxUntrustedCommentLine) {
    return Fail(code, std::string(what) + ": untrusted comment line is longer than " +
                          std::to_string(kMaxUntrustedCommentLine) + " bytes");
  }
  return std::string(line.substr(kUntrustedPrefix.size()));
}

Result<std::vector<std::uint8_t>> DecodeExact(std::string_view line, std::size_t bytes,
                                              ErrorCode code, std::string_view what) {
  if (line.size() != Base64Length(bytes)) {
    return Fail(code, std::string(what) + " is " + std::to_string(line.size()) +
                          " base64 characters; expected exactly " +
                          std::to_string(Base64Length(bytes)));
  }
  auto decoded = Base64Decode(line);
  if (!decoded || decoded->size() != bytes) {
    return Fail(code, std::string(what) + " is not valid padded base64");
  }
  return std::move(*decoded);
}

std::uint64_t LoadLe64(const std::uint8_t* p) {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

void StoreLe64(std::uint8_t* p, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<std::uint8_t>(v >> (8 * i));
}

// BLAKE2b-256 over sig_alg || keynum || sk, as minisign's seckey_compute_chk.
std::array<std::uint8_t, 32> SecretKeyChecksum(const KeyId& id, const std::uint8_t* sk) {
  crypto_generichash_state st;
  crypto_generichash_init(&st, nullptr, 0, 32);
  crypto_generichash_update(&st, reinterpret_cast<const unsigned char*>("Ed"), 2);
  crypto_generichash_update(&st, id.data(), id.size());
  crypto_generichash_update(&st, sk, 64);
  std::array<std::uint8_t, 32> out{};
  crypto_generichash_final(&st, out.data(), out.size());
  return out;
}

// XORs `data` with the scrypt stream of `password` (minisign's encrypt/decrypt are the same).
Result<void> ApplyKdf(std::span<std::uint8_t> data, std::string_view password,
                      const std::uint8_t* salt, std::uint64_t opslimit, std::uint64_t memlimit) {
  std::vector<std::uint8_t> stream(data.size());
  if (crypto_pwhash_scryptsalsa208sha256(stream.data(), stream.size(), password.data(),
                                         password.size(), salt, opslimit,
                                         static_cast<std::size_t>(memlimit)) != 0) {
    return Fail(ErrorCode::key_password,
                "deriving the key from the password failed (out of memory for scrypt?)");
  }
  for (std::size_t i = 0; i < data.size(); ++i) data[i] ^= stream[i];
  sodium_memzero(stream.data(), stream.size());
  return {};
}

Result<void> CheckTrustedComment(std::string_view comment) {
  if (comment.size() > kMaxTrustedComment) {
    return Fail(ErrorCode::invalid_argument,
                "trusted comment is longer than " + std::to_string(kMaxTrustedComment) + " bytes");
  }
  if (comment.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos) {
    return Fail(ErrorCode::invalid_argument,
                "trusted comment must be one line without CR, LF or NUL characters");
  }
  return {};
}

Result<std::string> CheckAlgorithmAndKey(const PublicKey& key, const Signature& sig,
                                         const VerifyOptions& options) {
  if (sig.algorithm == Algorithm::kLegacy && !options.allow_legacy) {
    return Fail(ErrorCode::sig_algorithm,
                "signature uses the legacy non-prehashed algorithm 'Ed'; re-sign with a current "
                "minisign (prehashed 'ED') or allow legacy signatures");
  }
  if (sig.key_id != key.key_id) {
    return Fail(ErrorCode::sig_key_mismatch, "signature was made by key " + KeyIdHex(sig.key_id) +
                                                 ", not by the given public key " +
                                                 KeyIdHex(key.key_id));
  }
  return std::string();
}

Result<std::string> CheckGlobal(const PublicKey& key, const Signature& sig) {
  std::vector<std::uint8_t> msg(sig.signature.begin(), sig.signature.end());
  msg.insert(msg.end(), sig.trusted_comment.begin(), sig.trusted_comment.end());
  if (crypto_sign_verify_detached(sig.global_signature.data(), msg.data(), msg.size(),
                                  key.bytes.data()) != 0) {
    return Fail(ErrorCode::sig_comment_invalid,
                "the trusted comment's signature does not verify: the comment was altered");
  }
  return sig.trusted_comment;
}

Result<std::string> VerifyMessage(const PublicKey& key, const Signature& sig,
                                  std::span<const std::uint8_t> message) {
  if (crypto_sign_verify_detached(sig.signature.data(), message.data(), message.size(),
                                  key.bytes.data()) != 0) {
    return Fail(ErrorCode::sig_invalid, "signature does not match the data for key " +
                                            KeyIdHex(key.key_id) +
                                            ": the data was altered or signed by another key");
  }
  return CheckGlobal(key, sig);
}

}  // namespace

std::string KeyIdHex(const KeyId& id) {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  std::string out;
  for (int i = 7; i >= 0; --i) {
    out.push_back(kDigits[id[static_cast<std::size_t>(i)] >> 4]);
    out.push_back(kDigits[id[static_cast<std::size_t>(i)] & 15]);
  }
  return out;
}

std::string PublicKey::ToBase64() const {
  std::array<std::uint8_t, kPublicKeyLen> raw{};
  raw[0] = 'E';
  raw[1] = 'd';
  std::memcpy(raw.data() + 2, key_id.data(), 8);
  std::memcpy(raw.data() + 10, bytes.data(), 32);
  return Base64Encode(raw);
}

std::string PublicKey::ToFile() const {
  return std::string(kUntrustedPrefix) + "minisign public key " + KeyIdHex(key_id) + "\n" +
         ToBase64() + "\n";
}

Result<PublicKey> ParsePublicKeyBase64(std::string_view text) {
  auto raw = DecodeExact(text, kPublicKeyLen, ErrorCode::key_malformed, "public key");
  if (!raw) return std::unexpected(raw.error());
  if ((*raw)[0] != 'E' || (*raw)[1] != 'd') {
    return Fail(ErrorCode::key_malformed, "public key is not an Ed25519 minisign key (no 'Ed')");
  }
  PublicKey key;
  std::memcpy(key.key_id.data(), raw->data() + 2, 8);
  std::memcpy(key.bytes.data(), raw->data() + 10, 32);
  return key;
}

Result<PublicKey> ParsePublicKeyFile(std::string_view text) {
  auto lines = SplitLines(text, 2, kMaxKeyFile, ErrorCode::key_malformed, "public key file");
  if (!lines) return std::unexpected(lines.error());
  auto comment = UntrustedComment((*lines)[0], ErrorCode::key_malformed, "public key file");
  if (!comment) return std::unexpected(comment.error());
  return ParsePublicKeyBase64((*lines)[1]);
}

SecretKey::SecretKey() {
  EnsureSodium();
  sk_ = static_cast<std::uint8_t*>(sodium_malloc(64));
  if (sk_ == nullptr) {
    std::fputs("fatal: cannot allocate secure memory for a secret key\n", stderr);
    std::abort();
  }
}

SecretKey::SecretKey(SecretKey&& o) noexcept : key_id_(o.key_id_), sk_(o.sk_) { o.sk_ = nullptr; }

SecretKey& SecretKey::operator=(SecretKey&& o) noexcept {
  if (this != &o) {
    if (sk_ != nullptr) sodium_free(sk_);
    key_id_ = o.key_id_;
    sk_ = o.sk_;
    o.sk_ = nullptr;
  }
  return *this;
}

SecretKey::~SecretKey() {
  if (sk_ != nullptr) sodium_free(sk_);  // wipes before freeing
}

std::span<const std::uint8_t, 64> SecretKey::bytes() const {
  return std::span<const std::uint8_t, 64>(sk_, 64);
}

PublicKey SecretKey::public_key() const {
  PublicKey pk;
  pk.key_id = key_id_;
  std::memcpy(pk.bytes.data(), sk_ + 32, 32);
  return pk;
}

SecretKey SecretKey::Generate() {
  SecretKey key;
  std::array<std::uint8_t, 32> pk{};
  crypto_sign_keypair(pk.data(), key.sk_);
  randombytes_buf(key.key_id_.data(), key.key_id_.size());
  return key;
}

Result<SecretKey> SecretKey::FromBytes(const KeyId& id, std::span<const std::uint8_t> sk) {
  if (sk.size() != 64) return Fail(ErrorCode::key_malformed, "secret key must be 64 bytes");
  SecretKey key;
  key.key_id_ = id;
  std::array<std::uint8_t, 32> pk{};
  std::memcpy(key.sk_, sk.data(), 64);
  // Rebuild from the seed: the embedded public key must be the seed's.
  crypto_sign_seed_keypair(pk.data(), key.sk_, sk.data());
  if (sodium_memcmp(pk.data(), sk.data() + 32, 32) != 0) {
    return Fail(ErrorCode::key_malformed,
                "secret key is inconsistent: its public half does not match its seed");
  }
  return key;
}

Result<std::string> SecretKey::ToFile(std::optional<std::string_view> password,
                                      const KdfLimits& limits) const {
  std::vector<std::uint8_t> raw(kSecretKeyLen, 0);
  raw[0] = 'E';
  raw[1] = 'd';
  raw[4] = 'B';
  raw[5] = '2';
  std::uint8_t* salt = raw.data() + 6;
  std::uint8_t* part = raw.data() + 54;  // keynum || sk || chk
  std::memcpy(part, key_id_.data(), 8);
  std::memcpy(part + 8, sk_, 64);
  const auto chk = SecretKeyChecksum(key_id_, sk_);
  std::memcpy(part + 72, chk.data(), chk.size());
  if (password) {
    if (password->size() > kMaxPassword) {
      return Fail(ErrorCode::key_password, "password is longer than 1024 bytes");
    }
    raw[2] = 'S';
    raw[3] = 'c';
    randombytes_buf(salt, 32);
    StoreLe64(raw.data() + 38, limits.opslimit);
    StoreLe64(raw.data() + 46, limits.memlimit);
    auto ok = ApplyKdf(std::span<std::uint8_t>(part, kEncryptedPartLen), *password, salt,
                       limits.opslimit, limits.memlimit);
    if (!ok) {
      sodium_memzero(raw.data(), raw.size());
      return std::unexpected(ok.error());
    }
  }
  std::string out =
      std::string(kUntrustedPrefix) + "minisign encrypted secret key\n" + Base64Encode(raw) + "\n";
  sodium_memzero(raw.data(), raw.size());
  return out;
}

namespace {

struct RawSecretKey {
  std::vector<std::uint8_t> raw;
  ~RawSecretKey() {
    if (!raw.empty()) sodium_memzero(raw.data(), raw.size());
  }
  bool encrypted() const { return raw[2] == 'S'; }
};

Result<void> DecodeSecretKey(std::string_view text, RawSecretKey& out) {
  auto lines = SplitLines(text, 2, kMaxKeyFile, ErrorCode::key_malformed, "secret key file");
  if (!lines) return std::unexpected(lines.error());
  auto comment = UntrustedComment((*lines)[0], ErrorCode::key_malformed, "secret key file");
  if (!comment) return std::unexpected(comment.error());
  auto raw = DecodeExact((*lines)[1], kSecretKeyLen, ErrorCode::key_malformed, "secret key");
  if (!raw) return std::unexpected(raw.error());
  out.raw = std::move(*raw);
  const auto& r = out.raw;
  if (r[0] != 'E' || r[1] != 'd') {
    return Fail(ErrorCode::key_malformed, "secret key is not an Ed25519 minisign key (no 'Ed')");
  }
  const bool scrypt = r[2] == 'S' && r[3] == 'c';
  const bool none = r[2] == 0 && r[3] == 0;
  if (!scrypt && !none) {
    return Fail(ErrorCode::key_malformed,
                "secret key uses an unknown key derivation function (expected scrypt or none)");
  }
  if (r[4] != 'B' || r[5] != '2') {
    return Fail(ErrorCode::key_malformed, "secret key uses an unknown checksum (expected 'B2')");
  }
  if (scrypt) {
    const std::uint64_t ops = LoadLe64(r.data() + 38);
    const std::uint64_t mem = LoadLe64(r.data() + 46);
    if (ops == 0 || ops > kMaxOpslimit || mem == 0 || mem > kMaxMemlimit) {
      return Fail(ErrorCode::key_malformed,
                  "secret key's scrypt limits are out of range (opslimit " + std::to_string(ops) +
                      ", memlimit " + std::to_string(mem) + ")");
    }
  }
  return {};
}

}  // namespace

Result<bool> SecretKeyFileIsEncrypted(std::string_view text) {
  RawSecretKey raw;
  auto ok = DecodeSecretKey(text, raw);
  if (!ok) return std::unexpected(ok.error());
  return raw.encrypted();
}

Result<SecretKey> ParseSecretKeyFile(std::string_view text,
                                     std::optional<std::string_view> password) {
  EnsureSodium();
  RawSecretKey raw;
  auto ok = DecodeSecretKey(text, raw);
  if (!ok) return std::unexpected(ok.error());
  auto& r = raw.raw;
  std::uint8_t* part = r.data() + 54;
  if (raw.encrypted()) {
    if (!password) {
      return Fail(ErrorCode::key_password,
                  "secret key is encrypted: give its password (--password-file)");
    }
    if (password->size() > kMaxPassword) {
      return Fail(ErrorCode::key_password, "password is longer than 1024 bytes");
    }
    auto dec = ApplyKdf(std::span<std::uint8_t>(part, kEncryptedPartLen), *password, r.data() + 6,
                        LoadLe64(r.data() + 38), LoadLe64(r.data() + 46));
    if (!dec) return std::unexpected(dec.error());
  }
  KeyId id{};
  std::memcpy(id.data(), part, 8);
  const auto chk = SecretKeyChecksum(id, part + 8);
  const bool chk_ok = sodium_memcmp(chk.data(), part + 72, 32) == 0;
  if (raw.encrypted() && !chk_ok) {
    return Fail(ErrorCode::key_password, "wrong password for this secret key");
  }
  if (!raw.encrypted() && !chk_ok && !sodium_is_zero(part + 72, 32)) {
    // minisign 0.11 leaves the checksum of unencrypted keys zero; anything else must match.
    return Fail(ErrorCode::key_malformed, "secret key checksum does not match: file is damaged");
  }
  return SecretKey::FromBytes(id, std::span<const std::uint8_t>(part + 8, 64));
}

std::string Signature::ToFile() const {
  std::array<std::uint8_t, kSignatureLen> raw{};
  raw[0] = 'E';
  raw[1] = algorithm == Algorithm::kPrehashed ? 'D' : 'd';
  std::memcpy(raw.data() + 2, key_id.data(), 8);
  std::memcpy(raw.data() + 10, signature.data(), 64);
  return std::string(kUntrustedPrefix) + untrusted_comment + "\n" + Base64Encode(raw) + "\n" +
         std::string(kTrustedPrefix) + trusted_comment + "\n" + Base64Encode(global_signature) +
         "\n";
}

Result<Signature> ParseSignatureFile(std::string_view text) {
  auto lines = SplitLines(text, 4, kMaxSignatureFile, ErrorCode::sig_malformed, "signature file");
  if (!lines) return std::unexpected(lines.error());
  Signature sig;
  auto comment = UntrustedComment((*lines)[0], ErrorCode::sig_malformed, "signature file");
  if (!comment) return std::unexpected(comment.error());
  sig.untrusted_comment = std::move(*comment);
  auto raw = DecodeExact((*lines)[1], kSignatureLen, ErrorCode::sig_malformed, "signature");
  if (!raw) return std::unexpected(raw.error());
  if ((*raw)[0] == 'E' && (*raw)[1] == 'D') {
    sig.algorithm = Algorithm::kPrehashed;
  } else if ((*raw)[0] == 'E' && (*raw)[1] == 'd') {
    sig.algorithm = Algorithm::kLegacy;
  } else {
    return Fail(ErrorCode::sig_algorithm, "signature algorithm is neither 'ED' nor 'Ed'");
  }
  std::memcpy(sig.key_id.data(), raw->data() + 2, 8);
  std::memcpy(sig.signature.data(), raw->data() + 10, 64);
  const std::string_view tc = (*lines)[2];
  if (!tc.starts_with(kTrustedPrefix)) {
    return Fail(ErrorCode::sig_malformed,
                "signature file: third line must start with 'trusted comment: '");
  }
  if (tc.size() - kTrustedPrefix.size() > kMaxTrustedComment) {
    return Fail(ErrorCode::sig_malformed, "signature file: trusted comment is longer than " +
                                              std::to_string(kMaxTrustedComment) + " bytes");
  }
  sig.trusted_comment = std::string(tc.substr(kTrustedPrefix.size()));
  auto global =
      DecodeExact((*lines)[3], 64, ErrorCode::sig_malformed, "global (trusted comment) signature");
  if (!global) return std::unexpected(global.error());
  std::memcpy(sig.global_signature.data(), global->data(), 64);
  return sig;
}

std::string DefaultTrustedComment(std::int64_t unix_seconds, std::string_view file_name) {
  return "timestamp:" + std::to_string(unix_seconds) + "\tfile:" + std::string(file_name) +
         "\thashed";
}

Result<Signature> SignDigest(const SecretKey& key, const Blake2b512Digest& digest,
                             std::string_view trusted_comment) {
  if (auto ok = CheckTrustedComment(trusted_comment); !ok) return std::unexpected(ok.error());
  Signature sig;
  sig.untrusted_comment = std::string(kDefaultSignatureComment);
  sig.algorithm = Algorithm::kPrehashed;
  sig.key_id = key.key_id();
  sig.trusted_comment = std::string(trusted_comment);
  crypto_sign_detached(sig.signature.data(), nullptr, digest.data(), digest.size(),
                       key.bytes().data());
  std::vector<std::uint8_t> msg(sig.signature.begin(), sig.signature.end());
  msg.insert(msg.end(), trusted_comment.begin(), trusted_comment.end());
  crypto_sign_detached(sig.global_signature.data(), nullptr, msg.data(), msg.size(),
                       key.bytes().data());
  return sig;
}

Result<Signature> SignBytes(const SecretKey& key, std::string_view data,
                            std::string_view trusted_comment) {
  return SignDigest(key, Blake2b512Of(data), trusted_comment);
}

Result<Signature> SignFile(const SecretKey& key, const std::filesystem::path& path,
                           std::string_view trusted_comment) {
  auto digest = Blake2b512File(path);
  if (!digest) return std::unexpected(digest.error());
  return SignDigest(key, *digest, trusted_comment);
}

Result<std::string> VerifyDigest(const PublicKey& key, const Signature& sig,
                                 const Blake2b512Digest& digest) {
  EnsureSodium();
  auto pre = CheckAlgorithmAndKey(key, sig, {});
  if (!pre) return pre;
  return VerifyMessage(key, sig, digest);
}

Result<std::string> VerifyBytes(const PublicKey& key, const Signature& sig, std::string_view data,
                                const VerifyOptions& options) {
  EnsureSodium();
  auto pre = CheckAlgorithmAndKey(key, sig, options);
  if (!pre) return pre;
  if (sig.algorithm == Algorithm::kPrehashed) return VerifyMessage(key, sig, Blake2b512Of(data));
  return VerifyMessage(key, sig,
                       std::span<const std::uint8_t>(
                           reinterpret_cast<const std::uint8_t*>(data.data()), data.size()));
}

Result<std::string> VerifyFile(const PublicKey& key, const Signature& sig,
                               const std::filesystem::path& path, const VerifyOptions& options) {
  EnsureSodium();
  auto pre = CheckAlgorithmAndKey(key, sig, options);
  if (!pre) return pre;
  if (sig.algorithm == Algorithm::kPrehashed) {
    auto digest = Blake2b512File(path);
    if (!digest) return std::unexpected(digest.error());
    return VerifyMessage(key, sig, *digest);
  }
  auto data = files::ReadFile(path, std::size_t{1} << 30);
  if (!data) return std::unexpected(data.error());
  return VerifyBytes(key, sig, *data, options);
}

}  // namespace steward::minisign
