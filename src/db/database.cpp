#include "db/database.hpp"

#include <cstdlib>
#include <functional>
#include <optional>
#include <utility>

#include "core/error.hpp"
#include "core/text.hpp"
#include "core/version.hpp"
#include "db/merge_rules.hpp"
#include "db/record_checks.hpp"
#include "db/recovered_copy.hpp"
#include "db/schema.hpp"
#include "db/schema_migration.hpp"
#include "db/schema_objects.hpp"
#include "db/sqlite_handles.hpp"

namespace kerntune {
namespace {

using detail::blob;
using detail::connection;
using detail::read_snapshot;
using detail::statement;
using detail::write_transaction;

/// "?, ?, ..." with one parameter per column of a comma-separated column list.
std::string parameters_for(const std::string& columns) {
    std::string list = "?";
    for (const char c : columns)
        if (c == ',') list += ", ?";
    return list;
}

/// A WHERE condition matching `columns` to as many bound parameters.
std::string matches(const std::string& columns) {
    return "(" + columns + ") = (" + parameters_for(columns) + ")";
}

// The columns each record is written and read with, in the order of its struct's fields.
const std::string key_columns =
    "template_name, template_hash, dtype, problem_key, gpu_identity, nvrtc_version";
const std::string device_columns =
    "identity, name, cc_major, cc_minor, sm_count, memory_clock_khz, bus_width_bits, "
    "l2_bytes, theoretical_gbps, copy_gbps, driver_version";
const std::string measurement_columns =
    key_columns + ", config, status, median_us, noise, gbps, samples, message";
const std::string winner_columns = key_columns +
                                   ", config, median_us, gbps, pct_theoretical, pct_copy, "
                                   "candidates_ok, candidates_failed, tune_seconds";
const std::string binary_key_columns = "template_hash, config, dtype, arch, nvrtc_version";
const std::string binary_columns = binary_key_columns + ", lowered_name, digest, cubin";
const std::string program_columns = "cache_key, lowered_names, digest, cubin";

/// The order of every whole-table read of measurements and winners: by key.
const std::string key_order = "template_name, dtype, problem_key, gpu_identity, template_hash, nvrtc_version";

/// INSERT OR REPLACE of all `columns` into `table`; a column left out (a timestamp) takes its default.
std::string replace_sql(const std::string& table, const std::string& columns) {
    return "INSERT OR REPLACE INTO " + table + " (" + columns + ") VALUES (" + parameters_for(columns) + ")";
}

/// What a SELECT of measurements or winners reads after their columns and time, in the order of
/// their records' fields: the provenance columns, each '' in a file of a schema before it (read
/// as it is, not migrated).
std::string provenance_columns(int version) {
    // The schema that added each: 2 the kerntune that wrote the row, 3 how and under which driver it was measured.
    const std::pair<const char*, int> columns[] = {{"kerntune_version", 2}, {"method", 3}, {"driver_version", 3}};
    std::string list;
    for (const auto& [column, since] : columns) list += std::string(list.empty() ? "" : ", ") + (version >= since ? column : "''");
    return list;
}

/// The tuning key in the six columns from `first` on (key_columns).
tuning_key read_key(const statement& row, int first) {
    return {row.text(first),     row.text(first + 1), row.text(first + 2),
            row.text(first + 3), row.text(first + 4), row.text(first + 5)};
}

/// A record read from a row, and what is wrong with its values ("" when nothing is).
template <typename Record>
struct read_row {
    Record record;
    std::string problems;
};

/// Where the rows reads leave out are reported: "<row>: <what is wrong>".
using bad_row_sink = std::function<void(const std::string& row_and_problems)>;

/// Decides which rows reads return.
struct row_reporter {
    const bad_row_sink& bad_row;

