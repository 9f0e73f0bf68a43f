// The real `kerntune` program (KERNTUNE_CLI_PATH) used as a user of a GPU library expects to use
// it, without a GPU: help for every command, --version, one exit rule (2 for a malformed command
// line, 1 for a failure), dtype spellings, the options a dry run cannot use, `db forget`,
// `db show --candidates` and --json: one valid JSON document with one envelope everywhere.
#include <dlfcn.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <map>
#include <regex>
#include <string>
#include <vector>

#include "core/version.hpp"
#include "db/database.hpp"
#include "test_core_support.hpp"
#include "../support/cli_run.hpp"
#include "../support/sqlite_files.hpp"
#include "../support/temp_folder.hpp"

namespace kerntune {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using test::contains;
using testing::cli_run;

bool has_cuda_driver() {
    void* library = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
    if (library != nullptr) dlclose(library);
    return library != nullptr;
}

const std::string h100 = "NVIDIA H100 80GB HBM3|sm_90|132 SMs";
const std::string h200 = "NVIDIA H200|sm_90|132 SMs";

class CliUsage : public testing::temp_folder_test {
protected:
    CliUsage() : temp_folder_test("kerntune-cli-usage") {}

    fs::path file(const std::string& name) const { return m_folder / name; }

    cli_run run_cli(const std::vector<std::string>& args, const std::map<std::string, std::string>& env = {}) const {
        return testing::run_kerntune(m_folder, args, env);
    }

    /// A database made with the API: two GPUs; leaky_relu f32 and f16 at n=1024 and n=4194304 on
    /// the H100, f32 n=1024 on the H200; 3 measurements (ok, timeout, compile_failed) and a
    /// winner per key; a binary.
    fs::path create_database(const std::string& name = "tuning.db") const {
        const fs::path path = file(name);
        database db = database::open(path, open_mode::read_write);
        db.upsert_device({h100, "NVIDIA H100 80GB HBM3", 9, 0, 132, 2'619'000, 5120, 52'428'800, 3352.3, 2890.5, "12.4"});
        db.upsert_device({h200, "NVIDIA H200", 9, 0, 132, 3'201'000, 6144, 62'914'560, 4814.0, 4225.0, "13.0"});
        auto add_key = [&db](const std::string& dtype, const std::string& problem, const std::string& gpu) {
            const tuning_key key{"leaky_relu", "3f2a9c", dtype, problem, gpu, "13.0"};
            db.record_measurement({key, "blk256.vec4.unr2.plain.tile.w0", candidate_status::ok, 5.0, 0.01, 1500, 30, "", ""});
            db.record_measurement({key, "blk128.vec4.unr2.plain.tile.w0", candidate_status::timeout, 0, 0, 0, 0,
                                   "no answer in 20 s", ""});
            db.record_measurement({key, "blk1024.vec8.unr8.plain.tile.w0", candidate_status::compile_failed, 0, 0, 0, 0,
                                   "ptxas: too many registers\nsecond line", ""});
            db.set_winner({key, "blk256.vec4.unr2.plain.tile.w0", 5.0, 1500, 45, 52, 1, 2, 3.5, ""});
        };
        for (const std::string dtype : {"f32", "f16"})
            for (const std::string problem : {"n=1024", "n=4194304"}) add_key(dtype, problem, h100);
        add_key("f32", "n=1024", h200);
        db.store_binary({{"3f2a9c", "blk256.vec4.unr2.plain.tile.w0", "f32", "sm_90", "13.0"}, "_Z1kv", "d", "cubin"});
        return path;
    }

    /// Expects a run refused as a malformed command line: exit 2, nothing on stdout, one line on
    /// stderr starting "kerntune:" and containing every one of `expected`.
    static void expect_usage_error(const cli_run& run, const std::vector<std::string>& expected) {
        EXPECT_EQ(run.exit_code, 2) << run.err;
        EXPECT_EQ(run.out, "");
        EXPECT_EQ(run.err.rfind("kerntune:", 0), 0u) << run.err;
        EXPECT_EQ(run.err.find('\n'), run.err.size() - 1) << "not exactly one line:\n" << run.err;
        for (const std::string& part : expected) EXPECT_TRUE(contains(run.err, part)) << run.err;
    }

