// kerntune: tune kernel templates for the local GPU and inspect the results.
// The logic lives in src/ (tune/tuner, tune/report, db/database); this file parses the
// command line, prints, and maps failures to one line on stderr and a non-zero exit.
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <future>
#include <iostream>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "catalog/catalog.hpp"
#include "core/problem.hpp"
#include "core/text.hpp"
#include "cuda/device.hpp"
#include "cuda/driver.hpp"
#include "cuda/nvrtc.hpp"
#include "db/database.hpp"
#include "tune/report.hpp"
#include "tune/tuner.hpp"
#include "tune/worker_client.hpp"

namespace {

using namespace kerntune;

// Small, mid and the original problem's size: a launch-bound, an L2-sized-ish and a DRAM-bound case.
#define KERNTUNE_DEFAULT_SHAPES "1048576,16777216,4096x393216"

const char* const main_help = R"(kerntune: autotuned memory-bound CUDA kernels, compiled with NVRTC for the exact GPU.

usage: kerntune <command> [options]

commands:
  devices    the GPUs here: compute capability, SMs, theoretical and measured copy bandwidth
  list       the kernel templates, their parameters and the size of each tuning space
  tune       compile, validate and time every candidate of a template; store results and winners
  db show    the winners stored in a tuning database
  db check   whether a tuning database is sound (SQLite integrity check)

common options:
  --json     machine-readable output on stdout
  -v         debug logs on stderr
  --help     help for a command (kerntune tune --help)

environment:
  KERNTUNE_DB          the tuning database (default: $XDG_DATA_HOME/kerntune/tuning.db,
                       else ~/.local/share/kerntune/tuning.db); --db overrides it
  KERNTUNE_TEMPLATES   folders of your own templates, ':'-separated like PATH, added to the
                       built-in ones (also --templates DIR[:DIR...] on tune and list)
  KERNTUNE_CUDA_INCLUDE  CUDA headers for NVRTC (default: $CUDA_HOME/include, /usr/local/cuda/include)

example:
  kerntune tune --op leaky_relu --dtype f32,f16,bf16 --shape 4096x393216,1048576
)";

const char* const tune_help = R"(usage: kerntune tune --op OP [--dtype LIST] [--shape LIST] [--device N] [--db PATH]
                     [--timeout SECONDS] [--budget SECONDS] [--templates DIRS] [--json] [-v]
       kerntune tune --dry-run --arch sm_XY --op OP [--dtype LIST] [--templates DIRS]

Compiles every candidate of the template OP with NVRTC for the GPU's exact arch, checks each
against the template's reference bit for bit on fresh random data (NaN, +-inf, +-0 and
subnormals included), times the valid ones with CUDA events (L2 flushed before every sample),
and stores every result and the winner per (template, dtype, shape, GPU) in the database.
GPU work runs in a worker process: a candidate that faults or hangs is recorded as
runtime_fault or timeout and the tune carries on. Candidates already measured under the same
key are skipped, so an interrupted tune resumes where it stopped.

options:
  --op OP            template to tune (kerntune list shows them: the built-in ones and those
                     of $KERNTUNE_TEMPLATES and --templates)
  --dtype LIST       comma-separated: f32,f16,bf16 (default: every dtype the template declares)
  --shape LIST       comma-separated shapes, dims joined by x. A template whose problem is one
                     axis (n) takes any shape and tunes its element count; one with several
                     axes (kerntune list shows them) takes one dimension per axis, e.g.
                     4096x1024 for [rows, cols]. Default for one-axis templates:
                     )" KERNTUNE_DEFAULT_SHAPES R"(
  --device N         GPU index (default 0)
  --db PATH          tuning database (default: $KERNTUNE_DB, else ~/.local/share/kerntune/tuning.db)
  --timeout SECONDS  per-candidate limit before the worker is killed (default 20)
  --budget SECONDS   wall-clock limit for the whole tune (default: none). Checked between
                     candidates; each dtype and shape still measures its default config first.
                     What is not measured shows as "unmeasured" and the same command again
                     measures it, keeping what is stored.
  --dry-run          only compile every variant (no GPU needed); requires --arch
  --arch sm_XY       target arch for --dry-run, e.g. sm_90
  --templates DIRS   template folders to add, ':'-separated (besides $KERNTUNE_TEMPLATES)
  --json             print the results as JSON
  -v                 debug logs
)";

const char* const devices_help = R"(usage: kerntune devices [--json] [-v]

Lists each GPU with its compute capability, SM count, L2 size, theoretical bandwidth
(memory clock x bus width x 2) and a measured device-to-device copy bandwidth (1 GiB, bytes
read + written, median of 10).
)";

