#pragma once
// Edits a database file directly, as another program or a hand edit would, for tests that need
// rows the database API refuses to write.
#include <sqlite3.h>

#include <filesystem>
#include <string>

namespace kerntune::testing {

/// Runs `sql` on the closed database `path`; returns SQLite's error message, "" when it succeeded.
inline std::string run_sql(const std::filesystem::path& path, const std::string& sql) {
    sqlite3* db = nullptr;
    sqlite3_open(path.c_str(), &db);
    char* message = nullptr;
    sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &message);
    const std::string text = message != nullptr ? message : "";
    sqlite3_free(message);
    sqlite3_close(db);
    return text;
}

} // namespace kerntune::testing
