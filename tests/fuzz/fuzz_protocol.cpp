// Every decoder of common/protocol.hpp: what a controller reads from a node (enroll, check-in
// report, signed release), what a node reads from a controller (enroll and check-in answers,
// error envelopes) and what `steward-updater` reads from the local API (status). The first
// byte picks the decoder; the rest is the body. Beyond "no crash, no leak, no UB": a message
// that decodes re-encodes to a body that decodes again to the same encoding (nothing the
// decoder accepts is lost or changed by a round trip).
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "common/protocol.hpp"

namespace {

using namespace steward::protocol;

// Decode, encode, decode again, encode again: the two encodings must be the same.
template <typename Decode>
void RoundTrip(std::string_view body, Decode decode) {
  auto first = decode(body);
  if (!first) return;
  const std::string once = Encode(*first);
  auto second = decode(once);
  if (!second) std::abort();  // our own encoding of an accepted message is refused
  if (Encode(*second) != once) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 8) {
    case 0:
      RoundTrip(body, DecodeEnrollRequest);
      break;
    case 1:
      (void)DecodeEnrollToken(body);
      break;
    case 2:
      RoundTrip(body, DecodeEnrollAnswer);
      break;
    case 3:
      RoundTrip(body, DecodeCheckinReport);
      break;
    case 4:
      RoundTrip(body, DecodeCheckinAnswer);
      break;
    case 5:
      RoundTrip(body, DecodeSignedRelease);
      break;
    case 6:
      RoundTrip(body, DecodeStatus);
      break;
    case 7:
      if (auto e = DecodeError(body)) (void)BodySnippet(e->message);
      break;
  }
  return 0;
}
