// nvrtc label, no GPU: which stored rows a tune keeps (tune_options::resume). The fake worker
// (tests/fixtures/fake_worker.cpp) plays the GPU: "hang" never answers, so that every candidate
// that compiles is stored as a timeout, as a --timeout too short or a loaded machine leaves a
// key; "good" then answers ok; "bad_number" answers nonsense (runtime_fault).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "../support/temp_folder.hpp"
#include "catalog/spec_loader.hpp"
#include "core/problem.hpp"
#include "cuda/nvrtc.hpp"
#include "tune/tuner.hpp"
#include "tune/worker_client.hpp"

namespace kerntune {
namespace {

namespace fs = std::filesystem;

class TuneResumePolicy : public testing::temp_folder_test {
protected:
    void SetUp() override {
        temp_folder_test::SetUp();
        m_db = std::make_unique<database>(database::open(m_folder / "tune.db", open_mode::read_write));
    }
    void TearDown() override {
        unsetenv("KERNTUNE_FAKE_WORKER_MODE");
        m_db.reset();
        temp_folder_test::TearDown();
    }

    /// Tunes the faulty fixture (12 candidates that compile, 2 that do not) for f32 at one size
    /// with the fake worker in `mode`.
    tune_outcome tune_with(const std::string& mode, resume_policy resume, int timeout_ms = 10'000) {
        setenv("KERNTUNE_FAKE_WORKER_MODE", mode.c_str(), 1);
        tune_options options;
        options.dtypes = {dtype::f32};
        options.problems = {make_problem({"n"}, parse_shape("100003"))};
        options.candidate_timeout_ms = timeout_ms;
        options.resume = resume;
        worker_client worker(KERNTUNE_FAKE_WORKER_PATH, 0);
        const std::vector<tune_outcome> outcomes = tune(m_spec, options, worker, *m_db, nullptr);
        EXPECT_EQ(outcomes.size(), 1u);
        m_key = {m_spec.name, m_spec.source_hash, "f32", options.problems[0].key(),
                 decode_hello(worker.device_facts(), 0).identity(), nvrtc_version()};
        return outcomes.at(0);
    }

    /// How many stored rows of the key have each status.
    std::map<candidate_status, int> statuses() const {
        std::map<candidate_status, int> counts;
        for (const measurement& row : m_db->measurements(m_key)) ++counts[row.status];
        return counts;
    }

    /// A key ruined by timeouts: what `kerntune tune --timeout 0` left before it was refused.
    void ruin_the_key() {
        const tune_outcome ruined = tune_with("hang", resume_policy::keep_all, 50);
        ASSERT_FALSE(ruined.best.has_value());
        ASSERT_EQ(statuses(), (std::map<candidate_status, int>{{candidate_status::compile_failed, 2},
                                                               {candidate_status::timeout, 12}}));
    }

