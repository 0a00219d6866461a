#include "controller/secrets.hpp"

#include <sys/random.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>

#include "common/hash.hpp"

namespace steward::controller {

bool SecretEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  volatile unsigned char diff = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    diff = static_cast<unsigned char>(
        diff | (static_cast<unsigned char>(a[i]) ^ static_cast<unsigned char>(b[i])));
  }
  return diff == 0;
}

bool AnySecretEquals(const std::vector<std::string>& secrets, std::string_view given) {
  bool found = false;
  for (const auto& s : secrets) found = SecretEquals(s, given) || found;  // no early exit
  return found;
}

std::string TokenHash(std::string_view token) { return HexEncode(Sha256Of(token)); }

std::string RandomHex(std::size_t bytes) {
  std::vector<std::uint8_t> buf(bytes);
  std::size_t got = 0;
  while (got < bytes) {
    const auto n = getrandom(buf.data() + got, bytes - got, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      std::abort();  // no randomness: nothing safe to do
    }
    got += static_cast<std::size_t>(n);
  }
  return HexEncode(buf);
}

}  // namespace steward::controller
