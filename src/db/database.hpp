#pragma once
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/candidate_status.hpp"
#include "core/warning_sink.hpp"

namespace kerntune {

/// A GPU as the tuner saw it. identity = name + compute capability + SM count; results are only
/// reused on an identical identity.
struct device_record {
    std::string identity;               ///< e.g. "NVIDIA H100 80GB HBM3|sm_90|132 SMs" (built by the caller)
    std::string name;                   ///< the driver's device name
    int cc_major = 0;                   ///< compute capability, major
    int cc_minor = 0;                   ///< compute capability, minor
    int sm_count = 0;                   ///< streaming multiprocessors
    std::int64_t memory_clock_khz = 0;  ///< peak memory clock
    int bus_width_bits = 0;             ///< global memory bus width
    std::int64_t l2_bytes = 0;          ///< L2 cache size
    double theoretical_gbps = 0;        ///< memory clock x bus width x 2
    double copy_gbps = 0;               ///< measured device-to-device copy, bytes read + written
    std::string driver_version;         ///< e.g. "12.4"
};

/// Everything a result depends on; anything different is a miss.
struct tuning_key {
    std::string template_name;  ///< the template's name
    std::string template_hash;  ///< hash of the template's source: an edit is a new key
    std::string dtype;          ///< element type, e.g. "f32"
    std::string problem_key;    ///< the problem shape, e.g. "n=1048576"
    std::string gpu_identity;   ///< device_record::identity; that device must be recorded first
    std::string nvrtc_version;  ///< the NVRTC that compiled the candidates
};

/// One candidate's outcome. The status is stored as its text (to_string(candidate_status)), so
/// files written before the enum read the same.
struct measurement {
    tuning_key key;           ///< what was tuned
    std::string config;       ///< canonical label, e.g. "blk256.vec4.unr2.plain.tile.w0"
    candidate_status status = candidate_status::ok;  ///< what became of the candidate
    double median_us = 0;     ///< median time of the samples (ok only)
    double noise = 0;         ///< relative spread of the samples
    double gbps = 0;          ///< bytes moved / median time
    int samples = 0;          ///< how many timings were taken
    std::string message;      ///< e.g. the NVRTC log for compile_failed
    std::string measured_at;  ///< filled by the database (UTC ISO-8601) on write
    std::string kerntune_version;  ///< filled by the database on write: kerntune_build() of the kerntune that wrote it; "" if unknown (schema 1)
    std::string method;          ///< how the median was timed (tune/worker_protocol.hpp timing_method); "" if unknown (before schema 3)
    std::string driver_version;  ///< the CUDA driver it was measured under, e.g. "13.0"; "" if unknown (before schema 3)
};

/// The best ok candidate for a key.
struct winner {
    tuning_key key;              ///< what was tuned
    std::string config;          ///< the winning candidate's label
    double median_us = 0;        ///< its median time
    double gbps = 0;             ///< its bandwidth
    double pct_theoretical = 0;  ///< gbps as a percentage of device_record::theoretical_gbps
    double pct_copy = 0;         ///< gbps as a percentage of device_record::copy_gbps
    int candidates_ok = 0;       ///< candidates that ran and validated
    int candidates_failed = 0;   ///< candidates with any other status
    double tune_seconds = 0;     ///< compile + measure wall time
    std::string tuned_at;        ///< filled by the database (UTC ISO-8601) on write
    std::string kerntune_version;  ///< filled by the database on write: kerntune_build() of the kerntune that wrote it; "" if unknown (schema 1)
    std::string method;          ///< its measurement's method; "" if unknown (before schema 3)
    std::string driver_version;  ///< its measurement's CUDA driver; "" if unknown (before schema 3)
};

/// What a compiled kernel depends on.
struct binary_key {
    std::string template_hash;  ///< hash of the template's source
    std::string config;         ///< the kernel's label (core/config.hpp kernel_label)
    std::string dtype;          ///< element type
    std::string arch;           ///< e.g. "sm_90"
    std::string nvrtc_version;  ///< the NVRTC that compiled it
};

/// A compiled kernel cached by the runtime: its cubin, the cubin's SHA-256 and the kernel's mangled name.
struct kernel_binary {
    binary_key key;            ///< what it was compiled from
    std::string lowered_name;  ///< the kernel's mangled name in the cubin
    std::string digest;        ///< SHA-256 of cubin, hex, checked by the reader
    std::string cubin;         ///< the binary itself
};

/// A compiled NVRTC program of tuning candidates, cached by the tuner.
struct cached_program {
    std::string cache_key;      ///< SHA-256 of arch, NVRTC version, source and instantiations
    std::string lowered_names;  ///< one mangled name per line, in the order of the instantiations
    std::string digest;         ///< SHA-256 of cubin, hex, checked by the reader
    std::string cubin;          ///< the binary itself
};

/// Which tuning keys a query or a deletion covers: each field that is set must match exactly,
/// an unset one matches anything. Every template hash and NVRTC version always matches: a
/// filter names what a user sees (template, dtype, problem, GPU), not the provenance.
struct key_filter {
    std::optional<std::string> template_name;  ///< e.g. "leaky_relu"
    std::optional<std::string> dtype;          ///< canonical spelling, e.g. "f32"
    std::optional<std::string> problem_key;    ///< e.g. "n=1048576"
    std::optional<std::string> gpu_identity;   ///< device_record::identity
    /// True when no field is set (the filter matches every key).
    bool matches_everything() const {
        return !template_name && !dtype && !problem_key && !gpu_identity;
    }
    /// Whether `key` is one of the keys the filter covers (rows held outside a database, such
    /// as the shipped ones; a database's queries filter in SQL).
    bool matches(const tuning_key& key) const {
        return (!template_name || *template_name == key.template_name) && (!dtype || *dtype == key.dtype) &&
               (!problem_key || *problem_key == key.problem_key) && (!gpu_identity || *gpu_identity == key.gpu_identity);
    }
};

/// What database::forget removed.
struct forgotten {
    std::int64_t measurements = 0;  ///< measurement rows deleted
    std::int64_t winners = 0;       ///< winner rows deleted
};

/// What `kerntune db check` finds in a file (database::check).
struct check_report {
    int schema_version = 0;                       ///< PRAGMA user_version; 0: an empty database (no schema yet)
    std::vector<std::string> schema_differences;  ///< objects not as that version makes them, each named
    std::string integrity;                        ///< SQLite's PRAGMA integrity_check: "ok" or its problems
    std::vector<std::string> bad_rows;            ///< rows whose values readers ignore, each named with why
    /// True when nothing is wrong.
    bool sound() const { return schema_differences.empty() && integrity == "ok" && bad_rows.empty(); }
    /// What is wrong, one phrase each joined by "; " ("integrity check failed: ..." for SQLite's
    /// findings); "" when sound.
    std::string problems() const;
};

/// The results a database holds, as export, import and merge move them (docs/FLEET.md): every
/// device, measurement and winner, each as it was recorded (times and provenance included).
/// Compiled binaries and programs are not results: they are a cache, keyed by the source hash,
/// that a tune or the runtime rebuilds.
struct record_set {
    std::string origin;                     ///< the file or database they came from, as messages name it
    std::vector<device_record> devices;     ///< by identity
    std::vector<measurement> measurements;  ///< by key (as winners), then config
    std::vector<winner> winners;            ///< by template, dtype, problem key, GPU, template hash, NVRTC version
};

/// What is wrong with `config` as a config of the template `key` names, checked against its
/// declared domain; "" when nothing is, or when the checker does not know the template at
/// key.template_hash (the database knows no templates: the CLI checks with the catalogue).
using label_check = std::function<std::string(const tuning_key& key, const std::string& config)>;

/// What database::merge did with the incoming rows of one table.
struct merge_counts {
    std::int64_t added = 0;      ///< keys the target did not hold
    std::int64_t replaced = 0;   ///< conflicts the incoming row won (a lower median by the same method)
    std::int64_t unchanged = 0;  ///< rows the target held already, every field equal
    std::int64_t kept = 0;       ///< rows that differ from the target's, which stays
};

/// An incoming measurement or winner whose key the target holds with a different result.
struct merge_conflict {
    std::string origin;  ///< the input it came from (record_set::origin)
    std::string record;  ///< "measurement of leaky_relu f32 n=1024 config blk256... on <GPU>"
    bool replaced = false;  ///< true: the incoming row was taken; false: the target's kept
    std::string why;     ///< e.g. "a lower median by the same method (8.5 us against 9.25 us here)"
};

/// What database::merge did.
struct merge_report {
    merge_counts devices, measurements, winners;
    std::vector<merge_conflict> conflicts;  ///< in the order the inputs hold them
};

/// How database::open treats the file.
enum class open_mode {
    read_write,        ///< creates the file and its schema if needed, migrates an older one, switches to WAL
    read_only,         ///< never writes, works on a read-only file or folder
    read_write_as_is,  ///< writes rows into an existing database of the newest schema and changes
                       ///< nothing else: no file, schema, migration or journal mode (a runtime's cache)
};

/// The tuning database (schema: tuning_db/schema.sql). SQLite in WAL mode; every write is one
/// short BEGIN IMMEDIATE transaction, so many processes may write at once: a busy database is
/// waited for (up to 60 s), never reported as "database is locked". Errors are kerntune::error,
/// one line naming the file.
///
/// Every number written and read must be what the schema allows and kerntune writes: finite and
/// at least 0 (an int field: one that fits an int). A record that is not is refused on write (an
/// error naming it); a row that is not (a file edited by hand, or by a tool without the CHECKs)
/// is left out of what a read returns, with one warning naming the file and the row.
class database {
public:
    /// Opens the file at `path`. read_write creates the file (never its folder: a missing folder
    /// is an error naming it) and the schema, and migrates a file of an older schema version to
    /// the newest in one transaction; read_only never writes the file (reading a WAL database may
    /// leave SQLite's -wal and -shm files beside it), reads a file of an older version as it is,
    /// and works on a read-only file and folder; read_write_as_is opens an existing file of the
    /// newest schema for writing rows, in whatever journal mode it is, and refuses an empty file
    /// or an older schema (an error, the file untouched). A file that is not a kerntune database (its
    /// schema objects not exactly those of its version), or was written by a newer one, is an
    /// error and is left untouched.
    /// Rows that reads leave out are reported to `warn` (nowhere when it is empty).
    static database open(const std::filesystem::path& path, open_mode mode, warning_sink warn = {});

