#include "common/config.hpp"

#include <gtest/gtest.h>

#include "tests/support/temp_dir.hpp"

namespace steward::config {
namespace {

using namespace std::chrono_literals;

struct Sample {
  std::string name = "default";
  bool on = false;
  std::int64_t count = 3;
  double rate = 0.5;
  Duration wait = 1s;
  std::vector<std::string> list;
  std::map<std::string, std::string> env;
  std::string mode = "a";
};

Result<Sample> Read(std::string_view text) {
  auto doc = Document::Parse(text, "test.toml");
  if (!doc) return std::unexpected(doc.error());
  Sample s;
  auto root = doc->Root();
  root.Get("name", s.name);
  root.Get("on", s.on);
  root.Get("count", s.count, 1, 10);
  root.Get("rate", s.rate, 0.0, 1.0);
  root.Get("wait", s.wait, 0s, 1h);
  root.Get("list", s.list);
  root.Get("env", s.env);
  root.GetEnum("mode", s.mode, {"a", "b"});
  if (auto sub = root.Table("sub")) sub->Get("name", s.name);
  if (auto r = doc->Finish(); !r) return std::unexpected(r.error());
  return s;
}

TEST(Config, DefaultsWhenAbsent) {
  auto s = Read("").value();
  EXPECT_EQ(s.name, "default");
  EXPECT_EQ(s.count, 3);
  EXPECT_EQ(s.wait, 1s);
}

TEST(Config, ReadsEveryType) {
  auto s = Read(R"(
name = "x"
on = true
count = 7
rate = 1
wait = "1m30s"
list = ["a", "b"]
env = { A = "1" }
mode = "b"
[sub]
name = "y"
)")
               .value();
  EXPECT_EQ(s.name, "y");
  EXPECT_TRUE(s.on);
  EXPECT_EQ(s.count, 7);
  EXPECT_EQ(s.rate, 1.0);
  EXPECT_EQ(s.wait, 90s);
  EXPECT_EQ(s.list, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(s.env.at("A"), "1");
  EXPECT_EQ(s.mode, "b");
}

struct BadCase {
  const char* text;
  ErrorCode code;
  std::vector<const char*> mentions;  // the message names these
};

TEST(Config, BadInputNamesFileKeyValueAndWhatIsAllowed) {
  const BadCase cases[] = {
      {"name = ", ErrorCode::config_parse, {"test.toml:1:", "invalid TOML"}},
      {"name = \"unterminated", ErrorCode::config_parse, {"test.toml:1:"}},
      {"[a]\n[a]\n", ErrorCode::config_parse, {"test.toml:2:"}},
      {"name = 5", ErrorCode::config_invalid, {"test.toml", "'name'", "5", "a string"}},
      {"on = \"yes\"", ErrorCode::config_invalid, {"'on'", "\"yes\"", "true or false"}},
      {"count = 11", ErrorCode::config_invalid, {"'count'", "11", "from 1 to 10"}},
      {"count = 0", ErrorCode::config_invalid, {"'count'", "0", "from 1 to 10"}},
      {"count = 1.5", ErrorCode::config_invalid, {"'count'", "an integer"}},
      {"rate = 2.0", ErrorCode::config_invalid, {"'rate'", "from 0 to 1"}},
      {"rate = nan", ErrorCode::config_invalid, {"'rate'"}},
      {"wait = \"soon\"", ErrorCode::config_invalid, {"'wait'", "\"soon\"", "\"90s\""}},
      {"wait = 30", ErrorCode::config_invalid, {"'wait'", "a duration string"}},
      {"wait = \"2h\"", ErrorCode::config_invalid, {"'wait'", "from 0s to 1h"}},
      {"list = \"a\"", ErrorCode::config_invalid, {"'list'", "an array of strings"}},
      {"list = [1]", ErrorCode::config_invalid, {"'list'", "an array of strings"}},
      {"env = { A = 1 }", ErrorCode::config_invalid, {"'env'", "a table of strings"}},
      {"mode = \"c\"", ErrorCode::config_invalid, {"'mode'", "\"c\"", "allowed: a, b"}},
      {"sub = 3", ErrorCode::config_invalid, {"'sub'", "a table"}},
      {"nmae = \"typo\"",
       ErrorCode::config_invalid,
       {"unknown key 'nmae'", "line 1", "allowed here:"}},
      {"[sub]\nextra = 1", ErrorCode::config_invalid, {"unknown key 'sub.extra'"}},
      {std::string_view("name = \"a\0b\"", 12).data(), ErrorCode::config_parse, {}},
  };
  for (const auto& c : cases) {
    auto r = Read(c.text);
    ASSERT_FALSE(r) << c.text;
    EXPECT_EQ(r.error().code, c.code) << c.text << " -> " << r.error().message;
    for (const char* m : c.mentions) {
      EXPECT_NE(r.error().message.find(m), std::string::npos)
          << c.text << " -> " << r.error().message << " (missing '" << m << "')";
    }
  }
}

TEST(Config, NulByteIsRejected) {
  auto doc = Document::Parse(std::string_view("a = 1\0", 6), "nul.toml");
  ASSERT_FALSE(doc);
  EXPECT_NE(doc.error().message.find("NUL"), std::string::npos);
}

// toml++ 3.3.0 meets undefined behaviour on some of these where TOML allows only ASCII; they are
// refused first, with the line. In strings and comments they are text like any other.
TEST(Config, NonAsciiOutsideStringsAndCommentsIsRefusedWithItsLine) {
  for (const char* text :
       {"a = 1\n\xC2\xA7x = 2\n", "a = 1\nb = 2 \xC3\xA9\n", "\xEF\xBB\xBF\n\xC2\xA7 = 1",
        "s = \"\\\"\"\n\xC2\xA7 = 1\n", "m = '''x'''\n\xC2\xA7 = 1\n"}) {
    auto doc = Document::Parse(text, "u.toml");
    ASSERT_FALSE(doc) << text;
    EXPECT_EQ(doc.error().code, ErrorCode::config_parse);
    EXPECT_NE(doc.error().message.find("u.toml:2: invalid TOML: a non-ASCII character outside"),
              std::string::npos)
        << text << " -> " << doc.error().message;
  }
  auto ok = Document::Parse(
      "# caf\xC3\xA9\n\"cl\xC3\xA9\" = \"\xC2\xA7 \\\" \xC3\xA9\"\nl = 'x\xC3\xA9'\n"
      "m = \"\"\"\n\xC3\xA9 \\\"\"\" \"\"\"\nn = '''\n\xC3\xA9'''\n",
      "u.toml");
  EXPECT_TRUE(ok) << ok.error().message;
}

TEST(Config, UnreadableAndOversizeFiles) {
  test::TempDir dir;
  auto missing = Document::Load((dir / "nope.toml").string());
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::config_unreadable);
  EXPECT_NE(missing.error().message.find("nope.toml"), std::string::npos);

  auto as_dir = Document::Load(dir.path().string());
  ASSERT_FALSE(as_dir);

  const auto big = dir.Write("big.toml", "# " + std::string(2 << 20, 'x'));
  auto too_big = Document::Load(big);
  ASSERT_FALSE(too_big);
  EXPECT_NE(too_big.error().message.find("1 MiB"), std::string::npos);
}

TEST(Config, TableArrayPathsInMessages) {
  auto doc = Document::Parse("[[item]]\nn = 1\n[[item]]\nn = \"x\"\n", "t.toml").value();
  auto root = doc.Root();
  for (auto& item : root.TableArray("item")) {
    std::int64_t n = 0;
    item.Get("n", n, 0, 5);
  }
  auto r = doc.Finish();
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("'item[1].n'"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("line 4"), std::string::npos) << r.error().message;
}

}  // namespace
}  // namespace steward::config