    /// The record, or nullopt (reported to bad_row) when its values are wrong.
    template <typename Record>
    std::optional<Record> accept(read_row<Record> row) const {
        const std::string numbers = detail::number_problems(row.record);
        if (!numbers.empty()) row.problems += (row.problems.empty() ? "" : "; ") + numbers;
        if (row.problems.empty()) return std::move(row.record);
        bad_row(detail::describe(row.record) + ": " + row.problems);
        return std::nullopt;
    }
};

/// Every row `query` returns that `read` turns into an acceptable record.
template <typename Read>
auto read_all(statement& query, const row_reporter& report, Read read) {
    std::vector<decltype(read(query).record)> rows;
    while (query.step())
        if (auto record = report.accept(read(query))) rows.push_back(std::move(*record));
    return rows;
}

/// The first row `query` returns, if any and acceptable, turned into a record by `read`.
template <typename Read>
auto read_first(statement& query, const row_reporter& report, Read read) -> std::optional<decltype(read(query).record)> {
    if (!query.step()) return std::nullopt;
    return report.accept(read(query));
}

/// Throws, naming the file and the record, unless its numbers are ones kerntune may store.
template <typename Record>
void refuse_bad_numbers(const connection& db, const Record& record) {
    const std::string problems = detail::number_problems(record);
    if (!problems.empty()) throw error(db.label() + ": cannot record the " + detail::describe(record) + ": " + problems);
}

/// A WHERE clause for the fields `filter` sets (fixed column names, bound values): empty when it
/// sets none.
struct filter_clause {
    std::string sql;
    std::vector<std::string> values;
};

filter_clause where(const key_filter& filter) {
    filter_clause clause;
    const std::pair<const char*, const std::optional<std::string>*> fields[] = {
        {"template_name", &filter.template_name},
        {"dtype", &filter.dtype},
        {"problem_key", &filter.problem_key},
        {"gpu_identity", &filter.gpu_identity}};
    for (const auto& [column, value] : fields) {
        if (!*value) continue;
        clause.sql += std::string(clause.sql.empty() ? " WHERE " : " AND ") + column + " = ?";
        clause.values.push_back(**value);
    }
    return clause;
}

/// Whose time and kerntune a measurement or winner is written with.
enum class stamp {
    now,          ///< this kerntune's, now (a tune's write): whatever the record says
    as_recorded,  ///< the record's own (a merged or imported row, kept as it was measured)
};

/// The INSERT OR REPLACE of a measurement or winner: its columns, the time when `how` keeps it,
/// and the provenance; bound by bind_provenance after the columns.
std::string replace_result_sql(const std::string& table, const std::string& columns, const char* time, stamp how) {
    return replace_sql(table, columns + (how == stamp::as_recorded ? std::string(", ") + time : "") +
                                  ", kerntune_version, method, driver_version");
}

template <typename Record>
void bind_provenance(statement& insert, const Record& r, const std::string& time, stamp how) {
    if (how == stamp::as_recorded)
        insert.bind(time, r.kerntune_version);
    else
        insert.bind(kerntune_build());
    insert.bind(r.method, r.driver_version);
}

/// Writes one record (device, measurement, winner, binary or program), replacing the row with its key.
void insert(const connection& db, const device_record& d) {
    refuse_bad_numbers(db, d);
    statement(db, "record device", replace_sql("devices", device_columns))
        .bind(d.identity, d.name, d.cc_major, d.cc_minor, d.sm_count, d.memory_clock_khz, d.bus_width_bits,
              d.l2_bytes, d.theoretical_gbps, d.copy_gbps, d.driver_version)
        .step();
}

void insert(const connection& db, const measurement& m, stamp how = stamp::now) {
    refuse_bad_numbers(db, m);
    statement row(db, "record measurement", replace_result_sql("measurements", measurement_columns, "measured_at", how));
    row.bind(m.key, m.config, to_string(m.status), m.median_us, m.noise, m.gbps, m.samples, m.message);
    bind_provenance(row, m, m.measured_at, how);
    row.step();
}

void insert(const connection& db, const winner& w, stamp how = stamp::now) {
    refuse_bad_numbers(db, w);
    statement row(db, "record winner", replace_result_sql("winners", winner_columns, "tuned_at", how));
    row.bind(w.key, w.config, w.median_us, w.gbps, w.pct_theoretical, w.pct_copy, w.candidates_ok,
             w.candidates_failed, w.tune_seconds);
    bind_provenance(row, w, w.tuned_at, how);
    row.step();
}

void insert(const connection& db, const kernel_binary& b) {
    statement(db, "store binary", replace_sql("binaries", binary_columns))
        .bind(b.key, b.lowered_name, b.digest, blob{b.cubin})
        .step();
}

void insert(const connection& db, const cached_program& p) {
    statement(db, "store program", replace_sql("programs", program_columns))
        .bind(p.cache_key, p.lowered_names, p.digest, blob{p.cubin})
        .step();
}

/// The record in a row selected with its columns (device_columns, measurement_columns + the
/// time + provenance_columns, winner_columns + the time + provenance_columns), and what is wrong
/// with the values that do not fit its fields.
read_row<device_record> read_device(const statement& row) {
    read_row<device_record> d;
    d.record = {row.text(0),
                row.text(1),
                detail::narrowed(row.int64(2), "cc_major", d.problems),
                detail::narrowed(row.int64(3), "cc_minor", d.problems),
                detail::narrowed(row.int64(4), "sm_count", d.problems),
                row.int64(5),
                detail::narrowed(row.int64(6), "bus_width_bits", d.problems),
                row.int64(7),
                row.real(8),
                row.real(9),
                row.text(10)};
    return d;
}

/// A status that does not parse (a file edited by hand, or written by a kerntune with more
/// statuses) is a problem like a wrong number.
read_row<measurement> read_measurement(const statement& row) {
    read_row<measurement> m;
    m.record = {read_key(row, 0), row.text(6),  candidate_status::ok,
                row.real(8),      row.real(9),  row.real(10),
                detail::narrowed(row.int64(11), "samples", m.problems),
                row.text(12),     row.text(13), row.text(14),
                row.text(15),     row.text(16)};
    try {
        m.record.status = parse_candidate_status(row.text(7));
    } catch (const error& failure) {
        m.problems += (m.problems.empty() ? "" : "; ") + std::string(failure.what());
    }
    return m;
}

read_row<winner> read_winner(const statement& row) {
    read_row<winner> w;
    w.record = {read_key(row, 0), row.text(6), row.real(7), row.real(8), row.real(9), row.real(10),
                detail::narrowed(row.int64(11), "candidates_ok", w.problems),
                detail::narrowed(row.int64(12), "candidates_failed", w.problems),
                row.real(13),     row.text(14), row.text(15),
                row.text(16),     row.text(17)};
    return w;
}

/// The device of this identity, read as `report` decides.
std::optional<device_record> device_row(const connection& db, const row_reporter& report, std::string_view identity) {
    statement query(db, "read devices", "SELECT " + device_columns + " FROM devices WHERE identity = ?");
    return read_first(query.bind(identity), report, read_device);
}

/// A file's schema version and how its objects differ from that version's.
struct schema_state {
    int version = 0;                       ///< 0: an empty file (a new database)
    std::vector<std::string> differences;  ///< schema_differences; empty for version 0
};

/// Reads the file's schema. Throws, naming the file, unless it is empty or holds a schema
/// version this build knows. Only reads, so a file that is refused is left as it was.
schema_state read_schema(const connection& db) {
    statement query(db, "read its schema", "PRAGMA user_version");
    query.step();
    const int version = query.int32(0);
    const std::vector<detail::schema_object> objects = detail::stored_objects(db);
    if (version > schema::version)
        throw error(db.label() + " was written by a newer kerntune (schema " + std::to_string(version) +
                    ", this build knows " + std::to_string(schema::version) + ")");
    if (version < 0)
        throw error(db.label() + " is not a kerntune database (schema version " + std::to_string(version) +
                    ")");
    if (version == 0 && !objects.empty())
        throw error(db.label() + " is not a kerntune database (it holds tables kerntune did not create)");
    if (version == 0) return {};
    return {version, detail::schema_differences(objects, version)};
}

/// `parts` joined by "; ".
std::string joined(const std::vector<std::string>& parts) {
    std::string list;
    for (const std::string& part : parts) list += (list.empty() ? "" : "; ") + part;
    return list;
}

/// The file's schema version, 0 for an empty file (a new database). Throws, naming the file,
/// unless it is empty or holds exactly the objects of a schema this build knows (schema_objects.hpp).
int checked_schema_version(const connection& db) {
    const schema_state state = read_schema(db);
    if (!state.differences.empty())
        throw error(db.label() + " is not a kerntune database: its schema is not kerntune's schema " +
                    std::to_string(state.version) + " (" + joined(state.differences) + "); it is left as it is");
    return state.version;
}

/// Creates the schema in an empty file, or migrates one of an older version, in one transaction,
/// unless another process did since checked_schema_version() looked. Foreign keys must be off
/// (migrate_schema drops and makes tables again).
void bring_schema_up_to_date(const connection& db) {
    write_transaction transaction(db, "write its schema");
    const int version = checked_schema_version(db);
    if (version == 0 && sqlite3_exec(db.get(), schema::sql_of(schema::version), nullptr, nullptr, nullptr) != SQLITE_OK)
        throw db.failure("create the schema");
    if (version > 0 && version < schema::version) detail::migrate_schema(db, version);
    transaction.commit();
}

/// `path` made absolute and percent-encoded for a file: URI.
std::string uri_path(const std::filesystem::path& path) {
    static const char hex[] = "0123456789ABCDEF";
    std::string encoded;
    for (const unsigned char c : std::filesystem::absolute(path).string()) {
        const bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                           c == '/' || c == '-' || c == '.' || c == '_' || c == '~';
        if (plain) {
            encoded += static_cast<char>(c);
        } else {
            encoded += '%';
            encoded += hex[c >> 4];
            encoded += hex[c & 15];
        }
    }
    return encoded;
}

/// What `status` is, in a message: "a folder", "a FIFO", ...; "" for a regular file.
std::string kind_of_file(std::filesystem::file_status status) {
    switch (status.type()) {
        case std::filesystem::file_type::regular: return "";
        case std::filesystem::file_type::directory: return "a folder";
        case std::filesystem::file_type::fifo: return "a FIFO";
        case std::filesystem::file_type::character: return "a character device";
        case std::filesystem::file_type::block: return "a block device";
        case std::filesystem::file_type::socket: return "a socket";
        default: return "something other than a regular file";
    }
}

/// Throws unless `path` (links followed) and SQLite's -journal, -wal and -shm beside it are
/// regular files or absent. SQLite opens them with a blocking open(2): a FIFO would hang the
/// open until some process wrote to it, and SQLite says only "disk I/O error" for a folder. A
/// file swapped for a FIFO between this check and SQLite's open can still block; nothing short
/// of SQLite opening with O_NONBLOCK would close that window.
void refuse_what_is_not_a_regular_file(const std::filesystem::path& path) {
    for (const char* suffix : {"", "-journal", "-wal", "-shm"}) {
        const std::filesystem::path file = path.string() + suffix;
        std::error_code missing;
        const std::filesystem::file_status status = std::filesystem::status(file, missing);
        if (missing || status.type() == std::filesystem::file_type::not_found) continue;
        const std::string kind = kind_of_file(status);
        if (kind.empty()) continue;
        throw error(*suffix == '\0' ? file.string() + " is " + kind + ", not a tuning database"
                                    : file.string() + " is " + kind + ", not a file SQLite can use beside " +
                                          path.string());
    }
}

/// Opens the file for writing, creating it if `create` (but never its folder).
connection connect_for_writing(const std::filesystem::path& path, bool create) {
    const std::filesystem::path folder = path.has_parent_path() ? path.parent_path() : ".";
    std::error_code ignored;
    if (!std::filesystem::is_directory(folder, ignored))
        throw error("cannot create " + path.string() + ": folder " + folder.string() + " does not exist");
    if (!create && !std::filesystem::exists(path, ignored)) throw error("no tuning database at " + path.string());
    connection db(path.string(), SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0), path.string());
    if (sqlite3_db_readonly(db.get(), "main") == 1)
        throw error(path.string() + " is read-only: cannot open it for writing");
    return db;
}

/// Whether the file `file` exists and holds any bytes.
bool has_content(const std::filesystem::path& file) {
    std::error_code missing;
    const std::uintmax_t size = std::filesystem::file_size(file, missing);
    return !missing && size > 0;
}

/// Opens an existing file for reading only, never writing it or anything beside it but SQLite's
/// -wal and -shm where it may make them. When SQLite cannot read the file in place without
/// writing (its first read fails with a READONLY or CANTOPEN code):
///   * a -journal with content is a hot journal of a killed writer, and the file may hold half
///     of that writer's pages: it is read through recovered_copy, never as it is;
///   * else a -wal with content holds commits the file lacks (no -shm can be made beside it: a
///     read-only folder or file system): recovered_copy as well, since an immutable read would
///     ignore the WAL and could see a half-checkpointed file;
///   * else the file is all there is, and is read as immutable (without locks). No process can
///     be writing it then: a writer keeps its -wal and -shm beside it while it has it open.
connection connect_for_reading(const std::filesystem::path& path) {
    std::error_code ignored;
    if (!std::filesystem::exists(path, ignored)) throw error("no tuning database at " + path.string());
    connection db(path.string(), SQLITE_OPEN_READONLY, path.string());
    const int rc = sqlite3_exec(db.get(), "SELECT 1 FROM sqlite_schema LIMIT 1", nullptr, nullptr, nullptr);
    if ((rc & 0xff) != SQLITE_READONLY && (rc & 0xff) != SQLITE_CANTOPEN) return db;
    for (const char* sidecar : {"-journal", "-wal"})
        if (has_content(path.string() + sidecar)) return detail::recovered_copy(path, sidecar);
    return connection("file:" + uri_path(path) + "?immutable=1", SQLITE_OPEN_READONLY | SQLITE_OPEN_URI,
                      path.string());
}

/// Makes a connection ready to write, its schema up to date: WAL (readers never block the
/// writer, nor it them) first, so that a process killed while creating the schema leaves a file
/// readers can still open (a rollback journal left behind needs a writer to recover it);
/// synchronous=NORMAL (with WAL a crash never corrupts; a power loss may drop the last commits);
/// foreign keys enforced once the schema is made (results only for recorded devices).
void prepare_for_writing(const connection& db) {
    statement(db, "switch to WAL", "PRAGMA journal_mode = WAL").step();
    statement(db, "set synchronous", "PRAGMA synchronous = NORMAL").step();
    bring_schema_up_to_date(db);
    statement(db, "enable foreign keys", "PRAGMA foreign_keys = ON").step();
}

} // namespace

