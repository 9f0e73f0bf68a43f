// kerntune: tune kernel templates for the local GPU and inspect the results.
// The logic lives in src/ (tune/tuner, tune/report, db/database); this file parses the command
// line (CLI11), prints, and maps failures to one line on stderr and an exit status:
//   0  done
//   1  a failure: no GPU, a database that cannot be opened, an unknown op, a key with no valid
//      candidate, a GPU lost mid-tune or a key no GPU measured (tune --devices); anything
//      checked against the templates, the database or the GPU; a shard that
//      is not one (--shard 3/2), as the scheduler's variables that give it are checked alike
//   2  a malformed command line, found before anything is loaded: an unknown command or option,
//      a missing value, a value that fails its check (--budget -1, --shape 0x5, --dtype f64),
//      options that do not go together (--dry-run --db)
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <future>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "catalog/catalog.hpp"
#include "core/config.hpp"
#include "core/error.hpp"
#include "core/problem.hpp"
#include "core/text.hpp"
#include "core/version.hpp"
#include "cuda/device.hpp"
#include "cuda/nvrtc.hpp"
#include "db/database.hpp"
#include "db/jsonl.hpp"
#include "db/label_domain.hpp"
#include "db/shipped_rows.hpp"
#include "standard_output.hpp"
#include "tune/device_lanes.hpp"
#include "tune/progress_view.hpp"
#include "tune/report.hpp"
#include "tune/shard.hpp"
#include "tune/tuner.hpp"
#include "tune/worker_client.hpp"

namespace {

using namespace kerntune;
using json = nlohmann::ordered_json;


/// A malformed command line found after CLI11 parsed it (options that do not go together):
/// printed with a hint to --help, exit status 2.
struct usage_error : error {
    using error::error;
};

// ---- help texts: what the option list CLI11 prints does not say ----

const char* const main_description = R"(kerntune: autotuned memory-bound CUDA kernels, compiled with NVRTC for the exact GPU.

usage: kerntune <command> [options]        kerntune <command> --help for a command's options
)";

const char* const main_footer = R"(Every command takes --json (one JSON document on stdout:
{"kerntune": {version, schema_version, command, nvrtc, driver, gpu}, "result": ...}),
-v (debug logs on stderr) and --help.

exit status: 0 done; 1 a failure (no GPU, a database that cannot be opened, an unknown op, a
key with no valid candidate, a GPU lost mid-tune); 2 a malformed command line (an unknown command or option, a
missing value, a value that fails its check, options that do not go together).

templates: the built-in ones are compiled into kerntune; KERNTUNE_TEMPLATES and --templates add
folders of your own.

environment:
  KERNTUNE_DB            the tuning database (default: $XDG_DATA_HOME/kerntune/tuning.db,
                         else ~/.local/share/kerntune/tuning.db); --db overrides it
  KERNTUNE_TEMPLATES     folders of your own templates, ':'-separated like PATH, added to the
                         built-in ones (also --templates DIR[:DIR...] on tune, list and db)
  KERNTUNE_CUDA_INCLUDE  CUDA headers for NVRTC (default: $CUDA_HOME/include, /usr/local/cuda/include)

example:
  kerntune tune --op leaky_relu --dtype f32,f16,bf16 --shape 4096x393216,1048576
)";

const char* const tune_description = R"(usage: kerntune tune (--op OP | --expr TEXT [--scalar NAME=VALUE ...]) [--dtype LIST] [--shape LIST]
                     [--device N | --devices LIST] [--db PATH]
                     [--timeout SECONDS] [--budget SECONDS] [--retry-failed | --force]
                     [--shard K/N] [--templates DIRS] [--json] [-v]
       kerntune tune --dry-run --arch sm_XY (--op OP | --expr TEXT) [--dtype LIST] [--shard K/N] [--templates DIRS] [--json]

Compiles every candidate of the template OP with NVRTC for the GPU's exact arch, checks each
against the template's reference on fresh random data as its spec says (bit for bit for
leaky_relu, NaN, +-inf, +-0 and subnormals included), times the valid ones with CUDA events
(L2 flushed before every sample), and stores every result and the winner per (template, dtype,
shape, GPU) in the database. GPU work runs in a worker process: a candidate that faults or
hangs is recorded as runtime_fault or timeout and the tune carries on.

The candidates at a shape are the configs of the space that the template's problem constraints
admit there (`kerntune list` shows them: the row reductions leave out more threads for a row than
it has elements).

Candidates already measured under the same key are skipped, so an interrupted tune resumes where
it stopped. A stored timeout, launch_failed or runtime_fault may have been the machine's fault
(a loaded GPU, a --timeout too short): --retry-failed measures those again; --force measures
every candidate again. `kerntune db forget` deletes a key's results.

--expr tunes an elementwise expression (docs/EXPRESSIONS.md), e.g. --expr 'x * sigmoid(x)' or
--expr 'x * sigmoid(alpha * x)' --scalar alpha=1.5: its template is generated from the parsed
text, under an op name derived from its canonical form (white space and the spelling of literals
do not matter), which the report prints and applications find by the same expression. A text
that does not parse is exit 1, with one line naming the column.

A dry run only compiles (no GPU, no database): --db, --shape, --device, --devices, --timeout,
--budget, --retry-failed and --force are refused with it, as --arch is without it.

Several GPUs: --devices all (or 0,2,3) runs a worker per GPU. GPUs of one identity (name, compute
capability, SM count) share the work list, each (dtype, shape) measured entirely on one of them,
largest first; each arch compiles once for all of its GPUs. A GPU whose worker dies mid-tune
hands its key to the rest of its group, which measures it again from scratch; the table's gpu
column says which GPU measured each key, and a lost GPU or a key no GPU measured is said on
stderr and is exit 1 (docs/MULTI_GPU.md). --devices with one GPU is the same as --device.

Fleet tuning: --shard K/N (K from 0 to N - 1) tunes shard K of N of the work list, every
(dtype, shape) pair, split alike on every machine given the same command (a dry run splits its
dtypes). Without --shard, a scheduler's variables give the shard, said in one line on stderr:
a Slurm job array's SLURM_ARRAY_TASK_ID (counted from SLURM_ARRAY_TASK_MIN) and
SLURM_ARRAY_TASK_COUNT, Slurm's SLURM_PROCID and SLURM_NTASKS, a Kubernetes Indexed Job's
JOB_COMPLETION_INDEX with KERNTUNE_SHARD_COUNT, torchrun's RANK and WORLD_SIZE, Open MPI's
OMPI_COMM_WORLD_RANK and OMPI_COMM_WORLD_SIZE. Give each shard its own --db, then gather them
with `kerntune db merge`. A shard that is not one (3/2, 0/0, a/b) is exit 1.
)";

const char* const tune_footer = R"(Template OP: the built-in templates (compiled into kerntune), then those of the folders of
$KERNTUNE_TEMPLATES and --templates; `kerntune list` shows them. dtypes take kerntune's names
(f32, f16, bf16) and torch's or numpy's (float32, torch.half, bfloat16, ...), in any case.
)";

const char* const devices_description = R"(usage: kerntune devices [--json] [-v]

Lists each GPU by index (the N of tune --device N) with its compute capability, SM count, L2
size, theoretical bandwidth (memory clock x bus width x 2) and a measured device-to-device copy
bandwidth (1 GiB, bytes read + written, median of 10).
)";

const char* const list_description = R"(usage: kerntune list [--templates DIRS] [--json]

Lists the templates: the built-in ones (compiled into kerntune), then those of the folders in
$KERNTUNE_TEMPLATES and --templates (':'-separated), each with its problem axes, kernel
signature, parameters with their domains, and the size of the tuning space per dtype after
constraints. A folder that fails to load is an error naming the file and line; a name already
taken names both files.
)";

