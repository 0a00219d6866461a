// Listen addresses as written in configs: "127.0.0.1:7701", "[::1]:7701", "localhost:0".
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/error.hpp"

namespace steward {

struct HostPort {
  std::string host;
  std::uint16_t port = 0;  // 0: the kernel picks one
  std::string ToString() const;
};

Result<HostPort> ParseHostPort(std::string_view text);

}  // namespace steward