const char* const list_help = R"(usage: kerntune list [--templates DIRS] [--json]

Lists the templates: the built-in ones, then those of the folders in $KERNTUNE_TEMPLATES and
--templates (':'-separated), each with its problem axes, kernel signature, parameters with
their domains, and the size of the tuning space per dtype after constraints. A folder that
fails to load is an error naming the file and line; a name already taken names both files.
)";

const char* const db_help = R"(usage: kerntune db show [--db PATH] [--json]
       kerntune db check [--db PATH]

show   the devices and the winners stored in a tuning database (read-only)
check  SQLite's integrity check and the schema version; exit 1 unless the file is sound
)";

/// A usage error: printed with a hint to --help, exit code 2.
struct usage_error : error {
    using error::error;
};

/// "[rows, cols]"
std::string axes_text(const kernel_spec& spec) {
    std::string text;
    for (const std::string& axis : spec.axes) text += (text.empty() ? "" : ", ") + axis;
    return "[" + text + "]";
}

/// "in T x[n], out T y[n], i64 n = n, f32 negative_slope = 0.01"
std::string signature_text(const kernel_spec& spec) {
    std::string text;
    for (const kernel_arg& a : spec.arguments) {
        if (!text.empty()) text += ", ";
        if (a.kind == arg_kind::buffer) {
            text += std::string(to_string(a.access)) + " " + (a.element ? std::string(to_string(*a.element)) : "T") + " " +
                    a.name + "[" + a.extent.text() + "]";
        } else {
            char value[32];
            std::snprintf(value, sizeof(value), "%g", a.default_value);
            text += std::string(to_string(a.type)) + " " + a.name + (a.is_caller_scalar() ? " = " + std::string(value) + " (caller)" : " = " + a.value.text());
        }
    }
    return text;
}

/// The command line after the command words: --name value, --name=value and flags.
class arguments {
public:
    arguments(int argc, char** argv, int first, const std::set<std::string>& valued, const std::set<std::string>& flags) {
        for (int i = first; i < argc; ++i) {
            std::string word = argv[i];
            if (word == "-v") word = "--verbose";
            if (word == "-h") word = "--help";
            if (word.rfind("--", 0) != 0) throw usage_error("unexpected argument '" + word + "'");
            std::string name = word.substr(2), value;
            const std::size_t equals = name.find('=');
            const bool inline_value = equals != std::string::npos;
            if (inline_value) {
                value = name.substr(equals + 1);
                name = name.substr(0, equals);
            }
            if (flags.count(name) && !inline_value) {
                m_values[name] = "1";
            } else if (valued.count(name)) {
                if (!inline_value) {
                    if (i + 1 >= argc) throw usage_error("--" + name + " needs a value");
                    value = argv[++i];
                }
                m_values[name] = value;
            } else {
                throw usage_error("unknown option '--" + name + "'");
            }
        }
    }
    bool has(const std::string& name) const { return m_values.count(name) != 0; }
    std::string get(const std::string& name, const std::string& fallback = "") const {
        const auto it = m_values.find(name);
        return it == m_values.end() ? fallback : it->second;
    }
    int integer(const std::string& name, int fallback) const {
        if (!has(name)) return fallback;
        const std::string text = get(name);
        char* end = nullptr;
        const long value = std::strtol(text.c_str(), &end, 10);
        if (text.empty() || *end != '\0' || value < 0 || value > 1'000'000)
            throw usage_error("--" + name + " must be a non-negative integer, not '" + text + "'");
        return static_cast<int>(value);
    }
    double positive_seconds(const std::string& name) const {
        const std::string text = get(name);
        char* end = nullptr;
        const double value = std::strtod(text.c_str(), &end);
        if (text.empty() || *end != '\0' || !(value > 0) || value > 1e9)
            throw usage_error("--" + name + " must be a positive number of seconds, not '" + text + "'");
        return value;
    }

private:
    std::map<std::string, std::string> m_values;
};

const std::set<std::string> common_flags = {"json", "verbose", "help"};

/// The built-in templates and the folders of $KERNTUNE_TEMPLATES and --templates, in that order.
catalog load_catalog(const arguments& args) {
    catalog templates;
    for (const std::filesystem::path& folder : template_folders_from_environment()) templates.add_folder(folder);
    const std::string folders = args.has("templates") ? args.get("templates") : "";
    for (std::string_view folder : split(folders, ':'))
            if (!folder.empty()) templates.add_folder(std::string(folder));
    return templates;
}

