// Public and secret key files. Encrypted secret keys stop before scrypt (no password given).
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "common/minisign.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace steward::minisign;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  if (auto pk = ParsePublicKeyFile(text)) {
    auto again = ParsePublicKeyFile(pk->ToFile());
    if (!again || !(*again == *pk)) std::abort();
  }
  (void)ParsePublicKeyBase64(text);
  if (auto sk = ParseSecretKeyFile(text, std::nullopt)) {
    auto file = sk->ToFile(std::nullopt);
    if (!file) std::abort();
    auto again = ParseSecretKeyFile(*file, std::nullopt);
    if (!again || !(again->public_key() == sk->public_key())) std::abort();
  }
  return 0;
}
