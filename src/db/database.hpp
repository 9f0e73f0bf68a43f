#pragma once
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kerntune {

/// A GPU as the tuner saw it. Results are reused only on an identical identity
/// (name + compute capability + SM count).
struct device_record {
    std::string identity;
    std::string name;
    int cc_major = 0, cc_minor = 0, sm_count = 0;
    std::int64_t memory_clock_khz = 0;
    int bus_width_bits = 0;
    std::int64_t l2_bytes = 0;
    double theoretical_gbps = 0;  ///< memory clock x bus width x 2
    double copy_gbps = 0;         ///< measured device-to-device copy, bytes read + written
    std::string driver_version;
};

/// Everything a result depends on; anything different is a miss.
struct tuning_key {
    std::string template_name, template_hash, dtype, problem_key, gpu_identity, nvrtc_version;
};

/// One candidate's outcome. status: ok, compile_failed, resource_limit, launch_failed,
/// runtime_fault, timeout or wrong_answer.
struct measurement {
    tuning_key key;
    std::string config;  ///< canonical label
    std::string status;
    double median_us = 0, noise = 0, gbps = 0;
    int samples = 0;
    std::string message;
    std::string measured_at;  ///< set by the database (UTC, ISO 8601)
};

/// The fastest ok candidate for a key.
struct winner {
    tuning_key key;
    std::string config;
    double median_us = 0, gbps = 0, pct_theoretical = 0, pct_copy = 0;
    int candidates_ok = 0, candidates_failed = 0;
    double tune_seconds = 0;
    std::string tuned_at;  ///< set by the database
};

/// What a compiled kernel depends on.
struct binary_key {
    std::string template_hash, config, dtype, arch, nvrtc_version;
};

/// A compiled kernel: its cubin, the SHA-256 of the cubin, and the kernel's mangled name.
struct kernel_binary {
    binary_key key;
    std::string lowered_name;
    std::string digest;
    std::string cubin;
};

enum class open_mode { read_write, read_only };

/// The tuning database (tuning_db/schema.sql): SQLite in WAL mode, every write one short
/// BEGIN IMMEDIATE transaction, bound parameters only. Safe for many processes at once: a busy
/// database is waited for (up to a minute), never reported as "database is locked".
class database {
public:
    /// read_write creates the file and schema if needed (never the folder); read_only never
    /// writes. A file that is not a kerntune database, or is from a newer schema, is an error
    /// and is left untouched.
    static database open(const std::filesystem::path& path, open_mode mode);

    database(database&& other) noexcept;
    database& operator=(database&& other) noexcept;
    ~database();

    const std::filesystem::path& path() const;
    int schema_version() const;

    void upsert_device(const device_record& device);
    std::vector<device_record> devices() const;

    /// Inserts or replaces the row for (key, config).
    void record_measurement(const measurement& result);
    /// The key's rows: ok ones fastest first, then the others by config.
    std::vector<measurement> measurements(const tuning_key& key) const;

    void set_winner(const winner& best);
    std::optional<winner> find_winner(const tuning_key& key) const;
    /// All winners, by template, dtype and problem key.
    std::vector<winner> winners() const;

    void store_binary(const kernel_binary& binary);
    std::optional<kernel_binary> find_binary(const binary_key& key) const;

    /// SQLite's PRAGMA integrity_check: "ok" when the file is sound.
    std::string integrity_check() const;

private:
    struct state;
    explicit database(std::unique_ptr<state> s);
    std::unique_ptr<state> m_state;
};

/// $KERNTUNE_DB if set and non-empty, else $XDG_DATA_HOME/kerntune/tuning.db, else
/// $HOME/.local/share/kerntune/tuning.db.
std::filesystem::path default_db_path();

} // namespace kerntune
