#pragma once
// Internal to src/db: the schema compiled in from tuning_db/schema.sql (src/db/CMakeLists.txt).

namespace kerntune::schema {

/// The text of tuning_db/schema.sql: creates every table and sets PRAGMA user_version.
extern const char* const sql;

/// The PRAGMA user_version that schema.sql sets: the newest schema this build can read.
extern const int version;

} // namespace kerntune::schema
