// nvrtc label, no GPU: fleet tuning through the real program (KERNTUNE_CLI_PATH). N shard
// processes of a dry run (NVRTC compiling on the CPU) cover the work list exactly once between
// them, by --shard and by a scheduler's variables; bad shard specs are one line, exit 1; and two
// shards of a tune with the fake worker as the GPU (tests/fixtures/fake_worker.cpp, mode varied:
// each kernel's median its own), merged with `db merge`, hold the winners a one-process tune does.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "../support/cli_run.hpp"
#include "../support/expectations.hpp"
#include "../support/temp_folder.hpp"
#include "db/database.hpp"

namespace kerntune {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using testing::cli_run;
using testing::contains;

class CliFleet : public testing::temp_folder_test {
protected:
    CliFleet() : temp_folder_test("kerntune-cli-fleet") {}

    cli_run run_cli(const std::vector<std::string>& args, std::map<std::string, std::string> env = {}) const {
        env.insert({{"KERNTUNE_WORKER", KERNTUNE_FAKE_WORKER_PATH}, {"KERNTUNE_FAKE_WORKER_MODE", "varied"}});
        return testing::run_kerntune(m_folder, args, env);
    }

    /// A dry run of the spec_fields fixture (f32, f16, bf16; 15 kernels each) for sm_90, --json.
    static std::vector<std::string> dry_run(std::vector<std::string> extra) {
        std::vector<std::string> args{"tune", "--dry-run", "--arch", "sm_90", "--templates", KERNTUNE_TEST_FIXTURE_DIR,
                                      "--op", "spec_fields", "--json"};
        args.insert(args.end(), extra.begin(), extra.end());
        return args;
    }

    /// The dtypes a dry run's --json document says it compiled.
    static std::vector<std::string> compiled_dtypes(const cli_run& run) {
        EXPECT_EQ(run.exit_code, 0) << run.err;
        const json document = json::parse(run.out);
        std::vector<std::string> types;
        for (const json& result : document.at("result").at("results")) types.push_back(result.at("dtype"));
        return types;
    }

    /// A tune of the faulty fixture (12 candidates that compile, 2 that do not) for f32 at four
    /// sizes: a work list of four keys.
    std::vector<std::string> tune_into(const fs::path& db, std::vector<std::string> extra) const {
        std::vector<std::string> args{"tune", "--templates", KERNTUNE_TEST_FIXTURE_DIR, "--op", "faulty", "--dtype", "f32",
                                      "--shape", "100003,4096,65536,1000", "--db", db.string()};
        args.insert(args.end(), extra.begin(), extra.end());
        return args;
    }

