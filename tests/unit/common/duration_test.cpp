#include "common/duration.hpp"

#include <gtest/gtest.h>

namespace steward {
namespace {

using namespace std::chrono_literals;

TEST(Duration, ParsesUnitsAndSums) {
  EXPECT_EQ(ParseDuration("0s").value(), 0s);
  EXPECT_EQ(ParseDuration("90s").value(), 90s);
  EXPECT_EQ(ParseDuration("10m").value(), 10min);
  EXPECT_EQ(ParseDuration("1h30m").value(), 90min);
  EXPECT_EQ(ParseDuration("250ms").value(), 250ms);
  EXPECT_EQ(ParseDuration("2d").value(), 48h);
  EXPECT_EQ(ParseDuration("1m1ms").value(), 60001ms);
}

TEST(Duration, RejectsMalformed) {
  for (const char* s : {"", "s", "10", "10x", "1.5s", "-1s", " 1s", "1s ", "1 s", "1S", "ms",
                        "99999999999999999999s", "9999999999d"}) {
    auto d = ParseDuration(s);
    EXPECT_FALSE(d) << s;
    if (!d) {
      EXPECT_NE(d.error().message.find("\"90s\""), std::string::npos) << d.error().message;
    }
  }
}

TEST(Duration, FormatsShortestExactForm) {
  EXPECT_EQ(FormatDuration(0s), "0s");
  EXPECT_EQ(FormatDuration(90s), "1m30s");
  EXPECT_EQ(FormatDuration(600s), "10m");
  EXPECT_EQ(FormatDuration(5400s), "1h30m");
  EXPECT_EQ(FormatDuration(1500ms), "1500ms");
  for (auto d : {1s, 59s, 3601s, 86400s}) EXPECT_EQ(ParseDuration(FormatDuration(d)).value(), d);
}

}  // namespace
}  // namespace steward