    /// Expects a failure: exit 1, nothing on stdout, one line on stderr naming `expected`.
    static void expect_failure(const cli_run& run, const std::vector<std::string>& expected) {
        EXPECT_EQ(run.exit_code, 1) << run.err;
        EXPECT_EQ(run.out, "");
        EXPECT_EQ(run.err.rfind("kerntune: error: ", 0), 0u) << run.err;
        EXPECT_EQ(run.err.find('\n'), run.err.size() - 1) << "not exactly one line:\n" << run.err;
        for (const std::string& part : expected) EXPECT_TRUE(contains(run.err, part)) << run.err;
    }

    /// Parses stdout as the one JSON document every --json prints and checks its envelope.
    static json envelope_of(const cli_run& run, const std::string& command) {
        EXPECT_EQ(run.exit_code, 0) << run.err;
        json document;
        try {
            document = json::parse(run.out);
        } catch (const json::exception& failure) {
            ADD_FAILURE() << "not JSON (" << failure.what() << "):\n" << run.out;
            return json::object();
        }
        const json& about = document.at("kerntune");
        EXPECT_EQ(about.at("version"), std::string(kerntune_version()));
        EXPECT_EQ(about.at("build"), std::string(kerntune_build()));
        EXPECT_EQ(about.at("schema_version"), known_schema_version());
        EXPECT_TRUE(contains(about.at("command").get<std::string>(), command)) << about.at("command");
        EXPECT_FALSE(about.at("nvrtc").get<std::string>().empty());
        EXPECT_TRUE(document.contains("result"));
        EXPECT_EQ(document.size(), 2u) << "only kerntune and result";
        return document;
    }
};

TEST_F(CliUsage, EveryCommandHasHelpThatTeaches) {
    const std::vector<std::pair<std::vector<std::string>, std::vector<std::string>>> cases = {
        {{"--help"}, {"usage: kerntune <command>", "tune", "devices", "list", "db", "KERNTUNE_TEMPLATES", "exit status"}},
        {{"help"}, {"usage: kerntune <command>"}},
        {{"tune", "--help"},
         {"usage: kerntune tune (--op OP | --expr TEXT", "--retry-failed", "--force", "--timeout SECONDS", "fractions allowed",
          "compiled into kerntune", "$KERNTUNE_TEMPLATES and --templates", "torch", "--dry-run --arch sm_XY",
          "are refused with it", "--shard K/N", "SLURM_ARRAY_TASK_ID", "JOB_COMPLETION_INDEX", "db merge"}},
        {{"devices", "--help"}, {"usage: kerntune devices", "by index", "--device N"}},
        {{"list", "--help"}, {"usage: kerntune list", "compiled into kerntune", "--templates DIRS"}},
        {{"db", "--help"}, {"kerntune db show", "kerntune db check", "kerntune db forget", "kerntune db export",
                            "kerntune db import", "kerntune db merge"}},
        {{"db", "show", "--help"}, {"usage: kerntune db show", "--candidates", "--op OP", "--gpu G"}},
        {{"db", "check", "--help"}, {"usage: kerntune db check", "integrity"}},
        {{"db", "forget", "--help"}, {"usage: kerntune db forget --op OP", "only those", "--shape S"}},
        {{"db", "export", "--help"}, {"usage: kerntune db export", "JSON Lines", "byte", "--output FILE|-", "--format jsonl"}},
        {{"db", "import", "--help"}, {"usage: kerntune db import FILE", "line number", "nothing is imported"}},
        {{"db", "merge", "--help"}, {"usage: kerntune db merge A.db", "--into PATH", "same method", "into itself"}},
    };
    for (const auto& [args, expected] : cases) {
        SCOPED_TRACE(args.front() + (args.size() > 1 ? " " + args[1] : ""));
        const cli_run run = run_cli(args);
        EXPECT_EQ(run.exit_code, 0) << run.err;
        EXPECT_EQ(run.err, "");
        for (const std::string& part : expected) EXPECT_TRUE(contains(run.out, part)) << "no '" << part << "' in\n" << run.out;
    }
}

TEST_F(CliUsage, VersionPrintsKerntunesAndNvrtcs) {
    const cli_run run = run_cli({"--version"});
    EXPECT_EQ(run.exit_code, 0) << run.err;
    // The build: the version and the commit it was built from (kerntune_build).
    const std::string first_line = "kerntune " + std::string(kerntune_build()) + "\n";
    EXPECT_EQ(run.out.compare(0, first_line.size(), first_line), 0) << run.out;
    EXPECT_TRUE(std::regex_match(run.out.substr(std::min(first_line.size(), run.out.size())), std::regex("NVRTC [0-9]+\\.[0-9]+\n")))
        << run.out;
    EXPECT_TRUE(std::regex_match(std::string(kerntune_version()), std::regex(R"([0-9]+\.[0-9]+\.[0-9]+)")));
}

TEST_F(CliUsage, MalformedCommandLinesExitTwoNamingWhatIsWrong) {
    const fs::path db = create_database();
    const std::string d = db.string();
    const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
        {{"frob"}, "frob"},
        {{"tune", "--op", "leaky_relu", "--frob", "--db", d}, "--frob"},
        {{"tune", "--db", d}, "tune needs --op OP"},
        {{"tune", "--op"}, "--op"},
        {{"tune", "--op", "leaky_relu", "--budget", "-1", "--db", d}, "--budget: must be a positive number of seconds"},
        {{"tune", "--op", "leaky_relu", "--shape", "0x5", "--db", d}, "bad shape '0x5'"},
        {{"tune", "--op", "leaky_relu", "--timeout", "0", "--db", d}, "--timeout: must be a number of seconds"},
        {{"tune", "--op", "leaky_relu", "--timeout", "-1", "--db", d}, "--timeout"},
        {{"tune", "--op", "leaky_relu", "--timeout", "20s", "--db", d}, "not '20s'"},
        {{"tune", "--op", "leaky_relu", "--timeout", "nan", "--db", d}, "not 'nan'"},
        {{"tune", "--op", "leaky_relu", "--device", "-1", "--db", d}, "--device: must be a GPU index"},
        {{"tune", "--op", "leaky_relu", "--device", "one", "--db", d}, "not 'one'"},
        {{"tune", "--op", "leaky_relu", "--dtype", "f64", "--db", d}, "unknown dtype 'f64'"},
        {{"tune", "--op", "leaky_relu", "--dtype", "f32,float32", "--db", d}, "given twice"},
        {{"tune", "--op", "leaky_relu", "--force", "--retry-failed", "--db", d}, "do not go together"},
        {{"tune", "--op", "leaky_relu", "--op", "leaky_relu", "--db", d}, "--op"},
        {{"db", "frob"}, "frob"},
        {{"db", "show", "--shape", "1024", "--db", d}, "--shape needs --op"},
        {{"db", "show", "--dtype", "double", "--db", d}, "unknown dtype 'double'"},
        {{"db", "forget", "--db", d}, "--op is required"},
        {{"list", "--templates"}, "--templates"},
        {{"devices", "--db", d}, "--db"},
    };
    for (const auto& [args, expected] : cases) {
        std::string text;
        for (const std::string& arg : args) text += arg + " ";
        SCOPED_TRACE(text);
        expect_usage_error(run_cli(args), {expected, "--help"});
    }
    // Nothing was written.
    EXPECT_EQ(database::open(db, open_mode::read_only).find_measurements({}).size(), 15u);
}

