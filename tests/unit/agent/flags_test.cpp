#include "agent/flags.hpp"

#include <gtest/gtest.h>

#include "tests/support/temp_dir.hpp"

namespace steward::agent {
namespace {

TEST(AgentFlags, DefaultsWithoutAFile) {
  auto none = LoadFlags("");
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->console_embedded);
  EXPECT_FALSE(none->console_standalone);
  test::TempDir dir;
  auto missing = LoadFlags((dir / "flags.json").string());
  ASSERT_TRUE(missing) << missing.error().message;
  EXPECT_EQ(*missing, Flags{});
}

TEST(AgentFlags, ReadsKnownFlagsAndKeepsOthers) {
  auto f = ParseFlags(R"({"console.embedded": false, "console.standalone": true, "x.y": [1]})",
                      "flags.json");
  ASSERT_TRUE(f) << f.error().message;
  EXPECT_FALSE(f->console_embedded);
  EXPECT_TRUE(f->console_standalone);
  EXPECT_EQ(f->values.at("x.y"), "[1]");
  EXPECT_EQ(f->ToJson(), R"({"console.embedded":false,"console.standalone":true,"x.y":[1]})");
}

TEST(AgentFlags, RejectsBrokenFilesNamingTheProblem) {
  const std::tuple<const char*, ErrorCode, const char*> cases[] = {
      {"", ErrorCode::config_parse, "not valid JSON"},
      {"{\"console.embedded\": tru", ErrorCode::config_parse, "not valid JSON"},
      {"[true]", ErrorCode::config_parse, "found array"},
      {"\"console.embedded\"", ErrorCode::config_parse, "found string"},
      {R"({"console.embedded": "yes"})", ErrorCode::config_invalid, "'console.embedded'"},
      {R"({"console.standalone": 1})", ErrorCode::config_invalid, "'console.standalone'"},
  };
  for (const auto& [text, code, mention] : cases) {
    auto r = ParseFlags(text, "f.json");
    ASSERT_FALSE(r) << text;
    EXPECT_EQ(r.error().code, code) << text;
    EXPECT_NE(r.error().message.find("f.json"), std::string::npos) << r.error().message;
    EXPECT_NE(r.error().message.find(mention), std::string::npos) << r.error().message;
  }
}

TEST(AgentFlags, RefusesOversizeAndNonRegularFiles) {
  test::TempDir dir;
  const auto big = dir.Write("big.json", "{\"a\":\"" + std::string(kMaxFlagsBytes, 'x') + "\"}");
  auto r = LoadFlags(big);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::too_large);
  EXPECT_NE(r.error().message.find("flags file"), std::string::npos) << r.error().message;
  auto d = LoadFlags(dir.path().string());
  ASSERT_FALSE(d);
  EXPECT_NE(d.error().message.find("not a regular file"), std::string::npos);
}

}  // namespace
}  // namespace steward::agent
