#pragma once
// Internal to src/db: the schema of every version, compiled in from tuning_db/ (src/db/CMakeLists.txt).

namespace kerntune::schema {

/// The PRAGMA user_version that tuning_db/schema.sql sets: the schema this build writes, and the
/// newest it can read.
extern const int version;

/// The text that creates schema `of_version` (1 to version) in an empty file, PRAGMA
/// user_version included: tuning_db/schema.sql for `version`, tuning_db/schema_vN.sql before;
/// nullptr for any other number.
const char* sql_of(int of_version);

} // namespace kerntune::schema