TEST_F(CliUsage, FailuresExitOne) {
    const fs::path db = create_database();
    expect_failure(run_cli({"tune", "--op", "leaky_relux", "--db", db.string()}), {"unknown op 'leaky_relux'"});
    expect_failure(run_cli({"tune", "--op", "leaky_relu", "--dtype", "i32", "--db", db.string()}),
                   {"template leaky_relu does not support dtype i32 (it declares f32, f16, bf16)"});
    expect_failure(run_cli({"db", "show", "--db", file("absent.db").string()}), {"no tuning database at"});
    std::ofstream(file("text.db")) << "not a database\n";
    expect_failure(run_cli({"db", "check", "--db", file("text.db").string()}), {"is not a kerntune database"});
    expect_failure(run_cli({"list", "--templates", file("nowhere").string()}), {"no template folder at"});
    expect_failure(run_cli({"db", "forget", "--op", "leaky_relu", "--db", file("absent.db").string()}),
                   {"no tuning database at"});
    EXPECT_FALSE(fs::exists(file("absent.db"))) << "forget created a database";
    if (!has_cuda_driver()) {
        expect_failure(run_cli({"tune", "--op", "leaky_relu", "--db", db.string()}), {"no CUDA driver"});
        expect_failure(run_cli({"devices"}), {"no CUDA driver"});
        expect_failure(run_cli({"devices", "--json"}), {"no CUDA driver"});
    }
}

