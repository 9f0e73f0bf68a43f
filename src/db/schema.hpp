#pragma once

namespace kerntune::detail {

/// The version of tuning_db/schema.sql this build writes and reads (PRAGMA user_version).
constexpr int schema_version = 1;

/// The text of tuning_db/schema.sql, compiled in.
extern const char* const schema_sql;

} // namespace kerntune::detail