/// The connection, the path it was opened with and the schema version its rows are read as.
struct database::impl {
    std::filesystem::path path;  ///< as given to open
    connection db;               ///< the open connection
    int version;                 ///< the file's schema version when it was opened (after any migration)
    bad_row_sink bad_row;        ///< where reads report the rows they leave out

    /// What reads decide which rows to return with.
    row_reporter reporter() const { return {bad_row}; }
    /// The SELECT of every column of a measurement or winner record, for this file's schema.
    std::string select_measurements() const {
        return "SELECT " + measurement_columns + ", measured_at, " + provenance_columns(version) + " FROM measurements";
    }
    std::string select_winners() const {
        return "SELECT " + winner_columns + ", tuned_at, " + provenance_columns(version) + " FROM winners";
    }
    /// The winner of `key`, read as `report` decides.
    std::optional<winner> winner_row(const row_reporter& report, const tuning_key& key) const {
        statement query(db, "read winners", select_winners() + " WHERE " + matches(key_columns));
        return read_first(query.bind(key), report, read_winner);
    }
};

database::database(std::unique_ptr<impl> state) : m_impl(std::move(state)) {}
database::database(database&& other) noexcept = default;
database& database::operator=(database&& other) noexcept = default;
database::~database() = default;

database database::open(const std::filesystem::path& path, open_mode mode, warning_sink warn) {
    refuse_what_is_not_a_regular_file(path);
    const bool creating = mode == open_mode::read_write, reading = mode == open_mode::read_only;
    connection db = reading ? connect_for_reading(path) : connect_for_writing(path, creating);
    // checked_schema_version refuses a foreign, newer or altered file before any write.
    int version = checked_schema_version(db);
    if (version == 0 && !creating)
        throw error(path.string() + " has no kerntune schema (open it for writing to create one)");
    if (mode == open_mode::read_write_as_is && version != schema::version)
        throw error(path.string() + " is of schema " + std::to_string(version) + ": only a tune writes it (and " +
                    "migrates it to schema " + std::to_string(schema::version) + " first)");
    if (creating) {
        prepare_for_writing(db);
        version = schema::version;
    }
    if (mode == open_mode::read_write_as_is)
        statement(db, "enable foreign keys", "PRAGMA foreign_keys = ON").step();
    bad_row_sink bad_row = [label = path.string(), warn = std::move(warn)](const std::string& row) {
        // The row's text is the file's: escaped, so that it stays one line and drives no terminal.
        if (warn) warn(printable(label + ": ignoring the " + row));
    };
    return database(
        std::make_unique<impl>(impl{path, std::move(db), version, std::move(bad_row)}));
}

