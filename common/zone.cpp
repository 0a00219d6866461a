#include "common/zone.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>

#include "common/files.hpp"

namespace steward {
namespace {

using namespace std::chrono;

constexpr std::size_t kMaxZoneFileBytes = 1 << 20;  // the largest system zone is under 4 KiB
constexpr std::int32_t kMaxOffsetS = 25 * 3600;

Error Bad(std::string_view name, std::string_view what) {
  return Error{ErrorCode::invalid_argument,
               fmt::format("zone {}: {}; reinstall the system's zone data (tzdata)", name, what)};
}

// Big-endian reader over a TZif file that never reads past its end.
class Reader {
 public:
  explicit Reader(std::string_view bytes) : bytes_(bytes) {}
  bool Has(std::size_t n) const { return bytes_.size() - pos_ >= n; }
  std::int64_t Int(std::size_t width) {  // caller checked Has(width)
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < width; ++i)
      v = (v << 8) | static_cast<unsigned char>(bytes_[pos_ + i]);
    pos_ += width;
    if (width == 4) return static_cast<std::int32_t>(static_cast<std::uint32_t>(v));
    return static_cast<std::int64_t>(v);
  }
  std::string_view Take(std::size_t n) {
    auto out = bytes_.substr(pos_, n);
    pos_ += n;
    return out;
  }
  std::string_view Rest() const { return bytes_.substr(pos_); }

 private:
  std::string_view bytes_;
  std::size_t pos_ = 0;
};

struct Header {
  char version = 0;
  std::int64_t isutcnt = 0, isstdcnt = 0, leapcnt = 0, timecnt = 0, typecnt = 0, charcnt = 0;
  std::size_t DataBytes(std::size_t time_width) const {
    return static_cast<std::size_t>(timecnt) * (time_width + 1) +
           static_cast<std::size_t>(typecnt) * 6 + static_cast<std::size_t>(charcnt) +
           static_cast<std::size_t>(leapcnt) * (time_width + 4) +
           static_cast<std::size_t>(isstdcnt) + static_cast<std::size_t>(isutcnt);
  }
};

Result<Header> ReadHeader(Reader& in, std::string_view name) {
  if (!in.Has(44) || in.Take(4) != "TZif") return std::unexpected(Bad(name, "not a TZif file"));
  Header h;
  h.version = in.Take(1)[0];
  if (h.version != '\0' && (h.version < '2' || h.version > '4')) {
    return std::unexpected(Bad(name, "unknown TZif version"));
  }
  in.Take(15);
  h.isutcnt = in.Int(4), h.isstdcnt = in.Int(4), h.leapcnt = in.Int(4);
  h.timecnt = in.Int(4), h.typecnt = in.Int(4), h.charcnt = in.Int(4);
  const auto in_range = [](std::int64_t v, std::int64_t max) { return v >= 0 && v <= max; };
  if (!in_range(h.timecnt, 1 << 16) || !in_range(h.typecnt, 256) || h.typecnt == 0 ||
      !in_range(h.charcnt, 1 << 12) || !in_range(h.leapcnt, 1 << 12) ||
      (h.isutcnt != 0 && h.isutcnt != h.typecnt) || (h.isstdcnt != 0 && h.isstdcnt != h.typecnt)) {
    return std::unexpected(Bad(name, "TZif counts out of range"));
  }
  return h;
}

// ---- POSIX TZ rules --------------------------------------------------------------------------

class RuleText {
 public:
  explicit RuleText(std::string_view s) : s_(s) {}
  bool Done() const { return pos_ == s_.size(); }
  char Peek() const { return Done() ? '\0' : s_[pos_]; }
  bool Eat(char c) {
    if (Peek() != c) return false;
    ++pos_;
    return true;
  }
  // "CET" or "<+0330>": three or more letters, or anything but '>' in angle brackets.
  bool Name() {
    if (Eat('<')) {
      const auto start = pos_;
      while (!Done() && Peek() != '>') ++pos_;
      return pos_ - start >= 3 && Eat('>');
    }
    const auto start = pos_;
    while (!Done() && ((Peek() >= 'A' && Peek() <= 'Z') || (Peek() >= 'a' && Peek() <= 'z')))
      ++pos_;
    return pos_ - start >= 3;
  }
  bool Number(int max, int& out) {
    if (Peek() < '0' || Peek() > '9') return false;
    long v = 0;
    while (Peek() >= '0' && Peek() <= '9') {
      v = v * 10 + (s_[pos_++] - '0');
      if (v > max) return false;
    }
    out = static_cast<int>(v);
    return true;
  }
  // [+-]hh[:mm[:ss]] with hours up to max_hours, as seconds.
  bool Time(int max_hours, std::int32_t& out) {
    const bool negative = Eat('-');
    if (!negative) Eat('+');
    int h = 0, m = 0, s = 0;
    if (!Number(max_hours, h)) return false;
    if (Eat(':') && (!Number(59, m) || (Eat(':') && !Number(59, s)))) return false;
    out = (negative ? -1 : 1) * (h * 3600 + m * 60 + s);
    return true;
  }
  bool Change(TimeZone::Rule::Change& c) {
    using Kind = TimeZone::Rule::Change::Kind;
    if (Eat('M')) {
      c.kind = Kind::month_week_day;
      if (!Number(12, c.month) || c.month < 1 || !Eat('.') || !Number(5, c.week) || c.week < 1 ||
          !Eat('.') || !Number(6, c.weekday)) {
        return false;
      }
    } else if (Eat('J')) {
      c.kind = Kind::julian_no_leap;
      if (!Number(365, c.day) || c.day < 1) return false;
    } else {
      c.kind = Kind::day_of_year;
      if (!Number(365, c.day)) return false;
    }
    c.time_s = 7200;
    return !Eat('/') || Time(167, c.time_s);
  }

