// nvrtc label, no GPU: tune_lanes (issue 16) with fake workers (tests/fixtures/fake_worker.cpp)
// playing the GPUs and NVRTC compiling. Two lanes on "GPU 0": the fake worker describes the same
// GPU whatever its index, and tune_lanes accepts two lanes on one GPU (the CLI never gives one
// twice: parse_device_list refuses "0,0"), which is how a machine of one GPU runs two lanes; the
// same tests on a real GPU are tests/gpu/test_tune_lanes.cpp. A lane's worker is killed with
// SIGKILL from the progress callback, which runs on that lane's thread after a candidate is
// stored, so that the kill falls mid-key every time.
#include <gtest/gtest.h>

#include <signal.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <optional>
#include <memory>
#include <set>
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

/// Which lanes reported progress on each key ("f32 n=..."), and how often.
using progress_log = std::map<std::string, std::map<std::size_t, int>>;

std::string key_of(const tune_progress& step) { return std::string(to_string(step.type)) + " " + step.shape->key(); }
std::string key_of(const tune_outcome& o) { return std::string(to_string(o.type)) + " " + o.shape.key(); }
std::string key_of(const work_item& item) { return std::string(to_string(item.type)) + " " + item.shape.key(); }

class TuneLanes : public testing::temp_folder_test {
protected:
    TuneLanes() : temp_folder_test("kerntune-tune-lanes") {}
    void SetUp() override {
        temp_folder_test::SetUp();
        // Each candidate gets its own median from its kernel and launch: the same winners
        // whichever lane measures a key.
        setenv("KERNTUNE_FAKE_WORKER_MODE", "varied", 1);
        m_options.dtypes = {dtype::f32};
        for (const char* shape : {"1000", "100003", "1048576", "4000037"})
            m_options.problems.push_back(make_problem({"n"}, parse_shape(shape)));
        m_options.max_samples = 5;
    }
    void TearDown() override {
        unsetenv("KERNTUNE_FAKE_WORKER_MODE");
        temp_folder_test::TearDown();
    }

    /// Lanes on "GPU 0", each with a fake worker started from `executable`.
    std::vector<tune_lane> start_lanes(std::size_t count, const fs::path& executable = KERNTUNE_FAKE_WORKER_PATH) {
        for (std::size_t i = 0; i < count; ++i) m_workers.push_back(std::make_unique<worker_client>(executable, 0));
        std::vector<tune_lane> lanes;
        for (const auto& worker : m_workers) lanes.push_back({0, worker.get()});
        return lanes;
    }

    /// Every stored row of the faulty fixture's keys: their statuses, counted.
    static std::map<std::string, int> statuses(database& db) {
        std::map<std::string, int> counts;
        for (const measurement& row : db.find_measurements({})) ++counts[std::string(to_string(row.status))];
        return counts;
    }

    const kernel_spec m_spec = load_spec(fs::path(KERNTUNE_TEST_FIXTURE_DIR) / "faulty.yaml");
    tune_options m_options;
    std::vector<std::unique_ptr<worker_client>> m_workers;
};

TEST_F(TuneLanes, TwoLanesMeasureEachKeyOnOneLaneAndPickTheWinnersOneLanePicks) {
    database db = database::open(m_folder / "two.db", open_mode::read_write);
    const std::vector<tune_lane> lanes = start_lanes(2);
    progress_log progress;
    const tune_report report = tune_lanes(m_spec, m_options, lanes, db, [&](const tune_progress& step) {
        ++progress[key_of(step)][step.lane];
    });
    EXPECT_TRUE(report.lost.empty());
    EXPECT_EQ(report.unmeasured_keys(), 0u);
    ASSERT_EQ(report.groups.size(), 1u) << "one identity: one group";
    EXPECT_EQ(report.groups[0].lanes, (std::vector<std::size_t>{0, 1}));
    ASSERT_EQ(report.outcomes.size(), 4u);
    for (std::size_t i = 0; i < report.outcomes.size(); ++i) {
        const tune_outcome& o = report.outcomes[i];
        SCOPED_TRACE(key_of(o));
        EXPECT_EQ(o.shape.key(), m_options.problems[i].key()) << "outcomes in work-list order";
        ASSERT_TRUE(o.lane.has_value());
        EXPECT_EQ(o.device, 0);
        ASSERT_TRUE(o.best.has_value());
        EXPECT_EQ(o.ok, 12);
        EXPECT_EQ(o.failed, 2);  // the two candidates that do not compile
        // Every candidate's progress came from the one lane that measured the key.
        ASSERT_EQ(progress[key_of(o)].size(), 1u);
        EXPECT_EQ(progress[key_of(o)].begin()->first, *o.lane);
        EXPECT_EQ(progress[key_of(o)].begin()->second, 14);
    }
    EXPECT_EQ(db.winners().size(), 4u);
    EXPECT_EQ(statuses(db), (std::map<std::string, int>{{"compile_failed", 8}, {"ok", 48}}));

    // One lane, another database: the same winners.
    database alone = database::open(m_folder / "one.db", open_mode::read_write);
    m_workers.clear();
    const std::vector<tune_lane> one = start_lanes(1);
    const tune_report single = tune_lanes(m_spec, m_options, one, alone, nullptr);
    ASSERT_EQ(single.outcomes.size(), 4u);
    for (std::size_t i = 0; i < 4; ++i) {
        ASSERT_TRUE(single.outcomes[i].best.has_value());
        EXPECT_EQ(single.outcomes[i].best->config, report.outcomes[i].best->config) << key_of(single.outcomes[i]);
    }
}

