// The PostgreSQL store's schema: SQLite's tables (controller/sqlite_store.cpp) in PostgreSQL
// types, as versions applied in order by controller/pg_store.cpp.
#pragma once

#include <span>
#include <string_view>

namespace steward::controller {

// Schema versions, applied in order; the version reached is in steward_schema.
std::span<const std::string_view> PgMigrations();

}  // namespace steward::controller
