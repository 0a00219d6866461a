// Signature files: parse, write back, parse again; the two parses agree and verification of a
// parsed signature never crashes.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "common/minisign.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace steward::minisign;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto sig = ParseSignatureFile(text);
  if (!sig) return 0;
  auto again = ParseSignatureFile(sig->ToFile());
  if (!again || again->ToFile() != sig->ToFile()) std::abort();
  static const SecretKey key = SecretKey::Generate();
  auto pk = key.public_key();
  pk.key_id = sig->key_id;
  (void)VerifyBytes(pk, *sig, text, {.allow_legacy = true});
  return 0;
}
