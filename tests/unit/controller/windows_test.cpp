#include "controller/windows.hpp"

#include <gtest/gtest.h>

#include "tests/unit/controller/fake_store.hpp"

namespace steward::controller {
namespace {

TEST(Windows, ASetIsCheckedKeptInItsCanonicalFormAndClearedByNone) {
  FakeStore store;
  FakeClock clock;
  Windows w(store, clock);
  ASSERT_TRUE(w.Load());
  auto set = w.Set({"stable", {"sun,sat 02:00 120m Europe/Berlin"}, 3600});
  ASSERT_TRUE(set) << set.error().message;
  EXPECT_EQ(set->windows, std::vector<std::string>{"sat,sun 02:00 2h Europe/Berlin"});
  ASSERT_EQ(store.windows.size(), 1u);
  EXPECT_EQ(store.windows[0], *set);
  ASSERT_TRUE(w.For("stable"));
  EXPECT_FALSE(w.For("beta"));
  EXPECT_TRUE(w.For("stable")
                  ->schedule
                  .Check(Seconds{std::chrono::sys_days{std::chrono::year{2030} / 1 / 5}} +
                         std::chrono::hours(1))
                  .open);

  for (const auto& bad : std::vector<WindowsChange>{
           {"stable", {"mon 02:00 1h Nowhere/Land"}, 0},
           {"stable", {"someday 02:00 1h UTC"}, 0},
           {"stable", {"mon 02:00 1h UTC"}, -1},
           {"stable", {"mon 02:00 1h UTC"}, kMaxWaitS + 1},
           {"stable", std::vector<std::string>(kMaxWindowsPerChannel + 1, "mon 02:00 1h UTC"),
            0}}) {
    auto r = w.Set(bad);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ErrorCode::bad_request) << r.error().message;
  }
  EXPECT_EQ(store.windows[0], *set);  // a refused change changed nothing

  ASSERT_TRUE(w.Set({"stable", {}, 0}));
  EXPECT_TRUE(store.windows.empty());
  EXPECT_FALSE(w.For("stable"));
}

}  // namespace
}  // namespace steward::controller