std::set<std::string> with_common(std::set<std::string> flags) {
    flags.insert(common_flags.begin(), common_flags.end());
    return flags;
}

void print_help(const std::string& text) { std::cout << text; }

std::filesystem::path database_path(const arguments& args) {
    return args.has("db") ? std::filesystem::path(args.get("db")) : default_db_path();
}

bool is_default_database(const arguments& args) {
    const char* environment = std::getenv("KERNTUNE_DB");
    return !args.has("db") && (environment == nullptr || *environment == '\0');
}

// What tune checks before it creates or writes anything, so that a tune that cannot run leaves
// the database and its folder as they were: the folder must exist (the default one is created
// later) and be writable (SQLite keeps its -wal and -shm files there); an existing, non-empty
// file must be a sound kerntune database. database::open refuses, untouched, a file that is not
// one; an empty file is an empty database and gets the schema when the tune starts.
void check_database_for_writing(const std::filesystem::path& path, bool is_default) {
    namespace fs = std::filesystem;
    std::error_code ec;
    const fs::path folder = path.has_parent_path() ? path.parent_path() : fs::path(".");
    if (is_default && !fs::exists(folder, ec)) return;
    if (!fs::is_directory(folder, ec))
        throw error("cannot create " + path.string() + ": folder " + folder.string() + " does not exist");
    if (access(folder.c_str(), W_OK) != 0)
        throw error("cannot write " + path.string() + ": folder " + folder.string() + " is read-only");
    if (fs::is_directory(path, ec)) throw error(path.string() + " is a folder, not a tuning database");
    const std::uintmax_t size = fs::file_size(path, ec);
    if (ec || size == 0) return;
    const database db = database::open(path, open_mode::read_write);
    const std::string report = db.integrity_check();
    if (report != "ok") throw error(path.string() + ": integrity check failed: " + report);
}

// The default database's folder is created on first use; a --db or $KERNTUNE_DB folder must exist.
database open_for_writing(const arguments& args) {
    const std::filesystem::path path = database_path(args);
    const bool is_default = is_default_database(args);
    if (is_default) {
        std::error_code ec;
        std::filesystem::create_directories(path.parent_path(), ec);
        if (ec) throw error("cannot create " + path.parent_path().string() + ": " + ec.message());
    }
    return database::open(path, open_mode::read_write);
}

// Draws the progress bar on stderr when it is a terminal.
void show_progress(const tune_progress& p) {
    constexpr int width = 30;
    const int filled = p.total > 0 ? p.done * width / p.total : width;
    std::fprintf(stderr, "\r\033[K%s %s [%s%s] %d/%d %s", std::string(to_string(p.type)).c_str(),
                 p.shape->to_string().c_str(), std::string(filled, '#').c_str(), std::string(width - filled, '.').c_str(),
                 p.done, p.total, p.label.c_str());
    if (p.done == p.total) std::fprintf(stderr, "\r\033[K");
    std::fflush(stderr);
}