const char* const db_description = R"(usage: kerntune db show [--candidates] [FILTER] [--db PATH] [--json]
       kerntune db check [--db PATH] [--json]
       kerntune db forget --op OP [--dtype D] [--shape S] [--gpu G] [--db PATH] [--json]
       kerntune db export [--db PATH] [--format jsonl] [--output FILE|-]
       kerntune db import FILE [--db PATH] [--json]
       kerntune db merge A.db [B.db ...] --into C.db [--json]

show    the devices and the winners stored (read-only); --candidates: every measurement row
check   SQLite's integrity check and the schema version; exit 1 unless the file is sound
forget  delete the measurements and winners of matching keys, so that they are tuned afresh
export  every device, measurement and winner as JSON Lines, one record a line (read-only)
import  the records of an export into a database, all of them or none
merge   the records of databases (a fleet's shards) into one, all of them or none
)";

const char* const filter_footer = R"(FILTER: --op OP, --dtype D, --shape S (with --op: the op's axes make it a problem key) and
--gpu G (a GPU identity as `db show` prints it, or a local GPU's index) select keys; every
template hash and NVRTC version of a key is included.
)";

const char* const show_description = R"(usage: kerntune db show [--candidates] [--op OP] [--dtype D] [--shape S] [--gpu G]
                        [--db PATH] [--templates DIRS] [--json]

The devices and the winners stored in a tuning database (read-only), then the shipped winners
(tuning_db/, installed with kerntune, or $KERNTUNE_SHIPPED_DB) that the filter matches, each
marked: used (where the database has no row of its key), under the database's row, or stale
template (tuned with another version of it: never used). Before the first tune there is no
database at the default path: show then lists the shipped winners alone (a database named by
--db or $KERNTUNE_DB must exist). --candidates lists every
measurement row instead: config, status, median, GB/s, noise, samples, time and message (first
line in the table, whole with --json). With --json the result is one document,
{"database", "schema_version", "devices", "winners"} or {"database", "schema_version",
"devices", "measurements"}, for analysis elsewhere (e.g. jq '.result.measurements[]'); the
first also holds "shipped": {"files", "winners"}, each winner with its "shipped" mark.
)";

const char* const check_description = R"(usage: kerntune db check [--db PATH] [--json]

SQLite's integrity check and the schema version. Exit 1 unless the file is a sound kerntune
database.
)";

const char* const forget_description = R"(usage: kerntune db forget --op OP [--dtype D] [--shape S] [--gpu G] [--db PATH]
                          [--templates DIRS] [--json]

Deletes the measurements and winners of the matching keys, and only those (devices and
compiled binaries stay), in one transaction, and prints how many rows it removed. The next
tune of those keys measures every candidate afresh.
)";

const char* const export_description = R"(usage: kerntune db export [--db PATH] [--format jsonl] [--output FILE|-] [--winners] [--templates DIRS] [--json]

Writes every device, measurement (with its status) and winner of the database as JSON Lines:
a header line {"format":"kerntune-tuning-db","format_version":1}, then one record a line, each
the row's columns with its provenance (when and by which kerntune it was measured, the timing
method, the driver), ordered by key, so that the same database always gives the same bytes and
`db import` then `db export` gives them back. Compiled binaries and programs are not exported:
they are a cache, rebuilt from the templates. Every row must be one import takes (labels are
checked against the templates here); the first that is not is an error naming it, and nothing
is written. --output writes FILE whole or not at all (stdout by default); --json, with
--output, prints a summary. --winners writes only the winners, the measurement of each winner's
config and the devices they name: what tuning_db/ ships (docs/SHIPPED.md).
)";

const char* const import_description = R"(usage: kerntune db import FILE [--db PATH] [--templates DIRS] [--json]

Reads an export (FILE, or - for stdin) and merges its records into the database, creating it
if needed, in one transaction. Every line is checked first: the header (another format or a
newer format version is refused), the fields of its table and their types, the values the
database takes, a SHA-256 template hash, a config of the template's declared domain (when the
template is known here at that hash), no record given twice, a device line for every GPU. The
first line that fails is one error with its line number, and nothing is imported. Rows whose
key the database holds already follow the rules of `db merge`.
)";

const char* const merge_description = R"(usage: kerntune db merge A.db [B.db ...] --into C.db [--templates DIRS] [--json]

Gathers the devices, measurements and winners of the databases A, B, ... (opened read-only, in
the order given) into C (created if needed) in one transaction, each row as recorded, its
provenance included. A key C lacks is added; a row equal in every field changes nothing; a row
that differs from C's is a conflict, reported: it replaces C's only when both are ok and were
timed by the same method with a lower median (the GPU identity is part of the key), else C's
stays. Devices C holds are kept as they are. Nothing is deleted, so merging again, or merging
C into itself, changes nothing. C may be written by a running tune meanwhile: the merge waits
for its turn (up to 60 s for the tune's current transaction, which is short). Every source row
is checked as import checks a line; the first that fails is an error, and nothing is merged.
)";

// ---- checks of option values, run by CLI11 before anything is loaded ----

/// A CLI11 check from a function that returns "" or what is wrong with the value.
CLI::Validator value_check(std::function<std::string(const std::string&)> problem) {
    return CLI::Validator([problem](std::string& value) { return problem(value); }, "");
}

/// A number of seconds in [low, high]; nullopt when the text is not one.
std::optional<double> seconds_in(const std::string& text, double low, double high) {
    char* end = nullptr;
    const double value = std::strtod(text.c_str(), &end);
    if (text.empty() || *end != '\0' || !std::isfinite(value) || value < low || value > high) return std::nullopt;
    return value;
}

// Why 0.001 s: the worker's timeout is in milliseconds, and less than one rounds to none.
// Why 86400 s: a day is more than any candidate needs, and fits the millisecond int.
constexpr double min_timeout_seconds = 0.001, max_timeout_seconds = 86'400, max_budget_seconds = 1e9;

std::string timeout_problem(const std::string& text) {
    return seconds_in(text, min_timeout_seconds, max_timeout_seconds)
               ? ""
               : "must be a number of seconds from 0.001 to 86400 (e.g. 20 or 0.5), not '" + text + "'";
}

std::string budget_problem(const std::string& text) {
    const std::optional<double> value = seconds_in(text, 0, max_budget_seconds);
    return value && *value > 0 ? "" : "must be a positive number of seconds, not '" + text + "'";
}

