// minisign key and signature files, byte-compatible with the `minisign` tool (0.11): public
// keys, secret keys (unencrypted, or encrypted with a password through scrypt as minisign does),
// signatures (prehashed `ED`; legacy `Ed` only when allowed) with their trusted comment and the
// global signature over it. Parsing is strict: exact line structure (LF or CRLF), canonical
// padded base64 of the exact length, size caps, no NUL, comment length limits.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "common/error.hpp"
#include "common/hash.hpp"

namespace steward::minisign {

using KeyId = std::array<std::uint8_t, 8>;
using PublicKeyBytes = std::array<std::uint8_t, 32>;
using SignatureBytes = std::array<std::uint8_t, 64>;

// Limits, as minisign's own buffers (COMMENTMAXBYTES, TRUSTEDCOMMENTMAXBYTES) allow.
inline constexpr std::size_t kMaxUntrustedCommentLine = 1024;
inline constexpr std::size_t kMaxTrustedComment = 8192 - 18;  // minus "trusted comment: " + NUL
inline constexpr std::size_t kMaxKeyFile = 4096;
inline constexpr std::size_t kMaxSignatureFile = 16384;
inline constexpr std::size_t kMaxPassword = 1024;

// The key id as minisign prints it: 16 upper-case hex digits, little-endian.
std::string KeyIdHex(const KeyId& id);

struct PublicKey {
  KeyId key_id{};
  PublicKeyBytes bytes{};

  // "RW…": the base64 form minisign takes with -P and root.json carries.
  std::string ToBase64() const;
  // The whole file: untrusted comment line and the base64 line.
  std::string ToFile() const;
  bool operator==(const PublicKey&) const = default;
};

// The contents of a public key file.
Result<PublicKey> ParsePublicKeyFile(std::string_view text);
// The bare base64 line ("RW…").
Result<PublicKey> ParsePublicKeyBase64(std::string_view text);

// scrypt cost of an encrypted secret key. minisign uses the "sensitive" limits.
struct KdfLimits {
  std::uint64_t opslimit = 33554432;    // crypto_pwhash_scryptsalsa208sha256_OPSLIMIT_SENSITIVE
  std::uint64_t memlimit = 1073741824;  // crypto_pwhash_scryptsalsa208sha256_MEMLIMIT_SENSITIVE
  static KdfLimits Sensitive() { return {}; }
  static KdfLimits Interactive() { return {524288, 16777216}; }
};

// An Ed25519 secret key in locked, guarded memory (sodium_malloc), wiped when destroyed.
class SecretKey {
 public:
  SecretKey(SecretKey&& o) noexcept;
  SecretKey& operator=(SecretKey&& o) noexcept;
  SecretKey(const SecretKey&) = delete;
  SecretKey& operator=(const SecretKey&) = delete;
  ~SecretKey();

  const KeyId& key_id() const { return key_id_; }
  PublicKey public_key() const;
  // The 64-byte libsodium secret key (seed || public key).
  std::span<const std::uint8_t, 64> bytes() const;

  // A new random key pair with a random key id.
  static SecretKey Generate();
  // From raw parts; `sk` is 64 bytes. Checks that the embedded public key matches the seed.
  static Result<SecretKey> FromBytes(const KeyId& id, std::span<const std::uint8_t> sk);

  // The whole file minisign writes. No password: stored unencrypted (as `minisign -W`).
  Result<std::string> ToFile(std::optional<std::string_view> password,
                             const KdfLimits& limits = {}) const;

 private:
  SecretKey();
  KeyId key_id_{};
  std::uint8_t* sk_ = nullptr;  // 64 bytes from sodium_malloc
};

// True when the secret key file is password-encrypted.
Result<bool> SecretKeyFileIsEncrypted(std::string_view text);
// Loads a secret key file; an encrypted one needs `password` (wrong one: key_password).
Result<SecretKey> ParseSecretKeyFile(std::string_view text,
                                     std::optional<std::string_view> password);

enum class Algorithm : std::uint8_t {
  kPrehashed,  // "ED": Ed25519 over BLAKE2b-512 of the data
  kLegacy,     // "Ed": Ed25519 over the data itself
};

struct Signature {
  std::string untrusted_comment;  // without "untrusted comment: "
  Algorithm algorithm = Algorithm::kPrehashed;
  KeyId key_id{};
  SignatureBytes signature{};
  std::string trusted_comment;  // without "trusted comment: "
  SignatureBytes global_signature{};

  std::string ToFile() const;
};

Result<Signature> ParseSignatureFile(std::string_view text);

inline constexpr std::string_view kDefaultSignatureComment = "signature from minisign secret key";

// Prehashed (`ED`) signatures; the trusted comment must fit the limits and hold no CR/LF/NUL.
Result<Signature> SignDigest(const SecretKey& key, const Blake2b512Digest& digest,
                             std::string_view trusted_comment);
Result<Signature> SignBytes(const SecretKey& key, std::string_view data,
                            std::string_view trusted_comment);
Result<Signature> SignFile(const SecretKey& key, const std::filesystem::path& path,
                           std::string_view trusted_comment);
// minisign's default trusted comment: "timestamp:<unix>\tfile:<name>\thashed".
std::string DefaultTrustedComment(std::int64_t unix_seconds, std::string_view file_name);

struct VerifyOptions {
  bool allow_legacy = false;  // accept `Ed` signatures over the whole data
};

// Checks, in order: algorithm allowed (sig_algorithm), key id (sig_key_mismatch), signature
// (sig_invalid), global signature over the trusted comment (sig_comment_invalid). Returns the
// trusted comment.
Result<std::string> VerifyBytes(const PublicKey& key, const Signature& sig, std::string_view data,
                                const VerifyOptions& options = {});
// Streams the file for `ED`; legacy `Ed` needs the whole file in memory (capped at 1 GiB).
Result<std::string> VerifyFile(const PublicKey& key, const Signature& sig,
                               const std::filesystem::path& path,
                               const VerifyOptions& options = {});
// `ED` only, for callers that hashed already.
Result<std::string> VerifyDigest(const PublicKey& key, const Signature& sig,
                                 const Blake2b512Digest& digest);

}  // namespace steward::minisign
