#include "controller/rollout.hpp"

#include <sys/random.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstdlib>

namespace steward::controller {

std::uint64_t Bucket(std::string_view seed_hex, std::string_view node_id) {
  const auto key = HexDecode(seed_hex).value_or(std::vector<std::uint8_t>{});
  const auto mac = HmacSha256(key, node_id);
  std::uint64_t b = 0;
  for (int i = 0; i < 8; ++i) b = (b << 8) | mac[static_cast<std::size_t>(i)];
  return b;
}

bool InRollout(std::uint64_t bucket, double percent) {
  if (!(percent > 0)) return false;
  if (percent >= 100) return true;
  const long double cursor = static_cast<long double>(percent) / 100.0L * 18446744073709551616.0L;
  return static_cast<long double>(bucket) < cursor;
}

Choice Choose(const RolloutRecord& rollout, const std::optional<SemVer>& running,
              std::string_view node_id) {
  const auto target = SemVer::Parse(rollout.version);
  if (!target) return {};
  std::optional<SemVer> minimum;
  if (!rollout.minimum.empty()) {
    if (auto m = SemVer::Parse(rollout.minimum)) minimum = *m;
  }
  const bool on_target = running && *running == *target;
  if (rollout.paused) {
    if (on_target) return {Choice::Kind::target, rollout.version};
    if (running && minimum && *running == *minimum) return {Choice::Kind::minimum, rollout.minimum};
    return {};
  }
  if (minimum && (!running || *running < *minimum) && *minimum < *target) {
    return {Choice::Kind::minimum, rollout.minimum};
  }
  if (on_target || InRollout(Bucket(rollout.seed, node_id), rollout.percent)) {
    return {Choice::Kind::target, rollout.version};
  }
  return {};
}

std::optional<std::string> HaltReason(const UpdateCounts& counts, double max_rate,
                                      std::int64_t min_attempts, std::string_view version) {
  if (counts.attempts < min_attempts || counts.attempts == 0) return std::nullopt;
  const double rate =
      static_cast<double>(counts.rolled_back) / static_cast<double>(counts.attempts);
  if (rate <= max_rate) return std::nullopt;
  char buf[256];
  std::snprintf(buf, sizeof buf,
                "halted automatically: %lld of %lld nodes (%.1f%%) rolled back from %.*s; the "
                "limit is %.1f%% with at least %lld attempts",
                static_cast<long long>(counts.rolled_back), static_cast<long long>(counts.attempts),
                rate * 100, static_cast<int>(version.size()), version.data(), max_rate * 100,
                static_cast<long long>(min_attempts));
  return std::string(buf);
}

std::string RandomHex(std::size_t bytes) {
  std::vector<std::uint8_t> buf(bytes);
  std::size_t got = 0;
  while (got < bytes) {
    const auto n = getrandom(buf.data() + got, bytes - got, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      std::abort();  // no randomness: nothing safe to do
    }
    got += static_cast<std::size_t>(n);
  }
  return HexEncode(buf);
}

std::string NewSeed() { return RandomHex(32); }

}  // namespace steward::controller