 private:
  std::string_view s_;
  std::size_t pos_ = 0;
};

// The UTC instant of a rule's change in a year, the change's local time read with `offset_s`.
std::int64_t ChangeAt(const TimeZone::Rule::Change& c, int y, std::int32_t offset_s) {
  using Kind = TimeZone::Rule::Change::Kind;
  const year yr{y};
  sys_days day;
  switch (c.kind) {
    case Kind::month_week_day: {
      const auto m = month{static_cast<unsigned>(c.month)};
      const weekday wd{static_cast<unsigned>(c.weekday)};
      day = c.week == 5 ? sys_days{yr / m / wd[last]}
                        : sys_days{yr / m / wd[static_cast<unsigned>(c.week)]};
      break;
    }
    case Kind::julian_no_leap:  // day 60 is March 1 in every year
      day = sys_days{yr / January / 1} + days{c.day - 1} +
            days{(yr.is_leap() && c.day >= 60) ? 1 : 0};
      break;
    case Kind::day_of_year:
      day = sys_days{yr / January / 1} + days{c.day};
      break;
  }
  return day.time_since_epoch().count() * 86400 + c.time_s - offset_s;
}

std::int32_t RuleOffsetAt(const TimeZone::Rule& r, std::int64_t t) {
  if (!r.has_dst) return r.std_offset_s;
  const auto y = static_cast<int>(year_month_day{floor<days>(sys_seconds{seconds{t}})}.year());
  const auto start = ChangeAt(r.start, y, r.std_offset_s);  // given in standard time
  const auto end = ChangeAt(r.end, y, r.dst_offset_s);      // given in daylight time
  const bool dst = start < end ? (t >= start && t < end) : !(t >= end && t < start);
  return dst ? r.dst_offset_s : r.std_offset_s;
}

}  // namespace

Result<TimeZone::Rule> TimeZone::ParseRule(std::string_view text) {
  const auto bad = [&](std::string_view what) {
    return std::unexpected(
        Error{ErrorCode::invalid_argument, fmt::format("TZ rule '{}': {}", text, what)});
  };
  RuleText in(text);
  Rule r;
  std::int32_t west = 0;
  if (!in.Name()) return bad("expected a zone abbreviation");
  if (!in.Time(24, west)) return bad("expected the standard offset");
  r.std_offset_s = -west;  // POSIX counts hours west of Greenwich
  if (in.Done()) return r;
  if (!in.Name()) return bad("expected the daylight abbreviation");
  r.has_dst = true;
  r.dst_offset_s = r.std_offset_s + 3600;
  if (in.Peek() != ',' && !in.Done()) {
    if (!in.Time(24, west)) return bad("expected the daylight offset");
    r.dst_offset_s = -west;
  }
  if (in.Done()) {  // no rule given: the US rules POSIX implementations default to
    r.start = {Rule::Change::Kind::month_week_day, 3, 2, 0, 0, 7200};
    r.end = {Rule::Change::Kind::month_week_day, 11, 1, 0, 0, 7200};
    return r;
  }
  if (!in.Eat(',') || !in.Change(r.start)) return bad("expected the start of daylight time");
  if (!in.Eat(',') || !in.Change(r.end)) return bad("expected the end of daylight time");
  if (!in.Done()) return bad("unexpected text after the rule");
  return r;
}