    const kernel_spec m_spec = load_spec(fs::path(KERNTUNE_TEST_FIXTURE_DIR) / "faulty.yaml");
    std::unique_ptr<database> m_db;
    tuning_key m_key;
};

TEST_F(TuneResumePolicy, KeepAllResumesEveryStoredRowSoARuinedKeyStaysRuined) {
    ruin_the_key();
    const tune_outcome again = tune_with("good", resume_policy::keep_all);
    EXPECT_EQ(again.resumed, 14);
    EXPECT_EQ(again.ok + again.failed, 0);
    EXPECT_FALSE(again.best.has_value());
}

TEST_F(TuneResumePolicy, RetryFailedMeasuresTheTimeoutsAgainAndKeepsTheCompileFailures) {
    ruin_the_key();
    const tune_outcome retried = tune_with("good", resume_policy::retry_failed);
    EXPECT_EQ(retried.resumed, 2);  // the compile failures: the same code fails the same way
    EXPECT_EQ(retried.ok, 12);
    EXPECT_EQ(retried.failed, 0);
    ASSERT_TRUE(retried.best.has_value());
    EXPECT_EQ(retried.best->candidates_ok, 12);
    EXPECT_EQ(retried.best->candidates_failed, 2);
    EXPECT_FALSE(retried.best->tuned_at.empty()) << "the winner as stored carries its time";
    EXPECT_EQ(statuses(), (std::map<candidate_status, int>{{candidate_status::ok, 12},
                                                           {candidate_status::compile_failed, 2}}));
    // Nothing is left to retry: ok rows are kept.
    const tune_outcome nothing_left = tune_with("bad_number", resume_policy::retry_failed);
    EXPECT_EQ(nothing_left.resumed, 14);
    EXPECT_EQ(nothing_left.ok + nothing_left.failed, 0);
    EXPECT_TRUE(nothing_left.best.has_value());
}

TEST_F(TuneResumePolicy, RemeasureAllMeasuresEveryCandidateAgainAndDropsAWinnerNoRowSupports) {
    ruin_the_key();
    ASSERT_TRUE(tune_with("good", resume_policy::retry_failed).best.has_value());
    ASSERT_TRUE(m_db->find_winner(m_key).has_value());

    const tune_outcome forced = tune_with("bad_number", resume_policy::remeasure_all);
    EXPECT_EQ(forced.resumed, 0);
    EXPECT_EQ(forced.ok, 0);
    EXPECT_EQ(forced.failed, 14);
    EXPECT_FALSE(forced.best.has_value());
    EXPECT_EQ(statuses(), (std::map<candidate_status, int>{{candidate_status::compile_failed, 2},
                                                           {candidate_status::runtime_fault, 12}}));
    EXPECT_FALSE(m_db->find_winner(m_key).has_value()) << "a winner no ok row supports was kept";

    const tune_outcome good = tune_with("good", resume_policy::remeasure_all);
    EXPECT_EQ(good.resumed, 0);
    EXPECT_EQ(good.ok, 12);
    EXPECT_EQ(good.failed, 2);
    EXPECT_TRUE(m_db->find_winner(m_key).has_value());
}

TEST_F(TuneResumePolicy, OutcomeListsTheKernelsThatDidNotCompileWithTheirLogs) {
    const tune_outcome outcome = tune_with("good", resume_policy::keep_all);
    ASSERT_EQ(outcome.compile_failures.size(), 2u);  // MODE no_compile at both block sizes
    for (const compile_failure& failure : outcome.compile_failures) {
        EXPECT_NE(failure.kernel.find("kt_fixture::faulty<float, 4, "), std::string::npos) << failure.kernel;
        EXPECT_NE(failure.log.find("this candidate fails to compile on purpose"), std::string::npos) << failure.log;
    }
}

TEST_F(TuneResumePolicy, ConfigsWithTheSameKernelAndLaunchAtAProblemAreMeasuredOnceAndSaySo) {
    // The fixture with a launch parameter its launch rule never reads: SPARE 1 launches what
    // SPARE 0 launches.
    std::ifstream in(fs::path(KERNTUNE_TEST_FIXTURE_DIR) / "faulty.yaml");
    std::string yaml((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const std::string modes = "values: [good, out_of_bounds, spin, too_few_threads, no_compile, partial, wrong]";
    ASSERT_NE(yaml.find(modes), std::string::npos);
    yaml.replace(yaml.find(modes), modes.size(), "values: [good]");
    const std::string blocks = "  - {name: BLOCK, short: blk, kind: template, values: [128, 256]}\n";
    ASSERT_NE(yaml.find(blocks), std::string::npos);
    yaml.insert(yaml.find(blocks) + blocks.size(), "  - {name: SPARE, short: sp, kind: launch, values: [0, 1]}\n");
    yaml.replace(yaml.find("default: {MODE: good, BLOCK: 256}"), 33, "default: {MODE: good, BLOCK: 256, SPARE: 0}");
    fs::copy_file(fs::path(KERNTUNE_TEST_FIXTURE_DIR) / "faulty.cu", m_folder / "faulty.cu");
    std::ofstream(m_folder / "faulty.yaml") << yaml;
    const kernel_spec spec = load_spec(m_folder / "faulty.yaml");
    setenv("KERNTUNE_FAKE_WORKER_MODE", "varied", 1);
    tune_options options;
    options.dtypes = {dtype::f32};
    options.problems = {make_problem({"n"}, parse_shape("100003"))};
    worker_client worker(KERNTUNE_FAKE_WORKER_PATH, 0);
    const tune_outcome outcome = tune(spec, options, worker, *m_db, nullptr).at(0);
    EXPECT_EQ(outcome.ok, 4);
    const std::vector<measurement> rows = m_db->measurements(outcome.best->key);
    ASSERT_EQ(rows.size(), 4u);
    std::map<std::string, measurement> by_config;
    for (const measurement& row : rows) by_config[row.config] = row;
    for (const char* block : {"blk128", "blk256"}) {
        const measurement& measured = by_config.at(std::string("good.") + block + ".sp0");
        const measurement& twin = by_config.at(std::string("good.") + block + ".sp1");
        EXPECT_EQ(measured.message, "");
        EXPECT_EQ(twin.message, "the same kernel and launch as " + measured.config + " at this problem, whose measurement this is");
        EXPECT_EQ(twin.median_us, measured.median_us);
        EXPECT_EQ(twin.status, candidate_status::ok);
    }
    // Of two equal medians the winner is the first label, the config that was measured.
    EXPECT_EQ(outcome.best->config.substr(outcome.best->config.size() - 4), ".sp0");
}

} // namespace
} // namespace kerntune
