#include "common/codes.hpp"

#include <gtest/gtest.h>

#include <set>

#include "common/error.hpp"

namespace steward {
namespace {

TEST(Codes, NamesRoundTripAndAreUnique) {
  std::set<std::string_view> names;
  std::set<int> numbers;
#define STEWARD_X(name, number)                         \
  EXPECT_EQ(ErrorCodeName(ErrorCode::name), #name);     \
  EXPECT_EQ(ErrorCodeFromName(#name), ErrorCode::name); \
  EXPECT_TRUE(names.insert(#name).second) << #name;     \
  EXPECT_TRUE(numbers.insert(number).second) << number;
  STEWARD_ERROR_CODES(STEWARD_X)
#undef STEWARD_X
  EXPECT_FALSE(ErrorCodeFromName("no_such_code"));
}

// These numbers cross process boundaries: changing one breaks deployed fleets.
TEST(Codes, NumbersAreStable) {
  EXPECT_EQ(static_cast<int>(ErrorCode::internal), 100);
  EXPECT_EQ(static_cast<int>(ErrorCode::config_invalid), 201);
  EXPECT_EQ(static_cast<int>(ErrorCode::db_corrupt), 301);
  EXPECT_EQ(static_cast<int>(ErrorCode::sig_invalid), 404);
  EXPECT_EQ(static_cast<int>(ErrorCode::hash_mismatch), 506);
  EXPECT_EQ(static_cast<int>(ErrorCode::spawn_failed), 600);
  EXPECT_EQ(static_cast<int>(ErrorCode::health_gate_failed), 700);
  EXPECT_EQ(static_cast<int>(ErrorCode::unauthorized), 800);
  EXPECT_EQ(exit_code::kRestartRequested, 75);
  EXPECT_EQ(exit_code::kConfig, 78);
}

TEST(Codes, ExitKindsRoundTrip) {
  for (auto name : {"requested", "clean", "external_signal", "restart_requested", "fatal_config",
                    "error_exit", "crash", "killed", "watchdog", "start_failure"}) {
    auto kind = ExitKindFromName(name);
    ASSERT_TRUE(kind) << name;
    EXPECT_EQ(ExitKindName(*kind), name);
  }
  EXPECT_FALSE(ExitKindFromName("exploded"));
}

TEST(Codes, ExitCodeForErrors) {
  EXPECT_EQ(ExitCodeFor(ErrorCode::config_invalid), exit_code::kConfig);
  EXPECT_EQ(ExitCodeFor(ErrorCode::sig_invalid), exit_code::kDataError);
  EXPECT_EQ(ExitCodeFor(ErrorCode::usage), exit_code::kUsage);
  EXPECT_EQ(ExitCodeFor(ErrorCode::http_status), exit_code::kFailure);
}

TEST(Error, WrapsContextAndPrintsCode) {
  Error e{ErrorCode::not_found, "no such file"};
  EXPECT_EQ(e.Wrap("loading root").ToString(), "not_found: loading root: no such file");
  EXPECT_EQ(ErrnoError("open /x", ENOSPC).code, ErrorCode::no_space);
  EXPECT_EQ(ErrnoError("open /x", EACCES).code, ErrorCode::permission_denied);
}

}  // namespace
}  // namespace steward