TEST_F(CliUsage, TimeoutIsSecondsAndMayBeFractional) {
    if (has_cuda_driver()) GTEST_SKIP() << "this machine has a CUDA driver: tune would run";
    const fs::path db = create_database();
    for (const std::string timeout : {"0.5", "20", "0.001", "1e2"}) {
        SCOPED_TRACE(timeout);
        // Accepted: the tune gets as far as the GPU.
        expect_failure(run_cli({"tune", "--op", "leaky_relu", "--timeout", timeout, "--db", db.string()}), {"no CUDA driver"});
    }
    expect_usage_error(run_cli({"tune", "--op", "leaky_relu", "--timeout", "0.0001", "--db", db.string()}),
                       {"from 0.001 to 86400"});
}

TEST_F(CliUsage, DtypesTakeTorchAndNumpySpellingsInAnyCase) {
    const fs::path db = create_database();
    for (const std::string spelling : {"f32", "F32", "Float32", "float32", "float", "torch.float32", "np.float32"}) {
        SCOPED_TRACE(spelling);
        const cli_run run = run_cli({"db", "show", "--dtype", spelling, "--db", db.string()});
        EXPECT_EQ(run.exit_code, 0) << run.err;
        EXPECT_TRUE(contains(run.out, "leaky_relu  f32")) << run.out;
        EXPECT_FALSE(contains(run.out, "leaky_relu  f16")) << run.out;
    }
    if (!has_cuda_driver())
        expect_failure(run_cli({"tune", "--op", "leaky_relu", "--dtype", "Float32,torch.half,BF16", "--db", db.string()}),
                       {"no CUDA driver"});
}

TEST_F(CliUsage, DryRunRefusesTheOptionsItWouldIgnoreNamingThem) {
    const std::vector<std::string> dry_run = {"tune", "--dry-run", "--arch", "sm_90", "--op", "leaky_relu"};
    const std::vector<std::vector<std::string>> ignored = {
        {"--db", file("x.db").string()}, {"--shape", "1024"}, {"--device", "0"}, {"--budget", "5"},
        {"--timeout", "5"},              {"--retry-failed"},  {"--force"}};
    for (const std::vector<std::string>& option : ignored) {
        SCOPED_TRACE(option.front());
        std::vector<std::string> args = dry_run;
        args.insert(args.end(), option.begin(), option.end());
        expect_usage_error(run_cli(args), {option.front() + " has no meaning with --dry-run"});
    }
    expect_usage_error(run_cli({"tune", "--dry-run", "--op", "leaky_relu"}), {"--dry-run needs --arch"});
    expect_usage_error(run_cli({"tune", "--op", "leaky_relu", "--arch", "sm_90"}), {"--arch is for --dry-run"});
    expect_usage_error(run_cli({"tune", "--dry-run", "--arch", "90", "--op", "leaky_relu"}), {"--arch: must be a GPU arch"});
    EXPECT_FALSE(fs::exists(file("x.db")));
}

TEST_F(CliUsage, ForgetDeletesTheMatchingKeysRowsOnlyAndSaysHowMany) {
    const fs::path db = create_database();
    // --shape is the op's problem: leaky_relu has one axis, so 2048x2048 is n=4194304.
    cli_run run = run_cli({"db", "forget", "--op", "leaky_relu", "--dtype", "torch.float32", "--shape", "2048x2048", "--db",
                           db.string()});
    EXPECT_EQ(run.exit_code, 0) << run.err;
    EXPECT_EQ(run.out, "forgot 3 measurements and 1 winner of leaky_relu f32 n=4194304 in " + db.string() + "\n");
    {
        const database after = database::open(db, open_mode::read_only);
        EXPECT_TRUE(after.find_measurements({"leaky_relu", "f32", "n=4194304"}).empty());
        EXPECT_EQ(after.find_measurements({}).size(), 12u);
        EXPECT_EQ(after.winners().size(), 4u);
        EXPECT_EQ(after.devices().size(), 2u);
        EXPECT_TRUE(after.find_binary({"3f2a9c", "blk256.vec4.unr2.plain.tile.w0", "f32", "sm_90", "13.0"}).has_value());
    }
    run = run_cli({"db", "forget", "--op", "leaky_relu", "--gpu", h200, "--db", db.string(), "--json"});
    const json forgotten = envelope_of(run, "db forget").at("result");
    EXPECT_EQ(forgotten.at("measurements"), 3);
    EXPECT_EQ(forgotten.at("winners"), 1);
    EXPECT_EQ(forgotten.at("filter"), (json{{"template", "leaky_relu"}, {"gpu", h200}}));

    run = run_cli({"db", "forget", "--op", "leaky_relu", "--db", db.string()});
    EXPECT_EQ(run.out, "forgot 9 measurements and 3 winners of leaky_relu in " + db.string() + "\n");
    run = run_cli({"db", "forget", "--op", "leaky_relu", "--db", db.string()});
    EXPECT_EQ(run.out, "forgot 0 measurements and 0 winners of leaky_relu in " + db.string() + "\n");
    EXPECT_EQ(database::open(db, open_mode::read_only).devices().size(), 2u);
    // A shape is a problem key only for an op whose axes are known.
    expect_failure(run_cli({"db", "forget", "--op", "gone", "--shape", "1024", "--db", db.string()}),
                   {"op 'gone' is not among the templates"});
}