/// A GPU index: digits only, below 1024 (more GPUs than any host has).
std::optional<int> gpu_index(const std::string& text) {
    if (text.empty() || text.size() > 4 || text.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
    const int value = std::stoi(text);
    return value < 1024 ? std::optional<int>(value) : std::nullopt;
}

std::string index_problem(const std::string& text) {
    return gpu_index(text) ? "" : "must be a GPU index (0, 1, ...: kerntune devices lists them), not '" + text + "'";
}

/// Runs `parse` on the text; its kerntune::error's message is the problem.
template <typename Parse> std::string parse_problem(Parse parse, const std::string& text) {
    try {
        parse(text);
        return "";
    } catch (const error& failure) {
        return failure.what();
    }
}

std::string dtypes_problem(const std::string& text) { return parse_problem(parse_dtype_list, text); }
std::string dtype_problem(const std::string& text) { return parse_problem(parse_dtype_name, text); }
std::string shapes_problem(const std::string& text) { return parse_problem(parse_shape_list, text); }
std::string shape_problem(const std::string& text) { return parse_problem(parse_shape, text); }

std::string arch_problem(const std::string& text) {
    static const std::regex arch(R"(sm_[0-9]{2,3}[a-z]?)");
    return std::regex_match(text, arch) ? "" : "must be a GPU arch such as sm_90 or sm_90a, not '" + text + "'";
}

std::string not_empty_problem(const std::string& text) { return text.empty() ? "must not be empty" : ""; }

// Its form only: whether each GPU exists is the machine's to say (exit 1), as for --device.
std::string devices_problem(const std::string& text) { return parse_problem(device_list_indices, text); }

// ---- what the command line holds ----

/// What every command takes.
struct common_args {
    bool json = false;
    bool verbose = false;
};

struct tune_args {
    std::string op, expr, dtypes, shapes, device = "0", devices, db, timeout, budget, arch, templates;
    std::vector<std::string> scalars;  // --scalar NAME=VALUE, the scalars --expr declares
    std::optional<std::int64_t> dim;  // the dim a reduction's shapes reduce
    std::string shard;                // --shard K/N, checked by parse_shard (exit 1, as the environment's)
    bool dry_run = false, retry_failed = false, force = false;
};

/// The key filter of `db show` and `db forget`, as typed.
struct filter_args {
    std::string op, dtype, shape, gpu, templates;
};

struct db_args {
    std::string db;
    filter_args filter;  // its templates also serve export, import and merge
    bool candidates = false;
    std::string format = "jsonl", output = "-";  // db export
    bool winners_only = false;                    // db export --winners: a shipped file
    std::string file;                             // db import
    std::vector<std::string> sources;             // db merge
    std::string into;                             // db merge
};

/// The whole command line and where CLI11 put it.
struct command_line {
    CLI::App app{"", "kerntune"};
    CLI::App* tune = nullptr;
    CLI::App* devices = nullptr;
    CLI::App* list = nullptr;
    CLI::App* db = nullptr;
    CLI::App* db_show = nullptr;
    CLI::App* db_check = nullptr;
    CLI::App* db_forget = nullptr;
    CLI::App* db_export = nullptr;
    CLI::App* db_import = nullptr;
    CLI::App* db_merge = nullptr;
    common_args common;
    tune_args tuning;
    std::string list_templates;
    db_args database;
    std::string text;  ///< argv joined by spaces, for the JSON header
};

/// CLI11's help layout with each command's long description (kerntune's usage lines and what
/// the option list does not say) in place of CLI11's usage line; the one-line description stays
/// for the list of commands.
class help_formatter : public CLI::Formatter {
public:
    void describe(const CLI::App* command, std::string text) {
        while (!text.empty() && text.back() == '\n') text.pop_back();
        m_long[command] = std::move(text);
    }
    std::string make_usage(const CLI::App*, std::string) const override { return ""; }
    std::string make_description(const CLI::App* command) const override {
        const auto it = m_long.find(command);
        return it == m_long.end() ? CLI::Formatter::make_description(command) : it->second + "\n";
    }

private:
    std::map<const CLI::App*, std::string> m_long;
};

void add_common(CLI::App& command, common_args& common) {
    command.add_flag("--json", common.json, "print one JSON document on stdout");
    command.add_flag("-v,--verbose", common.verbose, "debug logs on stderr");
}

void add_db_path(CLI::App& command, std::string& db) {
    command.add_option("--db", db, "tuning database (default: $KERNTUNE_DB, else ~/.local/share/kerntune/tuning.db)")
        ->type_name("PATH")
        ->check(value_check(not_empty_problem));
}

void add_templates(CLI::App& command, std::string& templates) {
    command.add_option("--templates", templates,
                       "template folders to add, ':'-separated (besides the built-in ones and $KERNTUNE_TEMPLATES)")
        ->type_name("DIRS");
}

void add_filter(CLI::App& command, filter_args& filter, bool op_required) {
    CLI::Option* op = command.add_option("--op", filter.op, op_required ? "the template whose keys to forget"
                                                                        : "only the keys of this template")
                          ->type_name("OP")
                          ->check(value_check(not_empty_problem));
    if (op_required) op->required();
    command.add_option("--dtype", filter.dtype, "only this dtype (f32, float32, torch.half, ...)")
        ->type_name("D")
        ->check(value_check(dtype_problem));
    command.add_option("--shape", filter.shape, "only this shape, e.g. 1048576 or 4096x1024 (needs --op)")
        ->type_name("S")
        ->check(value_check(shape_problem));
    command.add_option("--gpu", filter.gpu, "only this GPU: its identity as db show prints it, or a local GPU's index")
        ->type_name("G")
        ->check(value_check(not_empty_problem));
    add_templates(command, filter.templates);
}

void define(command_line& cl) {
    CLI::App& app = cl.app;
    const auto help = std::make_shared<help_formatter>();
    help->column_width(26);
    app.formatter(help);
    help->describe(&app, main_description);
    app.footer(main_footer);
    app.set_version_flag("--version", [] {
        return "kerntune " + std::string(kerntune_build()) + "\nNVRTC " + nvrtc_version();
    }, "print kerntune's and NVRTC's versions");
    app.require_subcommand(0, 1);

    cl.tune = app.add_subcommand("tune", "compile, validate and time every candidate of a template; store results and winners");
    CLI::App& tune = *cl.tune;
    tune_args& t = cl.tuning;
    help->describe(&tune, tune_description);
    tune.footer(tune_footer);
    CLI::Option* op = tune.add_option("--op", t.op, "template to tune (kerntune list shows them)")->type_name("OP");
    CLI::Option* expr = tune.add_option("--expr", t.expr, "an elementwise expression to tune, e.g. \"x * sigmoid(x)\"")->type_name("TEXT");
    op->excludes(expr);
    tune.add_option("--scalar", t.scalars,
                    "with --expr: declares a scalar the expression reads and its default, e.g. alpha=1.5;\n"
                    "repeat it for several, in the order a launch gives them")
        ->type_name("NAME=VALUE")
        ->needs(expr);
    tune.add_option("--dtype", t.dtypes, "comma-separated, e.g. f32,f16,bf16 (default: every dtype the template declares)")
        ->type_name("LIST")
        ->check(value_check(dtypes_problem));
    tune.add_option("--shape", t.shapes,
                    "comma-separated shapes, dims joined by x. A template whose problem is one axis (n)\n"
                    "takes any shape and tunes its element count; one with several axes (kerntune list\n"
                    "shows them) takes one dimension per axis, e.g. 4096x1024 for [rows, cols]. Default:\n"
                    "the shapes kerntune list shows for the template: those it declares, after the row\n"
                    "reductions' ladder when it declares `regimes: rows`; for a one-axis template that\n"
                    "declares none, the elementwise ladder (one shape or more in every regime, 4096 to\n"
                    "4096x393216); any other needs --shape")
        ->type_name("LIST")
        ->check(value_check(shapes_problem));
    tune.add_option("--dim", t.dim,
                    "reductions (axes [outer, reduce, inner]): the shapes are tensor shapes and this is the\n"
                    "dim they reduce, negative from the end (e.g. --shape 8x64x32x32 --dim 1). Without\n"
                    "it a shape of three dims is the axes, any other a tensor reduced over its last dim")
        ->type_name("DIM");
    CLI::Option* device = tune.add_option("--device", t.device, "GPU index (default 0; kerntune devices lists them)")
                              ->type_name("N")
                              ->check(value_check(index_problem));
    tune.add_option("--devices", t.devices,
                    "GPUs to tune on together: all, or indices such as 0,2,3 (a worker per GPU; see above)")
        ->type_name("LIST")
        ->check(value_check(devices_problem))
        ->excludes(device);
    add_db_path(tune, t.db);
    tune.add_option("--timeout", t.timeout,
                    "per-candidate limit in seconds, fractions allowed (default 20): a candidate that\n"
                    "has not answered by then is killed and stored as timeout")
        ->type_name("SECONDS")
        ->check(value_check(timeout_problem));
    tune.add_option("--budget", t.budget,
                    "wall-clock limit for the whole tune (default: none). Checked between candidates;\n"
                    "each dtype and shape still measures its default config first. What is not\n"
                    "measured shows as \"unmeasured\" and the same command again measures it")
        ->type_name("SECONDS")
        ->check(value_check(budget_problem));
    tune.add_flag("--retry-failed", t.retry_failed,
                                       "measure again the stored candidates that timed out, failed to launch or\n"
                                       "faulted (ok ones and compile, resource and wrong-answer failures are kept)");
    tune.add_flag("--force", t.force, "measure every candidate again, replacing what is stored");
    tune.add_flag("--dry-run", t.dry_run, "only compile every variant (no GPU, no database); needs --arch");
    tune.add_option("--arch", t.arch, "target arch for --dry-run, e.g. sm_90")->type_name("sm_XY")->check(value_check(arch_problem));
    tune.add_option("--shard", t.shard,
                    "tune shard K of N of the work list (K from 0 to N - 1), into this shard's own --db;\n"
                    "without it, a scheduler's variables give the shard (see above)")
        ->type_name("K/N");
    add_templates(tune, t.templates);
    add_common(tune, cl.common);

    cl.devices = app.add_subcommand("devices", "the GPUs here by index: compute capability, SMs, theoretical and measured copy bandwidth");
    help->describe(cl.devices, devices_description);
    add_common(*cl.devices, cl.common);

    cl.list = app.add_subcommand("list", "the kernel templates, their parameters and the size of each tuning space");
    help->describe(cl.list, list_description);
    add_templates(*cl.list, cl.list_templates);
    add_common(*cl.list, cl.common);

    cl.db = app.add_subcommand("db", "the tuning database: db show, check, forget, export, import, merge");
    help->describe(cl.db, db_description);
    cl.db->require_subcommand(0, 1);
    db_args& d = cl.database;
    cl.db_show = cl.db->add_subcommand("show", "the devices and winners stored; --candidates: every measurement");
    help->describe(cl.db_show, show_description);
    cl.db_show->footer(filter_footer);
    cl.db_show->add_flag("--candidates", d.candidates, "every measurement row instead of the winners");
    add_filter(*cl.db_show, d.filter, false);
    add_db_path(*cl.db_show, d.db);
    add_common(*cl.db_show, cl.common);

    cl.db_check = cl.db->add_subcommand("check", "SQLite's integrity check and the schema version");
    help->describe(cl.db_check, check_description);
    add_db_path(*cl.db_check, d.db);
    add_common(*cl.db_check, cl.common);

    cl.db_forget = cl.db->add_subcommand("forget", "delete the measurements and winners of matching keys");
    help->describe(cl.db_forget, forget_description);
    cl.db_forget->footer(filter_footer);
    add_filter(*cl.db_forget, d.filter, true);
    add_db_path(*cl.db_forget, d.db);
    add_common(*cl.db_forget, cl.common);

    cl.db_export = cl.db->add_subcommand("export", "every device, measurement and winner as JSON Lines");
    help->describe(cl.db_export, export_description);
    add_db_path(*cl.db_export, d.db);
    cl.db_export->add_option("--format", d.format, "the format written: jsonl (JSON Lines, the only one)")
        ->type_name("jsonl")
        ->check(CLI::IsMember({"jsonl"}));
    cl.db_export->add_option("--output", d.output, "where to write: a file, written whole or not at all, or - for stdout (default)")
        ->type_name("FILE|-")
        ->check(value_check(not_empty_problem));
    cl.db_export->add_flag("--winners", d.winners_only,
                           "only the winners, the measurement of each and their devices: a file for tuning_db/ (docs/SHIPPED.md)");
    add_templates(*cl.db_export, d.filter.templates);
    add_common(*cl.db_export, cl.common);

    cl.db_import = cl.db->add_subcommand("import", "the records of an export into a database, all or none");
    help->describe(cl.db_import, import_description);
    cl.db_import->add_option("FILE", d.file, "the export to read, or - for stdin")->required()->check(value_check(not_empty_problem));
    add_db_path(*cl.db_import, d.db);
    add_templates(*cl.db_import, d.filter.templates);
    add_common(*cl.db_import, cl.common);

    cl.db_merge = cl.db->add_subcommand("merge", "databases (a fleet's shards) into one, all or none");
    help->describe(cl.db_merge, merge_description);
    cl.db_merge->add_option("SOURCES", d.sources, "the databases to merge, read-only, in this order")
        ->required()
        ->check(value_check(not_empty_problem));
    cl.db_merge->add_option("--into", d.into, "the database to merge into, created if needed (its folder must exist)")
        ->type_name("PATH")
        ->required()
        ->check(value_check(not_empty_problem));
    add_templates(*cl.db_merge, d.filter.templates);
    add_common(*cl.db_merge, cl.common);

    // Subcommands copy their parent's formatter (this one) and footer when added: a command
    // without a footer of its own shows none.
    for (CLI::App* command : {cl.devices, cl.list, cl.db, cl.db_check, cl.db_export, cl.db_import, cl.db_merge})
        command->footer("");
}

// ---- shared steps ----

/// The built-in templates and the folders of $KERNTUNE_TEMPLATES and `folders`, in that order.
catalog load_catalog(const std::string& folders) {
    catalog templates;
    for (const std::filesystem::path& folder : template_folders_from_environment()) templates.add_folder(folder);
    for (std::string_view folder : split(folders, ':'))
        if (!folder.empty()) templates.add_folder(std::string(folder));
    return templates;
}

/// Throws when a folder on the way to `path` exists but cannot be entered (no search
/// permission): then the file cannot be seen, and every later check would call it missing ("no
/// tuning database at") or SQLite "unable to open database file".
void check_folders_can_be_entered(const std::filesystem::path& path) {
    std::filesystem::path folder;
    for (const std::filesystem::path& part : path.parent_path()) {
        folder /= part;
        if (access(folder.c_str(), X_OK) == 0) continue;
        if (errno == EACCES)
            throw error("cannot use " + path.string() + ": cannot enter folder " + folder.string() + " (" +
                        std::strerror(errno) + ")");
        return;  // a folder that is missing or is not one: the checks that follow say so
    }
}

/// --db, else $KERNTUNE_DB, else the default path; every command finds its database here.
std::filesystem::path database_path(const std::string& db) {
    const std::filesystem::path path = db.empty() ? default_db_path() : std::filesystem::path(db);
    check_folders_can_be_entered(path);
    return path;
}

/// Where the database's warnings (rows it leaves out) go: spdlog, on stderr.
void warn_on_stderr(const std::string& message) { spdlog::warn("{}", message); }

bool is_default_database(const std::string& db) {
    const char* environment = std::getenv("KERNTUNE_DB");
    return db.empty() && (environment == nullptr || *environment == '\0');
}

// What tune checks before it creates or writes anything, so that a tune that cannot run leaves
// the database and its folder as they were: the folder must exist (the default one is created
// later) and be writable (SQLite keeps its -wal and -shm files there); an existing file must be
// a sound kerntune database or an empty one (which gets the schema when the tune starts).
// database::check only reads: it refuses, untouched, a file that is not one (a folder and a FIFO
// included), and leaves its journal mode and schema version to the writing open.
void check_database_for_writing(const std::filesystem::path& path, bool is_default) {
    namespace fs = std::filesystem;
    std::error_code ec;
    const fs::path folder = path.has_parent_path() ? path.parent_path() : fs::path(".");
    if (is_default && !fs::exists(folder, ec)) return;
    if (!fs::is_directory(folder, ec))
        throw error("cannot create " + path.string() + ": folder " + folder.string() + " does not exist");
    if (access(folder.c_str(), W_OK) != 0)
        throw error("cannot write " + path.string() + ": folder " + folder.string() + " is read-only");
    if (!fs::exists(path, ec)) return;
    const check_report report = database::check(path);
    if (!report.sound()) throw error(path.string() + " is not a sound kerntune database: " + report.problems());
}

// The default database's folder is created on first use; a --db or $KERNTUNE_DB folder must exist.
database open_for_writing(const std::string& db) {
    const std::filesystem::path path = database_path(db);
    if (is_default_database(db)) {
        std::error_code ec;
        std::filesystem::create_directories(path.parent_path(), ec);
        if (ec) throw error("cannot create " + path.parent_path().string() + ": " + ec.message());
    }
    return database::open(path, open_mode::read_write, warn_on_stderr);
}

/// The dtypes asked for, each one the template declares.
std::vector<dtype> requested_dtypes(const kernel_spec& spec, const std::string& text) {
    if (text.empty()) return spec.dtypes;
    const std::vector<dtype> types = parse_dtype_list(text);
    for (dtype type : types)
        if (std::find(spec.dtypes.begin(), spec.dtypes.end(), type) == spec.dtypes.end()) {
            std::string declared;
            for (dtype d : spec.dtypes) declared += (declared.empty() ? "" : ", ") + std::string(to_string(d));
            throw error("template " + spec.name + " does not support dtype " + std::string(to_string(type)) +
                        " (it declares " + declared + ")");
        }
    return types;
}

/// Prints each distinct compile log once on stderr, however many kernels share it.
void print_compile_failures(const std::vector<compile_failure>& failures) {
    if (!failures.empty()) std::cerr << compile_failures_text(group_by_log(failures));
}

/// The GPUs --device or --devices names: for "all", every GPU the driver sees; a list's GPUs
/// are checked by the workers started on them, as --device's is.
std::vector<int> requested_devices(const tune_args& t) {
    if (t.devices.empty()) return {*gpu_index(t.device)};
    if (std::optional<std::vector<int>> indices = device_list_indices(t.devices)) return *indices;
    return parse_device_list(t.devices, device_count());
}

/// The terminal's width, for the progress lines (80 when it does not say).
std::size_t terminal_columns() {
    winsize size{};
    return ioctl(STDERR_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_col > 0 ? size.ws_col : 80;
}

/// The shard a tune takes and where it came from.
struct chosen_shard {
    shard part;
    std::string source;  ///< the scheduler's variables; "" for --shard or none
    bool given = false;  ///< by --shard or the environment: shown in --json
};

/// --shard, else the shard the scheduler's environment gives, else the whole work list.
chosen_shard choose_shard(const tune_args& t) {
    if (!t.shard.empty()) return {parse_shard(t.shard), "", true};
    const std::optional<scheduler_shard> found = shard_from_environment([](const char* name) -> std::optional<std::string> {
        const char* value = std::getenv(name);
        return value != nullptr ? std::optional<std::string>(value) : std::nullopt;
    });
    if (!found) return {};
    return {found->part, found->source, true};
}

/// Says on stderr, in one line, that the environment chose the shard: a tune that splits its
/// work unasked must say so.
void say_where_the_shard_came_from(const chosen_shard& chosen, std::size_t taken, std::size_t total, const char* items) {
    if (chosen.source.empty()) return;
    std::cerr << "kerntune: shard " << to_string(chosen.part) << " from " << printable(chosen.source) << ": " << taken
              << " of " << total << " " << items << " (--shard K/N to choose)\n";
}

/// `result` with {"shard": {"index", "count", "from"}} when the tune was given one.
json with_shard(json result, const chosen_shard& chosen) {
    if (chosen.given)
        result["shard"] = {{"index", chosen.part.index},
                           {"count", chosen.part.count},
                           {"from", chosen.source.empty() ? json("--shard") : json(chosen.source)}};
    return result;
}

// ---- the commands ----

/// --expr with its --scalar declarations, parsed (an error names the column, or the --scalar).
elementwise_expression parse_expression(const tune_args& t) {
    std::vector<scalar_default> scalars;
    for (const std::string& item : t.scalars) {
        const std::size_t equals = item.find('=');
        const std::string value = equals == std::string::npos ? "" : item.substr(equals + 1);
        char* end = nullptr;
        const float parsed = value.empty() ? 0 : std::strtof(value.c_str(), &end);
        if (equals == std::string::npos || value.empty() || *end != '\0' || !std::isfinite(parsed))
            throw usage_error("--scalar " + item + ": give NAME=VALUE, a finite number, e.g. alpha=1.5");
        scalars.push_back({item.substr(0, equals), parsed});
    }
    return elementwise_expression::parse(t.expr, scalars);
}

/// How a report names the op: an expression's generated name comes with its expression.
std::string op_title(const kernel_spec& spec) {
    return spec.family.empty() ? spec.name : spec.name + " (" + spec.description + ")";
}

int run_dry_run(const command_line& cl, const kernel_spec& spec, const std::vector<dtype>& requested, standard_output& out) {
    const std::string& arch = cl.tuning.arch;
    // A dry run's work list is its dtypes: each compiles the dtype's whole space.
    const chosen_shard chosen = choose_shard(cl.tuning);
    std::vector<std::string> keys;
    for (dtype type : requested) keys.emplace_back(to_string(type));
    std::vector<dtype> dtypes;
    for (const std::size_t i : shard_positions(keys, chosen.part)) dtypes.push_back(requested[i]);
    say_where_the_shard_came_from(chosen, dtypes.size(), requested.size(), "dtypes");
    const std::vector<compile_outcome> outcomes = compile_space(spec, dtypes, arch);
    text_table table{{"dtype", "candidates", "kernels", "programs", "failed", "compile s"}};
    int failed = 0;
    for (const compile_outcome& o : outcomes) {
        table.rows.push_back({std::string(to_string(o.type)), std::to_string(o.candidates), std::to_string(o.kernels),
                              std::to_string(o.programs), std::to_string(o.failed), fixed(o.seconds, 2)});
        print_compile_failures(o.failures);
        failed += o.failed;
    }
    if (cl.common.json)
        out << json_document({cl.text}, with_shard(compile_json(spec.name, arch, outcomes), chosen));
    else
        out << op_title(spec) << " for " << arch << " (NVRTC " << nvrtc_version() << ")\n" << table.render();
    return failed == 0 ? 0 : 1;
}

int run_tune(const command_line& cl, standard_output& out) {
    const tune_args& t = cl.tuning;
    const CLI::App& command = *cl.tune;
    if (t.dry_run) {
        for (const char* option :
             {"--db", "--shape", "--dim", "--device", "--devices", "--timeout", "--budget", "--retry-failed", "--force"})
            if (command.count(option) > 0)
                throw usage_error(std::string(option) + " has no meaning with --dry-run, which only compiles (no GPU, no database)");
        if (t.arch.empty()) throw usage_error("--dry-run needs --arch, e.g. --arch sm_90");
    } else if (command.count("--arch") > 0) {
        throw usage_error("--arch is for --dry-run: a tune compiles for its GPU's own arch");
    }
    if (t.retry_failed && t.force)
        throw usage_error("--retry-failed and --force do not go together: --force measures every candidate again");
    if (command.count("--op") == 0 && command.count("--expr") == 0)
        throw usage_error("tune needs --op OP (kerntune list shows them) or --expr TEXT");
    catalog templates = load_catalog(t.templates);
    const kernel_spec& spec = t.expr.empty() ? *templates.at(t.op) : *templates.add_expression(parse_expression(t));
    const std::vector<dtype> dtypes = requested_dtypes(spec, t.dtypes);
    if (t.dry_run) return run_dry_run(cl, spec, dtypes, out);

    tune_options options;
    options.dtypes = dtypes;
    if (command.count("--shape") == 0) {
        if (command.count("--dim") > 0)
            throw usage_error("--dim needs --shape: the template's declared shapes are given as its axes");
        if (spec.default_shapes.empty())
            throw error("tune --op " + spec.name + " needs --shape: its template declares no shapes; its problem axes are " +
                        axes_text(spec));
    }
    const std::vector<tensor_shape> shapes = command.count("--shape") == 0 ? spec.default_shapes : parse_shape_list(t.shapes);
    for (const tensor_shape& shape : shapes) options.problems.push_back(make_problem(spec.axes, shape, t.dim));
    if (!t.timeout.empty())
        options.candidate_timeout_ms =
            std::max(1, static_cast<int>(std::lround(*seconds_in(t.timeout, min_timeout_seconds, max_timeout_seconds) * 1000)));
    if (!t.budget.empty()) options.budget_seconds = *seconds_in(t.budget, 0, max_budget_seconds);
    options.resume = t.force ? resume_policy::remeasure_all
                             : t.retry_failed ? resume_policy::retry_failed : resume_policy::keep_all;
    const std::size_t keys = work_of_shard(options).size();  // options.part is still the whole list
    const chosen_shard chosen = choose_shard(t);
    options.part = chosen.part;
    say_where_the_shard_came_from(chosen, work_of_shard(options).size(), keys, "keys");
    // A bad database, then a missing GPU, are reported before the database is created or written.
    // The workers start first, so that their driver start (about 0.1 s) overlaps the database check.
    const std::vector<int> devices = requested_devices(t);
    std::vector<std::future<std::unique_ptr<worker_client>>> starting;
    for (int device : devices)
        starting.push_back(std::async(std::launch::async, [device] {
            return std::make_unique<worker_client>(default_worker_executable(), device);
        }));
    check_database_for_writing(database_path(t.db), is_default_database(t.db));
    std::vector<std::unique_ptr<worker_client>> workers;
    for (auto& worker : starting) workers.push_back(worker.get());
    std::vector<tune_lane> lanes;
    for (std::size_t i = 0; i < devices.size(); ++i) lanes.push_back({devices[i], workers[i].get()});
    database db = open_for_writing(t.db);
    const bool bar = isatty(STDERR_FILENO) && !cl.common.verbose;
    progress_view view(devices, terminal_columns());
    const auto started = std::chrono::steady_clock::now();
    const tune_report report =
        tune_lanes(spec, options, lanes, db, bar ? progress_callback([&view](const tune_progress& step) {
                       std::fputs(view.update(step, std::chrono::steady_clock::now()).c_str(), stderr);
                       std::fflush(stderr);
                   })
                                               : nullptr);
    std::fputs(view.finish().c_str(), stderr);
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    const std::vector<tune_outcome>& outcomes = report.outcomes;

    std::set<dtype> reported;
    for (const tune_outcome& o : outcomes)
        if (reported.insert(o.type).second) print_compile_failures(o.compile_failures);
    if (cl.common.json) {
        const device_record& device = report.records.front();
        const bool one_gpu = report.groups.size() == 1;  // the header's "gpu"
        out << json_document({cl.text, device.driver_version, one_gpu ? std::optional<std::string>(device.identity) : std::nullopt},
                             with_shard(tune_json(spec.name, report), chosen));
    } else {
        out << tune_heading(op_title(spec), report);
        out << tune_table(report).render() << "wall time " << fixed(wall, 1) << " s; database "
            << printable(db.path().string()) << "\n";
        int unmeasured = 0;
        for (const tune_outcome& o : outcomes) unmeasured += o.unmeasured;
        if (unmeasured > 0)
            out << "budget of " << t.budget << " s reached: " << unmeasured
                << " candidates not measured; the same command again measures them\n";
    }
    // The results are printed before the ways out, which follow them on a terminal.
    out.flush();
    int status = 0;
    // A lost GPU is a failure worth an exit status even when its key was measured again: the
    // machine needs looking at.
    for (const std::string& line : tune_losses_text(report)) {
        std::cerr << "kerntune: " << line << "\n";
        status = 1;
    }
    for (const tune_outcome& o : outcomes) {
        if (o.best || !o.lane) continue;
        // A key with no valid candidate is a failure worth an exit status, and a way out.
        std::cerr << "kerntune: no valid candidate for " << spec.name << " " << to_string(o.type) << " "
                  << o.shape.to_string() << " (" << o.resumed << " stored rows kept, " << o.failed
                  << " failed now): --retry-failed measures timeouts, launch failures and faults again, --force "
                     "every candidate\n";
        status = 1;
    }
    return status;
}

int run_devices(const command_line& cl, standard_output& out) {
    const int count = device_count();
    std::vector<device_record> devices;
    for (int ordinal = 0; ordinal < count; ++ordinal) {
        // The copy bandwidth is measured by a worker, like everything else that runs kernels.
        worker_client worker(default_worker_executable(), ordinal);
        devices.push_back(to_device_record(worker.device_facts(), ordinal, worker.measure_copy_gbps()));
    }
    if (cl.common.json) {
        json list = json::array();
        for (std::size_t i = 0; i < devices.size(); ++i) {
            json entry = {{"index", i}};
            entry.update(device_json(devices[i]));
            list.push_back(entry);
        }
        report_header header{cl.text};
        if (!devices.empty()) header.driver = devices.front().driver_version;
        if (devices.size() == 1) header.gpu = devices.front().identity;
        out << json_document(header, {{"devices", list}});
    } else {
        out << devices_table(devices, true).render();
    }
    return 0;
}

int run_list(const command_line& cl, standard_output& out) {
    const catalog templates = load_catalog(cl.list_templates);
    json list = json::array();
    for (const auto& listed : templates.specs()) {
        const kernel_spec& spec = *listed;
        if (cl.common.json) {
            list.push_back(spec_json(spec));
            continue;
        }
        std::string sizes;
        for (dtype type : spec.dtypes)
            sizes += std::string(sizes.empty() ? "" : ", ") + std::string(to_string(type)) + " " +
                     std::to_string(enumerate_space(spec, type).size());
        text_table params{{"parameter", "kind", "values", "about"}};
        for (const param_spec& p : spec.params) params.rows.push_back({p.name, std::string(to_string(p.kind)), p.domain_text(), p.doc});
        for (const param_spec& p : spec.derived)
            params.rows.push_back({p.name, std::string(to_string(p.kind)), p.domain_text(),
                                   p.doc + " (from the problem: " + p.rule.text() + ")"});
        std::string candidates_where;
        for (const named_constraint& c : spec.problem_constraints)
            candidates_where += (candidates_where.empty() ? "" : " and ") + printable(c.expr.text());
        out << spec.name << ": " << printable(spec.description) << "\n  " << printable(spec.yaml_path)
            << "\n  problem: " << axes_text(spec) << ", default shapes: " << default_shapes_text(spec)
            << "\n  kernel: " << spec.kernel << "(" << signature_text(spec)
            << ")\n  space after constraints: " << sizes
            << (candidates_where.empty() ? "" : "\n  a candidate at a problem where: " + candidates_where) << "\n\n"
            << params.render() << "\n";
    }
    if (cl.common.json) out << json_document({cl.text}, {{"templates", list}});
    return 0;
}

/// The database filter the options describe. A --gpu that is an index names a local GPU, asked
/// of a worker (and reported in the JSON header); --shape becomes the op's problem key.
key_filter make_filter(const filter_args& args, report_header& header) {
    key_filter filter;
    if (!args.op.empty()) filter.template_name = args.op;
    if (!args.dtype.empty()) filter.dtype = std::string(to_string(parse_dtype_name(args.dtype)));
    if (!args.shape.empty()) {
        if (args.op.empty()) throw usage_error("--shape needs --op: the op's axes make a shape a problem key");
        const catalog templates = load_catalog(args.templates);
        const std::shared_ptr<const kernel_spec> spec = templates.find(args.op);
        if (!spec)
            throw error("--shape: op '" + args.op + "' is not among the templates, so its problem axes are unknown (add its "
                        "folder with --templates or KERNTUNE_TEMPLATES, or leave --shape out)");
        filter.problem_key = make_problem(spec->axes, parse_shape(args.shape)).key();
    }
    if (const std::optional<int> index = gpu_index(args.gpu)) {
        worker_client worker(default_worker_executable(), *index);
        const device_info gpu = decode_hello(worker.device_facts(), *index);
        filter.gpu_identity = gpu.identity();
        header.gpu = gpu.identity();
        header.driver = gpu.driver_version_text();
    } else if (!args.gpu.empty()) {
        filter.gpu_identity = args.gpu;
    }
    return filter;
}

json filter_json(const key_filter& filter) {
    json out = json::object();
    if (filter.template_name) out["template"] = *filter.template_name;
    if (filter.dtype) out["dtype"] = *filter.dtype;
    if (filter.problem_key) out["problem"] = *filter.problem_key;
    if (filter.gpu_identity) out["gpu"] = *filter.gpu_identity;
    return out;
}

/// "leaky_relu f32 n=1048576 on GPU": what a filter names, for messages.
std::string filter_text(const key_filter& filter) {
    std::string text;
    for (const std::optional<std::string>* part : {&filter.template_name, &filter.dtype, &filter.problem_key})
        if (*part) text += (text.empty() ? "" : " ") + **part;
    if (filter.gpu_identity) text += (text.empty() ? "" : " ") + std::string("on ") + *filter.gpu_identity;
    return text.empty() ? "every key" : text;
}

int run_db_check(const command_line& cl, standard_output& out) {
    const std::filesystem::path path = database_path(cl.database.db);
    const check_report report = database::check(path);
    if (report.schema_version == 0) throw error(path.string() + " has no kerntune schema (open it for writing to create one)");
    if (cl.common.json) {
        out << json_document({cl.text}, {{"database", path.string()},
                                         {"schema_version", report.schema_version},
                                         {"integrity", report.integrity},
                                         {"schema_differences", report.schema_differences},
                                         {"bad_rows", report.bad_rows},
                                         {"ok", report.sound()}});
        out.flush();  // the whole report, also when it says the file is not sound
    }
    if (!report.sound()) throw error(path.string() + " is not a sound kerntune database: " + report.problems());
    if (!cl.common.json) out << printable(path.string()) << ": schema " << report.schema_version << ", integrity ok\n";
    return 0;
}

/// The shipped tuning rows `db show` lists beneath a database's winners: the files found (as
/// the runtime finds them, from this program's folder, or $KERNTUNE_SHIPPED_DB) and their usable
/// winners that `filter` matches, each with what the runtime does with it.
struct shipped_rows_view {
    std::vector<std::filesystem::path> files;
    std::vector<winner> winners;
    std::vector<std::string> states;  ///< parallel to winners: "used", "under the database's row", "stale template"
};

shipped_rows_view shipped_rows_for(const key_filter& filter, const catalog& templates, const std::vector<winner>& mine) {
    std::error_code ec;
    const std::filesystem::path program = std::filesystem::read_symlink("/proc/self/exe", ec);
    const shipped_location where{KERNTUNE_BUILD_TREE, KERNTUNE_SOURCE_TUNING_DB, KERNTUNE_SHIPPED_RELATIVE};
    shipped_rows_view view;
    view.files = shipped_files(ec ? std::filesystem::path() : program.parent_path(), where);
    std::set<std::vector<std::string>> held;  // the database's keys
    auto id = [](const tuning_key& k) {
        return std::vector<std::string>{k.template_name, k.template_hash, k.dtype, k.problem_key, k.gpu_identity, k.nvrtc_version};
    };
    for (const winner& w : mine) held.insert(id(w.key));
    for (const winner& w : read_shipped_winners(view.files, declared_domain(templates.specs()), warn_on_stderr)) {
        if (!filter.matches(w.key)) continue;
        const std::shared_ptr<const kernel_spec> spec = templates.find(w.key.template_name);
        view.states.push_back(held.count(id(w.key))                         ? "under the database's row"
                              : spec && spec->source_hash != w.key.template_hash ? "stale template"
                                                                                 : "used");
        view.winners.push_back(w);
    }
    return view;
}

int run_db_show(const command_line& cl, standard_output& out) {
    report_header header{cl.text};
    const key_filter filter = make_filter(cl.database.filter, header);
    const std::filesystem::path path = database_path(cl.database.db);
    // A fresh install has no database of its own at the default path yet: the winners are then
    // the shipped ones alone, which is what a runtime uses. A database named by --db or
    // $KERNTUNE_DB must exist (a misspelt path is an error, not an empty list).
    std::error_code ec;
    const bool none_yet = !cl.database.candidates && is_default_database(cl.database.db) && !std::filesystem::exists(path, ec);
    std::optional<database> db;
    if (!none_yet) db.emplace(database::open(path, open_mode::read_only, warn_on_stderr));
    const std::vector<device_record> devices = db ? db->devices() : std::vector<device_record>();
    const std::vector<winner> winners = db && !cl.database.candidates ? db->winners(filter) : std::vector<winner>();
    shipped_rows_view shipped;
    if (!cl.database.candidates) {
        const catalog templates = load_catalog(cl.database.filter.templates);
        shipped = shipped_rows_for(filter, templates, db ? db->winners() : std::vector<winner>());
    }
    if (cl.common.json) {
        json result = {{"database", db ? db->path().string() : path.string()},
                       {"schema_version", db ? json(db->schema_version()) : json(nullptr)},
                       {"devices", json::array()}};
        for (const device_record& d : devices) result["devices"].push_back(device_json(d));
        json& rows = result[cl.database.candidates ? "measurements" : "winners"] = json::array();
        if (cl.database.candidates)
            for (const measurement& m : db->find_measurements(filter)) rows.push_back(measurement_json(m));
        else
            for (const winner& w : winners) rows.push_back(winner_json(w));
        if (!cl.database.candidates) {
            json files = json::array(), shipped_rows = json::array();
            for (const std::filesystem::path& file : shipped.files) files.push_back(file.string());
            for (std::size_t i = 0; i < shipped.winners.size(); ++i) {
                json row = winner_json(shipped.winners[i]);
                row["shipped"] = shipped.states[i];
                shipped_rows.push_back(row);
            }
            result["shipped"] = {{"files", files}, {"winners", shipped_rows}};
        }
        out << json_document(header, result);
        return 0;
    }
    if (db) {
        out << "database " << printable(db->path().string()) << " (schema " << db->schema_version() << ")\n\n"
            << devices_table(devices).render() << "\n";
        if (cl.database.candidates) {
            out << measurements_table(db->find_measurements(filter)).render();
            return 0;
        }
        out << winners_table(winners).render();
    } else {
        out << "no tuning database at " << printable(path.string()) << " yet (kerntune tune writes it)\n";
    }
    if (shipped.winners.empty()) return 0;
    // Beneath the database's: the rows a runtime uses where the database has none of the key.
    std::string files;
    for (const std::filesystem::path& file : shipped.files) files += (files.empty() ? "" : ", ") + file.string();
    text_table table = winners_table(shipped.winners);
    table.headers.push_back("shipped");
    for (std::size_t i = 0; i < table.rows.size(); ++i) table.rows[i].push_back(shipped.states[i]);
    out << "\nshipped, read beneath the database (" << printable(files) << "):\n" << table.render();
    return 0;
}

int run_db_forget(const command_line& cl, standard_output& out) {
    report_header header{cl.text};
    const key_filter filter = make_filter(cl.database.filter, header);
    const std::filesystem::path path = database_path(cl.database.db);
    std::error_code ec;
    // Forgetting never creates a database.
    if (!std::filesystem::exists(path, ec)) throw error("no tuning database at " + path.string());
    database db = database::open(path, open_mode::read_write, warn_on_stderr);
    const forgotten removed = db.forget(filter);
    if (cl.common.json) {
        out << json_document(header, {{"database", db.path().string()},
                                      {"filter", filter_json(filter)},
                                      {"measurements", removed.measurements},
                                      {"winners", removed.winners}});
    } else {
        out << "forgot " << removed.measurements << " measurement" << (removed.measurements == 1 ? "" : "s") << " and "
            << removed.winners << " winner" << (removed.winners == 1 ? "" : "s") << " of " << printable(filter_text(filter))
            << " in " << printable(db.path().string()) << "\n";
    }
    return 0;
}

/// What export, import and merge check a config against: the template's declared domain, when
/// `templates` holds the template at the key's hash (another hash is another version of it, or
/// a template of a folder not given: only its shape is checked, by the database).
label_check domain_of(const catalog& templates) { return declared_domain(templates.specs()); }

/// Writes `text` to `file` whole or not at all: into a new file beside it, renamed over it once
/// everything is written.
void write_whole_file(const std::filesystem::path& file, const std::string& text) {
    const std::filesystem::path partial = file.string() + ".partial-" + std::to_string(getpid());
    {
        std::ofstream out(partial, std::ios::binary | std::ios::trunc);
        out << text;
        out.flush();
        if (!out) {
            const std::string why = std::strerror(errno);
            std::error_code ignored;
            std::filesystem::remove(partial, ignored);
            throw error("cannot write " + file.string() + ": " + why);
        }
    }
    std::error_code failed;
    std::filesystem::rename(partial, file, failed);
    if (failed) {
        std::error_code ignored;
        std::filesystem::remove(partial, ignored);
        throw error("cannot write " + file.string() + ": " + failed.message());
    }
}

int run_db_export(const command_line& cl, standard_output& out) {
    const db_args& d = cl.database;
    if (cl.common.json && d.output == "-")
        throw usage_error("--json needs --output FILE: the export itself is what db export prints on stdout");
    const catalog templates = load_catalog(d.filter.templates);
    const database db = database::open(database_path(d.db), open_mode::read_only, warn_on_stderr);
    std::error_code different;
    if (d.output != "-" && std::filesystem::equivalent(d.output, db.path(), different))
        throw error("--output " + d.output + " is the database itself");
    const record_set all = db.records(domain_of(templates));
    const record_set records = d.winners_only ? winners_only(all) : all;
    std::ostringstream text;
    write_jsonl(records, text);
    if (d.output == "-") {
        out << text.str();
        return 0;
    }
    write_whole_file(d.output, text.str());
    if (cl.common.json) {
        out << json_document({cl.text}, {{"database", db.path().string()},
                                         {"output", d.output},
                                         {"format", d.format},
                                         {"format_version", jsonl_format_version},
                                         {"devices", records.devices.size()},
                                         {"measurements", records.measurements.size()},
                                         {"winners", records.winners.size()}});
    } else {
        out << "exported " << records.devices.size() << " devices, " << records.measurements.size() << " measurements and "
            << records.winners.size() << " winners of " << printable(db.path().string()) << " to " << printable(d.output)
            << "\n";
    }
    return 0;
}

/// What import and merge print: the counts of each table, then every conflict, one a line.
void print_merge(const command_line& cl, const merge_report& report, const std::vector<std::string>& sources,
                 const database& target, standard_output& out) {
    const std::pair<const char*, const merge_counts*> tables[] = {
        {"devices", &report.devices}, {"measurements", &report.measurements}, {"winners", &report.winners}};
    if (cl.common.json) {
        json result = {{"database", target.path().string()}, {"sources", sources}};
        for (const auto& [name, counts] : tables)
            result[name] = {{"added", counts->added},
                            {"replaced", counts->replaced},
                            {"unchanged", counts->unchanged},
                            {"kept", counts->kept}};
        result["conflicts"] = json::array();
        for (const merge_conflict& c : report.conflicts)
            result["conflicts"].push_back({{"source", c.origin}, {"record", c.record}, {"replaced", c.replaced}, {"why", c.why}});
        out << json_document({cl.text}, result);
        return;
    }
    std::string from;
    for (const std::string& source : sources) from += (from.empty() ? "" : ", ") + source;
    out << "merged " << printable(from) << " into " << printable(target.path().string()) << "\n";
    text_table table{{"rows", "added", "replaced", "unchanged", "kept"}};
    for (const auto& [name, counts] : tables)
        table.rows.push_back({name, std::to_string(counts->added), std::to_string(counts->replaced),
                              std::to_string(counts->unchanged), std::to_string(counts->kept)});
    out << table.render();
    for (const merge_conflict& c : report.conflicts)
        out << "conflict: " << printable(c.record) << " from " << printable(c.origin) << ": "
            << (c.replaced ? "replaced: " : "kept this database's: ") << printable(c.why) << "\n";
    out << report.conflicts.size() << " conflict" << (report.conflicts.size() == 1 ? "" : "s") << "\n";
}

int run_db_import(const command_line& cl, standard_output& out) {
    const db_args& d = cl.database;
    const catalog templates = load_catalog(d.filter.templates);
    // The whole file is read and checked before the database is opened, so that a bad file
    // leaves it as it was (a new one is not even created).
    record_set records;
    if (d.file == "-") {
        records = read_jsonl(std::cin, "<stdin>", domain_of(templates));
    } else {
        std::error_code ignored;
        if (std::filesystem::is_directory(d.file, ignored)) throw error(d.file + " is a folder, not an export");
        std::ifstream in(d.file, std::ios::binary);
        if (!in) throw error("cannot read " + d.file + ": " + std::strerror(errno));
        records = read_jsonl(in, d.file, domain_of(templates));
    }
    database db = open_for_writing(d.db);
    print_merge(cl, db.merge({records}), {records.origin}, db, out);
    return 0;
}

int run_db_merge(const command_line& cl, standard_output& out) {
    const db_args& d = cl.database;
    const catalog templates = load_catalog(d.filter.templates);
    // Every source is read (one snapshot each, then closed) before the target is opened: a
    // source that cannot be merged leaves the target as it was, and a source that is the
    // target is read as it was, so that merging it changes nothing.
    std::vector<record_set> inputs;
    for (const std::string& source : d.sources)
        inputs.push_back(database::open(database_path(source), open_mode::read_only, warn_on_stderr).records(domain_of(templates)));
    database target = database::open(database_path(d.into), open_mode::read_write, warn_on_stderr);
    print_merge(cl, target.merge(inputs), d.sources, target, out);
    return 0;
}

/// "kerntune db show": the command a hint to --help names, from the words CLI11 knows.
std::string help_hint(int argc, char** argv) {
    std::string hint = "kerntune";
    const std::set<std::string> commands = {"tune", "devices", "list", "db"}, db_commands = {"show", "check", "forget", "export",
                                                                                         "import", "merge"};
    for (int i = 1; i < argc; ++i) {
        const std::string word = argv[i];
        if (word.rfind('-', 0) == 0) continue;
        if (hint == "kerntune" && commands.count(word)) hint += " " + word;
        else if (hint == "kerntune db" && db_commands.count(word)) hint += " " + word;
        else break;
    }
    return hint + " --help";
}

int run(int argc, char** argv, standard_output& out) {
    command_line cl;
    define(cl);
    for (int i = 0; i < argc; ++i) cl.text += (i ? " " : "") + std::string(argv[i]);
    if (argc == 2 && std::string(argv[1]) == "help") {
        out << cl.app.help();
        return 0;
    }
    try {
        cl.app.parse(argc, argv);
    } catch (const CLI::Success& done) {  // --help, --version
        return cl.app.exit(done, out.stream(), std::cerr);
    } catch (const CLI::ParseError& malformed) {
        throw usage_error(malformed.what() + std::string(" (see ") + help_hint(argc, argv) + ")");
    }
    if (cl.common.verbose) spdlog::set_level(spdlog::level::debug);
    try {
        if (*cl.tune) return run_tune(cl, out);
        if (*cl.devices) return run_devices(cl, out);
        if (*cl.list) return run_list(cl, out);
        if (*cl.db_show) return run_db_show(cl, out);
        if (*cl.db_check) return run_db_check(cl, out);
        if (*cl.db_forget) return run_db_forget(cl, out);
        if (*cl.db_export) return run_db_export(cl, out);
        if (*cl.db_import) return run_db_import(cl, out);
        if (*cl.db_merge) return run_db_merge(cl, out);
    } catch (const usage_error& malformed) {
        throw usage_error(malformed.what() + std::string(" (see ") + help_hint(argc, argv) + ")");
    }
    // No command, or db without one: what there is to choose from.
    out << (*cl.db ? cl.db->help() : cl.app.help());
    return 2;
}

} // namespace

int main(int argc, char** argv) {
    reserve_standard_descriptors();
    spdlog::set_default_logger(spdlog::stderr_color_mt("kerntune"));
    spdlog::set_level(spdlog::level::info);
    // A command's stdout is printed when it has returned: one that throws prints nothing there.
    // Messages quote op names, paths and database rows: printable() keeps each one line and
    // free of what a terminal would act on.
    standard_output out;
    try {
        const int status = run(argc, argv, out);
        out.flush();
        return status;
    } catch (const usage_error& failure) {
        std::fprintf(stderr, "kerntune: %s\n", printable(failure.what()).c_str());
        return 2;
    } catch (const std::exception& failure) {
        std::fprintf(stderr, "kerntune: error: %s\n", printable(failure.what()).c_str());
        return 1;
    }
}
