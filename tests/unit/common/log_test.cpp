#include "common/log.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "tests/support/temp_dir.hpp"

namespace steward::log {
namespace {

std::string ReadAll(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(Log, ParsesLevelsAndFormats) {
  EXPECT_EQ(ParseLevel("debug").value(), spdlog::level::debug);
  EXPECT_EQ(ParseLevel("error").value(), spdlog::level::err);
  auto bad = ParseLevel("loud");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("trace, debug"), std::string::npos);
  EXPECT_EQ(ParseFormat("json").value(), Format::json);
  EXPECT_FALSE(ParseFormat("xml"));
}

TEST(Log, JsonLinesAreValidJsonWithEscaping) {
  test::TempDir dir;
  const auto file = dir / "log.jsonl";
  ASSERT_TRUE(Init({spdlog::level::info, Format::json, file.string()}));
  Get("update").info("component={} msg=\"quoted\"\nnext line \x01", "agent");
  Get("update").debug("filtered out");
  Get("update").flush();
  const std::string text = ReadAll(file);
  std::istringstream lines(text);
  std::string line;
  int count = 0;
  while (std::getline(lines, line)) {
    auto j = nlohmann::json::parse(line);
    EXPECT_EQ(j["logger"], "update");
    EXPECT_EQ(j["level"], "info");
    EXPECT_EQ(j["msg"], "component=agent msg=\"quoted\"\nnext line \x01");
    EXPECT_TRUE(j["ts"].get<std::string>().ends_with("Z"));
    ++count;
  }
  EXPECT_EQ(count, 1);
  ASSERT_TRUE(Init({}));
}

TEST(Log, TextLinesNameTheLogger) {
  test::TempDir dir;
  const auto file = dir / "log.txt";
  ASSERT_TRUE(Init({spdlog::level::debug, Format::text, file.string()}));
  Get("supervisor").debug("pid={}", 42);
  Get("supervisor").flush();
  EXPECT_NE(ReadAll(file).find("debug supervisor: pid=42"), std::string::npos);
  ASSERT_TRUE(Init({}));
}

TEST(LogDeathTest, UnknownLoggerAborts) { EXPECT_DEATH(Get("nonsense"), "unknown logger"); }

}  // namespace
}  // namespace steward::log