    /// Checks the file at `path` without writing anything: its schema objects against its
    /// version's, SQLite's integrity check and every row's values. A file that cannot be read as
    /// a kerntune database at all (missing, not SQLite, newer, foreign tables) is an error, as for
    /// open; an empty database is sound, of schema 0.
    static check_report check(const std::filesystem::path& path);

    /// Takes over other's connection; other is left empty.
    database(database&& other) noexcept;
    /// Closes this connection and takes over other's.
    database& operator=(database&& other) noexcept;
    /// Closes the connection.
    ~database();

    /// The file, as given to open.
    const std::filesystem::path& path() const;
    /// The file's schema version (PRAGMA user_version).
    int schema_version() const;

    /// Inserts the device, or replaces what is known about the same identity.
    void upsert_device(const device_record& device);
    /// The device with this identity, if recorded.
    std::optional<device_record> find_device(std::string_view identity) const;
    /// All devices, by identity.
    std::vector<device_record> devices() const;

    /// Inserts or replaces the row for (key, config). The key's GPU must have been recorded.
    void record_measurement(const measurement& result);
    /// Records a batch of measurements and, if given, the winner in one transaction (used at the
    /// end of a tune): all of it is stored or, on an error, none.
    void record_measurements(const std::vector<measurement>& results,
                             const std::optional<winner>& best = std::nullopt);
    /// The key's rows: ok ones by median_us (fastest first), then the others by config.
    std::vector<measurement> measurements(const tuning_key& key) const;

