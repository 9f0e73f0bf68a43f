// run_lanes (src/tune/lane_pool, issue 16) with fictional lanes on real threads: every key is
// measured by exactly one lane of its group, a lost lane's key goes to another, the last lane of
// a group is told it has no one to hand over to, and any other failure stops every lane.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

#include "tune/lane_pool.hpp"

namespace kerntune {
namespace {

/// `count` keys 0 .. count - 1 of cost count - key (so that the schedule's order is the keys').
std::vector<lane_work> keys(std::size_t count) {
    std::vector<lane_work> work;
    for (std::size_t key = 0; key < count; ++key) work.push_back({key, static_cast<double>(count - key)});
    return work;
}

/// What the lanes did, written under a lock from their threads.
struct journal {
    std::mutex mutex;
    std::map<std::pair<std::size_t, std::size_t>, std::vector<std::size_t>> lanes_of;  // (group, key) -> lanes
    std::set<std::thread::id> threads;
    void record(const lane_task& task) {
        std::lock_guard<std::mutex> lock(mutex);
        lanes_of[{task.group, task.key}].push_back(task.lane);
        threads.insert(std::this_thread::get_id());
    }
};

TEST(LanePool, FourLanesMeasureEveryKeyOnceOnThreadsOfTheirOwn) {
    std::vector<lane_schedule> schedules;
    schedules.emplace_back(keys(40), std::vector<int>{0, 1, 2, 3});
    journal seen;
    std::mt19937 rng(3);
    std::vector<int> pauses(40);
    for (int& pause : pauses) pause = static_cast<int>(rng() % 3);
    const std::vector<lost_lane> lost = run_lanes(schedules, [&](const lane_task& task) {
        seen.record(task);
        std::this_thread::sleep_for(std::chrono::milliseconds(pauses[task.key]));
    });
    EXPECT_TRUE(lost.empty());
    ASSERT_EQ(seen.lanes_of.size(), 40u);
    for (const auto& [key, lanes] : seen.lanes_of) EXPECT_EQ(lanes.size(), 1u) << "key " << key.second;
    EXPECT_EQ(seen.threads.size(), 4u);
    EXPECT_EQ(seen.threads.count(std::this_thread::get_id()), 0u);
    const lane_report report = schedules[0].report();
    EXPECT_EQ(report.measured_by.size(), 40u);
    EXPECT_TRUE(report.unmeasured.empty());
}

TEST(LanePool, OneLaneInAllRunsOnTheCallingThreadInWorkListOrder) {
    std::vector<lane_schedule> schedules;
    schedules.emplace_back(std::vector<lane_work>{{0, 1}, {1, 50}, {2, 7}}, std::vector<int>{5});
    std::vector<std::size_t> order;
    std::set<std::thread::id> threads;
    std::vector<bool> others;
    run_lanes(schedules, [&](const lane_task& task) {
        order.push_back(task.key);
        threads.insert(std::this_thread::get_id());
        others.push_back(task.others_alive());
    });
    EXPECT_EQ(order, (std::vector<std::size_t>{0, 1, 2})) << "a group of one keeps the work list's order";
    EXPECT_EQ(threads, std::set<std::thread::id>{std::this_thread::get_id()});
    EXPECT_EQ(others, (std::vector<bool>{false, false, false})) << "a lane alone has no one to hand over to";
}

/// Waits (up to 10 s, so that a broken pool fails rather than hangs) until `flag` is set.
void wait_for(const std::atomic<bool>& flag) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!flag && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

TEST(LanePool, ALostLanesKeyIsMeasuredByAnotherLaneAndTheLossSaysWhy) {
    std::vector<lane_schedule> schedules;
    schedules.emplace_back(keys(12), std::vector<int>{10, 11, 12});
    journal seen;
    std::atomic<bool> lane_1_took_a_key{false};
    const std::vector<lost_lane> lost = run_lanes(schedules, [&](const lane_task& task) {
        seen.record(task);
        // Lane 1 is lost on the first key it takes; the others hold their first keys until it
        // has taken one, so that it gets one however the threads start.
        if (task.lane == 1) {
            lane_1_took_a_key = true;
            throw lane_lost("worker killed by signal Killed");
        }
        wait_for(lane_1_took_a_key);
    });
    ASSERT_EQ(lost.size(), 1u);
    EXPECT_EQ(lost[0].group, 0u);
    EXPECT_EQ(lost[0].lane, 1u);
    EXPECT_EQ(lost[0].failure.device, 11);
    EXPECT_EQ(lost[0].reason, "worker killed by signal Killed");
    ASSERT_TRUE(lost[0].failure.interrupted.has_value());
    EXPECT_TRUE(lost[0].failure.handed_over);
    const std::size_t interrupted = *lost[0].failure.interrupted;
    const std::vector<std::size_t>& lanes = seen.lanes_of.at({0, interrupted});
    ASSERT_EQ(lanes.size(), 2u) << "taken by the lost lane, then by one other";
    EXPECT_EQ(lanes[0], 1u);
    EXPECT_NE(lanes[1], 1u);
    const lane_report report = schedules[0].report();
    EXPECT_EQ(report.measured_by.size(), 12u) << "nothing is lost with the lane";
    EXPECT_NE(report.measured_by.at(interrupted), 11);
    EXPECT_TRUE(report.unmeasured.empty());
    for (const auto& [key, by] : seen.lanes_of)
        if (key.second != interrupted) {
            EXPECT_EQ(by.size(), 1u) << "key " << key.second;
        }
}

TEST(LanePool, TheLastLaneOfAGroupIsToldItHasNoOneToHandOverTo) {
    std::vector<lane_schedule> schedules;
    schedules.emplace_back(keys(6), std::vector<int>{0, 1});
    std::mutex mutex;
    std::map<std::size_t, std::vector<bool>> others_of_lane;
    std::atomic<bool> lane_1_lost{false};
    const std::vector<lost_lane> lost = run_lanes(schedules, [&](const lane_task& task) {
        const bool others = task.others_alive();
        {
            std::lock_guard<std::mutex> lock(mutex);
            others_of_lane[task.lane].push_back(others);
        }
        if (task.lane == 1) {
            lane_1_lost = true;  // not yet failed in the schedule: lane 0 waits on a little more
            throw lane_lost("gone");
        }
        wait_for(lane_1_lost);
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    });
    ASSERT_EQ(lost.size(), 1u);
    // Lane 1 saw lane 0 alive when it took its key; lane 0, once lane 1 is lost, sees no one.
    EXPECT_EQ(others_of_lane[1], std::vector<bool>{true});
    ASSERT_FALSE(others_of_lane[0].empty());
    EXPECT_FALSE(others_of_lane[0].back());
    EXPECT_EQ(schedules[0].report().measured_by.size(), 6u);
}

TEST(LanePool, GroupsShareNoKeysAndAGroupWhoseLanesAreAllLostReportsItsKeys) {
    std::vector<lane_schedule> schedules;
    schedules.emplace_back(keys(8), std::vector<int>{0, 1});
    schedules.emplace_back(keys(8), std::vector<int>{2, 3});
    journal seen;
    const std::vector<lost_lane> lost = run_lanes(schedules, [&](const lane_task& task) {
        seen.record(task);
        if (task.group == 1) throw lane_lost("GPU fell off the bus");
    });
    EXPECT_EQ(lost.size(), 2u);
    for (const lost_lane& l : lost) EXPECT_EQ(l.group, 1u);
    EXPECT_EQ(schedules[0].report().measured_by.size(), 8u) << "the other group is not held up";
    const lane_report gone = schedules[1].report();
    EXPECT_TRUE(gone.measured_by.empty());
    EXPECT_EQ(gone.unmeasured.size(), 8u) << "every key is reported, none dropped";
    for (std::size_t key = 0; key < 8; ++key) EXPECT_EQ(seen.lanes_of[std::make_pair(std::size_t{0}, key)].size(), 1u);
}

TEST(LanePool, AnyOtherFailureStopsEveryLaneAndIsRethrownOnce) {
    std::vector<lane_schedule> schedules;
    schedules.emplace_back(keys(100), std::vector<int>{0, 1, 2});
    std::atomic<int> started{0};
    EXPECT_THROW(run_lanes(schedules,
                           [&](const lane_task& task) {
                               ++started;
                               if (task.key == 4) throw std::runtime_error("database is full");
                               std::this_thread::sleep_for(std::chrono::milliseconds(2));
                           }),
                 std::runtime_error);
    // Every lane stops after the key it is measuring: far fewer than 100 started.
    EXPECT_LT(started.load(), 20);
}

TEST(LanePool, RandomLossesNeverLoseOrRepeatAKeyBeyondOneHandOver) {
    for (unsigned seed = 0; seed < 30; ++seed) {
        SCOPED_TRACE("seed " + std::to_string(seed));
        std::vector<lane_schedule> schedules;
        schedules.emplace_back(keys(25), std::vector<int>{0, 1, 2, 3});
        journal seen;
        std::mutex mutex;
        std::mt19937 rng(seed);
        const std::vector<lost_lane> lost = run_lanes(schedules, [&](const lane_task& task) {
            seen.record(task);
            bool lose = false;
            {
                std::lock_guard<std::mutex> lock(mutex);
                lose = rng() % 10 == 0;
            }
            if (lose) throw lane_lost("lost");
        });
        const lane_report report = schedules[0].report();
        EXPECT_EQ(report.measured_by.size() + report.unmeasured.size(), 25u);
        for (const auto& [key, lanes] : seen.lanes_of) EXPECT_LE(lanes.size(), 2u) << "key " << key.second;
        EXPECT_EQ(lost.size(), report.failures.size());
    }
}

} // namespace
} // namespace kerntune