TEST_F(CliUsage, ShowCandidatesListsEveryMeasurementRow) {
    const fs::path db = create_database();
    cli_run run = run_cli({"db", "show", "--candidates", "--op", "leaky_relu", "--dtype", "f16", "--db", db.string()});
    EXPECT_EQ(run.exit_code, 0) << run.err;
    int rows = 0;
    for (std::size_t at = run.out.find("leaky_relu  f16"); at != std::string::npos; at = run.out.find("leaky_relu  f16", at + 1))
        ++rows;
    EXPECT_EQ(rows, 6) << run.out;
    EXPECT_TRUE(contains(run.out, "compile_failed")) << run.out;
    EXPECT_TRUE(contains(run.out, "ptxas: too many registers")) << run.out;
    EXPECT_FALSE(contains(run.out, "second line")) << "the table shows a message's first line";

    run = run_cli({"db", "show", "--candidates", "--json", "--db", db.string()});
    const json result = envelope_of(run, "db show --candidates --json").at("result");
    ASSERT_EQ(result.at("measurements").size(), 15u);
    EXPECT_EQ(result.at("devices").size(), 2u);
    const json& first = result.at("measurements").at(0);
    for (const char* field : {"template", "dtype", "problem", "gpu", "nvrtc", "template_hash", "config", "status",
                              "median_us", "noise", "gbps", "samples", "message", "measured_at"})
        EXPECT_TRUE(first.contains(field)) << field;
    EXPECT_FALSE(first.at("measured_at").get<std::string>().empty());
}

TEST_F(CliUsage, EveryJsonOutputIsOneDocumentWithTheEnvelope) {
    const fs::path db = create_database();
    const json list = envelope_of(run_cli({"list", "--json"}), "list --json").at("result");
    EXPECT_EQ(list.at("templates").at(0).at("name"), "layer_norm");
    const json show = envelope_of(run_cli({"db", "show", "--json", "--db", db.string()}), "db show").at("result");
    EXPECT_EQ(show.at("winners").size(), 5u);
    EXPECT_EQ(show.at("schema_version"), known_schema_version());
    EXPECT_FALSE(show.at("winners").at(0).at("tuned_at").get<std::string>().empty());
    const json check = envelope_of(run_cli({"db", "check", "--json", "--db", db.string()}), "db check").at("result");
    EXPECT_EQ(check.at("integrity"), "ok");
    EXPECT_EQ(check.at("ok"), true);
    EXPECT_EQ(check.at("database"), db.string());
}

// A non-finite number is neither stored nor shown: the database refuses to write one, and a row
// that holds one (a file edited by hand) is left out of db show with a warning. (Before, both were
// stored and shown as null; a winner's percentage of a copy bandwidth of 0 was +inf, and is now
// 0: the tuner's percent_of.)
TEST_F(CliUsage, NonFiniteNumbersInADatabaseAreLeftOutWithAWarning) {
    const fs::path path = create_database();
    const double inf = std::numeric_limits<double>::infinity();
    const tuning_key key{"leaky_relu", "3f2a9c", "f32", "n=1024", h100, "13.0"};
    {
        database db = database::open(path, open_mode::read_write);
        try {
            db.set_winner({key, "blk256.vec4.unr2.plain.tile.w0", 5.0, 1500, 45, inf, 1, 0, 3.5, ""});
            ADD_FAILURE() << "an infinite pct_copy was stored";
        } catch (const error& refused) {
            EXPECT_TRUE(contains(refused.what(), "pct_copy is inf, not a finite number >= 0")) << refused.what();
        }
    }
    ASSERT_EQ(testing::run_sql(path, "UPDATE winners SET pct_copy = 9e999 WHERE dtype = 'f32' AND problem_key = 'n=1024' "
                                     "AND gpu_identity = '" + h100 + "'"),
              "");
    const cli_run run = run_cli({"db", "show", "--json", "--db", path.string()});
    const json show = envelope_of(run, "db show").at("result");
    EXPECT_EQ(show.at("winners").size(), 4u) << "the edited winner is left out";
    EXPECT_TRUE(contains(run.err, path.string() + ": ignoring the winner of leaky_relu f32 n=1024 on " + h100 +
                                      ": pct_copy is inf, not a finite number >= 0"))
        << run.err;
}