    /// Each key's winner: "f32 n=4096" -> "blk128.good 7.25".
    static std::map<std::string, std::string> winners_of(const fs::path& db) {
        std::map<std::string, std::string> winners;
        for (const winner& w : database::open(db, open_mode::read_only).winners())
            winners[w.key.dtype + " " + w.key.problem_key] = w.config + " " + std::to_string(w.median_us);
        return winners;
    }
};

TEST_F(CliFleet, ShardProcessesOfADryRunCompileEveryDtypeExactlyOnce) {
    for (const int count : {2, 3}) {
        SCOPED_TRACE(count);
        std::multiset<std::string> compiled;
        for (int index = 0; index < count; ++index) {
            const cli_run run = run_cli(dry_run({"--shard", std::to_string(index) + "/" + std::to_string(count)}));
            EXPECT_EQ(run.err, "") << "a shard given by --shard is not announced";
            const json shard = json::parse(run.out).at("result").at("shard");
            EXPECT_EQ(shard.at("index"), index);
            EXPECT_EQ(shard.at("count"), count);
            EXPECT_EQ(shard.at("from"), "--shard");
            for (const std::string& type : compiled_dtypes(run)) compiled.insert(type);
        }
        EXPECT_EQ(compiled, (std::multiset<std::string>{"bf16", "f16", "f32"}));
    }
}

TEST_F(CliFleet, AShardFromTheSchedulersVariablesIsSaidInOneLine) {
    // A Slurm job array --array=1-4: IDs 1 to 4 are shards 0 to 3, the last with nothing to do.
    std::multiset<std::string> compiled;
    for (int id = 1; id <= 4; ++id) {
        const cli_run run = run_cli(dry_run({}), {{"SLURM_ARRAY_TASK_ID", std::to_string(id)},
                                                  {"SLURM_ARRAY_TASK_MIN", "1"},
                                                  {"SLURM_ARRAY_TASK_COUNT", "4"}});
        const std::vector<std::string> types = compiled_dtypes(run);
        EXPECT_EQ(run.err, "kerntune: shard " + std::to_string(id - 1) + "/4 from SLURM_ARRAY_TASK_ID=" +
                               std::to_string(id) + " SLURM_ARRAY_TASK_MIN=1 SLURM_ARRAY_TASK_COUNT=4: " +
                               std::to_string(types.size()) + " of 3 dtypes (--shard K/N to choose)\n");
        EXPECT_EQ(json::parse(run.out).at("result").at("shard").at("from"),
                  "SLURM_ARRAY_TASK_ID=" + std::to_string(id) + " SLURM_ARRAY_TASK_MIN=1 SLURM_ARRAY_TASK_COUNT=4");
        compiled.insert(types.begin(), types.end());
    }
    EXPECT_EQ(compiled, (std::multiset<std::string>{"bf16", "f16", "f32"}));
    // --shard wins over the environment, and says nothing.
    const cli_run run = run_cli(dry_run({"--shard", "0/1"}), {{"RANK", "1"}, {"WORLD_SIZE", "2"}});
    EXPECT_EQ(run.err, "");
    EXPECT_EQ(compiled_dtypes(run).size(), 3u);
}

TEST_F(CliFleet, BadShardSpecsAreOneLineExitOneAndTheDatabaseIsLeftAsItWas) {
    const fs::path db = m_folder / "tune.db";
    ASSERT_EQ(run_cli(tune_into(db, {"--shard", "0/4"})).exit_code, 0);
    const std::string before = testing::file_bytes(db);
    const std::map<std::string, std::string> specs = {
        {"3/2", "shard 3 of 2 does not exist"}, {"0/0", "the count N must be at least 1"},
        {"-1/4", "expected K/N"},               {"a/b", "expected K/N"},
        {"1/", "expected K/N"},                 {"/2", "expected K/N"},
        {"99999999999/2", "expected K/N"},      {"1/99999999999999999999", "expected K/N"},
    };
    for (const auto& [spec, problem] : specs) {
        SCOPED_TRACE(spec);
        for (const bool dry : {false, true}) {
            const cli_run run = run_cli(dry ? dry_run({"--shard", spec}) : tune_into(db, {"--shard", spec}));
            EXPECT_EQ(run.exit_code, 1) << run.err;
            EXPECT_EQ(run.out, "");
            EXPECT_EQ(run.err.rfind("kerntune: error: --shard '" + spec + "': " + problem, 0), 0u) << run.err;
            EXPECT_EQ(run.err.find('\n'), run.err.size() - 1) << run.err;
        }
    }
    // A scheduler variable that is not a number is the same kind of failure.
    const cli_run run = run_cli(tune_into(db, {}), {{"SLURM_ARRAY_TASK_ID", "abc"}, {"SLURM_ARRAY_TASK_COUNT", "4"}});
    EXPECT_EQ(run.exit_code, 1);
    EXPECT_EQ(run.err.rfind("kerntune: error: the scheduler's SLURM_ARRAY_TASK_ID='abc' is not a whole number", 0), 0u)
        << run.err;
    EXPECT_EQ(testing::file_bytes(db), before);
}

TEST_F(CliFleet, AShardWithNothingToTuneExitsZeroWithAnEmptyTable) {
    // One key over two shards: shard 1 has none, compiles nothing, and says what GPU it saw.
    const fs::path db = m_folder / "empty.db";
    const cli_run run = run_cli({"tune", "--templates", KERNTUNE_TEST_FIXTURE_DIR, "--op", "faulty", "--shape", "100003",
                                 "--shard", "1/2", "--db", db.string()});
    EXPECT_EQ(run.exit_code, 0) << run.err;
    EXPECT_EQ(run.out.rfind("faulty on NVIDIA H100 80GB HBM3 (fake) (sm_90, 132 SMs, theoretical 3352 GB/s", 0), 0u)
        << run.out;
    EXPECT_EQ(std::count(run.out.begin(), run.out.end(), '\n'), 4) << "a header, the table's two lines, the wall time";
    EXPECT_TRUE(database::open(db, open_mode::read_only).find_measurements({}).empty());
}

TEST_F(CliFleet, TwoShardsMergedHoldTheWinnersOfAOneProcessTune) {
    const fs::path one = m_folder / "one.db", first = m_folder / "shard-0.db", second = m_folder / "shard-1.db";
    ASSERT_EQ(run_cli(tune_into(one, {})).exit_code, 0);
    cli_run run = run_cli(tune_into(first, {"--shard", "0/2", "--json"}));
    ASSERT_EQ(run.exit_code, 0) << run.err;
    EXPECT_EQ(json::parse(run.out).at("result").at("results").size(), 2u);
    // The second shard from a Kubernetes Indexed Job's variables.
    run = run_cli(tune_into(second, {}), {{"JOB_COMPLETION_INDEX", "1"}, {"KERNTUNE_SHARD_COUNT", "2"}});
    ASSERT_EQ(run.exit_code, 0) << run.err;
    EXPECT_TRUE(contains(run.err, "kerntune: shard 1/2 from JOB_COMPLETION_INDEX=1 KERNTUNE_SHARD_COUNT=2: 2 of 4 keys"))
        << run.err;

    // Each shard tuned its own two keys.
    const std::map<std::string, std::string> a = winners_of(first), b = winners_of(second);
    EXPECT_EQ(a.size(), 2u);
    EXPECT_EQ(b.size(), 2u);
    for (const auto& [key, best] : a) EXPECT_EQ(b.count(key), 0u) << key << " was tuned by both shards";

    const fs::path merged = m_folder / "merged.db";
    run = run_cli({"db", "merge", first.string(), second.string(), "--into", merged.string()});
    ASSERT_EQ(run.exit_code, 0) << run.err;
    EXPECT_TRUE(contains(run.out, "\n0 conflicts\n")) << run.out;
    EXPECT_EQ(winners_of(merged), winners_of(one));
    EXPECT_EQ(winners_of(one).size(), 4u);
    const database db = database::open(merged, open_mode::read_only);
    EXPECT_EQ(db.find_measurements({}).size(), 4u * 14);
    for (const measurement& m : db.find_measurements({})) {
        EXPECT_EQ(m.method, "cuda-events.l2-flushed.median");
        EXPECT_EQ(m.driver_version, "13.0");
    }
}

} // namespace
} // namespace kerntune
