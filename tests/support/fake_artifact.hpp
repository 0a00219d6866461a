// Artifacts for download tests: bytes that look like executables for a given machine.
#pragma once

#include <cstdint>
#include <random>
#include <string>

#include "common/hash.hpp"
#include "common/trust.hpp"

namespace steward::test {

// ELF e_machine values.
inline constexpr std::uint16_t kX86_64 = 62;
inline constexpr std::uint16_t kAarch64 = 183;
inline constexpr const char* kPlatform = "linux-x86_64";

// `size` bytes starting with a 64-bit little-endian ELF executable header for `machine`,
// followed by pseudo-random bytes from `seed`.
inline std::string FakeElf(std::size_t size, std::uint16_t machine = kX86_64, unsigned seed = 1) {
  std::string b(size, '\0');
  std::mt19937 rng(seed);
  for (auto& c : b) c = static_cast<char>(rng());
  const unsigned char ident[16] = {0x7f, 'E', 'L', 'F', 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  for (std::size_t i = 0; i < 16 && i < size; ++i) b[i] = static_cast<char>(ident[i]);
  if (size >= 20) {
    b[16] = 2;  // ET_EXEC
    b[17] = 0;
    b[18] = static_cast<char>(machine & 0xff);
    b[19] = static_cast<char>(machine >> 8);
  }
  return b;
}

inline trust::Artifact ArtifactFor(const std::string& body, std::string url) {
  trust::Artifact a;
  a.url = std::move(url);
  a.size = body.size();
  a.sha256 = Sha256Of(body);
  a.format = "binary";
  return a;
}

}  // namespace steward::test
