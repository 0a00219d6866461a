#include "common/hostport.hpp"

#include <gtest/gtest.h>

namespace steward {
namespace {

TEST(HostPort, Parses) {
  auto a = ParseHostPort("127.0.0.1:7701").value();
  EXPECT_EQ(a.host, "127.0.0.1");
  EXPECT_EQ(a.port, 7701);
  auto b = ParseHostPort("[::1]:0").value();
  EXPECT_EQ(b.host, "::1");
  EXPECT_EQ(b.port, 0);
  EXPECT_EQ(b.ToString(), "[::1]:0");
  EXPECT_EQ(ParseHostPort("localhost:80").value().ToString(), "localhost:80");
}

TEST(HostPort, RejectsMalformed) {
  for (const char* s : {"", "127.0.0.1", ":80", "host:", "host:65536", "host:-1", "host:8o",
                        "::1:80", "[::1]", "[::1:80", "[::1]80"}) {
    auto r = ParseHostPort(s);
    EXPECT_FALSE(r) << s;
    if (!r) {
      EXPECT_NE(r.error().message.find("HOST:PORT"), std::string::npos);
    }
  }
}

}  // namespace
}  // namespace steward
