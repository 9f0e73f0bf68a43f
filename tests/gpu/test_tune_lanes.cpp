// gpu label: tune_lanes (issue 16) on the device. Two lanes on GPU 0, which is how a machine of
// one GPU runs the scheduling, the threads, the connections and the hand-over of several GPUs:
// the CLI never gives one GPU twice (parse_device_list refuses --devices 0,0), but tune_lanes
// takes lanes, and two workers on one GPU are two lanes of one identity, one group. Their
// timings disturb each other, so these tests check what is stored, never how fast; the speed-up
// of real GPUs is bench/RESULTS.md's (tools/bench_devices.sh). A lane's worker is killed with
// SIGKILL from the progress callback, which runs on that lane's thread right after a candidate
// is stored, so that the kill falls mid-key every time.
#include <gtest/gtest.h>

#include <signal.h>

#include <algorithm>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "catalog/catalog.hpp"
#include "core/config.hpp"
#include "kernel_harness.hpp"
#include "tune/tuner.hpp"
#include "tune/worker_client.hpp"

namespace kerntune::testing {
namespace {

std::string key_of(dtype type, const problem& shape) { return std::string(to_string(type)) + " " + shape.key(); }

/// Which lanes stored candidates of each key, and how many.
using progress_log = std::map<std::string, std::map<std::size_t, int>>;

class TuneLanesOnTheGpu : public ::testing::Test {
protected:
    void SetUp() override {
        KERNTUNE_REQUIRE_GPU();
        m_options.dtypes = {dtype::f32};
        // Small odd sizes: every candidate validates quickly, heads and tails included.
        for (const char* shape : {"65537", "3x65537", "1000003", "1048576"})
            m_options.problems.push_back(make_problem({"n"}, parse_shape(shape)));
        m_options.max_samples = 10;
    }

    /// One lane per GPU index of `devices`, each with a worker of its own.
    std::vector<tune_lane> start_lanes(const std::vector<int>& devices) {
        for (int device : devices) m_workers.push_back(std::make_unique<worker_client>(default_worker_executable(), device));
        std::vector<tune_lane> lanes;
        for (std::size_t i = 0; i < devices.size(); ++i) lanes.push_back({devices[i], m_workers[i].get()});
        return lanes;
    }

    /// Every key of `report` stored its winner and every candidate of its space once, ok.
    void expect_everything_stored(const tune_report& report, database& db) {
        EXPECT_EQ(report.unmeasured_keys(), 0u);
        const int space = static_cast<int>(enumerate_space(m_spec, dtype::f32).size());
        for (const tune_outcome& o : report.outcomes) {
            SCOPED_TRACE(key_of(o.type, o.shape));
            ASSERT_TRUE(o.lane.has_value());
            ASSERT_TRUE(o.best.has_value());
            EXPECT_TRUE(db.find_winner(o.best->key).has_value());
            const std::vector<measurement> rows = db.measurements(o.best->key);
            EXPECT_EQ(static_cast<int>(rows.size()), space);
            for (const measurement& row : rows) EXPECT_EQ(row.status, candidate_status::ok) << row.config << ": " << row.message;
        }
    }

