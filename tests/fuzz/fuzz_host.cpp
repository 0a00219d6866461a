// What a host reads that someone else wrote: a component's sd_notify datagrams (any process of
// the component's user can send them), an artifact server's Content-Range and Content-Length
// headers, the download resume record left on disk, and the controller's feature flags as the
// agent reads them. The first byte picks the parser.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "agent/flags.hpp"
#include "updater/fetch_record.hpp"
#include "updater/notify_socket.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 5) {
    case 0:
      (void)steward::updater::ParseNotify(text);
      break;
    case 1:
      (void)steward::updater::ParseContentRange(text);  // the fetcher checks it against its offset
      break;
    case 2:
      (void)steward::updater::ParseLength(text);
      break;
    case 3:
      if (auto r = steward::updater::ParseRecord(text)) {
        if (r->offset > r->size) std::abort();  // would resume past the artifact's end
        auto again = steward::updater::ParseRecord(r->ToJson());
        if (!again || again->ToJson() != r->ToJson()) std::abort();
      }
      break;
    case 4:
      (void)steward::agent::ParseFlags(text, "flags.json");
      break;
  }
  return 0;
}
