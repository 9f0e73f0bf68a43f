#pragma once
// Internal to src/db: reading a database that SQLite cannot read in place without writing.
#include <filesystem>

#include "db/sqlite_handles.hpp"

namespace kerntune::detail {

/// A read-only connection to an in-memory copy of what was last committed to the database at
/// `path`, for a reader that may not write it: a hot rollback journal left by a killed writer
/// (which only a writer may roll back: SQLite refuses a reader with "attempt to write a readonly
/// database"), or a -wal holding commits where no -shm can be made (a read-only folder or file
/// system). The file and its `sidecar` ("-journal" or "-wal") are copied into a private temporary
/// folder, SQLite recovers the copy there as a writer would (rolls the journal back, reads the
/// WAL), and the result is read into memory; the folder is removed at once. The user's files are
/// only read. Errors name `path`.
///
/// A writer may roll the journal back, or start a new transaction, while the files are copied.
/// The sidecar is copied first and compared again after the database: a writer's rollback ends
/// by deleting, truncating or zeroing the journal, and no new transaction writes the database
/// before that, so an unchanged journal means the database copy holds either the pages before
/// the rollback or those it restores, both of which the copied journal's rollback overwrites.
/// A changed sidecar is copied again (three tries), then an error.
connection recovered_copy(const std::filesystem::path& path, const char* sidecar);

} // namespace kerntune::detail
