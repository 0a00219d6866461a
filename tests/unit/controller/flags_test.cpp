// Feature flags as pure logic: names, scopes, what an admin change may hold (every refusal
// with bad_request and a message naming what was wrong), the caps, and the effective flags of
// a node on one or several channels.
#include "controller/flags.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace steward::controller {
namespace {

using nlohmann::json;

TEST(FlagNames, FollowThePattern) {
  for (const std::string& good :
       std::vector<std::string>{"a", "console.embedded", "x-1_y.z", "0", std::string(64, 'a')}) {
    EXPECT_TRUE(IsValidFlagName(good)) << good;
  }
  for (const std::string& bad : std::vector<std::string>{"", ".a", "-a", "_a", "A", "a b", "a/b",
                                                         "é", "a\n", std::string(65, 'a')}) {
    EXPECT_FALSE(IsValidFlagName(bad)) << bad;
  }
}

TEST(FlagScope, GlobalOrAChannel) {
  EXPECT_EQ(*ParseFlagScope("global"), "");
  EXPECT_EQ(*ParseFlagScope("channel:beta"), "beta");
  for (const char* bad : {"", "Global", "channel:", "channel:Beta", "channel:a.b", "chan:beta",
                          "channel:beta ", "node:n-1"}) {
    auto r = ParseFlagScope(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, ErrorCode::bad_request);
    EXPECT_NE(r.error().message.find("unknown scope"), std::string::npos) << r.error().message;
  }
}

TEST(FlagChange, ParsesScalarsAsCompactJson) {
  auto c = ParseFlagChange(
      R"({"scope":"channel:stable","set":{"b":true,"i":-3,"u":9007199254740992,"f":0.5,
          "s":"text \"q\"","e":""},"unset":["old"]})");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->channel, "stable");
  EXPECT_EQ(c->set.at("b"), "true");
  EXPECT_EQ(c->set.at("i"), "-3");
  EXPECT_EQ(c->set.at("u"), "9007199254740992");
  EXPECT_EQ(c->set.at("f"), "0.5");
  EXPECT_EQ(c->set.at("s"), R"("text \"q\"")");
  EXPECT_EQ(c->set.at("e"), R"("")");
  EXPECT_EQ(c->unset, std::vector<std::string>{"old"});
  auto only_unset = ParseFlagChange(R"({"scope":"global","unset":["a"]})");
  ASSERT_TRUE(only_unset);
  EXPECT_TRUE(only_unset->channel.empty());
}

TEST(FlagChange, RefusesWhatIsNotAFlagChange) {
  const std::string long_string = json(std::string(kMaxFlagValueBytes + 1, 'x')).dump();
  json many = json::object();
  for (std::size_t i = 0; i <= kMaxFlagChangeEntries; ++i) many["f" + std::to_string(i)] = 1;
  const std::pair<std::string, std::string> cases[] = {
      {"", "not valid JSON"},
      {"{", "not valid JSON"},
      {"[]", "must be a JSON object"},
      {R"({"set":{"a":1}})", "missing field 'scope'"},
      {R"({"scope":1,"set":{"a":1}})", "field 'scope' must be a string"},
      {R"({"scope":"everywhere","set":{"a":1}})", "unknown scope 'everywhere'"},
      {R"({"scope":"channel:UP","set":{"a":1}})", "unknown scope 'channel:UP'"},
      {R"({"scope":"global","set":{"a":1},"color":"red"})", "unknown field 'color'"},
      {R"({"scope":"global","scope":"channel:x","set":{"a":1}})", "duplicate key 'scope'"},
      {R"({"scope":"global","set":{"a":1,"a":2}})", "duplicate key 'a'"},
      {R"({"scope":"global","set":[["a",1]]})", "field 'set' must be an object"},
      {R"({"scope":"global","set":{"Bad Name":1}})", "flag name 'Bad Name' must match"},
      {R"({"scope":"global","set":{"a":[1]}})",
       "flag 'a' must be a boolean, a number or a string, not an array"},
      {R"({"scope":"global","set":{"a":{"b":1}}})", "not an object"},
      {R"({"scope":"global","set":{"a":null}})", "flag 'a' is null; to remove a flag"},
      {R"({"scope":"global","set":{"a":9007199254740993}})", "outside ±2^53"},
      {R"({"scope":"global","set":{"a":-9007199254740993}})", "outside ±2^53"},
      {R"({"scope":"global","set":{"a":1e400}})", "not valid JSON"},  // overflows a double
      {R"({"scope":"global","set":{"a":)" + long_string + "}}", "longer than 1024 bytes"},
      {R"({"scope":"global","unset":"a"})", "field 'unset' must be an array"},
      {R"({"scope":"global","unset":[1]})", "must hold flag names"},
      {R"({"scope":"global","unset":["-x"]})", "flag name '-x' must match"},
      {R"({"scope":"global","set":{"a":1},"unset":["a"]})", "both in 'set' and in 'unset'"},
      {R"({"scope":"global"})", "nothing to change"},
      {R"({"scope":"global","set":{},"unset":[]})", "nothing to change"},
      {json{{"scope", "global"}, {"set", many}}.dump(), "more than 128 flags in one change"},
  };
  for (const auto& [body, says] : cases) {
    auto r = ParseFlagChange(body);
    ASSERT_FALSE(r) << body;
    EXPECT_EQ(r.error().code, ErrorCode::bad_request) << body;
    EXPECT_NE(r.error().message.find(says), std::string::npos)
        << body << " -> " << r.error().message;
  }
}

