// Streaming hashes: SHA-256 (OpenSSL) for artifacts, BLAKE2b-512 (libsodium) for minisign's
// prehashed `ED` signatures. Files of any size are hashed in constant memory. Hex helpers for
// digests.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"

struct SHA256state_st;  // OpenSSL's SHA256_CTX, kept out of this header

namespace steward {

using Sha256Digest = std::array<std::uint8_t, 32>;
using Blake2b512Digest = std::array<std::uint8_t, 64>;

// Initialises libsodium once (thread-safe); every entry point of ours calls it.
void EnsureSodium();

// OpenSSL's SHA-256: it uses the CPU's SHA extensions where present, several times faster than
// a portable implementation on large artifacts.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(Sha256&& other) noexcept;
  Sha256& operator=(Sha256&& other) noexcept;
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  // Starts over, as if newly constructed.
  void Reset();
  void Update(std::span<const std::uint8_t> data);
  void Update(std::string_view data);
  // Finishes the hash; call Reset() before using the object again.
  Sha256Digest Finish();

 private:
  SHA256state_st* ctx_;
};

class Blake2b512 {
 public:
  Blake2b512();
  void Update(std::span<const std::uint8_t> data);
  void Update(std::string_view data);
  Blake2b512Digest Finish();

 private:
  alignas(64) unsigned char state_[384];
};

Sha256Digest Sha256Of(std::string_view data);
// HMAC-SHA256 (RFC 2104), on OpenSSL.
Sha256Digest HmacSha256(std::span<const std::uint8_t> key, std::string_view message);
Blake2b512Digest Blake2b512Of(std::string_view data);
// Streams a file through the hash in constant memory: regular files are mapped 8 MiB at a time
// (no copy: this is what keeps `stewardctl verify` at or below `minisign -V`), anything else is
// read in 1 MiB chunks. Hash only files no one else truncates meanwhile (ours, in private
// directories): a mapped page cut off by truncation faults.
Result<Sha256Digest> Sha256File(const std::filesystem::path& path);
Result<Blake2b512Digest> Blake2b512File(const std::filesystem::path& path);
// Both at once in one read pass; `size` receives the byte count.
struct FileDigests {
  Sha256Digest sha256;
  std::uint64_t size = 0;
};
Result<FileDigests> Sha256FileWithSize(const std::filesystem::path& path);

// Lower-case hex.
std::string HexEncode(std::span<const std::uint8_t> bytes);
// Accepts lower- or upper-case; nullopt for odd length or other characters.
std::optional<std::vector<std::uint8_t>> HexDecode(std::string_view hex);
// Exactly 64 lower-case hex digits, as manifests carry SHA-256.
std::optional<Sha256Digest> ParseSha256Hex(std::string_view hex);

}  // namespace steward