int run_tune(const arguments& args) {
    if (args.has("help")) {
        print_help(tune_help);
        return 0;
    }
    if (!args.has("op")) throw usage_error("tune needs --op (kerntune list shows the templates)");
    const catalog templates = load_catalog(args);
    const kernel_spec& spec = *templates.at(args.get("op"));
    const std::vector<dtype> dtypes = args.has("dtype") ? parse_dtype_list(args.get("dtype")) : spec.dtypes;

    if (args.has("dry-run")) {
        if (!args.has("arch")) throw usage_error("--dry-run needs --arch, e.g. --arch sm_90");
        const std::string arch = args.get("arch");
        const std::vector<compile_outcome> outcomes = compile_space(spec, dtypes, arch);
        text_table table{{"dtype", "candidates", "kernels", "programs", "failed", "compile s"}};
        int failed = 0;
        for (const compile_outcome& o : outcomes) {
            table.rows.push_back({std::string(to_string(o.type)), std::to_string(o.candidates), std::to_string(o.kernels),
                                  std::to_string(o.programs), std::to_string(o.failed), fixed(o.seconds, 2)});
            for (const compile_failure& failure : o.failures)
                std::cerr << "compile failed: " << failure.kernel << ": " << failure.log << "\n";
            failed += o.failed;
        }
        if (args.has("json")) {
            std::string json = "{\"op\": " + json_string(spec.name) + ", \"arch\": " + json_string(arch) + ", \"results\": [";
            for (std::size_t i = 0; i < outcomes.size(); ++i)
                json += std::string(i ? ", " : "") + "{\"dtype\": " + json_string(to_string(outcomes[i].type)) +
                        ", \"candidates\": " + std::to_string(outcomes[i].candidates) +
                        ", \"kernels\": " + std::to_string(outcomes[i].kernels) +
                        ", \"failed\": " + std::to_string(outcomes[i].failed) +
                        ", \"seconds\": " + fixed(outcomes[i].seconds, 3) + "}";
            std::cout << json << "]}\n";
        } else {
            std::cout << spec.name << " for " << arch << " (NVRTC " << nvrtc_version() << ")\n" << table.render();
        }
        return failed == 0 ? 0 : 1;
    }

    tune_options options;
    options.dtypes = dtypes;
    if (!args.has("shape") && spec.axes.size() != 1)
        throw error("tune --op " + spec.name + " needs --shape: its problem axes are " + axes_text(spec));
    for (const tensor_shape& shape : parse_shape_list(args.get("shape", KERNTUNE_DEFAULT_SHAPES)))
        options.problems.push_back(make_problem(spec.axes, shape));
    options.device = args.integer("device", 0);
    if (args.has("timeout")) options.candidate_timeout_ms = args.integer("timeout", 20) * 1000;
    if (args.has("budget")) options.budget_seconds = args.positive_seconds("budget");
    // A bad database, then a missing GPU, are reported before the database is created or written.
    // The worker starts first, so that its driver start (about 0.1 s) overlaps the database check.
    std::future<std::unique_ptr<worker_client>> starting = std::async(std::launch::async, [&options] {
        return std::make_unique<worker_client>(default_worker_executable(), options.device);
    });
    check_database_for_writing(database_path(args), is_default_database(args));
    const std::unique_ptr<worker_client> worker = starting.get();
    database db = open_for_writing(args);
    const bool bar = isatty(STDERR_FILENO) && !args.has("verbose");
    const auto started = std::chrono::steady_clock::now();
    const std::vector<tune_outcome> outcomes =
        tune(spec, options, *worker, db, bar ? progress_callback(show_progress) : nullptr);
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    std::optional<device_record> device;
    for (const device_record& d : db.devices())
        if (outcomes.empty() || (outcomes.front().best && d.identity == outcomes.front().best->key.gpu_identity)) device = d;
    if (args.has("json")) {
        std::cout << tune_json(device.value_or(device_record{}), outcomes);
    } else {
        if (device)
            std::cout << spec.name << " on " << device->name << " (" << "sm_" << device->cc_major << device->cc_minor << ", "
                      << device->sm_count << " SMs, theoretical " << fixed(device->theoretical_gbps, 0)
                      << " GB/s, measured copy " << fixed(device->copy_gbps, 0) << " GB/s), NVRTC " << nvrtc_version() << "\n";
        std::cout << tune_table(outcomes).render() << "wall time " << fixed(wall, 1) << " s; database "
                  << db.path().string() << "\n";
        int unmeasured = 0;
        for (const tune_outcome& o : outcomes) unmeasured += o.unmeasured;
        if (unmeasured > 0)
            std::cout << "budget of " << args.get("budget") << " s reached: " << unmeasured
                      << " candidates not measured; the same command again measures them\n";
    }
    for (const tune_outcome& o : outcomes)
        if (!o.best) return 1;  // a key with no valid candidate is a failure worth an exit code
    return 0;
}

int run_devices(const arguments& args) {
    if (args.has("help")) {
        print_help(devices_help);
        return 0;
    }
    const int count = device_count();
    std::vector<device_record> devices;
    for (int ordinal = 0; ordinal < count; ++ordinal) {
        // The copy bandwidth is measured by a worker, like everything else that runs kernels.
        worker_client worker(default_worker_executable(), ordinal);
        devices.push_back(to_device_record(worker.device_facts(), ordinal, worker.measure_copy_gbps()));
    }
    if (args.has("json")) {
        std::string json = "[";
        for (std::size_t i = 0; i < devices.size(); ++i) json += (i ? ",\n " : "") + device_json(devices[i]);
        std::cout << json << "]\n";
    } else {
        std::cout << devices_table(devices).render();
    }
    return 0;
}

