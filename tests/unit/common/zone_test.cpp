#include "common/zone.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <ctime>
#include <random>
#include <string>

namespace steward {
namespace {

using namespace std::chrono;

// The C library reads the same zone files: its localtime_r is the oracle.
class LibcZone {
 public:
  explicit LibcZone(const std::string& name) {
    if (const char* tz = std::getenv("TZ")) saved_ = tz;
    setenv("TZ", (":" + name).c_str(), 1);
    tzset();
  }
  ~LibcZone() {
    if (saved_) {
      setenv("TZ", saved_->c_str(), 1);
    } else {
      unsetenv("TZ");
    }
    tzset();
  }
  static seconds OffsetAt(Seconds t) {
    const std::time_t tt = t.time_since_epoch().count();
    std::tm tm{};
    localtime_r(&tt, &tm);
    return seconds{tm.tm_gmtoff};
  }

 private:
  std::optional<std::string> saved_;
};

// Zones north and south, with half hours, 45 minutes, negative daylight time (Dublin), and
// rules that changed over the years.
constexpr const char* kZones[] = {"Europe/Berlin",     "America/New_York", "Australia/Sydney",
                                  "Asia/Kolkata",      "America/St_Johns", "Pacific/Chatham",
                                  "Europe/Dublin",     "America/Santiago", "Asia/Tehran",
                                  "Africa/Casablanca", "Pacific/Apia",     "America/Sao_Paulo"};

TEST(TimeZone, AgreesWithTheCLibraryFrom1970To2100) {
  std::mt19937_64 rng(20261203);
  // Up to 2100: past the last transition of the files, where the footer's rule decides.
  std::uniform_int_distribution<std::int64_t> when(0, 4102444800);
  for (const char* name : kZones) {
    auto zone = TimeZone::Load(name);
    ASSERT_TRUE(zone) << zone.error().message;
    LibcZone libc(name);
    for (int i = 0; i < 3000; ++i) {
      const Seconds t{seconds{when(rng)}};
      ASSERT_EQ(zone->OffsetAt(t), LibcZone::OffsetAt(t))
          << name << " at " << t.time_since_epoch().count();
    }
  }
}

TEST(TimeZone, ChangesAtTheInstantOfTheTransition) {
  auto berlin = TimeZone::Load("Europe/Berlin").value();
  // 2027-03-28 01:00:00Z: CET to CEST; 2027-10-31 01:00:00Z: back.
  const Seconds spring{sys_days{2027y / March / 28} + 1h};
  const Seconds autumn{sys_days{2027y / October / 31} + 1h};
  EXPECT_EQ(berlin.OffsetAt(spring - 1s), 1h);
  EXPECT_EQ(berlin.OffsetAt(spring), 2h);
  EXPECT_EQ(berlin.OffsetAt(autumn - 1s), 2h);
  EXPECT_EQ(berlin.OffsetAt(autumn), 1h);
  // 2090, after the last listed transition: the footer's rule (last Sunday of March/October).
  EXPECT_EQ(berlin.OffsetAt(Seconds{sys_days{2090y / March / 26} + 1h} - 1s), 1h);
  EXPECT_EQ(berlin.OffsetAt(Seconds{sys_days{2090y / March / 26} + 1h}), 2h);
}

TEST(TimeZone, UtcNeedsNoFile) {
  ::setenv("TZDIR", "/nonexistent", 1);
  auto utc = TimeZone::Load("UTC");
  ::unsetenv("TZDIR");
  ASSERT_TRUE(utc);
  EXPECT_EQ(utc->OffsetAt(Seconds{seconds{1800000000}}), 0s);
}

TEST(TimeZone, NamesThatAreNotZonesAreRefusedWithWhatToGive) {
  for (const char* name : {"", "/etc/passwd", "../../etc/passwd", "Europe/../../x", "./UTC"}) {
    auto z = TimeZone::Load(name);
    ASSERT_FALSE(z) << name;
    EXPECT_EQ(z.error().code, ErrorCode::invalid_argument) << name;
    EXPECT_NE(z.error().message.find("IANA zone name"), std::string::npos) << z.error().message;
  }
  auto missing = TimeZone::Load("Europe/Atlantis");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::not_found);
  EXPECT_NE(missing.error().message.find("no such zone"), std::string::npos);
}

// A TZif v2 file built by hand: no transitions, one type, and a footer: a "slim" file.
std::string SlimTzif(std::string_view footer, std::int32_t type_offset = 3600) {
  const auto be32 = [](std::string& out, std::uint32_t v) {
    for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<char>((v >> s) & 0xff));
  };
  const auto block = [&](std::string& out) {
    out += "TZif2";
    out.append(15, '\0');
    for (std::uint32_t count : {0u, 0u, 0u, 0u, 1u, 4u})
      be32(out, count);  // utc std leap time type char
    be32(out, static_cast<std::uint32_t>(type_offset));
    out.push_back('\0');  // is_dst
    out.push_back('\0');  // abbreviation index
    out.append("CET", 4);
  };
  std::string out;
  block(out);
  block(out);
  out += '\n';
  out += footer;
  out += '\n';
  return out;
}

