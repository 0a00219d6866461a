#include "common/maintenance_window.hpp"

#include <gtest/gtest.h>

namespace steward {
namespace {

using namespace std::chrono;

WindowSchedule Make(std::vector<std::string> texts) {
  auto s = WindowSchedule::Make(texts);
  EXPECT_TRUE(s) << s.error().message;
  return s ? std::move(*s) : WindowSchedule{};
}

Seconds Utc(year_month_day d, hours h, minutes m = 0min) { return Seconds{sys_days{d} + h + m}; }

TEST(MaintenanceWindow, TextRoundTripsInItsCanonicalForm) {
  const std::pair<const char*, const char*> cases[] = {
      {"mon-fri 02:00 2h Europe/Berlin", "mon-fri 02:00 2h Europe/Berlin"},
      {"sat,sun 22:30 90m UTC", "sat,sun 22:30 1h30m UTC"},
      {"sun,sat 22:30 90m UTC", "sat,sun 22:30 1h30m UTC"},
      {"fri-mon  03:00 4h  America/New_York", "fri-mon 03:00 4h America/New_York"},
      {"mon-sun 00:00 1m UTC", "daily 00:00 1m UTC"},
      {"daily 23:59 7d UTC", "daily 23:59 7d UTC"},
      {"wed 12:00 1h Asia/Kolkata", "wed 12:00 1h Asia/Kolkata"},
      {"mon,wed,fri 01:05 45m UTC", "mon,wed,fri 01:05 45m UTC"},
  };
  for (const auto& [text, canonical] : cases) {
    auto w = MaintenanceWindow::Parse(text);
    ASSERT_TRUE(w) << text << ": " << w.error().message;
    EXPECT_EQ(w->Format(), canonical) << text;
    EXPECT_EQ(MaintenanceWindow::Parse(w->Format()).value(), *w) << text;
  }
}

TEST(MaintenanceWindow, BrokenTextIsRefusedNamingThePart) {
  const std::pair<const char*, const char*> cases[] = {
      {"", "expected DAYS HH:MM DURATION ZONE"},
      {"mon-fri 02:00 2h", "expected DAYS HH:MM DURATION ZONE"},
      {"mon-fri 02:00 2h UTC extra", "expected DAYS HH:MM DURATION ZONE"},
      {"moon 02:00 2h UTC", "days 'moon'"},
      {"mon- 02:00 2h UTC", "days 'mon-'"},
      {"mon-tue-wed 02:00 2h UTC", "days 'mon-tue-wed'"},
      {"Mon 02:00 2h UTC", "days 'Mon'"},
      {"mon 2:00 2h UTC", "start '2:00'"},
      {"mon 24:00 2h UTC", "start '24:00'"},
      {"mon 02:60 2h UTC", "start '02:60'"},
      {"mon 02:00 30s UTC", "duration '30s'"},
      {"mon 02:00 8d UTC", "duration '8d'"},
      {"mon 02:00 1500ms UTC", "duration '1500ms'"},
      {"mon 02:00 two UTC", "duration 'two'"},
  };
  for (const auto& [text, says] : cases) {
    auto w = MaintenanceWindow::Parse(text);
    ASSERT_FALSE(w) << text;
    EXPECT_EQ(w.error().code, ErrorCode::invalid_argument);
    EXPECT_NE(w.error().message.find(says), std::string::npos) << text << ": " << w.error().message;
  }
  std::vector<std::string> unknown_zone = {"mon 02:00 2h Europe/Atlantis"};
  auto s = WindowSchedule::Make(unknown_zone);
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message.find("Europe/Atlantis"), std::string::npos) << s.error().message;
}

TEST(MaintenanceWindow, OpenOnItsDaysInItsZoneAndClosedOtherwise) {
  const auto s = Make({"mon-fri 02:00 2h Europe/Berlin"});
  // Wednesday 2027-06-09, Berlin on CEST (+2): the window is 00:00Z to 02:00Z.
  auto at = s.Check(Utc(2027y / June / 9, 1h));
  EXPECT_TRUE(at.open);
  EXPECT_EQ(at.closes, Utc(2027y / June / 9, 2h));
  at = s.Check(Utc(2027y / June / 9, 2h));
  EXPECT_FALSE(at.open);
  EXPECT_EQ(at.next_open, Utc(2027y / June / 10, 0h));
  // Saturday: the next opening is Monday's.
  at = s.Check(Utc(2027y / June / 12, 12h));
  EXPECT_FALSE(at.open);
  EXPECT_EQ(at.next_open, Utc(2027y / June / 14, 0h));
  // Winter (+1): the window is 01:00Z to 03:00Z.
  at = s.Check(Utc(2027y / January / 13, 0h, 30min));
  EXPECT_FALSE(at.open);
  EXPECT_EQ(at.next_open, Utc(2027y / January / 13, 1h));
}

TEST(MaintenanceWindow, AWindowPastMidnightIsOpenOnTheNextDay) {
  const auto s = Make({"fri 23:00 3h UTC"});
  const auto at = s.Check(Utc(2027y / June / 12, 1h));  // Saturday 01:00
  EXPECT_TRUE(at.open);
  EXPECT_EQ(at.closes, Utc(2027y / June / 12, 2h));
}

TEST(MaintenanceWindow, TheEarliestOfSeveralWindowsIsNext) {
  const auto s = Make({"sun 04:00 1h UTC", "sat 22:00 1h America/New_York"});
  const auto at = s.Check(Utc(2027y / June / 12, 12h));  // Saturday noon UTC
  EXPECT_FALSE(at.open);
  EXPECT_EQ(at.next_open, Utc(2027y / June / 13, 2h));  // 22:00 EDT is 02:00Z Sunday
}

TEST(MaintenanceWindow, AStartTheClocksJumpOverOpensShiftedByTheJump) {
  // Berlin, 2027-03-28: 02:00 CET becomes 03:00 CEST (01:00Z). 02:30 does not exist that day;
  // the window opens at 03:30 CEST (01:30Z) and lasts one elapsed hour.
  const auto s = Make({"sun 02:30 1h Europe/Berlin"});
  auto at = s.Check(Utc(2027y / March / 28, 1h, 29min));
  EXPECT_FALSE(at.open);
  EXPECT_EQ(at.next_open, Utc(2027y / March / 28, 1h, 30min));
  at = s.Check(Utc(2027y / March / 28, 2h, 29min));
  EXPECT_TRUE(at.open);
  EXPECT_EQ(at.closes, Utc(2027y / March / 28, 2h, 30min));
  // New York, 2027-03-14: 02:00 EST becomes 03:00 EDT (07:00Z); 02:15 opens at 03:15 EDT.
  const auto ny = Make({"sun 02:15 30m America/New_York"});
  EXPECT_EQ(ny.Check(Utc(2027y / March / 14, 6h)).next_open, Utc(2027y / March / 14, 7h, 15min));
}

TEST(MaintenanceWindow, AStartThatHappensTwiceOpensAtTheFirst) {
  // Berlin, 2027-10-31: 03:00 CEST becomes 02:00 CET (01:00Z); 02:30 happens at 00:30Z and
  // again at 01:30Z. The window opens at the first and lasts one elapsed hour.
  const auto s = Make({"sun 02:30 1h Europe/Berlin"});
  auto at = s.Check(Utc(2027y / October / 31, 0h, 29min));
  EXPECT_FALSE(at.open);
  EXPECT_EQ(at.next_open, Utc(2027y / October / 31, 0h, 30min));
  at = s.Check(Utc(2027y / October / 31, 1h, 29min));
  EXPECT_TRUE(at.open);
  EXPECT_EQ(at.closes, Utc(2027y / October / 31, 1h, 30min));
  EXPECT_FALSE(s.Check(Utc(2027y / October / 31, 1h, 30min)).open);
  // New York, 2027-11-07: 01:30 happens at 05:30Z (EDT) and 06:30Z (EST).
  const auto ny = Make({"sun 01:30 30m America/New_York"});
  EXPECT_EQ(ny.Check(Utc(2027y / November / 7, 5h)).next_open,
            Utc(2027y / November / 7, 5h, 30min));
}

TEST(MaintenanceWindow, NoWindowsMeansNeverOpen) {
  const auto s = Make({});
  const auto at = s.Check(Utc(2027y / June / 9, 1h));
  EXPECT_FALSE(at.open);
  EXPECT_FALSE(at.next_open);
}

}  // namespace
}  // namespace steward