    const kernel_spec m_spec = *catalog().at("leaky_relu");
    tune_options m_options;
    std::vector<std::unique_ptr<worker_client>> m_workers;
};

TEST_F(TuneLanesOnTheGpu, TwoLanesOnOneGpuStoreEveryWinnerEachKeyMeasuredByOneLane) {
    database db = database::open(scratch_path("lanes.db"), open_mode::read_write);
    const std::vector<tune_lane> lanes = start_lanes({0, 0});
    progress_log progress;
    const tune_report report = tune_lanes(m_spec, m_options, lanes, db, [&](const tune_progress& step) {
        ++progress[key_of(step.type, *step.shape)][step.lane];
    });
    EXPECT_TRUE(report.lost.empty());
    ASSERT_EQ(report.groups.size(), 1u) << "two workers on one GPU: one identity, one group";
    ASSERT_EQ(report.outcomes.size(), m_options.problems.size());
    expect_everything_stored(report, db);
    const int space = static_cast<int>(enumerate_space(m_spec, dtype::f32).size());
    for (const tune_outcome& o : report.outcomes) {
        const std::map<std::size_t, int>& by_lane = progress[key_of(o.type, o.shape)];
        ASSERT_EQ(by_lane.size(), 1u) << key_of(o.type, o.shape) << ": measured by exactly one lane";
        EXPECT_EQ(by_lane.begin()->first, *o.lane);
        EXPECT_EQ(by_lane.begin()->second, space);
    }
}

TEST_F(TuneLanesOnTheGpu, AWorkerKilledMidKeyIsHandedOverWithNothingLost) {
    database db = database::open(scratch_path("killed.db"), open_mode::read_write);
    const std::vector<tune_lane> lanes = start_lanes({0, 0});
    progress_log progress;
    std::optional<std::size_t> killed_lane;
    std::string killed_key;
    const tune_report report = tune_lanes(m_spec, m_options, lanes, db, [&](const tune_progress& step) {
        ++progress[key_of(step.type, *step.shape)][step.lane];
        // kill -9 of the first lane's worker to store its 20th candidate of a key.
        if (!killed_lane && step.done == 20) {
            killed_lane = step.lane;
            killed_key = key_of(step.type, *step.shape);
            ASSERT_EQ(kill(lanes[step.lane].worker->pid(), SIGKILL), 0);
        }
    });
    ASSERT_TRUE(killed_lane.has_value());
    ASSERT_EQ(report.lost.size(), 1u);
    EXPECT_EQ(report.lost[0].lane, *killed_lane);
    EXPECT_NE(report.lost[0].reason.find("killed by signal"), std::string::npos) << report.lost[0].reason;
    ASSERT_TRUE(report.lost[0].interrupted.has_value());
    EXPECT_EQ(key_of(report.lost[0].interrupted->type, report.lost[0].interrupted->shape), killed_key);
    EXPECT_TRUE(report.lost[0].handed_over);
    // Nothing lost: no fault stored for the candidate the worker died on, every row ok.
    expect_everything_stored(report, db);
    // The other lane measured the whole key again, what the lost lane stored included.
    const int space = static_cast<int>(enumerate_space(m_spec, dtype::f32).size());
    const auto taken = std::find_if(report.outcomes.begin(), report.outcomes.end(),
                                    [&](const tune_outcome& o) { return key_of(o.type, o.shape) == killed_key; });
    ASSERT_NE(taken, report.outcomes.end());
    EXPECT_NE(*taken->lane, *killed_lane);
    EXPECT_EQ(taken->resumed, 0);
    EXPECT_EQ(progress[killed_key][*taken->lane], space);
    // The lost lane stored its 20, and then any twins of them (configs with the same kernel and
    // launch at this problem, stored from a measurement already made, without the worker) until
    // its next launch found the worker gone; never the whole key.
    EXPECT_GE(progress[killed_key][*killed_lane], 20);
    EXPECT_LT(progress[killed_key][*killed_lane], space);
}

TEST_F(TuneLanesOnTheGpu, TwoGpusShareTheKeysOfTheirGroup) {
    if (device_count() < 2) GTEST_SKIP() << "needs 2 GPUs: this machine has " << device_count();
    database db = database::open(scratch_path("two-gpus.db"), open_mode::read_write);
    const std::vector<tune_lane> lanes = start_lanes({0, 1});
    const tune_report report = tune_lanes(m_spec, m_options, lanes, db, nullptr);
    EXPECT_TRUE(report.lost.empty());
    expect_everything_stored(report, db);
    // Each key is measured on a GPU of its own group (two groups when the GPUs differ).
    for (const tune_outcome& o : report.outcomes) {
        const std::vector<std::size_t>& group = report.groups.at(o.group).lanes;
        EXPECT_NE(std::find(group.begin(), group.end(), *o.lane), group.end()) << key_of(o.type, o.shape);
        EXPECT_EQ(o.device, lanes[*o.lane].device);
    }
}

} // namespace
} // namespace kerntune::testing