std::string check_report::problems() const {
    std::vector<std::string> parts = schema_differences;
    if (integrity != "ok") parts.push_back("integrity check failed: " + integrity);
    parts.insert(parts.end(), bad_rows.begin(), bad_rows.end());
    return joined(parts);
}

check_report database::check(const std::filesystem::path& path) {
    refuse_what_is_not_a_regular_file(path);
    connection db = connect_for_reading(path);
    const schema_state state = read_schema(db);
    check_report report;
    report.schema_version = state.version;
    report.schema_differences = state.differences;
    const bad_row_sink bad_row = [&report](const std::string& row) { report.bad_rows.push_back(row); };
    const database checked(std::make_unique<impl>(impl{path, std::move(db), state.version, bad_row}));
    report.integrity = checked.integrity_check();
    // Rows are read only from tables that are what they should be: a view could run forever.
    if (state.version > 0 && report.schema_differences.empty()) {
        checked.devices();
        checked.find_measurements({});
        checked.winners();
    }
    return report;
}

const std::filesystem::path& database::path() const { return m_impl->path; }

int database::schema_version() const {
    statement query(m_impl->db, "read its schema version", "PRAGMA user_version");
    query.step();
    return query.int32(0);
}

void database::upsert_device(const device_record& device) {
    write_transaction transaction(m_impl->db, "record device");
    insert(m_impl->db, device);
    transaction.commit();
}

