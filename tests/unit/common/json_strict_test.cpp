#include "common/json_strict.hpp"

#include <gtest/gtest.h>

namespace steward::json {
namespace {

TEST(JsonStrict, ParsesDocument) {
  auto v = Parse(R"( {"a": [1, true, null, "x\u00e9\ud83d\ude00"], "b": {"c": 9007199254740992}} )",
                 ErrorCode::manifest_malformed);
  ASSERT_TRUE(v) << v.error().ToString();
  const auto* a = v->Find("a")->AsArray();
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(*(*a)[0].AsNumber(), 1u);
  EXPECT_TRUE(*(*a)[1].AsBool());
  EXPECT_EQ(TypeName((*a)[2]), "null");
  EXPECT_EQ(*(*a)[3].AsString(), "x\xc3\xa9\xf0\x9f\x98\x80");
  EXPECT_EQ(*v->Find("b")->Find("c")->AsNumber(), kMaxNumber);
}

struct Hostile {
  std::string text;
  std::string why;  // expected in the message
};

TEST(JsonStrict, HostileInputsFailWithCodeAndReason) {
  const Hostile cases[] = {
      {R"({"a":1,"a":2})", "duplicate key \"a\""},
      {R"({"a":-1})", "negative"},
      {R"({"a":9007199254740993})", "larger than 2^53"},
      {R"({"a":99999999999999999999999})", "larger than 2^53"},
      {R"({"a":1.5})", "whole numbers"},
      {R"({"a":1e3})", "whole numbers"},
      {R"({"a":01})", "leading zeros"},
      {std::string(40, '[') + std::string(40, ']'), "deeper"},
      {"{\"a\":\"\xff\"}", "invalid UTF-8"},
      {"{\"a\":\"\xc0\xaf\"}", "invalid UTF-8"},          // overlong '/'
      {"{\"a\":\"\xed\xa0\x80\"}", "invalid UTF-8"},      // encoded surrogate
      {"{\"a\":\"\xf4\x90\x80\x80\"}", "invalid UTF-8"},  // past U+10FFFF
      {R"({"a":"\ud800"})", "surrogate"},
      {R"({"a":"\udc00"})", "surrogate"},
      {R"({"a":"\u0000"})", "NUL"},
      {"{\"a\":\"x\ny\"}", "control character"},
      {R"({"a":"\x"})", "unknown escape"},
      {R"({"a":1} {})", "after the JSON value"},
      {R"({"a":1,})", "expected a string key"},
      {R"([1,])", "expected a value"},
      {R"({"a" 1})", "expected ':'"},
      {R"({"a":tru})", "unknown literal"},
      {R"({"a":"x)", "unterminated string"},
      {"", "unexpected end"},
      {std::string("{\"a\":\"x\0\"}", 10), "control character"},
  };
  for (const auto& c : cases) {
    auto v = Parse(c.text, ErrorCode::root_malformed);
    ASSERT_FALSE(v) << c.text;
    EXPECT_EQ(v.error().code, ErrorCode::root_malformed) << c.text;
    EXPECT_NE(v.error().message.find(c.why), std::string::npos)
        << c.text << " -> " << v.error().message;
  }
}

TEST(JsonStrict, OversizeIsRejectedBeforeParsing) {
  const std::string big = "\"" + std::string(300 * 1024, 'a') + "\"";
  auto v = Parse(big, ErrorCode::manifest_malformed);
  ASSERT_FALSE(v);
  EXPECT_NE(v.error().message.find("over the limit"), std::string::npos);
}

TEST(JsonStrict, DepthLimitIsExact) {
  Limits limits;
  limits.max_depth = 3;
  EXPECT_TRUE(Parse("[[[1]]]", ErrorCode::internal, limits));
  EXPECT_FALSE(Parse("[[[[1]]]]", ErrorCode::internal, limits));
}

TEST(JsonStrict, Utf8Validator) {
  EXPECT_TRUE(IsValidUtf8("plain \xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"));
  EXPECT_FALSE(IsValidUtf8("\xe2\x82"));
  EXPECT_FALSE(IsValidUtf8("\x80"));
}

}  // namespace
}  // namespace steward::json
