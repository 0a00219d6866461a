#include "common/semver.hpp"

#include <algorithm>
#include <charconv>

namespace steward {

namespace {

constexpr std::size_t kMaxLength = 256;

Error Bad(std::string_view text, std::string_view why) {
  return Error{ErrorCode::invalid_argument,
               "version '" + std::string(text.substr(0, 64)) + "' is not a semantic version (" +
                   std::string(why) + "); expected MAJOR.MINOR.PATCH[-PRERELEASE][+BUILD]"};
}

bool IsNumeric(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool IsIdentChar(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-';
}

std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  for (;;) {
    const auto pos = s.find(sep);
    out.push_back(s.substr(0, pos));
    if (pos == std::string_view::npos) return out;
    s.remove_prefix(pos + 1);
  }
}

Result<std::uint64_t> ParseNumber(std::string_view text, std::string_view part) {
  if (!IsNumeric(part)) return std::unexpected(Bad(text, "core parts must be numbers"));
  if (part.size() > 1 && part[0] == '0') return std::unexpected(Bad(text, "leading zero"));
  std::uint64_t v = 0;
  const auto [ptr, ec] = std::from_chars(part.data(), part.data() + part.size(), v);
  if (ec != std::errc{} || ptr != part.data() + part.size()) {
    return std::unexpected(Bad(text, "number too large"));
  }
  return v;
}

}  // namespace

Result<SemVer> SemVer::Parse(std::string_view text) {
  if (text.empty()) return std::unexpected(Bad(text, "empty"));
  if (text.size() > kMaxLength) return std::unexpected(Bad(text, "longer than 256 characters"));
  SemVer v;
  std::string_view rest = text;
  if (const auto plus = rest.find('+'); plus != std::string_view::npos) {
    const std::string_view build = rest.substr(plus + 1);
    for (const auto id : Split(build, '.')) {
      if (id.empty() || !std::all_of(id.begin(), id.end(), IsIdentChar)) {
        return std::unexpected(Bad(text, "bad build metadata"));
      }
    }
    v.build = std::string(build);
    rest = rest.substr(0, plus);
  }
  if (const auto dash = rest.find('-'); dash != std::string_view::npos) {
    for (const auto id : Split(rest.substr(dash + 1), '.')) {
      if (id.empty() || !std::all_of(id.begin(), id.end(), IsIdentChar)) {
        return std::unexpected(Bad(text, "bad pre-release identifier"));
      }
      if (IsNumeric(id) && id.size() > 1 && id[0] == '0') {
        return std::unexpected(Bad(text, "leading zero in pre-release"));
      }
      v.prerelease.emplace_back(id);
    }
    rest = rest.substr(0, dash);
  }
  const auto core = Split(rest, '.');
  if (core.size() != 3) return std::unexpected(Bad(text, "need three numbers"));
  std::uint64_t* fields[] = {&v.major, &v.minor, &v.patch};
  for (std::size_t i = 0; i < 3; ++i) {
    auto n = ParseNumber(text, core[i]);
    if (!n) return std::unexpected(n.error());
    *fields[i] = *n;
  }
  return v;
}

std::string SemVer::ToString() const {
  std::string out =
      std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(patch);
  for (std::size_t i = 0; i < prerelease.size(); ++i) out += (i == 0 ? "-" : ".") + prerelease[i];
  if (!build.empty()) out += "+" + build;
  return out;
}

std::strong_ordering SemVer::operator<=>(const SemVer& o) const {
  if (auto c = major <=> o.major; c != 0) return c;
  if (auto c = minor <=> o.minor; c != 0) return c;
  if (auto c = patch <=> o.patch; c != 0) return c;
  if (prerelease.empty() != o.prerelease.empty()) {
    return prerelease.empty() ? std::strong_ordering::greater : std::strong_ordering::less;
  }
  const std::size_t n = std::min(prerelease.size(), o.prerelease.size());
  for (std::size_t i = 0; i < n; ++i) {
    const auto& a = prerelease[i];
    const auto& b = o.prerelease[i];
    const bool an = IsNumeric(a);
    const bool bn = IsNumeric(b);
    if (an && bn) {
      if (auto c = a.size() <=> b.size(); c != 0) return c;  // no leading zeros: longer is larger
      if (auto c = a <=> b; c != 0) return c;
    } else if (an != bn) {
      return an ? std::strong_ordering::less : std::strong_ordering::greater;
    } else if (auto c = a <=> b; c != 0) {
      return c;
    }
  }
  return prerelease.size() <=> o.prerelease.size();
}

}  // namespace steward