std::optional<device_record> database::find_device(std::string_view identity) const {
    return device_row(m_impl->db, m_impl->reporter(), identity);
}

std::vector<device_record> database::devices() const {
    statement query(m_impl->db, "read devices",
                    "SELECT " + device_columns + " FROM devices ORDER BY identity");
    return read_all(query, m_impl->reporter(), read_device);
}

void database::record_measurement(const measurement& result) {
    write_transaction transaction(m_impl->db, "record measurement");
    insert(m_impl->db, result);
    transaction.commit();
}

void database::record_measurements(const std::vector<measurement>& results,
                                   const std::optional<winner>& best) {
    write_transaction transaction(m_impl->db, "record measurements");
    for (const measurement& result : results) insert(m_impl->db, result);
    if (best) insert(m_impl->db, *best);
    transaction.commit();
}

std::vector<measurement> database::measurements(const tuning_key& key) const {
    statement query(m_impl->db, "read measurements",
                    m_impl->select_measurements() + " WHERE " + matches(key_columns) +
                        " ORDER BY status <> 'ok', CASE WHEN status = 'ok' THEN median_us END, config");
    return read_all(query.bind(key), m_impl->reporter(), read_measurement);
}

std::vector<measurement> database::find_measurements(const key_filter& filter) const {
    const filter_clause clause = where(filter);
    statement query(m_impl->db, "read measurements",
                    m_impl->select_measurements() + clause.sql + " ORDER BY " + key_order +
                        ", status <> 'ok', CASE WHEN status = 'ok' THEN median_us END, config");
    return read_all(query.bind(clause.values), m_impl->reporter(), read_measurement);
}

