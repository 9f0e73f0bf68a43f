#pragma once
// What the CLI prints: plain-text tables and the JSON of --json. nlohmann-json is the one JSON
// writer (the CLI builds its documents from these functions only), so that every --json output
// is valid JSON: non-finite numbers are null and bytes that are not UTF-8 are replaced.
#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/kernel_spec.hpp"
#include "core/text.hpp"
#include "db/database.hpp"
#include "tune/tuner.hpp"

namespace kerntune {

/// A plain-text table with aligned columns, for the CLI.
struct text_table {
    /// The most characters a cell shows. Every row is padded to its column's widest cell, so one
    /// long value (a tampered label, a GPU name) set the width of every row: a 1.2 MB database
    /// printed 501 MB. 60 holds every label, problem key and GPU identity kerntune writes (the
    /// longest label is 32, an H100's identity 35) and the first line of most messages.
    static constexpr std::size_t max_cell_width = 60;

    std::vector<std::string> headers;
    std::vector<std::vector<std::string>> rows = {};  ///< a row with fewer cells than headers is padded
    /// The table, one line per row: each cell printable() (control characters escaped, cut to
    /// max_cell_width with "..."), its columns aligned by display width.
    std::string render() const;
};

/// "12.3": fixed-point with `digits` decimals.
std::string fixed(double value, int digits);

/// What every JSON document says about the program that wrote it.
struct report_header {
    std::string command;                ///< the command line, argv joined by spaces
    std::optional<std::string> driver;  ///< the CUDA driver's version, when a GPU was asked
    std::optional<std::string> gpu;     ///< the GPU's identity, when the command used one
};

/// The document every `--json` prints, indented, with a final newline:
///   {"kerntune": {"version", "schema_version", "command", "nvrtc", "driver"?, "gpu"?},
///    "result": result}
/// schema_version is the database schema this build knows. Non-finite numbers are written as
/// null, and bytes that are not UTF-8 (a file name) as U+FFFD.
std::string json_document(const report_header& header, const nlohmann::ordered_json& result);

/// The table printed at the end of `kerntune tune`. `gpu_column`: a column "gpu" after the
/// shape with the index of the GPU that measured each key, as a tune on several GPUs prints it.
/// A key no GPU measured (tune_outcome::lane none) reads "(not measured)", "-" elsewhere.
text_table tune_table(const std::vector<tune_outcome>& outcomes, bool gpu_column = false);
/// `tune --json`'s result: {"op", "device", "results": [{dtype, shape, problem, ok, failed,
/// resumed, unmeasured, compile_seconds, seconds, winner}]}.
nlohmann::ordered_json tune_json(const std::string& op, const device_record& device, const std::vector<tune_outcome>& outcomes);

/// What `kerntune tune` prints of a tune_lanes report, the same whatever the number of GPUs: on
/// one lane exactly what it printed before lanes (tune_table, tune_json, one heading line); on
/// several, the heading has a line per group of GPUs, the table a gpu column, and the JSON
/// document is {"op", "devices": [{"index", device...} per lane], "results": [{dtype, shape,
/// problem, gpu_index (null: not measured), gpu (identity), ok, failed, resumed, unmeasured,
/// compile_seconds, seconds, winner}], "lost_gpus", "unmeasured_keys"}. "lost_gpus" ([{gpu_index,
/// reason, interrupted: {dtype, shape, problem} or null, handed_over}]) and "unmeasured_keys"
/// ([{dtype, shape, problem, gpu}]) are in one lane's document too when not empty.
std::string tune_heading(const std::string& op, const tune_report& report);
text_table tune_table(const tune_report& report);
nlohmann::ordered_json tune_json(const std::string& op, const tune_report& report);
/// What went wrong with the GPUs, one line each for stderr (no "kerntune: " prefix): each lost
/// GPU with why and what became of its key, then each key no GPU measured. Empty when nothing did.
std::vector<std::string> tune_losses_text(const tune_report& report);

/// `tune --dry-run --json`'s result: {"op", "arch", "results": [...], "compile_failures": [...]}.
nlohmann::ordered_json compile_json(const std::string& op, const std::string& arch, const std::vector<compile_outcome>& outcomes);

/// Kernels that failed to compile with the same log. Logs name their kernel (NVRTC quotes the
/// name expression, spaced its own way), so logs are the same when they are equal once every
/// kernel's own name and all white space are taken out; `log` is the first kernel's, verbatim.
struct compile_log_group {
    std::string log;
    std::vector<std::string> kernels;  ///< in the order they failed
};
std::vector<compile_log_group> group_by_log(const std::vector<compile_failure>& failures);
/// The groups as the CLI prints them on stderr: each distinct log once, after a line naming the
/// first kernel and how many share the log; every line printable().
std::string compile_failures_text(const std::vector<compile_log_group>& groups);

/// `kerntune db show`: the winners and the devices they were measured on. `numbered` adds the
/// GPU index column (`kerntune devices`: devices in driver order).
text_table winners_table(const std::vector<winner>& winners);
text_table devices_table(const std::vector<device_record>& devices, bool numbered = false);
/// `kerntune db show --candidates`: every measurement row (a failure's message, first line only).
text_table measurements_table(const std::vector<measurement>& rows);

nlohmann::ordered_json device_json(const device_record& device);
nlohmann::ordered_json winner_json(const winner& w);
nlohmann::ordered_json measurement_json(const measurement& m);

/// "[rows, cols]": a spec's problem axes.
std::string axes_text(const kernel_spec& spec);
/// "1048576, 16777216, 4096x393216": the shapes a tune without --shape tunes, or what it needs.
std::string default_shapes_text(const kernel_spec& spec);
/// "in T x[n], out T y[n], i64 n = n, f32 negative_slope = 0.01 (caller)"; an optional buffer
/// ends with " (optional)".
std::string signature_text(const kernel_spec& spec);
/// `kerntune list --json`'s entry for one template.
nlohmann::ordered_json spec_json(const kernel_spec& spec);

} // namespace kerntune