int run_list(const arguments& args) {
    if (args.has("help")) {
        print_help(list_help);
        return 0;
    }
    const catalog templates = load_catalog(args);
    std::string json = "[";
    for (const auto& listed : templates.specs()) {
        const kernel_spec& spec = *listed;
        std::string sizes, sizes_json;
        for (dtype type : spec.dtypes) {
            const std::size_t size = enumerate_space(spec, type).size();
            sizes += std::string(sizes.empty() ? "" : ", ") + std::string(to_string(type)) + " " + std::to_string(size);
            sizes_json += std::string(sizes_json.empty() ? "" : ", ") + json_string(to_string(type)) + ": " + std::to_string(size);
        }
        text_table params{{"parameter", "kind", "values", "about"}};
        std::string params_json;
        for (const param_spec& p : spec.params) {
            std::string values, values_json;
            for (std::size_t i = 0; i < p.values.size(); ++i) {
                const std::string value = p.is_enum() ? p.enum_names[i] : std::to_string(p.values[i]);
                values += (i ? ", " : "") + value;
                values_json += (i ? ", " : "") + (p.is_enum() ? json_string(value) : value);
            }
            const std::string kind = p.kind == param_kind::template_arg ? "template" : "launch";
            params.rows.push_back({p.name, kind, values, p.doc});
            params_json += std::string(params_json.empty() ? "" : ", ") + "{\"name\": " + json_string(p.name) +
                           ", \"kind\": " + json_string(kind) + ", \"values\": [" + values_json + "]}";
        }
        if (!args.has("json")) {
            std::cout << spec.name << ": " << spec.description << "\n  " << spec.yaml_path
                      << "\n  problem: " << axes_text(spec) << "\n  kernel: " << spec.kernel << "(" << signature_text(spec)
                      << ")\n  space after constraints: " << sizes << "\n\n"
                      << params.render() << "\n";
        }
        json += std::string(json.size() > 1 ? ",\n " : "") + "{\"name\": " + json_string(spec.name) +
                ", \"description\": " + json_string(spec.description) + ", \"spec\": " + json_string(spec.yaml_path) +
                ", \"problem\": " + json_string(axes_text(spec)) + ", \"signature\": " + json_string(signature_text(spec)) +
                ", \"space\": {" + sizes_json + "}, \"parameters\": [" + params_json + "]}";
    }
    if (args.has("json")) std::cout << json << "]\n";
    return 0;
}

int run_db(int argc, char** argv) {
    if (argc < 3 || std::string(argv[2]) == "--help" || std::string(argv[2]) == "-h") {
        print_help(db_help);
        return argc < 3 ? 2 : 0;
    }
    const std::string action = argv[2];
    if (action != "show" && action != "check")
        throw usage_error("unknown db command '" + action + "' (try: db show, db check)");
    const arguments args(argc, argv, 3, {"db"}, with_common({}));
    if (args.has("help")) {
        print_help(db_help);
        return 0;
    }
    const database db = database::open(database_path(args), open_mode::read_only);
    if (action == "check") {
        const std::string report = db.integrity_check();
        if (report != "ok") throw error(db.path().string() + ": integrity check failed: " + report);
        std::cout << db.path().string() << ": schema " << db.schema_version() << ", integrity ok\n";
        return 0;
    }
    if (args.has("json")) {
        std::cout << database_json(db.devices(), db.winners());
    } else {
        std::cout << "database " << db.path().string() << " (schema " << db.schema_version() << ")\n\n"
                  << devices_table(db.devices()).render() << "\n"
                  << winners_table(db.winners()).render();
    }
    return 0;
}

int run(int argc, char** argv) {
    if (argc < 2 || std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h" || std::string(argv[1]) == "help") {
        print_help(main_help);
        return argc < 2 ? 2 : 0;
    }
    const std::string command = argv[1];
    for (int i = 2; i < argc; ++i)
        if (std::string(argv[i]) == "-v") spdlog::set_level(spdlog::level::debug);
    if (command == "tune")
        return run_tune(arguments(argc, argv, 2, {"op", "dtype", "shape", "device", "db", "timeout", "budget", "arch", "templates"},
                                  with_common({"dry-run"})));
    if (command == "devices") return run_devices(arguments(argc, argv, 2, {}, with_common({})));
    if (command == "list") return run_list(arguments(argc, argv, 2, {"templates"}, with_common({})));
    if (command == "db") return run_db(argc, argv);
    throw usage_error("unknown command '" + command + "'");
}

} // namespace

int main(int argc, char** argv) {
    spdlog::set_default_logger(spdlog::stderr_color_mt("kerntune"));
    spdlog::set_level(spdlog::level::info);
    try {
        return run(argc, argv);
    } catch (const usage_error& failure) {
        std::fprintf(stderr, "kerntune: %s (see kerntune --help)\n", failure.what());
        return 2;
    } catch (const std::exception& failure) {
        std::fprintf(stderr, "kerntune: error: %s\n", failure.what());
        return 1;
    }
}