forgotten database::forget(const key_filter& filter) {
    if (filter.matches_everything())
        throw error(m_impl->db.label() + ": refusing to forget every key: name at least a template, dtype, problem or GPU");
    const filter_clause clause = where(filter);
    write_transaction transaction(m_impl->db, "forget measurements and winners");
    forgotten removed;
    statement(m_impl->db, "forget measurements", "DELETE FROM measurements" + clause.sql).bind(clause.values).step();
    removed.measurements = sqlite3_changes(m_impl->db.get());
    statement(m_impl->db, "forget winners", "DELETE FROM winners" + clause.sql).bind(clause.values).step();
    removed.winners = sqlite3_changes(m_impl->db.get());
    transaction.commit();
    return removed;
}

void database::set_winner(const winner& best) {
    write_transaction transaction(m_impl->db, "record winner");
    insert(m_impl->db, best);
    transaction.commit();
}

bool database::remove_winner(const tuning_key& key) {
    write_transaction transaction(m_impl->db, "remove winner");
    statement(m_impl->db, "remove winner", "DELETE FROM winners WHERE " + matches(key_columns)).bind(key).step();
    const bool removed = sqlite3_changes(m_impl->db.get()) > 0;
    transaction.commit();
    return removed;
}

std::optional<winner> database::find_winner(const tuning_key& key) const {
    return m_impl->winner_row(m_impl->reporter(), key);
}

