#pragma once
// Internal to src/db: bringing a file of an older schema version to the newest.
#include "db/sqlite_handles.hpp"

namespace kerntune::detail {

/// Migrates `db`, whose objects are exactly those of schema `from` (1 to the newest - 1), to the
/// newest schema, inside the write transaction the caller holds (so that all of it, or on an
/// error none of it, is done): each table whose definition changed is made again from the newest
/// schema's CREATE TABLE, keeping every row and every column both versions have (a new column
/// takes its DEFAULT), and user_version is set. Foreign keys must be off (a table others refer
/// to is dropped and made again). Throws kerntune::error, naming the file, unless the result is
/// exactly the newest schema's objects.
void migrate_schema(const connection& db, int from);

} // namespace kerntune::detail