    /// Every measurement of the keys `filter` matches, ordered by template, dtype, problem key,
    /// GPU, template hash and NVRTC version, then within a key as measurements(key) orders them.
    std::vector<measurement> find_measurements(const key_filter& filter) const;

    /// Deletes the measurements and winners of the keys `filter` matches, and nothing else
    /// (devices, binaries and programs stay), in one transaction: all of it or, on an error,
    /// none. A filter that matches everything is refused (kerntune::error), so that no mistake
    /// forgets a whole database.
    forgotten forget(const key_filter& filter);

    /// Inserts or replaces the winner of its key. The key's GPU must have been recorded.
    void set_winner(const winner& best);
    /// Deletes the winner of this key; true if there was one.
    bool remove_winner(const tuning_key& key);
    /// The winner of this key, if any.
    std::optional<winner> find_winner(const tuning_key& key) const;
    /// All winners, ordered by template, dtype, problem key, GPU, template hash, NVRTC version.
    std::vector<winner> winners() const;
    /// The winners of the keys `filter` matches, in the same order.
    std::vector<winner> winners(const key_filter& filter) const;

    /// Inserts or replaces the cached binary of its key.
    void store_binary(const kernel_binary& binary);
    /// The cached binary of this key, if any.
    std::optional<kernel_binary> find_binary(const binary_key& key) const;

