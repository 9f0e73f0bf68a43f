#include "db/database.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <cstdlib>
#include <thread>

#include "core/error.hpp"
#include "db/schema.hpp"

namespace kerntune {
namespace {

// Long enough for a tune that holds the write lock for one short transaction behind dozens of
// others; short enough that a wedged writer becomes an error someone sees.
constexpr int busy_timeout_ms = 60'000;

const char* const key_columns = "template_name, template_hash, dtype, problem_key, gpu_identity, nvrtc_version";
const char* const key_match =
    "template_name = ?1 AND template_hash = ?2 AND dtype = ?3 AND problem_key = ?4 AND gpu_identity = ?5 "
    "AND nvrtc_version = ?6";
const char* const now_utc = "strftime('%Y-%m-%dT%H:%M:%SZ', 'now')";

bool is_busy(int rc) { return (rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED; }

/// Runs `attempt` until it returns something other than BUSY, for up to busy_timeout_ms:
/// SQLite's busy handler does not cover every case (BEGIN IMMEDIATE in WAL mode can return
/// BUSY at once while another connection runs a checkpoint).
template <typename F> int retry_while_busy(F&& attempt) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(busy_timeout_ms);
    auto pause = std::chrono::milliseconds(1);
    while (true) {
        const int rc = attempt();
        if (!is_busy(rc) || std::chrono::steady_clock::now() > deadline) return rc;
        std::this_thread::sleep_for(pause);
        pause = std::min(pause * 2, std::chrono::milliseconds(50));
    }
}

/// A prepared statement, finalized on destruction.
class statement {
public:
    statement(sqlite3* db, const std::string& sql, const std::filesystem::path& path) : m_db(db), m_path(path) {
        const int rc = retry_while_busy([&] { return sqlite3_prepare_v2(db, sql.c_str(), -1, &m_statement, nullptr); });
        if (rc != SQLITE_OK) fail("preparing a query");
    }
    ~statement() { sqlite3_finalize(m_statement); }
    statement(const statement&) = delete;
    statement& operator=(const statement&) = delete;

    statement& bind(int index, const std::string& value) {
        return check(sqlite3_bind_text(m_statement, index, value.data(), static_cast<int>(value.size()), SQLITE_TRANSIENT));
    }
    statement& bind(int index, std::int64_t value) { return check(sqlite3_bind_int64(m_statement, index, value)); }
    statement& bind(int index, int value) { return bind(index, static_cast<std::int64_t>(value)); }
    statement& bind(int index, double value) { return check(sqlite3_bind_double(m_statement, index, value)); }
    statement& bind_blob(int index, const std::string& value) {
        return check(sqlite3_bind_blob(m_statement, index, value.data(), static_cast<int>(value.size()), SQLITE_TRANSIENT));
    }
    /// Binds the six key columns to ?first .. ?first+5.
    statement& bind_key(int first, const tuning_key& key) {
        return bind(first, key.template_name).bind(first + 1, key.template_hash).bind(first + 2, key.dtype)
            .bind(first + 3, key.problem_key).bind(first + 4, key.gpu_identity).bind(first + 5, key.nvrtc_version);
    }

    /// True while there is a row.
    bool step() {
        const int rc = retry_while_busy([&] {
            const int result = sqlite3_step(m_statement);
            if (is_busy(result)) sqlite3_reset(m_statement);
            return result;
        });
        if (rc == SQLITE_ROW) return true;
        if (rc == SQLITE_DONE) return false;
        fail("running a query");
    }

    std::string text(int column) const {
        const auto* value = reinterpret_cast<const char*>(sqlite3_column_text(m_statement, column));
        return value != nullptr ? std::string(value, static_cast<std::size_t>(sqlite3_column_bytes(m_statement, column))) : "";
    }
    std::string blob(int column) const {
        const auto* value = static_cast<const char*>(sqlite3_column_blob(m_statement, column));
        return value != nullptr ? std::string(value, static_cast<std::size_t>(sqlite3_column_bytes(m_statement, column))) : "";
    }
    std::int64_t integer(int column) const { return sqlite3_column_int64(m_statement, column); }
    double real(int column) const { return sqlite3_column_double(m_statement, column); }
    tuning_key key(int first) const {
        return {text(first), text(first + 1), text(first + 2), text(first + 3), text(first + 4), text(first + 5)};
    }

private:
    sqlite3* m_db;
    const std::filesystem::path& m_path;
    sqlite3_stmt* m_statement = nullptr;

