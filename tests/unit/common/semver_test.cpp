#include "common/semver.hpp"

#include <gtest/gtest.h>

namespace steward {
namespace {

SemVer V(const char* s) {
  auto v = SemVer::Parse(s);
  EXPECT_TRUE(v) << s << ": " << (v ? "" : v.error().message);
  return v.value_or(SemVer{});
}

TEST(SemVer, ParsesAndPrints) {
  for (const char* s :
       {"0.0.0", "1.2.3", "10.20.30", "1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-0.3.7",
        "1.0.0-x.7.z.92", "1.0.0+20130313144700", "1.0.0-beta+exp.sha.5114f85", "1.0.0-x-y-z.--"}) {
    EXPECT_EQ(V(s).ToString(), s);
  }
}

TEST(SemVer, RejectsMalformed) {
  for (const char* s : {"", "1", "1.2", "1.2.3.4", "01.2.3", "1.02.3", "1.2.03", "v1.2.3", "1.2.3-",
                        "1.2.3-01", "1.2.3-a..b", "1.2.3+", "1.2.3+a..b", "1.2.3-a_b", "a.b.c",
                        "1.2.3 ", " 1.2.3", "99999999999999999999.0.0", "-1.2.3"}) {
    auto v = SemVer::Parse(s);
    EXPECT_FALSE(v) << s;
    if (!v) {
      EXPECT_EQ(v.error().code, ErrorCode::invalid_argument);
      EXPECT_NE(v.error().message.find("MAJOR.MINOR.PATCH"), std::string::npos);
    }
  }
  EXPECT_FALSE(SemVer::Parse(std::string(300, '1')));
}

TEST(SemVer, PrecedenceFollowsTheSpec) {
  // semver.org §11 example chain.
  const char* chain[] = {"1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta",
                         "1.0.0-beta",  "1.0.0-beta.2",  "1.0.0-beta.11",
                         "1.0.0-rc.1",  "1.0.0",         "1.0.1",
                         "1.1.0",       "2.0.0",         "10.0.0"};
  for (std::size_t i = 0; i + 1 < std::size(chain); ++i) {
    EXPECT_LT(V(chain[i]), V(chain[i + 1])) << chain[i] << " < " << chain[i + 1];
    EXPECT_GT(V(chain[i + 1]), V(chain[i]));
  }
  EXPECT_EQ(V("1.0.0+a"), V("1.0.0+b"));
  EXPECT_LT(V("1.0.0-2"), V("1.0.0-10"));
}

}  // namespace
}  // namespace steward
