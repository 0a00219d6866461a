#include "common/maintenance_window.hpp"

#include <fmt/format.h>

#include <array>

#include "common/duration.hpp"

namespace steward {
namespace {

using namespace std::chrono;

constexpr std::array<std::string_view, 7> kDayNames = {"sun", "mon", "tue", "wed",
                                                       "thu", "fri", "sat"};
constexpr std::uint8_t kAllDays = 0x7f;
constexpr auto kMaxDuration = days{7};

std::optional<unsigned> DayOf(std::string_view name) {
  for (unsigned d = 0; d < kDayNames.size(); ++d) {
    if (kDayNames[d] == name) return d;
  }
  return std::nullopt;
}

std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  for (std::size_t pos = 0;;) {
    const auto next = s.find(sep, pos);
    out.push_back(s.substr(pos, next - pos));
    if (next == std::string_view::npos) return out;
    pos = next + 1;
  }
}

Result<std::uint8_t> ParseDays(std::string_view text) {
  if (text == "daily") return kAllDays;
  std::uint8_t days = 0;
  for (const auto item : Split(text, ',')) {
    const auto range = Split(item, '-');
    const auto first = DayOf(range.front());
    const auto last = DayOf(range.back());
    if (range.size() > 2 || !first || !last) {
      return Fail(ErrorCode::invalid_argument,
                  fmt::format("days '{}': expected day names (mon..sun), ranges such as mon-fri, "
                              "separated by commas, or daily",
                              text));
    }
    for (unsigned d = *first;; d = (d + 1) % 7) {  // fri-mon wraps over the weekend
      days = static_cast<std::uint8_t>(days | (1u << d));
      if (d == *last) break;
    }
  }
  return days;
}

std::string FormatDays(std::uint8_t days) {
  if (days == kAllDays) return "daily";
  // Runs of days in week order (mon first); when a run wraps over the week's end (sun, mon),
  // the list starts with that run so it stays one ("fri-mon").
  constexpr std::array<unsigned, 7> kWeek = {1, 2, 3, 4, 5, 6, 0};
  const auto in = [&](std::size_t i) { return ((unsigned{days} >> kWeek[i % 7]) & 1u) != 0; };
  std::size_t begin = 6;  // the list starts at begin + 1
  if (in(0) && in(6)) {
    while (in(begin)) --begin;
  }
  std::string out;
  for (std::size_t i = begin + 1; i <= begin + 7; ++i) {
    if (!in(i)) continue;
    std::size_t end = i;
    while (end + 1 <= begin + 7 && in(end + 1)) ++end;
    if (!out.empty()) out += ',';
    out += kDayNames[kWeek[i % 7]];
    if (end - i >= 2) {
      out += '-';
      out += kDayNames[kWeek[end % 7]];
    } else if (end > i) {
      out += ',';
      out += kDayNames[kWeek[end % 7]];
    }
    i = end;
  }
  return out;
}

Result<int> ParseStart(std::string_view text) {
  const auto digit = [&](std::size_t i) { return text[i] >= '0' && text[i] <= '9'; };
  if (text.size() != 5 || text[2] != ':' || !digit(0) || !digit(1) || !digit(3) || !digit(4)) {
    return Fail(ErrorCode::invalid_argument,
                fmt::format("start '{}': expected local time as HH:MM (00:00 to 23:59)", text));
  }
  const int h = (text[0] - '0') * 10 + (text[1] - '0');
  const int m = (text[3] - '0') * 10 + (text[4] - '0');
  if (h > 23 || m > 59) {
    return Fail(ErrorCode::invalid_argument,
                fmt::format("start '{}': expected local time as HH:MM (00:00 to 23:59)", text));
  }
  return h * 60 + m;
}

// The instant local time `local` (seconds since the epoch, as if local time were UTC) happens in
// the zone: the first of two when clocks went back, shifted by the jump when they jumped over it.
Seconds Resolve(const TimeZone& zone, Seconds local) {
  const auto before = zone.OffsetAt(local - days{1});
  const auto after = zone.OffsetAt(local + days{1});
  const auto a = local - before;
  const auto b = local - after;
  const bool a_ok = zone.OffsetAt(a) == before;
  const bool b_ok = zone.OffsetAt(b) == after;
  if (a_ok && b_ok) return std::min(a, b);
  if (b_ok) return b;
  return a;  // valid, or in a gap: read with the offset before the jump
}

}  // namespace

Result<MaintenanceWindow> MaintenanceWindow::Parse(std::string_view text) {
  std::vector<std::string_view> parts;
  for (const auto p : Split(text, ' ')) {
    if (!p.empty()) parts.push_back(p);
  }
  if (parts.size() != 4) {
    return Fail(ErrorCode::invalid_argument,
                fmt::format("window '{}': expected DAYS HH:MM DURATION ZONE, such as "
                            "'mon-fri 02:00 2h Europe/Berlin'",
                            text));
  }
  MaintenanceWindow w;
  auto days_set = ParseDays(parts[0]);
  auto start = ParseStart(parts[1]);
  auto length = ParseDuration(parts[2]);
  if (!days_set) return std::unexpected(days_set.error().Wrap(fmt::format("window '{}'", text)));
  if (!start) return std::unexpected(start.error().Wrap(fmt::format("window '{}'", text)));
  if (!length || *length < minutes{1} || *length > kMaxDuration || *length % seconds{1} != 0ns) {
    return Fail(ErrorCode::invalid_argument,
                fmt::format("window '{}': duration '{}': expected whole seconds from 1m to 7d, "
                            "such as 90m or 2h",
                            text, parts[2]));
  }
  w.days = *days_set;
  w.start_min = *start;
  w.duration = duration_cast<seconds>(*length);
  w.zone = std::string(parts[3]);
  return w;
}

std::string MaintenanceWindow::Format() const {
  return fmt::format("{} {:02}:{:02} {} {}", FormatDays(days), start_min / 60, start_min % 60,
                     FormatDuration(duration), zone);
}

Result<WindowSchedule> WindowSchedule::Make(std::span<const std::string> texts) {
  WindowSchedule s;
  for (const auto& text : texts) {
    auto w = MaintenanceWindow::Parse(text);
    if (!w) return std::unexpected(w.error());
    auto zone = TimeZone::Load(w->zone);
    if (!zone) return std::unexpected(zone.error().Wrap(fmt::format("window '{}'", text)));
    s.windows_.push_back(std::move(*w));
    s.zones_.push_back(std::move(*zone));
  }
  return s;
}

WindowSchedule::At WindowSchedule::Check(Seconds now) const {
  At at;
  for (std::size_t i = 0; i < windows_.size(); ++i) {
    const auto& w = windows_[i];
    const auto& zone = zones_[i];
    const auto today = floor<days>(now + zone.OffsetAt(now));
    // A window that opened up to eight local days ago may still be open (durations up to 7d).
    for (auto day = today - days{8}; day <= today + days{8}; day += days{1}) {
      if (((unsigned{w.days} >> weekday{day}.c_encoding()) & 1u) == 0) continue;
      const auto opens = Resolve(zone, Seconds{day} + minutes{w.start_min});
      const auto closes = opens + w.duration;
      if (opens <= now && now < closes) {
        at.open = true;
        if (!at.closes || closes > *at.closes) at.closes = closes;
      } else if (opens > now && (!at.next_open || opens < *at.next_open)) {
        at.next_open = opens;
      }
    }
  }
  if (at.open) at.next_open.reset();
  return at;
}

}  // namespace steward
