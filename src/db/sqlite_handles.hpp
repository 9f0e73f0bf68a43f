#pragma once
// Internal to src/db: an SQLite connection, prepared statements and write transactions, each
// closed when it goes out of scope; their errors are kerntune::error naming the file.
#include <sqlite3.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"

namespace kerntune {
struct tuning_key;
struct binary_key;
} // namespace kerntune

namespace kerntune::detail {

/// How long a statement waits for other connections: SQLite's busy handler, then our retries.
constexpr std::chrono::milliseconds busy_limit{60'000};

/// An open SQLite connection, closed when it goes out of scope, and the path its errors name.
class connection {
public:
    /// Opens `filename` (a path, a URI with SQLITE_OPEN_URI, or ":memory:"); errors name `label`.
    connection(const std::string& filename, int flags, std::string label);

    /// The SQLite handle.
    sqlite3* get() const { return m_handle.get(); }
    /// The path, as errors show it.
    const std::string& label() const { return m_label; }

    /// The connection's last error as one line: "<path>: cannot <action>: <SQLite's message>".
    error failure(std::string_view action) const;

private:
    struct closer {
        void operator()(sqlite3* handle) const { sqlite3_close_v2(handle); }
    };
    std::unique_ptr<sqlite3, closer> m_handle;
    std::string m_label;
};

/// A BLOB value to bind (a std::string would be bound as TEXT).
struct blob {
    const std::string& bytes;  ///< the value
};

/// A prepared statement, finalized when it goes out of scope. bind() binds values in order
/// from ?1; step() runs it.
class statement {
public:
    /// Prepares `sql`; errors say they happened trying to `action` (a string literal).
    statement(const connection& db, std::string_view action, const std::string& sql);
    ~statement() { sqlite3_finalize(m_statement); }
    statement(const statement&) = delete;
    statement& operator=(const statement&) = delete;

    /// Binds `values` to the next parameters; a key binds all of its columns.
    template <typename... Values>
    statement& bind(const Values&... values) {
        (bind_value(values), ...);
        return *this;
    }

    /// Runs to the next row: true if there is one, false when done. A BUSY outside a
    /// transaction can only come from starting one (BEGIN IMMEDIATE, or a read's implicit
    /// transaction), so the statement is started again: SQLite's busy handler does not cover
    /// every case (with WAL, BEGIN IMMEDIATE can return BUSY at once while another connection
    /// runs recovery). Gives up after busy_limit.
    bool step();

    /// A TEXT column as UTF-8, whatever the file's encoding (a file may be UTF-16).
    std::string text(int column) const;
    /// A BLOB column's bytes.
    std::string bytes(int column) const;
    /// A REAL column.
    double real(int column) const { return sqlite3_column_double(m_statement, column); }
    /// An INTEGER column.
    std::int64_t int64(int column) const { return sqlite3_column_int64(m_statement, column); }
    /// An INTEGER column that fits an int.
    int int32(int column) const { return sqlite3_column_int(m_statement, column); }

private:
    const connection& m_db;
    std::string_view m_action;
    sqlite3_stmt* m_statement = nullptr;
    int m_bound = 0;

    void check(int rc) const;
    void bind_value(std::string_view value);
    void bind_value(const blob& value);
    void bind_value(double value);
    void bind_value(std::int64_t value);
    void bind_value(int value);
    void bind_value(const std::vector<std::string>& values);
    void bind_value(const tuning_key& key);
    void bind_value(const binary_key& key);
};

/// BEGIN IMMEDIATE now; ROLLBACK when it goes out of scope uncommitted (never throws doing so).
class write_transaction {
public:
    /// Begins, waiting for other writers; errors say they happened trying to `action`.
    write_transaction(const connection& db, std::string_view action);
    ~write_transaction();
    write_transaction(const write_transaction&) = delete;
    write_transaction& operator=(const write_transaction&) = delete;

    /// Makes the writes durable and visible to other connections.
    void commit();

private:
    const connection& m_db;
    std::string_view m_action;
    bool m_committed = false;
};

/// BEGIN (deferred) now, so that every read until it goes out of scope sees one snapshot of the
/// file, whatever other connections commit meanwhile; ended (ROLLBACK: it wrote nothing) when it
/// goes out of scope, never throwing.
class read_snapshot {
public:
    /// Begins; errors say they happened trying to `action`.
    read_snapshot(const connection& db, std::string_view action);
    ~read_snapshot();
    read_snapshot(const read_snapshot&) = delete;
    read_snapshot& operator=(const read_snapshot&) = delete;

private:
    const connection& m_db;
};

} // namespace kerntune::detail