std::vector<winner> database::winners() const { return winners(key_filter{}); }

std::vector<winner> database::winners(const key_filter& filter) const {
    const filter_clause clause = where(filter);
    statement query(m_impl->db, "read winners",
                    m_impl->select_winners() + clause.sql + " ORDER BY " + key_order);
    return read_all(query.bind(clause.values), m_impl->reporter(), read_winner);
}

void database::store_binary(const kernel_binary& binary) {
    write_transaction transaction(m_impl->db, "store binary");
    insert(m_impl->db, binary);
    transaction.commit();
}

std::optional<kernel_binary> database::find_binary(const binary_key& key) const {
    statement query(m_impl->db, "read binaries",
                    "SELECT lowered_name, digest, cubin FROM binaries WHERE " + matches(binary_key_columns));
    if (!query.bind(key).step()) return std::nullopt;
    return kernel_binary{key, query.text(0), query.text(1), query.bytes(2)};
}

void database::store_program(const cached_program& program) {
    write_transaction transaction(m_impl->db, "store program");
    insert(m_impl->db, program);
    transaction.commit();
}

std::optional<cached_program> database::find_program(const std::string& cache_key) const {
    statement query(m_impl->db, "read programs", "SELECT " + program_columns + " FROM programs WHERE cache_key = ?");
    if (!query.bind(cache_key).step()) return std::nullopt;
    return cached_program{query.text(0), query.text(1), query.text(2), query.bytes(3)};
}

namespace {

/// A row reporter that throws, naming the file and `what` it was doing, at the first row reads
/// would leave out.
struct strict_rows {
    bad_row_sink refuse;
    row_reporter reporter() const { return {refuse}; }
};

strict_rows refusing(const connection& db, const std::string& what) {
    return {[label = db.label(), what](const std::string& row) {
        throw error(label + ": " + what + ": its " + row + " (kerntune db check lists such rows, db forget removes them)");
    }};
}

/// Throws at the first row of `rows` that exchange_problems finds fault with, naming the file.
template <typename Record>
void refuse_what_would_not_import(const connection& db, const std::vector<Record>& rows, const label_check& labels) {
    for (const Record& row : rows) {
        const std::string problems = detail::exchange_problems(row, labels);
        if (!problems.empty())
            throw error(db.label() + ": cannot take its rows: its " + detail::describe(row) + ": " + problems);
    }
}

/// Writes an incoming row as it was recorded (a device has nothing recorded but itself).
void write_incoming(const connection& db, const device_record& d) { insert(db, d); }
void write_incoming(const connection& db, const measurement& m) { insert(db, m, stamp::as_recorded); }
void write_incoming(const connection& db, const winner& w) { insert(db, w, stamp::as_recorded); }

/// Merges `rows` of one input: each compared with the target's row of its key (`here_of`) by
/// detail::decide, written when it is added or wins, counted, and its conflict reported to
/// `conflicts` (devices have none: nullptr).
template <typename Record, typename Lookup>
void merge_rows(const connection& db, const std::vector<Record>& rows, const std::string& origin, Lookup here_of,
                merge_counts& counts, std::vector<merge_conflict>* conflicts) {
    for (const Record& row : rows) {
        const detail::merge_decision decision = detail::decide(here_of(row), row);
        switch (decision.action) {
        case detail::merge_action::add: ++counts.added; break;
        case detail::merge_action::unchanged: ++counts.unchanged; break;
        case detail::merge_action::replace: ++counts.replaced; break;
        case detail::merge_action::keep: ++counts.kept; break;
        }
        const bool write = decision.action == detail::merge_action::add || decision.action == detail::merge_action::replace;
        if (write) write_incoming(db, row);
        if (conflicts != nullptr && !decision.why.empty())
            conflicts->push_back({origin, detail::describe(row), decision.action == detail::merge_action::replace, decision.why});
    }
}

} // namespace