    statement& check(int rc) {
        if (rc != SQLITE_OK) fail("binding a value");
        return *this;
    }
    [[noreturn]] void fail(const char* what) const {
        throw error("tuning database " + m_path.string() + ": " + what + " failed: " + sqlite3_errmsg(m_db));
    }
};

} // namespace

struct database::state {
    std::filesystem::path path;
    sqlite3* db = nullptr;
    open_mode mode = open_mode::read_only;
    ~state() { sqlite3_close_v2(db); }

    [[noreturn]] void fail(const std::string& what) const {
        throw error("tuning database " + path.string() + ": " + what + (db != nullptr ? std::string(": ") + sqlite3_errmsg(db) : ""));
    }

    void exec(const char* sql) const {
        char* message = nullptr;
        const int rc = retry_while_busy([&] {
            sqlite3_free(message);
            message = nullptr;
            return sqlite3_exec(db, sql, nullptr, nullptr, &message);
        });
        if (rc != SQLITE_OK) {
            const std::string why = message != nullptr ? message : sqlite3_errstr(rc);
            sqlite3_free(message);
            throw error("tuning database " + path.string() + ": " + why);
        }
    }

    std::int64_t single_integer(const std::string& sql) const {
        statement query(db, sql, path);
        return query.step() ? query.integer(0) : 0;
    }
};

namespace {

/// BEGIN IMMEDIATE ... COMMIT; rolls back if not committed (never throws from the destructor).
class transaction {
public:
    explicit transaction(const std::function<void(const char*)>& exec) : m_exec(exec) { m_exec("BEGIN IMMEDIATE"); }
    ~transaction() {
        if (m_open) {
            try {
                m_exec("ROLLBACK");
            } catch (...) {
            }
        }
    }
    void commit() {
        m_exec("COMMIT");
        m_open = false;
    }

private:
    std::function<void(const char*)> m_exec;
    bool m_open = true;
};

} // namespace

database::database(std::unique_ptr<state> s) : m_state(std::move(s)) {}
database::database(database&& other) noexcept = default;
database& database::operator=(database&& other) noexcept = default;
database::~database() = default;

database database::open(const std::filesystem::path& path, open_mode mode) {
    auto s = std::make_unique<state>();
    s->path = path;
    s->mode = mode;
    std::error_code ec;
    const bool exists = std::filesystem::exists(path, ec);
    if (mode == open_mode::read_only && !exists) throw error("no tuning database at " + path.string());
    const std::filesystem::path folder = path.has_parent_path() ? path.parent_path() : ".";
    if (!exists && !std::filesystem::is_directory(folder, ec))
        throw error("cannot create tuning database " + path.string() + ": folder " + folder.string() + " does not exist");
    if (exists && !std::filesystem::is_regular_file(path, ec))
        throw error("tuning database " + path.string() + " is not a regular file");

    const int flags = mode == open_mode::read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
    if (sqlite3_open_v2(path.c_str(), &s->db, flags | SQLITE_OPEN_NOMUTEX, nullptr) != SQLITE_OK)
        s->fail("cannot open");
    sqlite3_busy_timeout(s->db, busy_timeout_ms);
    sqlite3_extended_result_codes(s->db, 1);

    // Reading the header proves it is SQLite at all, before anything could be written.
    std::int64_t version = 0, tables = 0;
    try {
        version = s->single_integer("PRAGMA user_version");
        tables = s->single_integer("SELECT count(*) FROM sqlite_master");
    } catch (const error&) {
        throw error(path.string() + " is not a kerntune database (" + sqlite3_errmsg(s->db) + ")");
    }
    if (version > detail::schema_version)
        throw error("tuning database " + path.string() + " was written by a newer kerntune (schema " +
                    std::to_string(version) + ", this build knows " + std::to_string(detail::schema_version) + ")");
    if (version == 0 && tables > 0)
        throw error(path.string() + " is not a kerntune database (it holds other tables)");
    if (mode == open_mode::read_only) {
        if (version == 0) throw error(path.string() + " has no kerntune schema (it has never been tuned into)");
        return database(std::move(s));
    }

    s->exec("PRAGMA journal_mode = WAL");
    s->exec("PRAGMA synchronous = NORMAL");  // with WAL: a crash never corrupts, power loss may drop the last commit
    if (version == 0) {
        transaction creating([&](const char* sql) { s->exec(sql); });
        // Another process may have created it between our check and our lock.
        if (s->single_integer("PRAGMA user_version") == 0) {
            s->exec(detail::schema_sql);
            s->exec(("PRAGMA user_version = " + std::to_string(detail::schema_version)).c_str());
        }
        creating.commit();
    }
    return database(std::move(s));
}

const std::filesystem::path& database::path() const { return m_state->path; }

int database::schema_version() const { return static_cast<int>(m_state->single_integer("PRAGMA user_version")); }

void database::upsert_device(const device_record& d) {
    transaction writing([&](const char* sql) { m_state->exec(sql); });
    statement insert(m_state->db,
                     std::string("INSERT OR REPLACE INTO devices (identity, name, cc_major, cc_minor, sm_count, "
                                 "memory_clock_khz, bus_width_bits, l2_bytes, theoretical_gbps, copy_gbps, driver_version, "
                                 "updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ") + now_utc + ")",
                     m_state->path);
    insert.bind(1, d.identity).bind(2, d.name).bind(3, d.cc_major).bind(4, d.cc_minor).bind(5, d.sm_count)
        .bind(6, d.memory_clock_khz).bind(7, d.bus_width_bits).bind(8, d.l2_bytes).bind(9, d.theoretical_gbps)
        .bind(10, d.copy_gbps).bind(11, d.driver_version);
    insert.step();
    writing.commit();
}

std::vector<device_record> database::devices() const {
    statement query(m_state->db,
                    "SELECT identity, name, cc_major, cc_minor, sm_count, memory_clock_khz, bus_width_bits, l2_bytes, "
                    "theoretical_gbps, copy_gbps, driver_version FROM devices ORDER BY identity",
                    m_state->path);
    std::vector<device_record> devices;
    while (query.step())
        devices.push_back({query.text(0), query.text(1), static_cast<int>(query.integer(2)), static_cast<int>(query.integer(3)),
                           static_cast<int>(query.integer(4)), query.integer(5), static_cast<int>(query.integer(6)),
                           query.integer(7), query.real(8), query.real(9), query.text(10)});
    return devices;
}

void database::record_measurement(const measurement& m) {
    transaction writing([&](const char* sql) { m_state->exec(sql); });
    statement insert(m_state->db,
                     std::string("INSERT OR REPLACE INTO measurements (") + key_columns +
                         ", config, status, median_us, noise, gbps, samples, message, measured_at) VALUES "
                         "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, " + now_utc + ")",
                     m_state->path);
    insert.bind_key(1, m.key).bind(7, m.config).bind(8, m.status).bind(9, m.median_us).bind(10, m.noise)
        .bind(11, m.gbps).bind(12, m.samples).bind(13, m.message);
    insert.step();
    writing.commit();
}

std::vector<measurement> database::measurements(const tuning_key& key) const {
    statement query(m_state->db,
                    std::string("SELECT config, status, median_us, noise, gbps, samples, message, measured_at "
                                "FROM measurements WHERE ") + key_match +
                        " ORDER BY status != 'ok', CASE WHEN status = 'ok' THEN median_us END, config",
                    m_state->path);
    query.bind_key(1, key);
    std::vector<measurement> rows;
    while (query.step())
        rows.push_back({key, query.text(0), query.text(1), query.real(2), query.real(3), query.real(4),
                        static_cast<int>(query.integer(5)), query.text(6), query.text(7)});
    return rows;
}

void database::set_winner(const winner& w) {
    transaction writing([&](const char* sql) { m_state->exec(sql); });
    statement insert(m_state->db,
                     std::string("INSERT OR REPLACE INTO winners (") + key_columns +
                         ", config, median_us, gbps, pct_theoretical, pct_copy, candidates_ok, candidates_failed, "
                         "tune_seconds, tuned_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, " +
                         now_utc + ")",
                     m_state->path);
    insert.bind_key(1, w.key).bind(7, w.config).bind(8, w.median_us).bind(9, w.gbps).bind(10, w.pct_theoretical)
        .bind(11, w.pct_copy).bind(12, w.candidates_ok).bind(13, w.candidates_failed).bind(14, w.tune_seconds);
    insert.step();
    writing.commit();
}

namespace {

const char* const winner_columns =
    "template_name, template_hash, dtype, problem_key, gpu_identity, nvrtc_version, config, median_us, gbps, "
    "pct_theoretical, pct_copy, candidates_ok, candidates_failed, tune_seconds, tuned_at";

winner read_winner(const statement& row) {
    return {row.key(0), row.text(6), row.real(7), row.real(8), row.real(9), row.real(10),
            static_cast<int>(row.integer(11)), static_cast<int>(row.integer(12)), row.real(13), row.text(14)};
}

} // namespace

std::optional<winner> database::find_winner(const tuning_key& key) const {
    statement query(m_state->db, std::string("SELECT ") + winner_columns + " FROM winners WHERE " + key_match, m_state->path);
    query.bind_key(1, key);
    if (!query.step()) return std::nullopt;
    return read_winner(query);
}

std::vector<winner> database::winners() const {
    statement query(m_state->db,
                    std::string("SELECT ") + winner_columns +
                        " FROM winners ORDER BY template_name, dtype, gpu_identity, CAST(substr(problem_key, 3) AS INTEGER), problem_key",
                    m_state->path);
    std::vector<winner> all;
    while (query.step()) all.push_back(read_winner(query));
    return all;
}

void database::store_binary(const kernel_binary& b) {
    transaction writing([&](const char* sql) { m_state->exec(sql); });
    statement insert(m_state->db,
                     std::string("INSERT OR REPLACE INTO binaries (template_hash, config, dtype, arch, nvrtc_version, "
                                 "lowered_name, digest, cubin, stored_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ") +
                         now_utc + ")",
                     m_state->path);
    insert.bind(1, b.key.template_hash).bind(2, b.key.config).bind(3, b.key.dtype).bind(4, b.key.arch)
        .bind(5, b.key.nvrtc_version).bind(6, b.lowered_name).bind(7, b.digest).bind_blob(8, b.cubin);
    insert.step();
    writing.commit();
}

std::optional<kernel_binary> database::find_binary(const binary_key& key) const {
    statement query(m_state->db,
                    "SELECT lowered_name, digest, cubin FROM binaries WHERE template_hash = ?1 AND config = ?2 AND "
                    "dtype = ?3 AND arch = ?4 AND nvrtc_version = ?5",
                    m_state->path);
    query.bind(1, key.template_hash).bind(2, key.config).bind(3, key.dtype).bind(4, key.arch).bind(5, key.nvrtc_version);
    if (!query.step()) return std::nullopt;
    return kernel_binary{key, query.text(0), query.text(1), query.blob(2)};
}

std::string database::integrity_check() const {
    statement query(m_state->db, "PRAGMA integrity_check", m_state->path);
    return query.step() ? query.text(0) : "";
}

std::filesystem::path default_db_path() {
    if (const char* path = std::getenv("KERNTUNE_DB"); path != nullptr && *path != '\0') return path;
    if (const char* data = std::getenv("XDG_DATA_HOME"); data != nullptr && *data != '\0')
        return std::filesystem::path(data) / "kerntune" / "tuning.db";
    const char* home = std::getenv("HOME");
    return std::filesystem::path(home != nullptr ? home : ".") / ".local" / "share" / "kerntune" / "tuning.db";
}

} // namespace kerntune