TEST_F(TuneLanes, AWorkerKilledMidKeyHandsTheKeyOverAndNothingIsLost) {
    database db = database::open(m_folder / "kill.db", open_mode::read_write);
    // Two fake GPUs of one identity, "GPU 0" and "GPU 1": one group.
    m_workers.push_back(std::make_unique<worker_client>(KERNTUNE_FAKE_WORKER_PATH, 0));
    m_workers.push_back(std::make_unique<worker_client>(KERNTUNE_FAKE_WORKER_PATH, 1));
    const std::vector<tune_lane> lanes{{0, m_workers[0].get()}, {1, m_workers[1].get()}};
    progress_log progress;
    std::optional<std::size_t> killed_lane;
    std::string killed_key;
    const tune_report report = tune_lanes(m_spec, m_options, lanes, db, [&](const tune_progress& step) {
        ++progress[key_of(step)][step.lane];
        EXPECT_EQ(step.device, lanes[step.lane].device);
        // The first lane to store its third candidate of a key loses its worker (kill -9).
        if (!killed_lane && step.done == 3) {
            killed_lane = step.lane;
            killed_key = key_of(step);
            ASSERT_EQ(kill(lanes[step.lane].worker->pid(), SIGKILL), 0);
        }
    });
    ASSERT_TRUE(killed_lane.has_value());
    const int killed_gpu = lanes[*killed_lane].device;
    ASSERT_EQ(report.lost.size(), 1u);
    const lost_gpu& lost = report.lost[0];
    EXPECT_EQ(lost.lane, *killed_lane);
    EXPECT_EQ(lost.device, killed_gpu);
    EXPECT_NE(lost.reason.find("killed by signal"), std::string::npos) << lost.reason;
    ASSERT_TRUE(lost.interrupted.has_value());
    EXPECT_EQ(key_of(*lost.interrupted), killed_key);
    EXPECT_TRUE(lost.handed_over);

    // Nothing lost: every key measured, every candidate stored once, no fault recorded for the
    // candidate the worker died on, every winner stored.
    EXPECT_EQ(report.unmeasured_keys(), 0u);
    for (const tune_outcome& o : report.outcomes) {
        ASSERT_TRUE(o.lane.has_value()) << key_of(o);
        EXPECT_TRUE(o.best.has_value()) << key_of(o);
        EXPECT_EQ(o.device, lanes[*o.lane].device) << key_of(o);
    }
    EXPECT_EQ(statuses(db), (std::map<std::string, int>{{"compile_failed", 8}, {"ok", 48}}));
    EXPECT_EQ(db.winners().size(), 4u);

    // The other lane measured the key again from scratch: all 14 candidates, the 3 the lost lane
    // stored included, not resumed from them.
    const auto taken = std::find_if(report.outcomes.begin(), report.outcomes.end(),
                                    [&](const tune_outcome& o) { return key_of(o) == killed_key; });
    ASSERT_NE(taken, report.outcomes.end());
    EXPECT_NE(*taken->lane, *killed_lane);
    EXPECT_NE(taken->device, killed_gpu);
    EXPECT_EQ(taken->resumed, 0);
    EXPECT_EQ(taken->ok + taken->failed, 14);
    EXPECT_EQ(progress[killed_key][*taken->lane], 14);
    EXPECT_EQ(progress[killed_key][*killed_lane], 3);
    // Before the kill the lost lane measured whole keys only, and after it none.
    for (auto& [key, by_lane] : progress)
        if (key != killed_key && by_lane.count(*killed_lane)) {
            EXPECT_EQ(by_lane[*killed_lane], 14) << key;
        }
}

