#include "common/zstd_patch.hpp"

#include <zstd.h>
#include <zstd_errors.h>

#include <algorithm>
#include <bit>
#include <optional>
#include <vector>

namespace steward::patch {

namespace {

constexpr std::size_t kOutChunk = 128 * 1024;

std::string ZstdError(std::size_t code) { return ZSTD_getErrorName(code); }

}  // namespace

std::optional<int> WindowLogFor(std::uint64_t base_size, std::uint64_t result_size) {
  const std::uint64_t larger = std::max(base_size, result_size);
  const int log = std::max(kMinWindowLog, static_cast<int>(std::bit_width(larger)) + 1);
  if (log > kMaxWindowLog) return std::nullopt;
  return log;
}

Result<std::string> Make(std::string_view base, std::string_view result, int level) {
  const auto window_log = WindowLogFor(base.size(), result.size());
  if (!window_log) {
    return Fail(ErrorCode::too_large, "files of " + std::to_string(base.size()) + " and " +
                                          std::to_string(result.size()) +
                                          " bytes are too large for a patch (window above 1 GiB)");
  }
  std::unique_ptr<ZSTD_CCtx, decltype(&ZSTD_freeCCtx)> cctx(ZSTD_createCCtx(), ZSTD_freeCCtx);
  if (!cctx) return Fail(ErrorCode::internal, "zstd: cannot allocate a compression context");
  auto set = [&](ZSTD_cParameter p, int v) -> Result<void> {
    const std::size_t r = ZSTD_CCtx_setParameter(cctx.get(), p, v);
    if (ZSTD_isError(r)) return Fail(ErrorCode::internal, "zstd parameter: " + ZstdError(r));
    return {};
  };
  for (const auto& [param, value] :
       {std::pair{ZSTD_c_compressionLevel, std::clamp(level, 1, 19)},
        std::pair{ZSTD_c_enableLongDistanceMatching, 1}, std::pair{ZSTD_c_windowLog, *window_log},
        std::pair{ZSTD_c_contentSizeFlag, 1}, std::pair{ZSTD_c_checksumFlag, 0}}) {
    if (auto r = set(param, value); !r) return std::unexpected(r.error());
  }
  if (const std::size_t r = ZSTD_CCtx_refPrefix(cctx.get(), base.data(), base.size());
      ZSTD_isError(r)) {
    return Fail(ErrorCode::internal, "zstd prefix: " + ZstdError(r));
  }
  std::string out(ZSTD_compressBound(result.size()), '\0');
  const std::size_t n =
      ZSTD_compress2(cctx.get(), out.data(), out.size(), result.data(), result.size());
  if (ZSTD_isError(n)) return Fail(ErrorCode::internal, "zstd compress: " + ZstdError(n));
  out.resize(n);
  return out;
}

struct Applier::Impl {
  std::unique_ptr<ZSTD_DCtx, decltype(&ZSTD_freeDCtx)> dctx{ZSTD_createDCtx(), ZSTD_freeDCtx};
  std::uint64_t max_result = 0;
  std::uint64_t produced = 0;
  Sink sink;
  std::vector<char> out = std::vector<char>(kOutChunk);
  bool frame_done = false;
  std::optional<Error> failed;  // an Applier that failed stays failed

  Result<void> Fail(Error e) {
    failed = e;
    return std::unexpected(std::move(e));
  }
};

Applier::Applier(std::string_view base, int window_log, std::uint64_t max_result, Sink sink)
    : impl_(std::make_unique<Impl>()) {
  Impl& m = *impl_;
  m.max_result = max_result;
  m.sink = std::move(sink);
  if (!m.dctx) {
    m.failed = Error{ErrorCode::internal, "zstd: cannot allocate a decompression context"};
    return;
  }
  const int log = std::clamp(window_log, kMinWindowLog, kMaxWindowLog);
  std::size_t r = ZSTD_DCtx_setParameter(m.dctx.get(), ZSTD_d_windowLogMax, log);
  if (!ZSTD_isError(r)) r = ZSTD_DCtx_refPrefix(m.dctx.get(), base.data(), base.size());
  if (ZSTD_isError(r)) m.failed = Error{ErrorCode::internal, "zstd setup: " + ZstdError(r)};
}

Applier::~Applier() = default;

Result<void> Applier::Feed(std::string_view bytes) {
  Impl& m = *impl_;
  if (m.failed) return std::unexpected(*m.failed);
  ZSTD_inBuffer in{bytes.data(), bytes.size(), 0};
  // A full output buffer means the decoder may hold more for input it has already taken.
  bool full = true;
  while (!m.frame_done && (in.pos < in.size || full)) {
    ZSTD_outBuffer out{m.out.data(), m.out.size(), 0};
    const std::size_t r = ZSTD_decompressStream(m.dctx.get(), &out, &in);
    if (ZSTD_isError(r)) {
      // A frame asking for more memory than the cap is refused as too large, not corrupt.
      const ZSTD_ErrorCode code = ZSTD_getErrorCode(r);
      const bool memory =
          code == ZSTD_error_frameParameter_windowTooLarge || code == ZSTD_error_memory_allocation;
      return m.Fail(Error{memory ? ErrorCode::too_large : ErrorCode::delta_corrupt,
                          "patch does not decode: " + ZstdError(r) + " (after " +
                              std::to_string(m.produced) + " result bytes)"});
    }
    if (out.pos > m.max_result - m.produced) {
      return m.Fail(Error{ErrorCode::size_mismatch, "patch expands beyond the " +
                                                        std::to_string(m.max_result) +
                                                        " bytes the manifest declares"});
    }
    m.produced += out.pos;
    if (out.pos > 0) {
      if (auto s = m.sink(std::string_view(m.out.data(), out.pos)); !s) return m.Fail(s.error());
    }
    m.frame_done = r == 0;
    full = out.pos == out.size;
  }
  if (in.pos < in.size) {
    return m.Fail(Error{ErrorCode::delta_corrupt,
                        "patch has bytes after its frame (exactly one frame is read)"});
  }
  return {};
}

Result<std::uint64_t> Applier::Finish() {
  Impl& m = *impl_;
  if (m.failed) return std::unexpected(*m.failed);
  // Flush what the decoder still holds for input it has already taken.
  if (auto r = Feed({}); !r) return std::unexpected(r.error());
  if (!m.frame_done) {
    Error e{ErrorCode::delta_corrupt, "patch ends before its frame does (truncated after " +
                                          std::to_string(m.produced) + " result bytes)"};
    m.failed = e;
    return std::unexpected(e);
  }
  return m.produced;
}

}  // namespace steward::patch