TEST_F(CliUsage, ListJsonSurvivesATemplatePathThatIsNotUtf8) {
    const fs::path folder = file("templates-\xff\xfe");
    fs::create_directory(folder);
    const fs::path source(KERNTUNE_TEST_TEMPLATE_DIR);
    fs::copy_file(source / "leaky_relu.cu", folder / "leaky_relu.cu");
    std::string yaml = testing::file_bytes(source / "leaky_relu.yaml");
    const std::size_t at = yaml.find("name: leaky_relu");
    ASSERT_NE(at, std::string::npos);
    yaml.replace(at, 16, "name: leaky_copy");
    std::ofstream(folder / "leaky_relu.yaml", std::ios::binary) << yaml;

    const cli_run run = run_cli({"list", "--json", "--templates", folder.string()});
    const json templates = envelope_of(run, "list --json").at("result").at("templates");
    ASSERT_GE(templates.size(), 2u);
    EXPECT_EQ(templates.back().at("name"), "leaky_copy");  // the folder's, after the built-ins
    const std::string spec = templates.back().at("spec");
    EXPECT_TRUE(contains(spec, "templates-\xef\xbf\xbd\xef\xbf\xbd")) << spec;  // each bad byte a U+FFFD
    // The text listing shows each byte that is not UTF-8 escaped (as printable() does: lone
    // bytes 0x80 to 0x9f are C1 controls to an 8-bit terminal).
    const std::string text = run_cli({"list", "--templates", folder.string()}).out;
    EXPECT_TRUE(contains(text, file("templates-\\xff\\xfe").string())) << text;
}

// Schema 2 records the kerntune that wrote each row; a schema 1 file is shown as it is, untouched.
TEST_F(CliUsage, ShowNamesTheKerntuneThatWroteEachRow) {
    const fs::path db = create_database();
    const json winners = envelope_of(run_cli({"db", "show", "--json", "--db", db.string()}), "db show").at("result");
    EXPECT_EQ(winners.at("winners").at(0).at("kerntune_version"), std::string(kerntune_build()));
    const json rows =
        envelope_of(run_cli({"db", "show", "--candidates", "--json", "--db", db.string()}), "db show").at("result");
    EXPECT_EQ(rows.at("measurements").at(0).at("kerntune_version"), std::string(kerntune_build()));
    const cli_run table = run_cli({"db", "show", "--candidates", "--db", db.string()});
    EXPECT_TRUE(std::regex_search(table.out, std::regex("measured at +kerntune +message"))) << table.out;
    EXPECT_TRUE(contains(table.out, " " + std::string(kerntune_build()) + " ")) << table.out;

    std::ifstream dump(KERNTUNE_TEST_FIXTURE_DIR "/../databases/main_662010a.sql");
    const fs::path old = file("schema1.db");
    ASSERT_EQ(testing::run_sql(old, std::string(std::istreambuf_iterator<char>(dump), {})), "");
    const std::string before = testing::file_bytes(old);
    const json old_rows =
        envelope_of(run_cli({"db", "show", "--candidates", "--json", "--db", old.string()}), "db show").at("result");
    EXPECT_EQ(old_rows.at("schema_version"), 1);
    ASSERT_EQ(old_rows.at("measurements").size(), 8u);
    EXPECT_TRUE(old_rows.at("measurements").at(0).at("kerntune_version").is_null()) << "unknown in schema 1";
    EXPECT_TRUE(envelope_of(run_cli({"db", "show", "--json", "--db", old.string()}), "db show")
                    .at("result").at("winners").at(0).at("kerntune_version").is_null());
    EXPECT_TRUE(std::regex_search(run_cli({"db", "show", "--candidates", "--db", old.string()}).out,
                                  std::regex(R"(Z +- +fixture)")))
        << "an unknown version shows as -";
    EXPECT_EQ(testing::file_bytes(old), before);
}

} // namespace
} // namespace kerntune
