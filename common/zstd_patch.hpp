// Binary patches in the "zstd-patch" format: a single zstd frame compressed with the earlier
// artifact as its prefix dictionary and long-distance matching (what `zstd --patch-from` makes;
// either side reads the other's patches). Making a patch is the release side's (stewardctl);
// applying one is the updater's, streaming, with memory bounded by a window the caller sizes
// from the manifest. docs/fetching.md#delta-updates has the story.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/error.hpp"

namespace steward::patch {

// The largest window a patch may ask for (1 GiB): an artifact or base beyond it gets no patch.
inline constexpr int kMaxWindowLog = 30;
inline constexpr int kMinWindowLog = 10;

// The window (log2 bytes) a patch between files of these sizes uses: enough to reach back over
// the whole base from anywhere in the result, as `zstd --patch-from` sizes it. nullopt when it
// would exceed kMaxWindowLog.
std::optional<int> WindowLogFor(std::uint64_t base_size, std::uint64_t result_size);

// A patch that turns `base` into `result`, at zstd `level` (1..19).
Result<std::string> Make(std::string_view base, std::string_view result, int level);

// Applies a patch streaming: Feed() the patch bytes in any pieces; the result comes out through
// `sink` in pieces of at most 128 KiB. Bounded by construction: the frame may not ask for a
// window above `window_log`, nor produce more than `max_result` bytes, nor carry anything after
// its one frame. Errors are delta_corrupt (naming what was wrong), too_large (a frame asking for
// a larger window, or memory that cannot be had) or size_mismatch (more output than
// `max_result`); an error from `sink` is passed on as it is.
class Applier {
 public:
  using Sink = std::function<Result<void>(std::string_view)>;
  // `base` must outlive the Applier.
  Applier(std::string_view base, int window_log, std::uint64_t max_result, Sink sink);
  ~Applier();
  Applier(const Applier&) = delete;
  Applier& operator=(const Applier&) = delete;

  Result<void> Feed(std::string_view patch_bytes);
  // The frame must be complete; returns the number of result bytes produced.
  Result<std::uint64_t> Finish();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace steward::patch
