// zstd patches: made against a base, applied streaming in any piece sizes into exactly the
// result, and every hostile patch (corrupt, truncated, expanding past the declared size, asking
// for a larger window, trailing bytes) stopped with a code that says which.
#include "common/zstd_patch.hpp"

#include <gtest/gtest.h>

#include <random>

#include "common/hash.hpp"

namespace steward::patch {
namespace {

std::string Random(std::size_t n, unsigned seed) {
  std::string b(n, '\0');
  std::mt19937 rng(seed);
  for (auto& c : b) c = static_cast<char>(rng());
  return b;
}

// A "new release": the base with a few edits, an insertion and a tail.
std::string Edited(const std::string& base) {
  std::string out = base;
  for (std::size_t at = 1000; at < out.size(); at += 40000) out[at] ^= 0x5a;
  out.insert(out.size() / 2, Random(3000, 7));
  out += Random(5000, 8);
  return out;
}

struct Applied {
  Result<std::uint64_t> made;
  std::string out;
  std::size_t largest_piece = 0;
};

Applied ApplyInPieces(std::string_view base, std::string_view p, std::size_t piece,
                      std::uint64_t max_result, int window_log) {
  Applied a{0, {}, 0};
  Applier applier(base, window_log, max_result, [&](std::string_view chunk) -> Result<void> {
    a.out.append(chunk);
    a.largest_piece = std::max(a.largest_piece, chunk.size());
    return {};
  });
  for (std::size_t at = 0; at < p.size(); at += piece) {
    if (auto r = applier.Feed(p.substr(at, piece)); !r) {
      a.made = std::unexpected(r.error());
      return a;
    }
  }
  a.made = applier.Finish();
  return a;
}

class PatchTest : public ::testing::Test {
 protected:
  std::string base_ = Random(1 << 20, 1);
  std::string result_ = Edited(base_);
  int window_ = *WindowLogFor(base_.size(), result_.size());
  std::string patch_ = *Make(base_, result_, 3);
};

TEST_F(PatchTest, SmallPatchAppliesIntoExactlyTheResultInAnyPieces) {
  EXPECT_LT(patch_.size(), result_.size() / 20) << "a patch of a few edits is small";
  for (std::size_t piece : {std::size_t{1}, std::size_t{7}, std::size_t{4096}, patch_.size()}) {
    auto a = ApplyInPieces(base_, patch_, piece, result_.size(), window_);
    ASSERT_TRUE(a.made) << a.made.error().ToString();
    EXPECT_EQ(*a.made, result_.size());
    EXPECT_EQ(Sha256Of(a.out), Sha256Of(result_)) << "piece " << piece;
    EXPECT_LE(a.largest_piece, 128u * 1024);
  }
}

TEST_F(PatchTest, WindowCoversTheLargerFileAndIsCapped) {
  EXPECT_EQ(WindowLogFor(0, 0), kMinWindowLog);
  EXPECT_EQ(WindowLogFor(1 << 20, 1000), 22);
  EXPECT_EQ(WindowLogFor(1000, (1 << 20) + 1), 22);
  EXPECT_EQ(WindowLogFor(std::uint64_t{1} << 28, 1), 30);
  EXPECT_FALSE(WindowLogFor(std::uint64_t{1} << 29, 1));
}

TEST_F(PatchTest, ExpandingBeyondTheDeclaredSizeStopsAtTheSize) {
  auto a = ApplyInPieces(base_, patch_, 4096, result_.size() - 1, window_);
  ASSERT_FALSE(a.made);
  EXPECT_EQ(a.made.error().code, ErrorCode::size_mismatch);
  EXPECT_NE(a.made.error().message.find("beyond"), std::string::npos);
  EXPECT_LT(a.out.size(), result_.size());
}

TEST_F(PatchTest, TruncatedPatchIsCorrupt) {
  auto a = ApplyInPieces(base_, std::string_view(patch_).substr(0, patch_.size() - 3), 4096,
                         result_.size(), window_);
  ASSERT_FALSE(a.made);
  EXPECT_EQ(a.made.error().code, ErrorCode::delta_corrupt);
  EXPECT_NE(a.made.error().message.find("truncated"), std::string::npos);
}

TEST_F(PatchTest, TrailingBytesAfterTheFrameAreCorrupt) {
  auto a = ApplyInPieces(base_, patch_ + patch_, 4096, result_.size() * 2, window_);
  ASSERT_FALSE(a.made);
  EXPECT_EQ(a.made.error().code, ErrorCode::delta_corrupt);
  EXPECT_NE(a.made.error().message.find("after its frame"), std::string::npos);
}

TEST_F(PatchTest, FlippedBytesNeverYieldTheResult) {
  // Each flip either fails to decode or makes other bytes; the caller's hash is what decides.
  for (std::size_t at : {std::size_t{0}, std::size_t{5}, patch_.size() / 2, patch_.size() - 1}) {
    std::string bad = patch_;
    bad[at] ^= 0x41;
    auto a = ApplyInPieces(base_, bad, 4096, result_.size(), window_);
    if (a.made) {
      EXPECT_NE(Sha256Of(a.out), Sha256Of(result_)) << "flip at " << at;
    } else {
      EXPECT_TRUE(a.made.error().code == ErrorCode::delta_corrupt ||
                  a.made.error().code == ErrorCode::size_mismatch)
          << a.made.error().ToString();
    }
  }
}

TEST_F(PatchTest, WrongBaseNeverYieldsTheResult) {
  const std::string other = Random(base_.size(), 99);
  auto a = ApplyInPieces(other, patch_, 4096, result_.size(), window_);
  if (a.made) {
    EXPECT_NE(Sha256Of(a.out), Sha256Of(result_));
  }
}

TEST_F(PatchTest, FrameAskingForALargerWindowThanAllowedIsRefused) {
  auto a = ApplyInPieces(base_, patch_, 4096, result_.size(), window_ - 2);
  ASSERT_FALSE(a.made);
  EXPECT_EQ(a.made.error().code, ErrorCode::too_large);
  EXPECT_TRUE(a.out.empty()) << "refused before a byte is made";
  EXPECT_NE(a.made.error().message.find("memory"), std::string::npos) << a.made.error().message;
}

TEST_F(PatchTest, ErrorFromTheSinkIsPassedOnAndSticks) {
  Applier applier(base_, window_, result_.size(), [](std::string_view) -> Result<void> {
    return Fail(ErrorCode::disk_full, "no space");
  });
  auto r = applier.Feed(patch_);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::disk_full);
  auto again = applier.Finish();
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::disk_full);
}

TEST_F(PatchTest, GarbageIsCorrupt) {
  auto a = ApplyInPieces(base_, Random(4096, 5), 512, result_.size(), window_);
  ASSERT_FALSE(a.made);
  EXPECT_EQ(a.made.error().code, ErrorCode::delta_corrupt);
  auto empty = ApplyInPieces(base_, "", 512, result_.size(), window_);
  ASSERT_FALSE(empty.made);
  EXPECT_EQ(empty.made.error().code, ErrorCode::delta_corrupt);
}

}  // namespace
}  // namespace steward::patch
