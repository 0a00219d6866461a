// What a host reads that someone else wrote: a component's sd_notify datagrams (any process of
// the component's user can send them), an artifact server's Content-Range and Content-Length
// headers, the download resume record left on disk, the controller's feature flags as the
// agent reads them, and maintenance windows from the controller with the zone files and rules
// they are read with. The first byte picks the parser.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "agent/flags.hpp"
#include "common/maintenance_window.hpp"
#include "common/zone.hpp"
#include "updater/fetch_record.hpp"
#include "updater/notify_socket.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 8) {
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
    case 5:
      if (auto w = steward::MaintenanceWindow::Parse(text)) {
        // The canonical form reads back as the same window.
        auto again = steward::MaintenanceWindow::Parse(w->Format());
        if (!again || !(*again == *w)) std::abort();
      }
      break;
    case 6:
      if (auto z = steward::TimeZone::Parse("Fuzz/Zone", text)) {
        for (std::int64_t t : {-1LL << 40, 0LL, 1800000000LL, 4102444800LL, 1LL << 40}) {
          const auto off = z->OffsetAt(steward::Seconds{std::chrono::seconds{t}});
          if (off > std::chrono::hours(26) || off < -std::chrono::hours(26)) std::abort();
        }
      }
      break;
    case 7:
      (void)steward::TimeZone::ParseRule(text);
      break;
  }
  return 0;
}
