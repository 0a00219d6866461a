#include "common/token_file.hpp"

#include <gtest/gtest.h>

#include "tests/support/temp_dir.hpp"

namespace steward {
namespace {

TEST(TokenFile, RulesAndErrors) {
  test::TempDir dir;
  auto ok = ReadTokenFile(
      dir.Write("t", "# admins\n\n  token-one-0123456789  \r\ntoken-two-0123456789\n"));
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(*ok, (std::vector<std::string>{"token-one-0123456789", "token-two-0123456789"}));

  auto empty = ReadTokenFile(dir.Write("e", "# nothing\n\n"));
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error().code, ErrorCode::config_invalid);
  EXPECT_NE(empty.error().message.find("holds no token"), std::string::npos);

  auto weak = ReadTokenFile(dir.Write("w", "short\n"));
  ASSERT_FALSE(weak);
  EXPECT_NE(weak.error().message.find("shorter than 16"), std::string::npos);

  auto missing = ReadTokenFile((dir / "absent").string());
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("absent"), std::string::npos);
}

}  // namespace
}  // namespace steward
