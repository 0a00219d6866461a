// zstd patches as the updater applies them: any bytes, fed in pieces the input chooses, against
// a fixed base, with a small window and result cap. The applier must stop every hostile patch
// with an error, never write past the cap, and hand out pieces of at most 128 KiB.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "common/zstd_patch.hpp"

namespace {

constexpr std::size_t kBaseSize = 64 * 1024;
constexpr std::uint64_t kMaxResult = 96 * 1024;

// The base the seed corpus was made from: `zstd --patch-from` of it and a few edits (the first
// byte of each seed picks the piece size).
std::string Base() {
  std::string b(kBaseSize, '\0');
  for (std::size_t i = 0; i < b.size(); ++i) {
    b[i] = static_cast<char>((static_cast<std::uint32_t>(i) * 2654435761u) >> 13);
  }
  return b;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace steward::patch;
  static const std::string base = Base();
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  // The first byte picks the piece size the patch arrives in.
  const std::size_t piece = input.empty() ? 1 : 1 + static_cast<unsigned char>(input[0]) * 64;
  const std::string_view p = input.empty() ? input : input.substr(1);
  std::uint64_t sunk = 0;
  Applier applier(base, 18, kMaxResult, [&](std::string_view chunk) -> steward::Result<void> {
    if (chunk.empty() || chunk.size() > 128 * 1024) std::abort();
    sunk += chunk.size();
    if (sunk > kMaxResult) std::abort();
    return {};
  });
  for (std::size_t at = 0; at < p.size(); at += piece) {
    if (!applier.Feed(p.substr(at, piece))) return 0;
  }
  auto made = applier.Finish();
  if (made && *made != sunk) std::abort();
  return 0;
}
