// What the `store` value names, for the config's checks and OpenStore's choice of backend.
#pragma once

#include <string_view>

namespace steward::controller {

// `store = "postgresql://…"` or `"postgres://…"`: a libpq connection URI.
bool IsPostgresUrl(std::string_view url);
// The URL carries a password (user:password@ or password=), which belongs in a password file.
bool HasPassword(std::string_view url);

}  // namespace steward::controller