TEST(TimeZone, ASlimFileIsDecidedByItsFooterRule) {
  auto z = TimeZone::Parse("Test/Slim", SlimTzif("CET-1CEST,M3.5.0,M10.5.0/3"));
  ASSERT_TRUE(z) << z.error().message;
  EXPECT_EQ(z->OffsetAt(Seconds{sys_days{2027y / January / 10}}), 1h);
  EXPECT_EQ(z->OffsetAt(Seconds{sys_days{2027y / July / 10}}), 2h);
  EXPECT_EQ(z->OffsetAt(Seconds{sys_days{2027y / March / 28} + 1h}), 2h);
  // Southern hemisphere: daylight time spans the new year.
  auto south = TimeZone::Parse("Test/South", SlimTzif("AEST-10AEDT,M10.1.0,M4.1.0/3", 36000));
  ASSERT_TRUE(south) << south.error().message;
  EXPECT_EQ(south->OffsetAt(Seconds{sys_days{2030y / January / 10}}), 11h);
  EXPECT_EQ(south->OffsetAt(Seconds{sys_days{2030y / July / 10}}), 10h);
}

TEST(TimeZone, PosixRulesInTheirForms) {
  auto fixed = TimeZone::ParseRule("<+0530>-5:30");
  ASSERT_TRUE(fixed) << fixed.error().message;
  EXPECT_EQ(fixed->std_offset_s, 5 * 3600 + 1800);
  EXPECT_FALSE(fixed->has_dst);
  auto julian = TimeZone::ParseRule("EST5EDT,J60/2,300/-1");
  ASSERT_TRUE(julian) << julian.error().message;
  EXPECT_EQ(julian->std_offset_s, -5 * 3600);
  EXPECT_EQ(julian->dst_offset_s, -4 * 3600);
  EXPECT_EQ(julian->end.time_s, -3600);
  auto us_default = TimeZone::ParseRule("EST5EDT");
  ASSERT_TRUE(us_default);
  EXPECT_EQ(us_default->start.month, 3);
  EXPECT_EQ(us_default->end.month, 11);
  auto extended = TimeZone::ParseRule("<-03>3<-02>,M3.5.0/-2,M10.5.0/-1");
  ASSERT_TRUE(extended) << extended.error().message;
  EXPECT_EQ(extended->start.time_s, -7200);
}

TEST(TimeZone, BrokenRulesAndFilesAreRefusedNamingWhatIsWrong) {
  for (const char* rule :
       {"", "C-1", "CET", "CET-1CEST,M13.1.0,M10.5.0", "CET-1CEST,M3.6.0,M10.5.0",
        "CET-1CEST,M3.5.7,M10.5.0", "CET-1CEST,J0,J10", "CET-1CEST,366,1", "CET-1CEST,M3.5.0",
        "CET-1CEST,M3.5.0,M10.5.0/168", "CET-25", "CET-1CEST,M3.5.0,M10.5.0x", "<+05-5"}) {
    auto r = TimeZone::ParseRule(rule);
    EXPECT_FALSE(r) << rule;
    if (!r) {
      EXPECT_NE(r.error().message.find("TZ rule"), std::string::npos) << r.error().message;
    }
  }
  const auto good = SlimTzif("CET-1CEST,M3.5.0,M10.5.0/3");
  for (std::size_t cut : {0ul, 3ul, 20ul, 44ul, 60ul, good.size() / 2, good.size() - 1}) {
    auto z = TimeZone::Parse("Test/Cut", std::string_view(good).substr(0, cut));
    ASSERT_FALSE(z) << "cut at " << cut;
    EXPECT_EQ(z.error().code, ErrorCode::invalid_argument);
    EXPECT_NE(z.error().message.find("Test/Cut"), std::string::npos) << z.error().message;
  }
  auto not_tzif = TimeZone::Parse("Test/Text", "# a text file, not zone data\n");
  ASSERT_FALSE(not_tzif);
  EXPECT_NE(not_tzif.error().message.find("not a TZif file"), std::string::npos);
  auto bad_rule = TimeZone::Parse("Test/Rule", SlimTzif("CET-1CEST,M3"));
  ASSERT_FALSE(bad_rule);
  EXPECT_NE(bad_rule.error().message.find("TZ rule"), std::string::npos);
}

TEST(TimeZone, EveryByteFlippedNeverReadsOutOfBounds) {
  const auto good = SlimTzif("CET-1CEST,M3.5.0,M10.5.0/3");
  for (std::size_t i = 0; i < good.size(); ++i) {
    for (const int v : {0x00, 0x7f, 0x80, 0xff}) {
      auto bytes = good;
      bytes[i] = static_cast<char>(v);
      auto z = TimeZone::Parse("Test/Flip", bytes);
      if (z) (void)z->OffsetAt(Seconds{seconds{1800000000}});
    }
  }
}

}  // namespace
}  // namespace steward