std::string Effective(const FlagTable& t, std::vector<std::string_view> channels) {
  std::string out;
  t.AppendEffective(out, channels);
  return out;
}

TEST(FlagTable, ChannelsOverrideGlobalAndTheFirstComponentWins) {
  FlagTable t({{"", "console.embedded", "false", 0},
               {"", "level", "1", 0},
               {"beta", "console.embedded", "true", 0},
               {"edge", "console.embedded", "\"maybe\"", 0},
               {"edge", "extra", "2", 0}});
  EXPECT_EQ(Effective(t, {}), R"({"console.embedded":false,"level":1})");
  EXPECT_EQ(Effective(t, {"stable"}), R"({"console.embedded":false,"level":1})");
  EXPECT_EQ(Effective(t, {"beta"}), R"({"console.embedded":true,"level":1})");
  EXPECT_EQ(Effective(t, {"beta", "beta", "stable"}), R"({"console.embedded":true,"level":1})");
  EXPECT_EQ(Effective(t, {"beta", "edge"}), R"({"console.embedded":true,"extra":2,"level":1})");
  EXPECT_EQ(Effective(t, {"edge", "beta"}), R"({"console.embedded":"maybe","extra":2,"level":1})");
  EXPECT_EQ(json::parse(t.Document()),
            json::parse(R"({"global":{"console.embedded":false,"level":1},"channels":{
                "beta":{"console.embedded":true},"edge":{"console.embedded":"maybe","extra":2}}})"));
  EXPECT_EQ(FlagTable().Document(), R"({"global":{},"channels":{}})");
}

TEST(FlagTable, ApplyingAChangeRebuildsTheAnswers) {
  FlagTable t;
  auto c = ParseFlagChange(R"({"scope":"channel:beta","set":{"a":1}})");
  ASSERT_TRUE(c && t.Check(*c));
  t.Apply(*c);
  EXPECT_EQ(Effective(t, {"beta"}), R"({"a":1})");
  EXPECT_EQ(Effective(t, {"stable"}), "{}");
  c = ParseFlagChange(R"({"scope":"global","set":{"a":0,"b":"x"}})");
  t.Apply(*c);
  EXPECT_EQ(Effective(t, {"beta"}), R"({"a":1,"b":"x"})");
  c = ParseFlagChange(R"({"scope":"channel:beta","unset":["a","never"]})");
  t.Apply(*c);
  EXPECT_EQ(Effective(t, {"beta"}), R"({"a":0,"b":"x"})");
  EXPECT_EQ(t.Document(), R"({"global":{"a":0,"b":"x"},"channels":{}})");
}

TEST(FlagTable, CapsFlagsPerScopeAndChannels) {
  std::vector<FlagRecord> rows;
  for (std::size_t i = 0; i < kMaxFlagsPerScope; ++i)
    rows.push_back({"", "f" + std::to_string(i), "1", 0});
  for (std::size_t i = 0; i < kMaxFlagChannels; ++i)
    rows.push_back({"c" + std::to_string(i), "f", "1", 0});
  FlagTable t(rows);
  auto more = ParseFlagChange(R"({"scope":"global","set":{"one-more":1}})");
  auto r = t.Check(*more);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::bad_request);
  EXPECT_NE(r.error().message.find("scope global would hold 129 flags; at most 128"),
            std::string::npos)
      << r.error().message;
  auto replace = ParseFlagChange(R"({"scope":"global","set":{"f0":2}})");
  EXPECT_TRUE(t.Check(*replace));  // replacing keeps the count
  auto channel = ParseFlagChange(R"({"scope":"channel:new","set":{"a":1}})");
  r = t.Check(*channel);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("256 channels already"), std::string::npos) << r.error().message;
  auto existing = ParseFlagChange(R"({"scope":"channel:c1","set":{"b":1}})");
  EXPECT_TRUE(t.Check(*existing));
}

}  // namespace
}  // namespace steward::controller
