#include "db/sqlite_handles.hpp"

#include <algorithm>
#include <thread>
#include <utility>

#include "db/database.hpp"

namespace kerntune::detail {

connection::connection(const std::string& filename, int flags, std::string label) : m_label(std::move(label)) {
    sqlite3* handle = nullptr;
    const int rc = sqlite3_open_v2(filename.c_str(), &handle, flags, nullptr);
    m_handle.reset(handle);
    if (rc != SQLITE_OK) throw failure("open it");
    sqlite3_extended_result_codes(handle, 1);
    sqlite3_busy_timeout(handle, static_cast<int>(busy_limit.count()));
}

error connection::failure(std::string_view action) const {
    const std::string message = sqlite3_errmsg(get());
    if (sqlite3_errcode(get()) == SQLITE_NOTADB)
        return error(m_label + " is not a kerntune database (" + message + ")");
    return error(m_label + ": cannot " + std::string(action) + ": " + message);
}

statement::statement(const connection& db, std::string_view action, const std::string& sql)
    : m_db(db), m_action(action) {
    if (sqlite3_prepare_v2(db.get(), sql.c_str(), -1, &m_statement, nullptr) != SQLITE_OK) throw db.failure(action);
}

bool statement::step() {
    const auto deadline = std::chrono::steady_clock::now() + busy_limit;
    for (std::chrono::milliseconds pause{1};; pause = std::min(pause * 2, std::chrono::milliseconds{100})) {
        const int rc = sqlite3_step(m_statement);
        if (rc == SQLITE_ROW) return true;
        if (rc == SQLITE_DONE) return false;
        const bool retry = (rc & 0xff) == SQLITE_BUSY && sqlite3_get_autocommit(m_db.get()) != 0;
        if (!retry || std::chrono::steady_clock::now() + pause > deadline) throw m_db.failure(m_action);
        sqlite3_reset(m_statement);
        std::this_thread::sleep_for(pause);
    }
}

std::string statement::text(int column) const {
    // column_text converts the file's encoding (UTF-16 too) to UTF-8; column_bytes then counts it.
    const auto* chars = reinterpret_cast<const char*>(sqlite3_column_text(m_statement, column));
    return chars == nullptr ? std::string()
                            : std::string(chars, static_cast<std::size_t>(sqlite3_column_bytes(m_statement, column)));
}

std::string statement::bytes(int column) const {
    const auto* data = static_cast<const char*>(sqlite3_column_blob(m_statement, column));
    return data == nullptr ? std::string()
                           : std::string(data, static_cast<std::size_t>(sqlite3_column_bytes(m_statement, column)));
}

void statement::check(int rc) const {
    if (rc != SQLITE_OK) throw m_db.failure(m_action);
}

void statement::bind_value(std::string_view value) {
    // A null pointer would bind NULL, not an empty string.
    check(sqlite3_bind_text64(m_statement, ++m_bound, value.data() != nullptr ? value.data() : "", value.size(),
                              SQLITE_TRANSIENT, SQLITE_UTF8));
}

void statement::bind_value(const blob& value) {
    check(sqlite3_bind_blob64(m_statement, ++m_bound, value.bytes.data(), value.bytes.size(), SQLITE_TRANSIENT));
}

void statement::bind_value(double value) { check(sqlite3_bind_double(m_statement, ++m_bound, value)); }
void statement::bind_value(std::int64_t value) { check(sqlite3_bind_int64(m_statement, ++m_bound, value)); }
void statement::bind_value(int value) { check(sqlite3_bind_int(m_statement, ++m_bound, value)); }

void statement::bind_value(const std::vector<std::string>& values) {
    for (const std::string& value : values) bind_value(std::string_view(value));
}

void statement::bind_value(const tuning_key& key) {
    bind(key.template_name, key.template_hash, key.dtype, key.problem_key, key.gpu_identity, key.nvrtc_version);
}

void statement::bind_value(const binary_key& key) {
    bind(key.template_hash, key.config, key.dtype, key.arch, key.nvrtc_version);
}

write_transaction::write_transaction(const connection& db, std::string_view action) : m_db(db), m_action(action) {
    statement(db, action, "BEGIN IMMEDIATE").step();
}

write_transaction::~write_transaction() {
    if (!m_committed) sqlite3_exec(m_db.get(), "ROLLBACK", nullptr, nullptr, nullptr);
}

void write_transaction::commit() {
    statement(m_db, m_action, "COMMIT").step();
    m_committed = true;
}

read_snapshot::read_snapshot(const connection& db, std::string_view action) : m_db(db) {
    statement(db, action, "BEGIN").step();
}

read_snapshot::~read_snapshot() { sqlite3_exec(m_db.get(), "ROLLBACK", nullptr, nullptr, nullptr); }

} // namespace kerntune::detail
