// nvrtc label, no GPU: `kerntune tune` through the real program (KERNTUNE_CLI_PATH) with the fake
// worker (tests/fixtures/fake_worker.cpp, KERNTUNE_WORKER) playing the GPU and NVRTC compiling:
// the ways out of a key ruined by timeouts, tune --json, the compile logs of a dry run and a
// tune printed once per distinct log, and a GPU index resolved by `db forget --gpu`.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

#include "../support/cli_run.hpp"
#include "../support/temp_folder.hpp"
#include "db/database.hpp"

namespace kerntune {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using testing::cli_run;

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

int occurrences(const std::string& text, const std::string& part) {
    int count = 0;
    for (std::size_t at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++count;
    return count;
}

/// The identity the fake worker's hello gives.
const std::string fake_gpu = "NVIDIA H100 80GB HBM3 (fake)|sm_90|132 SMs";

class CliTune : public testing::temp_folder_test {
protected:
    CliTune() : temp_folder_test("kerntune-cli-tune") {}

    /// `kerntune args...` with the fake worker answering as `mode` says, and more environment
    /// variables of `env`; stdout as `stdout_to` says.
    cli_run run_cli(const std::vector<std::string>& args, const std::string& mode,
                    std::map<std::string, std::string> env = {},
                    testing::standard_output stdout_to = testing::standard_output::captured) const {
        env.insert({{"KERNTUNE_WORKER", KERNTUNE_FAKE_WORKER_PATH}, {"KERNTUNE_FAKE_WORKER_MODE", mode}});
        return testing::run_kerntune(m_folder, args, env, false, stdout_to);
    }

    /// Tunes the faulty fixture (12 candidates that compile, 2 that do not) for f32 at one size.
    std::vector<std::string> tune_faulty(std::vector<std::string> extra) const {
        std::vector<std::string> args{"tune",    "--templates", KERNTUNE_TEST_FIXTURE_DIR, "--op", "faulty", "--dtype",
                                      "float32", "--shape",     "100003",                  "--db", db().string()};
        args.insert(args.end(), extra.begin(), extra.end());
        return args;
    }
    fs::path db() const { return m_folder / "tune.db"; }

    /// The table's row for the key: "f32    100003  ..."
    static std::string row_of(const std::string& out) {
        const std::size_t at = out.find("\nf32 ");
        return at == std::string::npos ? "" : out.substr(at + 1, out.find('\n', at + 1) - at - 1);
    }
};

TEST_F(CliTune, AKeyRuinedByTimeoutsHasWaysOut) {
    // What `--timeout 0` used to store: every candidate that compiles timed out.
    cli_run run = run_cli(tune_faulty({"--timeout", "0.05"}), "hang");
    EXPECT_EQ(run.exit_code, 1) << run.err;
    EXPECT_TRUE(contains(row_of(run.out), "(none ok)")) << run.out;
    EXPECT_TRUE(contains(run.err, "no valid candidate for faulty f32 100003")) << run.err;
    EXPECT_TRUE(contains(run.err, "--retry-failed")) << run.err;

    // The same command again resumes every stored row: still nothing ok.
    run = run_cli(tune_faulty({}), "good");
    EXPECT_EQ(run.exit_code, 1) << run.err;
    EXPECT_TRUE(contains(row_of(run.out), "(none ok)")) << run.out;

    // --retry-failed measures the timeouts again and keeps the compile failures.
    run = run_cli(tune_faulty({"--retry-failed"}), "good");
    EXPECT_EQ(run.exit_code, 0) << run.err;
    EXPECT_TRUE(contains(row_of(run.out), "12/2")) << run.out;
    EXPECT_FALSE(contains(run.err, "no valid candidate")) << run.err;

    // --force measures everything again, here into runtime faults: the winner goes too.
    run = run_cli(tune_faulty({"--force"}), "bad_number");
    EXPECT_EQ(run.exit_code, 1) << run.err;
    EXPECT_TRUE(contains(row_of(run.out), "(none ok)")) << run.out;
    EXPECT_TRUE(database::open(db(), open_mode::read_only).winners().empty());

    // And forgetting the key makes the next tune start afresh.
    run = run_cli({"db", "forget", "--op", "faulty", "--db", db().string()}, "good");
    EXPECT_EQ(run.exit_code, 0) << run.err;
    EXPECT_EQ(run.out, "forgot 14 measurements and 0 winners of faulty in " + db().string() + "\n");
    run = run_cli(tune_faulty({}), "good");
    EXPECT_EQ(run.exit_code, 0) << run.err;
    EXPECT_TRUE(contains(row_of(run.out), "12/2")) << run.out;
}

TEST_F(CliTune, TuneJsonIsOneDocumentWithTheGpuAndTheStoredTime) {
    const cli_run run = run_cli(tune_faulty({"--json"}), "good");
    ASSERT_EQ(run.exit_code, 0) << run.err;
    const json document = json::parse(run.out);
    EXPECT_EQ(document.at("kerntune").at("gpu"), fake_gpu);
    EXPECT_EQ(document.at("kerntune").at("driver"), "13.0");
    const json& result = document.at("result");
    EXPECT_EQ(result.at("op"), "faulty");
    EXPECT_EQ(result.at("device").at("identity"), fake_gpu);
    ASSERT_EQ(result.at("results").size(), 1u);
    const json& key = result.at("results").at(0);
    EXPECT_EQ(key.at("dtype"), "f32");
    EXPECT_EQ(key.at("ok"), 12);
    EXPECT_EQ(key.at("failed"), 2);
    const std::string tuned_at = key.at("winner").at("tuned_at");
    EXPECT_FALSE(tuned_at.empty()) << "tune --json printed no tuned_at";
    EXPECT_EQ(tuned_at, database::open(db(), open_mode::read_only).winners().at(0).tuned_at);
}

TEST_F(CliTune, WithoutShapeATuneTunesTheTemplatesDeclaredShapes) {
    const std::vector<std::string> base{"tune", "--templates", KERNTUNE_TEST_FIXTURE_DIR, "--op", "faulty", "--db", db().string()};
    std::vector<std::string> args = base;
    args.push_back("--json");
    cli_run run = run_cli(args, "good");
    ASSERT_EQ(run.exit_code, 0) << run.err;
    const json document = json::parse(run.out);
    const json& results = document.at("result").at("results");
    ASSERT_EQ(results.size(), 2u);
    EXPECT_EQ(results.at(0).at("problem"), "n=100003");
    EXPECT_EQ(results.at(1).at("problem"), "n=4099");

    args = base;
    args.insert(args.end(), {"--dim", "0"});
    run = run_cli(args, "good");
    EXPECT_EQ(run.exit_code, 2) << run.err;
    EXPECT_NE(run.err.find("--dim needs --shape"), std::string::npos) << run.err;

    run = run_cli({"tune", "--templates", KERNTUNE_TEST_FIXTURE_DIR, "--op", "row_sum", "--db", db().string()}, "good");
    EXPECT_EQ(run.exit_code, 1) << run.err;
    EXPECT_NE(run.err.find("tune --op row_sum needs --shape: its template declares no shapes"), std::string::npos) << run.err;
}

TEST_F(CliTune, WhatTheWorkerPrintsOnItsStdoutStaysOutOfTuneJson) {
    // Before, the worker shared the CLI's stdout, and this landed in the middle of the document.
    const std::string chatter = "worker says {\"not\": json\n";
    const cli_run run = run_cli(tune_faulty({"--json"}), "good", {{"KERNTUNE_FAKE_WORKER_STDOUT", chatter}});
    ASSERT_EQ(run.exit_code, 0) << run.err;
    EXPECT_FALSE(contains(run.out, "worker says")) << run.out.substr(0, 2000);
    EXPECT_NO_THROW(json::parse(run.out)) << run.out.substr(0, 2000);
    // On stderr, where diagnostics stay visible: once per request of each worker.
    EXPECT_GE(occurrences(run.err, chatter), 2) << run.err.substr(0, 2000);
}

TEST_F(CliTune, TuneIntoAClosedStdoutIsAnErrorAfterStoringItsResults) {
    // Before, this exited 0 with the document lost. With descriptor 1 closed, the next file or
    // socket opened (the worker's) takes its number, and a write to "stdout" goes there; the CLI
    // now keeps descriptor 1 taken (read-only /dev/null) and checks every write.
    const cli_run run = run_cli(tune_faulty({"--json"}), "good", {}, testing::standard_output::closed);
    EXPECT_EQ(run.exit_code, 1) << run.err;
    const std::string error = "kerntune: error: cannot write to standard output: Bad file descriptor\n";
    EXPECT_EQ(run.err.substr(run.err.size() - std::min(run.err.size(), error.size())), error) << run.err;
    EXPECT_EQ(database::open(db(), open_mode::read_only).winners().size(), 1u);
}

TEST_F(CliTune, AProblemPastWhatAGpuCanAddressIsRefusedNamingIt) {
    // Before, n = 2^60 - 1 "needs -9223372036854775808 bytes of buffers" (the sum wrapped).
    for (const std::string n : {"1152921504606846975", "9223372036854775807", "140737488355329"}) {
        SCOPED_TRACE(n);
        const cli_run run = run_cli({"tune", "--op", "leaky_relu", "--dtype", "f32", "--shape", n, "--db", db().string()}, "good");
        EXPECT_EQ(run.exit_code, 1);
        EXPECT_EQ(run.out, "");
        EXPECT_EQ(run.err, "kerntune: error: leaky_relu n=" + n + ": buffer x of " + n +
                               " f32 elements is over 2^49 bytes (512 TiB), more than a GPU can address\n");
    }
    // 2^47 f32 elements (2^49 bytes each way) is possible, only not on this GPU.
    const cli_run run =
        run_cli({"tune", "--op", "leaky_relu", "--dtype", "f32", "--shape", "140737488355328", "--db", db().string()}, "good");
    EXPECT_EQ(run.exit_code, 1);
    EXPECT_EQ(run.err, "kerntune: error: shape 140737488355328 in f32 needs 1688849860263936 bytes of buffers: more "
                       "than this GPU's memory\n");
}

// A derived parameter's rule that gives a value outside its domain for a problem is one line
// naming the parameter, the value and the problem, before anything is compiled or stored.
TEST_F(CliTune, ADerivedValueOutsideItsDomainIsOneLineAndStoresNothing) {
    const fs::path folder = m_folder / "templates";
    fs::create_directories(folder);
    fs::copy_file(fs::path(KERNTUNE_TEST_FIXTURE_DIR) / "row_sum.cu", folder / "row_sum.cu");
    std::ifstream in(fs::path(KERNTUNE_TEST_FIXTURE_DIR) / "row_sum.yaml");
    std::string yaml((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const std::string rule = "value: \"cols % 2 == 0 ? 2 : 1\"";
    ASSERT_NE(yaml.find(rule), std::string::npos);
    yaml.replace(yaml.find(rule), rule.size(), "value: \"cols % 2 == 0 ? 2 : 3\"");
    std::ofstream(folder / "row_sum.yaml") << yaml;

    const cli_run run = run_cli({"tune", "--templates", folder.string(), "--op", "row_sum", "--dtype", "f32", "--shape",
                                 "64x64,5x3", "--db", db().string()},
                                "good");
    EXPECT_EQ(run.exit_code, 1);
    EXPECT_EQ(run.out, "");
    EXPECT_EQ(run.err, "kerntune: error: row_sum: derived parameter STEP = 3 for 5x3 is not one of 1, 2\n");
    if (fs::exists(db())) EXPECT_TRUE(database::open(db(), open_mode::read_only).find_measurements({}).empty());
}

TEST_F(CliTune, TunePrintsEachDistinctCompileLogOnce) {
    const cli_run run = run_cli(tune_faulty({}), "good");
    EXPECT_EQ(run.exit_code, 0) << run.err;
    // MODE no_compile fails at both block sizes with one log.
    EXPECT_EQ(occurrences(run.err, "this candidate fails to compile on purpose\");"), 1) << run.err;
    EXPECT_TRUE(contains(run.err, "and 1 more kernel with the same log")) << run.err;
}

TEST_F(CliTune, DryRunPrintsATyposLogOnceForAllTheKernelsThatShareIt) {
    // leaky_relu with its kernel's name misspelled: every one of its 58 kernels fails alike.
    const fs::path folder = m_folder / "typo";
    fs::create_directory(folder);
    const fs::path source(KERNTUNE_TEST_TEMPLATE_DIR);
    fs::copy_file(source / "leaky_relu.cu", folder / "leaky_relu.cu");
    std::string yaml = testing::file_bytes(source / "leaky_relu.yaml");
    for (const auto& [from, to] : std::map<std::string, std::string>{{"name: leaky_relu\n", "name: leaky_typo\n"},
                                                                     {"kernel: kt::leaky_relu\n", "kernel: kt::leaky_reluu\n"}}) {
        const std::size_t at = yaml.find(from);
        ASSERT_NE(at, std::string::npos) << from;
        yaml.replace(at, from.size(), to);
    }
    std::ofstream(folder / "leaky_relu.yaml", std::ios::binary) << yaml;

    const std::vector<std::string> args{"tune", "--dry-run", "--arch",     "sm_90",        "--op",
                                        "leaky_typo", "--dtype", "f32", "--templates", folder.string()};
    cli_run run = run_cli(args, "good");
    EXPECT_EQ(run.exit_code, 1) << run.err;
    EXPECT_EQ(occurrences(run.err, "error: namespace \"kt\" has no member \"leaky_reluu\""), 1) << run.err.substr(0, 4000);
    EXPECT_TRUE(contains(run.err, "and 57 more kernels with the same log")) << run.err.substr(0, 4000);
    EXPECT_LT(occurrences(run.err, "\n"), 30) << "the log was printed more than once";

    std::vector<std::string> with_json = args;
    with_json.push_back("--json");
    run = run_cli(with_json, "good");
    EXPECT_EQ(run.exit_code, 1) << run.err;
    const json result = json::parse(run.out).at("result");
    EXPECT_EQ(result.at("results").at(0).at("failed"), 58);
    ASSERT_EQ(result.at("compile_failures").size(), 1u);
    EXPECT_EQ(result.at("compile_failures").at(0).at("kernels").size(), 58u);
}

TEST_F(CliTune, ForgetTakesALocalGpusIndex) {
    ASSERT_EQ(run_cli(tune_faulty({}), "good").exit_code, 0);
    const cli_run run = run_cli({"db", "forget", "--op", "faulty", "--gpu", "0", "--db", db().string(), "--json"}, "good");
    ASSERT_EQ(run.exit_code, 0) << run.err;
    const json document = json::parse(run.out);
    EXPECT_EQ(document.at("kerntune").at("gpu"), fake_gpu);
    EXPECT_EQ(document.at("result").at("filter").at("gpu"), fake_gpu);
    EXPECT_EQ(document.at("result").at("measurements"), 14);
    EXPECT_EQ(document.at("result").at("winners"), 1);
}

} // namespace
} // namespace kerntune
