// Semantic versions (semver.org 2.0): parse, compare by precedence, print.
#pragma once

#include <compare>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"

namespace steward {

struct SemVer {
  std::uint64_t major = 0;
  std::uint64_t minor = 0;
  std::uint64_t patch = 0;
  std::vector<std::string> prerelease;  // dot-separated identifiers
  std::string build;                    // ignored for precedence

  static Result<SemVer> Parse(std::string_view text);
  std::string ToString() const;

  // Precedence: build metadata ignored; a pre-release sorts before its release;
  // numeric identifiers compare numerically and before alphanumeric ones.
  std::strong_ordering operator<=>(const SemVer& other) const;
  // Equal precedence (build metadata ignored).
  bool operator==(const SemVer& other) const { return (*this <=> other) == 0; }
};

}  // namespace steward
