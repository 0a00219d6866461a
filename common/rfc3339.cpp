#include "common/rfc3339.hpp"

#include <cstdint>
#include <cstdio>

namespace steward {

namespace {

// Howard Hinnant's civil-date algorithms.
std::int64_t DaysFromCivil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

void CivilFromDays(std::int64_t z, std::int64_t& y, unsigned& m, unsigned& d) {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  y = static_cast<std::int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y += m <= 2;
}

bool IsLeap(std::int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

}  // namespace

std::string FormatRfc3339(WallTime t) {
  const auto secs = std::chrono::floor<std::chrono::seconds>(t.time_since_epoch()).count();
  std::int64_t days = secs / 86400;
  std::int64_t rem = secs % 86400;
  if (rem < 0) {
    rem += 86400;
    --days;
  }
  std::int64_t y = 0;
  unsigned m = 0;
  unsigned d = 0;
  CivilFromDays(days, y, m, d);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02lld:%02lld:%02lldZ",
                static_cast<long long>(y), m, d, static_cast<long long>(rem / 3600),
                static_cast<long long>(rem / 60 % 60), static_cast<long long>(rem % 60));
  return buf;
}

Result<WallTime> ParseRfc3339(std::string_view text) {
  auto bad = [&](std::string_view why) {
    return Fail(ErrorCode::invalid_argument, "timestamp '" + std::string(text.substr(0, 40)) +
                                                 "' is not valid (" + std::string(why) +
                                                 "); expected UTC like 2026-11-23T15:00:00Z");
  };
  if (text.size() != 20) return bad("wrong length");
  static constexpr std::string_view kShape = "dddd-dd-ddTdd:dd:ddZ";
  for (std::size_t i = 0; i < kShape.size(); ++i) {
    if (kShape[i] == 'd') {
      if (text[i] < '0' || text[i] > '9') return bad("digit expected");
    } else if (text[i] != kShape[i]) {
      return bad("wrong separator");
    }
  }
  auto num = [&](std::size_t pos, std::size_t len) {
    unsigned v = 0;
    for (std::size_t i = 0; i < len; ++i) v = v * 10 + static_cast<unsigned>(text[pos + i] - '0');
    return v;
  };
  const std::int64_t year = num(0, 4);
  const unsigned month = num(5, 2), day = num(8, 2), hour = num(11, 2), minute = num(14, 2),
                 second = num(17, 2);
  static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (year < 1970) return bad("year before 1970");
  // Wall time is nanoseconds in 64 bits: it ends in 2262.
  if (year > 2200) return bad("year after 2200");
  if (month < 1 || month > 12) return bad("month out of range");
  const unsigned mdays = kDays[month - 1] + ((month == 2 && IsLeap(year)) ? 1u : 0u);
  if (day < 1 || day > mdays) return bad("day out of range");
  if (hour > 23 || minute > 59 || second > 59) return bad("time of day out of range");
  const std::int64_t secs =
      DaysFromCivil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second;
  return WallTime(std::chrono::duration_cast<WallTime::duration>(std::chrono::seconds(secs)));
}

}  // namespace steward