TimeZone TimeZone::Utc() {
  TimeZone z;
  z.name_ = "UTC";
  return z;
}

Result<TimeZone> TimeZone::Parse(std::string_view name, std::string_view tzif) {
  Reader in(tzif);
  auto h = ReadHeader(in, name);
  if (!h) return std::unexpected(h.error());
  std::size_t width = 4;
  if (h->version != '\0') {  // skip the 32-bit block, read the 64-bit one
    if (!in.Has(h->DataBytes(4))) return std::unexpected(Bad(name, "TZif file truncated"));
    in.Take(h->DataBytes(4));
    h = ReadHeader(in, name);
    if (!h) return std::unexpected(h.error());
    width = 8;
  }
  if (!in.Has(h->DataBytes(width))) return std::unexpected(Bad(name, "TZif file truncated"));

  TimeZone z;
  z.name_ = std::string(name);
  const auto count = static_cast<std::size_t>(h->timecnt);
  z.transitions_.resize(count);
  for (auto& t : z.transitions_) t = in.Int(width);
  if (!std::is_sorted(z.transitions_.begin(), z.transitions_.end())) {
    return std::unexpected(Bad(name, "TZif transitions out of order"));
  }
  std::vector<std::size_t> index(count);
  for (auto& i : index) i = static_cast<unsigned char>(in.Take(1)[0]);
  std::vector<std::int32_t> type_offsets(static_cast<std::size_t>(h->typecnt));
  for (auto& o : type_offsets) {
    o = static_cast<std::int32_t>(in.Int(4));
    in.Take(2);  // is_dst, abbreviation index: not needed for offsets
    if (o < -kMaxOffsetS || o > kMaxOffsetS)
      return std::unexpected(Bad(name, "TZif offset out of range"));
  }
  z.offsets_.reserve(count);
  for (const auto i : index) {
    if (i >= type_offsets.size()) return std::unexpected(Bad(name, "TZif type index out of range"));
    z.offsets_.push_back(type_offsets[i]);
  }
  z.initial_offset_s_ = type_offsets[0];
  in.Take(h->DataBytes(width) - count * (width + 1) - type_offsets.size() * 6);

  if (h->version != '\0') {  // footer: "\n<POSIX TZ string>\n", empty when there is no rule
    const auto rest = in.Rest();
    const auto end =
        rest.size() >= 2 && rest[0] == '\n' ? rest.find('\n', 1) : std::string_view::npos;
    if (end == std::string_view::npos) return std::unexpected(Bad(name, "TZif footer missing"));
    if (end > 1) {
      auto rule = ParseRule(rest.substr(1, end - 1));
      if (!rule) return std::unexpected(Bad(name, rule.error().message));
      z.rule_ = *rule;
      z.has_rule_ = true;
    }
  }
  return z;
}

Result<TimeZone> TimeZone::Load(std::string_view name) {
  if (name == "UTC") return Utc();
  const std::filesystem::path rel(name);
  const bool plain =
      !name.empty() && name.size() <= 128 && rel.is_relative() &&
      std::none_of(rel.begin(), rel.end(), [](const auto& p) { return p == ".." || p == "."; });
  if (!plain) {
    return Fail(ErrorCode::invalid_argument,
                fmt::format("zone '{}': expected an IANA zone name such as Europe/Berlin", name));
  }
  const char* dir = std::getenv("TZDIR");
  const std::filesystem::path path =
      std::filesystem::path(dir && *dir ? dir : "/usr/share/zoneinfo") / rel;
  auto bytes = files::ReadFile(path, kMaxZoneFileBytes);
  if (!bytes) {
    if (bytes.error().code == ErrorCode::not_found) {
      return Fail(ErrorCode::not_found,
                  fmt::format("zone '{}': no such zone in the system's zone data ({})", name,
                              path.string()));
    }
    return std::unexpected(bytes.error().Wrap(fmt::format("zone '{}'", name)));
  }
  return Parse(name, *bytes);
}

std::chrono::seconds TimeZone::OffsetAt(Seconds t) const {
  const auto s = t.time_since_epoch().count();
  if (transitions_.empty() || s < transitions_.front()) {
    if (transitions_.empty() && has_rule_) return seconds{RuleOffsetAt(rule_, s)};
    return seconds{initial_offset_s_};
  }
  if (s >= transitions_.back() && has_rule_) {
    return seconds{RuleOffsetAt(rule_, s)};
  }
  const auto it = std::upper_bound(transitions_.begin(), transitions_.end(), s);
  return seconds{offsets_[static_cast<std::size_t>(it - transitions_.begin()) - 1]};
}

}  // namespace steward