record_set database::records(const label_check& labels) const {
    const connection& db = m_impl->db;
    const strict_rows strict = refusing(db, "cannot take its rows");
    record_set records;
    records.origin = m_impl->path.string();
    {
        const read_snapshot snapshot(db, "read its rows");
        statement devices(db, "read devices", "SELECT " + device_columns + " FROM devices ORDER BY identity");
        records.devices = read_all(devices, strict.reporter(), read_device);
        statement measurements(db, "read measurements", m_impl->select_measurements() + " ORDER BY " + key_order + ", config");
        records.measurements = read_all(measurements, strict.reporter(), read_measurement);
        statement winners(db, "read winners", m_impl->select_winners() + " ORDER BY " + key_order);
        records.winners = read_all(winners, strict.reporter(), read_winner);
    }
    refuse_what_would_not_import(db, records.devices, labels);
    refuse_what_would_not_import(db, records.measurements, labels);
    refuse_what_would_not_import(db, records.winners, labels);
    return records;
}

merge_report database::merge(const std::vector<record_set>& inputs) {
    const connection& db = m_impl->db;
    // The target's rows are compared inside the transaction, so that a tune writing the same
    // file meanwhile cannot slip a row in between the comparison and the write.
    const strict_rows strict = refusing(db, "cannot merge into it");
    merge_report report;
    write_transaction transaction(db, "merge into it");
    for (const record_set& input : inputs) {
        merge_rows(db, input.devices, input.origin,
                   [&](const device_record& d) { return device_row(db, strict.reporter(), d.identity); }, report.devices,
                   nullptr);
        merge_rows(db, input.measurements, input.origin, [&](const measurement& m) {
            statement query(db, "read measurements",
                            m_impl->select_measurements() + " WHERE " + matches(key_columns + ", config"));
            return read_first(query.bind(m.key, m.config), strict.reporter(), read_measurement);
        }, report.measurements, &report.conflicts);
        merge_rows(db, input.winners, input.origin,
                   [&](const winner& w) { return m_impl->winner_row(strict.reporter(), w.key); }, report.winners,
                   &report.conflicts);
    }
    transaction.commit();
    return report;
}

std::string database::integrity_check() const {
    statement query(m_impl->db, "check its integrity", "PRAGMA integrity_check");
    std::string report;
    while (query.step()) report += (report.empty() ? "" : "; ") + query.text(0);
    return report;
}

namespace {

/// The environment variable's value, or nullptr if it is unset or empty.
const char* environment(const char* name) {
    const char* value = std::getenv(name);
    return value != nullptr && *value != '\0' ? value : nullptr;
}

} // namespace

int known_schema_version() { return schema::version; }

std::filesystem::path default_db_path() {
    if (const char* path = environment("KERNTUNE_DB")) return path;
    const std::filesystem::path file = std::filesystem::path("kerntune") / "tuning.db";
    if (const char* data = environment("XDG_DATA_HOME")) return data / file;
    if (const char* home = environment("HOME"))
        return std::filesystem::path(home) / ".local" / "share" / file;
    throw error("no place for the tuning database: set KERNTUNE_DB, XDG_DATA_HOME or HOME");
}

} // namespace kerntune