    /// Inserts or replaces the cached program of its key.
    void store_program(const cached_program& program);
    /// The cached program of this key, if any.
    std::optional<cached_program> find_program(const std::string& cache_key) const;

    /// Every device, measurement and winner, read in one snapshot, in record_set's order (by
    /// key, never by median: the order of export files, whose diffs stay small), each as it was
    /// recorded. Every row must be one that import would take: its numbers as reads require, its
    /// texts as kerntune writes them (a SHA-256 template hash, a config shaped as a label, a
    /// kerntune dtype, times as the database writes them) and its labels as `labels` says. The
    /// first that is not is a kerntune::error naming the file and the row (`db check` and `db
    /// forget` help), so that nothing is left out unsaid.
    record_set records(const label_check& labels = {}) const;

    /// Merges the rows of `inputs`, in order, into this database in one transaction: all of it
    /// or, on an error, none (docs/FLEET.md, "Merge rules"). A row whose key the database lacks
    /// is added as recorded; one equal in every field changes nothing; one that differs is a
    /// conflict, reported, which the incoming row wins only with a lower median by the same
    /// method. Devices are added, never replaced. Nothing is ever deleted, so merging the same
    /// rows again, or a database into itself, changes nothing. A row of this database under an
    /// incoming key that reads would leave out is an error (nothing merged): `db check` names it.
    merge_report merge(const std::vector<record_set>& inputs);

    /// SQLite's PRAGMA integrity_check: "ok" when the file is sound, else the problems found.
    std::string integrity_check() const;

private:
    struct impl;
    explicit database(std::unique_ptr<impl> state);
    std::unique_ptr<impl> m_impl;
};

/// The schema version this build reads and writes (tuning_db/schema.sql's PRAGMA user_version).
int known_schema_version();

/// Where the tuning database lives by default: $KERNTUNE_DB if set and non-empty, else
/// $XDG_DATA_HOME/kerntune/tuning.db, else $HOME/.local/share/kerntune/tuning.db.
std::filesystem::path default_db_path();

} // namespace kerntune
