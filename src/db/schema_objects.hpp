#pragma once
// Internal to src/db: the objects a file's schema holds (sqlite_schema) against those kerntune's
// schema of its version creates. A database file is code-adjacent: a view in place of a table
// runs its query on every read (a recursive one never ends), a trigger runs on every write (it
// can rewrite or drop rows), and a table without its CHECKs takes any value. So a file is used
// only when its objects are exactly kerntune's: same names, types, tables and definitions.
#include <string>
#include <string_view>
#include <vector>

#include "db/sqlite_handles.hpp"

namespace kerntune::detail {

/// One row of sqlite_schema: a table, index, view or trigger, and the SQL that made it ("" for
/// the indexes SQLite makes for a PRIMARY KEY or UNIQUE constraint).
struct schema_object {
    std::string type;   ///< "table", "index", "view" or "trigger"
    std::string name;   ///< e.g. "winners", "sqlite_autoindex_winners_1"
    std::string table;  ///< the table it belongs to (its own name for a table or view)
    std::string sql;    ///< the CREATE statement as stored
};

/// The objects schema `version` (1 to the newest) creates, as SQLite stores them, by name: its
/// text run once on an in-memory database (so the expected set has one source, tuning_db/).
const std::vector<schema_object>& expected_objects(int version);

/// The objects of `db`'s main database, by name. Reading sqlite_schema runs nothing the file
/// defines: SQLite parses views and triggers but runs them only when a statement uses them.
std::vector<schema_object> stored_objects(const connection& db);

/// How `stored` differs from what schema `version` creates, one phrase per object: "missing
/// table winners", "unexpected trigger t on measurements", "winners is a view, not a table",
/// "table measurements is not defined as schema 1 defines it"; empty when they are the same.
/// Definitions are compared as normalized_sql: a comment is no difference.
std::vector<std::string> schema_differences(const std::vector<schema_object>& stored, int version);

/// `sql` without its comments, each run of whitespace and comments outside quotes one space,
/// trimmed. Schema 1's files differ in comments only: kerntune edited one inside a CREATE TABLE
/// (the example label of measurements.config) without changing the version.
std::string normalized_sql(std::string_view sql);

} // namespace kerntune::detail
