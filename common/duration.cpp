#include "common/duration.hpp"

#include <array>
#include <limits>

namespace steward {

namespace {

struct Unit {
  std::string_view name;
  Duration length;
};

// Longest names first so "ms" is not read as "m".
constexpr std::array<Unit, 5> kUnits{{
    {"ms", std::chrono::milliseconds(1)},
    {"d", std::chrono::hours(24)},
    {"h", std::chrono::hours(1)},
    {"m", std::chrono::minutes(1)},
    {"s", std::chrono::seconds(1)},
}};

Error Bad(std::string_view text, std::string_view why) {
  return Error{ErrorCode::invalid_argument,
               "duration '" + std::string(text) + "' " + std::string(why) +
                   "; write a whole number with a unit (ms, s, m, h, d), e.g. \"90s\", \"10m\", "
                   "\"1h30m\""};
}

}  // namespace

Result<Duration> ParseDuration(std::string_view text) {
  if (text.empty()) return std::unexpected(Bad(text, "is empty"));
  std::string_view rest = text;
  Duration total{0};
  while (!rest.empty()) {
    std::int64_t n = 0;
    std::size_t i = 0;
    while (i < rest.size() && rest[i] >= '0' && rest[i] <= '9') {
      if (n > (std::numeric_limits<std::int64_t>::max() - 9) / 10) {
        return std::unexpected(Bad(text, "is too large"));
      }
      n = n * 10 + (rest[i] - '0');
      ++i;
    }
    if (i == 0) return std::unexpected(Bad(text, "has no number where one was expected"));
    rest.remove_prefix(i);
    const Unit* unit = nullptr;
    for (const auto& u : kUnits) {
      if (rest.starts_with(u.name)) {
        unit = &u;
        break;
      }
    }
    if (unit == nullptr) return std::unexpected(Bad(text, "has a missing or unknown unit"));
    rest.remove_prefix(unit->name.size());
    const auto limit = Duration::max().count() / unit->length.count();
    if (n > limit || total.count() > Duration::max().count() - n * unit->length.count()) {
      return std::unexpected(Bad(text, "is too large"));
    }
    total += n * unit->length;
  }
  return total;
}

std::string FormatDuration(Duration d) {
  if (d == Duration::zero()) return "0s";
  std::string out;
  if (d < Duration::zero()) {
    out = "-";
    d = -d;
  }
  if (d % std::chrono::seconds(1) != Duration::zero()) {
    return out + std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(d).count()) +
           "ms";
  }
  for (const auto& u : {kUnits[1], kUnits[2], kUnits[3], kUnits[4]}) {
    const auto n = d / u.length;
    if (n > 0) {
      out += std::to_string(n) + std::string(u.name);
      d -= n * u.length;
    }
  }
  return out;
}

}  // namespace steward
