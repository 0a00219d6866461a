// The dashboard's files (controller/ui/www/), embedded in the binary at build time by
// controller/ui/embed.cmake: the page works with no network and no files beside the program,
// and what is served is exactly what was built. Each file carries its content type and a strong
// ETag (its SHA-256), so a browser revalidates in one round trip.
#pragma once

#include <span>
#include <string_view>

namespace steward::controller {

struct UiAsset {
  std::string_view name;  // "app.js": the path under /ui/
  std::string_view content_type;
  std::string_view etag;  // "\"<sha-256 hex>\"", quoted as the header carries it
  std::string_view bytes;
};

// Sorted by name; defined in the generated ui_assets.cpp.
std::span<const UiAsset> UiAssets();

}  // namespace steward::controller
