#pragma once
// SQLite files edited or made the way another program would, for tests of what the database
// layer accepts.
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <stdexcept>
#include <string>

#include "run_sql.hpp"

namespace kerntune::testing {

/// Runs `sql` on `db`; throws std::runtime_error with SQLite's message when it fails.
inline void exec_or_throw(sqlite3* db, const std::string& sql) {
    char* message = nullptr;
    if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &message) == SQLITE_OK) return;
    const std::string text = message != nullptr ? message : "unknown error";
    sqlite3_free(message);
    throw std::runtime_error(sql + ": " + text);
}

/// Copies the closed database `from` into a new file `to` encoded in UTF-16LE: the same tables
/// (their stored SQL as it is), rows and user_version, as `sqlite3` would with PRAGMA encoding.
/// (ATTACH needs one encoding for both files, so the rows go through bound values.)
inline void copy_as_utf16(const std::filesystem::path& from, const std::filesystem::path& to) {
    sqlite3* source = nullptr;
    sqlite3* target = nullptr;
    sqlite3_open(from.c_str(), &source);
    sqlite3_open(to.c_str(), &target);
    exec_or_throw(target, "PRAGMA encoding = 'UTF-16le'; BEGIN");
    sqlite3_stmt* tables = nullptr;
    sqlite3_prepare_v2(source, "SELECT name, sql FROM sqlite_schema WHERE type = 'table' ORDER BY rootpage", -1,
                       &tables, nullptr);
    while (sqlite3_step(tables) == SQLITE_ROW) {
        const std::string name = reinterpret_cast<const char*>(sqlite3_column_text(tables, 0));
        exec_or_throw(target, reinterpret_cast<const char*>(sqlite3_column_text(tables, 1)));
        sqlite3_stmt* rows = nullptr;
        sqlite3_prepare_v2(source, ("SELECT * FROM " + name).c_str(), -1, &rows, nullptr);
        std::string parameters = "?";
        for (int i = 1; i < sqlite3_column_count(rows); ++i) parameters += ", ?";
        sqlite3_stmt* insert = nullptr;
        sqlite3_prepare_v2(target, ("INSERT INTO " + name + " VALUES (" + parameters + ")").c_str(), -1, &insert,
                           nullptr);
        while (sqlite3_step(rows) == SQLITE_ROW) {
            for (int i = 0; i < sqlite3_column_count(rows); ++i) sqlite3_bind_value(insert, i + 1, sqlite3_column_value(rows, i));
            if (sqlite3_step(insert) != SQLITE_DONE) throw std::runtime_error(sqlite3_errmsg(target));
            sqlite3_reset(insert);
        }
        sqlite3_finalize(insert);
        sqlite3_finalize(rows);
    }
    sqlite3_finalize(tables);
    sqlite3_stmt* version = nullptr;
    sqlite3_prepare_v2(source, "PRAGMA user_version", -1, &version, nullptr);
    sqlite3_step(version);
    exec_or_throw(target, "PRAGMA user_version = " + std::to_string(sqlite3_column_int(version, 0)) + "; COMMIT");
    sqlite3_finalize(version);
    sqlite3_close(source);
    sqlite3_close(target);
}

/// Leaves on the closed database `path` (in rollback-journal mode) what a writer killed in the
/// middle of a transaction leaves: a hot -journal, and the file with some of the transaction's
/// pages already written (a cache of 2 pages makes SQLite spill them). `work` is the
/// transaction's SQL, run in a child process that exits without committing.
inline void leave_hot_journal(const std::filesystem::path& path, const std::string& work) {
    const pid_t child = fork();
    if (child == 0) {
        sqlite3* db = nullptr;
        sqlite3_open(path.c_str(), &db);
        sqlite3_exec(db, ("PRAGMA cache_size = 2; BEGIN; " + work).c_str(), nullptr, nullptr, nullptr);
        _exit(0);
    }
    waitpid(child, nullptr, 0);
}

} // namespace kerntune::testing