TEST_F(TuneLanes, AWorkerKilledOnALaneAloneIsTheCandidatesFaultAsOnOneGpu) {
    database db = database::open(m_folder / "alone.db", open_mode::read_write);
    const std::vector<tune_lane> lanes = start_lanes(1);
    bool killed = false;
    const tune_report report = tune_lanes(m_spec, m_options, lanes, db, [&](const tune_progress& step) {
        if (!killed && step.done == 3) {
            killed = true;
            ASSERT_EQ(kill(lanes[0].worker->pid(), SIGKILL), 0);
        }
    });
    // Today's tune: the candidate in flight is a runtime_fault, a fresh worker goes on.
    EXPECT_TRUE(report.lost.empty());
    EXPECT_EQ(report.unmeasured_keys(), 0u);
    EXPECT_EQ(statuses(db), (std::map<std::string, int>{{"compile_failed", 8}, {"ok", 47}, {"runtime_fault", 1}}));
    EXPECT_EQ(lanes[0].worker->starts(), 2);
}

TEST_F(TuneLanes, ALaneAloneThatCannotStartAWorkerAgainLeavesItsKeysReportedNotMeasured) {
    const fs::path doomed = m_folder / "doomed-worker";
    fs::copy_file(KERNTUNE_FAKE_WORKER_PATH, doomed);
    database db = database::open(m_folder / "alone-gone.db", open_mode::read_write);
    const std::vector<tune_lane> lanes = start_lanes(1, doomed);
    bool killed = false;
    const tune_report report = tune_lanes(m_spec, m_options, lanes, db, [&](const tune_progress& step) {
        if (!killed && step.done == 3) {
            killed = true;
            fs::remove(doomed);
            ASSERT_EQ(kill(lanes[0].worker->pid(), SIGKILL), 0);
        }
    });
    ASSERT_EQ(report.lost.size(), 1u);
    EXPECT_FALSE(report.lost[0].handed_over);
    ASSERT_TRUE(report.lost[0].interrupted.has_value());
    EXPECT_EQ(key_of(*report.lost[0].interrupted), key_of(report.outcomes[0])) << "the first key, in work-list order";
    EXPECT_NE(report.lost[0].reason.find("cannot start the worker"), std::string::npos) << report.lost[0].reason;
    EXPECT_EQ(report.unmeasured_keys(), 4u) << "every key is reported, none dropped";
    // What was stored stays for the next tune to resume: the first key's rows up to the
    // candidate the worker died on (a runtime_fault, as on one GPU), nothing of the others.
    const std::map<std::string, int> stored = statuses(db);
    EXPECT_EQ(stored.at("runtime_fault"), 1);
    int rows = 0;
    for (const auto& [status, count] : stored) rows += count;
    const tuning_key first{m_spec.name, m_spec.source_hash, "f32", m_options.problems[0].key(),
                           report.records.at(0).identity, nvrtc_version()};
    EXPECT_EQ(static_cast<int>(db.measurements(first).size()), rows);
    EXPECT_TRUE(db.winners().empty());

    // The tune of one GPU says so as an error.
    fs::copy_file(KERNTUNE_FAKE_WORKER_PATH, doomed);
    worker_client worker(doomed, 0);
    killed = false;
    try {
        tune(m_spec, m_options, worker, db, [&](const tune_progress&) {
            if (!killed) {
                killed = true;
                fs::remove(doomed);
                kill(worker.pid(), SIGKILL);
            }
        });
        ADD_FAILURE() << "no error for a GPU lost mid-tune";
    } catch (const error& failure) {
        EXPECT_NE(std::string(failure.what()).find("GPU 0 was lost mid-tune"), std::string::npos) << failure.what();
    }
}

TEST(TuneCost, ABiggerProblemOrSpaceCostsMore) {
    const kernel_spec spec = load_spec(fs::path(KERNTUNE_TEST_FIXTURE_DIR) / "faulty.yaml");
    const double small = estimated_cost(spec, {dtype::f32, make_problem({"n"}, parse_shape("1000"))});
    const double large = estimated_cost(spec, {dtype::f32, make_problem({"n"}, parse_shape("4000037"))});
    EXPECT_GT(small, 0);
    EXPECT_GT(large, 1000 * small);
}

} // namespace
} // namespace kerntune
