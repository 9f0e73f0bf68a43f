// The scheduling of a tune over several GPUs (src/tune/device_lanes, issue 16) with fictional
// devices: --devices parsing, grouping by identity, and lane_schedule's keys, balance and
// failure hand-over, without a GPU.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "test_core_support.hpp"
#include "tune/device_lanes.hpp"

namespace kerntune {
namespace {

using test::contains;
using test::error_of;

// ---- --devices ----

TEST(DeviceList, AllSelectsEveryGpuOfTheMachine) {
    EXPECT_EQ(parse_device_list("all", 4), (std::vector<int>{0, 1, 2, 3}));
    EXPECT_EQ(parse_device_list("all", 1), (std::vector<int>{0}));
}

TEST(DeviceList, AListComesBackInAscendingOrderWhateverItsOrder) {
    EXPECT_EQ(parse_device_list("0,2,3", 4), (std::vector<int>{0, 2, 3}));
    EXPECT_EQ(parse_device_list("3,0,2", 4), (std::vector<int>{0, 2, 3}));
    EXPECT_EQ(parse_device_list("1", 2), (std::vector<int>{1}));
    EXPECT_EQ(parse_device_list("07", 8), (std::vector<int>{7}));
}

TEST(DeviceList, EveryBadFormIsOneLineNamingTheBadPart) {
    struct bad_list {
        std::string text;
        int device_count;
        std::string message;
    };
    const std::vector<bad_list> cases = {
        {"", 4, "empty device list: expected all or GPU indices such as 0,2,3"},
        {"0,,2", 4, "empty item in device list '0,,2'"},
        {"0,", 4, "empty item in device list '0,'"},
        {",0", 4, "empty item in device list ',0'"},
        {"all,1", 4, "'all' stands alone, not as an item in device list 'all,1'"},
        {"1,all", 4, "'all' stands alone, not as an item in device list '1,all'"},
        {"ALL", 4, "'ALL' in device list 'ALL' is not a GPU index (0, 1, ...: kerntune devices lists them)"},
        {"0,x", 4, "'x' in device list '0,x' is not a GPU index"},
        {"1a", 4, "'1a' in device list '1a' is not a GPU index"},
        {"0, 1", 4, "' 1' in device list '0, 1' is not a GPU index"},
        {"+1", 4, "'+1' in device list '+1' is not a GPU index"},
        {"1.0", 4, "'1.0' in device list '1.0' is not a GPU index"},
        {"0;1", 4, "'0;1' in device list '0;1' is not a GPU index"},
        {"-", 4, "'-' in device list '-' is not a GPU index"},
        {"1\x1b[2J", 4, "'1\\x1b[2J' in device list '1\\x1b[2J' is not a GPU index"},
        {"-1", 4, "'-1' in device list '-1' is negative: GPU indices count from 0"},
        {"0,-0", 4, "'-0' in device list '0,-0' is negative"},
        {"4", 4, "GPU '4' in device list '4' does not exist: this machine has 4 GPUs (0 to 3)"},
        {"0,1", 1, "GPU '1' in device list '0,1' does not exist: this machine has 1 GPU (0)"},
        {"0", 0, "GPU '0' in device list '0' does not exist: this machine has no GPU"},
        {"2147483648", 4, "GPU '2147483648' in device list '2147483648' does not exist: this machine has 4 GPUs"},
        {"99999999999999999999", 4, "GPU '99999999999999999999' in device list '99999999999999999999' does not exist"},
        {"2,0,2", 4, "GPU 2 is given twice in device list '2,0,2'"},
        {"0,00", 4, "GPU 0 is given twice in device list '0,00'"},
        {"all", 0, "device list 'all': this machine has no GPU"},
    };
    for (const bad_list& bad : cases) {
        const std::string message = error_of([&] { parse_device_list(bad.text, bad.device_count); });
        EXPECT_TRUE(contains(message, bad.message)) << bad.text << ": " << message;
        EXPECT_FALSE(contains(message, "\n")) << bad.text;
    }
}

TEST(DeviceList, ItsFormIsCheckedWithoutTheMachineAsTheCliDoesWhileReadingTheCommandLine) {
    EXPECT_EQ(device_list_indices("all"), std::nullopt) << "all is the machine's to say";
    EXPECT_EQ(device_list_indices("3,0,2"), (std::vector<int>{0, 2, 3}));
    EXPECT_EQ(device_list_indices("17"), (std::vector<int>{17})) << "whether GPU 17 exists is the worker's to say";
    // Every bad form is refused as parse_device_list refuses it.
    for (const std::string text : {"", "0,,1", "all,1", "0, 1", "-1", "1a", "2,0,2"}) {
        const std::string form = error_of([&] { device_list_indices(text); });
        EXPECT_EQ(form, error_of([&] { parse_device_list(text, 4); })) << text;
        EXPECT_FALSE(form.empty()) << text;
    }
    EXPECT_TRUE(contains(error_of([&] { device_list_indices("99999999999"); }),
                         "GPU '99999999999' in device list '99999999999' does not exist: no machine has that many GPUs"));
}

// ---- grouping ----

const std::string h200 = "NVIDIA H200|sm_90|132 SMs";
const std::string h100 = "NVIDIA H100 80GB HBM3|sm_90|132 SMs";
const std::string h100_cut = "NVIDIA H100 80GB HBM3|sm_90|114 SMs";
const std::string a100 = "NVIDIA A100-SXM4-80GB|sm_80|108 SMs";

TEST(DeviceGroups, TwoH200sAndAnH100AreTwoGroupsOfOneArch) {
    const std::vector<device_group> groups = group_devices({{0, h200, "sm_90"}, {1, h100, "sm_90"}, {2, h200, "sm_90"}});
    ASSERT_EQ(groups.size(), 2u);
    EXPECT_EQ(groups[0].identity, h200);
    EXPECT_EQ(groups[0].devices, (std::vector<int>{0, 2}));
    EXPECT_EQ(groups[1].identity, h100);
    EXPECT_EQ(groups[1].devices, (std::vector<int>{1}));
    // Both are Hopper: their candidates compile once, for both groups.
    EXPECT_EQ(distinct_arches(groups), (std::vector<std::string>{"sm_90"}));
}

TEST(DeviceGroups, AnA100AddsAGroupAndASecondArch) {
    const std::vector<device_group> groups =
        group_devices({{3, a100, "sm_80"}, {0, h200, "sm_90"}, {1, h200, "sm_90"}, {2, h100, "sm_90"}});
    ASSERT_EQ(groups.size(), 3u);
    EXPECT_EQ(groups[0].devices, (std::vector<int>{3}));
    EXPECT_EQ(groups[1].devices, (std::vector<int>{0, 1}));
    EXPECT_EQ(groups[2].devices, (std::vector<int>{2}));
    EXPECT_EQ(distinct_arches(groups), (std::vector<std::string>{"sm_80", "sm_90"}));
}

TEST(DeviceGroups, IdenticalNamesWithDifferentSmCountsAreSeparateGroups) {
    const std::vector<device_group> groups = group_devices({{0, h100, "sm_90"}, {1, h100_cut, "sm_90"}});
    ASSERT_EQ(groups.size(), 2u);
    EXPECT_EQ(groups[0].devices, (std::vector<int>{0}));
    EXPECT_EQ(groups[1].devices, (std::vector<int>{1}));
}

TEST(DeviceGroups, ARepeatedIndexOrAnIdentityOfTwoArchesIsAnError) {
    EXPECT_EQ(error_of([] { group_devices({{0, h200, "sm_90"}, {0, h200, "sm_90"}}); }), "GPU 0 is given twice");
    EXPECT_EQ(error_of([] { group_devices({{0, h200, "sm_90"}, {1, h200, "sm_90a"}}); }),
              "GPU 1 (" + h200 + ") is sm_90a but GPU 0 of the same identity is sm_90");
}

// ---- the schedule ----

/// Keys 0, 1, ... of the given costs.
std::vector<lane_work> work_of(const std::vector<double>& costs) {
    std::vector<lane_work> work;
    for (std::size_t key = 0; key < costs.size(); ++key) work.push_back({key, costs[key]});
    return work;
}

/// Every key `lane` gets, measuring each, asking until none is left.
std::vector<std::size_t> keys_in_order(lane_schedule& schedule, std::size_t lane) {
    std::vector<std::size_t> keys;
    while (std::optional<std::size_t> key = schedule.next_key(lane)) {
        keys.push_back(*key);
        schedule.complete(lane, *key);
    }
    return keys;
}

TEST(LaneSchedule, AGroupOfOneTakesTheWorkListOrderAsTodaysTuneDoes) {
    lane_schedule schedule(work_of({1, 1000, 5, 1e6, 2}), {3});
    EXPECT_EQ(keys_in_order(schedule, 0), (std::vector<std::size_t>{0, 1, 2, 3, 4}));
    EXPECT_TRUE(schedule.finished());
    const lane_report report = schedule.report();
    EXPECT_EQ(report.measured_by, (std::map<std::size_t, int>{{0, 3}, {1, 3}, {2, 3}, {3, 3}, {4, 3}}));
    EXPECT_TRUE(report.failures.empty());
    EXPECT_TRUE(report.unmeasured.empty());
}

TEST(LaneSchedule, LanesTakeTheLargestKeyFirstTiesInWorkListOrder) {
    lane_schedule schedule(work_of({1, 1000, 5, 1000, 2}), {0, 1});
    EXPECT_EQ(schedule.next_key(1), 1u);
    EXPECT_EQ(schedule.next_key(0), 3u);
    schedule.complete(0, 3);
    EXPECT_EQ(schedule.next_key(0), 2u);
    schedule.complete(0, 2);
    EXPECT_EQ(schedule.next_key(0), 4u);
    schedule.complete(1, 1);
    EXPECT_EQ(schedule.next_key(1), 0u);
    schedule.complete(1, 0);
    EXPECT_EQ(schedule.next_key(1), std::nullopt);
    EXPECT_FALSE(schedule.finished());  // lane 0 still measures key 4
    schedule.complete(0, 4);
    EXPECT_TRUE(schedule.finished());
    EXPECT_EQ(schedule.report().measured_by, (std::map<std::size_t, int>{{0, 1}, {1, 1}, {2, 0}, {3, 0}, {4, 0}}));
}

TEST(LaneSchedule, KeysOfEqualCostKeepTheirWorkListOrder) {
    // 40 keys: a sort that is not stable reorders ties past the 16 elements it sorts by insertion.
    std::vector<double> costs;
    std::vector<std::size_t> expected_even, expected_odd;
    for (std::size_t key = 0; key < 40; ++key) {
        costs.push_back(key % 2 == 0 ? 2 : 1);
        (key % 2 == 0 ? expected_even : expected_odd).push_back(key);
    }
    expected_even.insert(expected_even.end(), expected_odd.begin(), expected_odd.end());
    lane_schedule schedule(work_of(costs), {0, 1});
    EXPECT_EQ(keys_in_order(schedule, 1), expected_even);
}

TEST(LaneSchedule, NoWorkIsFinishedAtOnce) {
    lane_schedule schedule({}, {0, 1});
    EXPECT_TRUE(schedule.finished());
    EXPECT_EQ(schedule.next_key(0), std::nullopt);
}

/// Runs `schedule` as GPUs would, every key taking its cost in seconds: a lane asks at time 0
/// and whenever it completes a key (the earliest first, the lower lane on a tie). Returns the
/// time the last lane finishes.
double makespan(lane_schedule& schedule, const std::vector<double>& costs) {
    std::vector<double> now(schedule.lane_count(), 0);
    std::vector<std::optional<std::size_t>> measuring(schedule.lane_count());
    for (std::size_t lane = 0; lane < now.size(); ++lane) measuring[lane] = schedule.next_key(lane);
    for (;;) {
        std::optional<std::size_t> next;
        for (std::size_t lane = 0; lane < now.size(); ++lane)
            if (measuring[lane] && (!next || now[lane] + costs[*measuring[lane]] < now[*next] + costs[*measuring[*next]]))
                next = lane;
        if (!next) break;
        now[*next] += costs[*measuring[*next]];
        schedule.complete(*next, *measuring[*next]);
        measuring[*next] = schedule.next_key(*next);
    }
    EXPECT_TRUE(schedule.finished());
    return *std::max_element(now.begin(), now.end());
}

TEST(LaneSchedule, TheLargestKeysFirstBalanceTwoLanes) {
    // Handed out in work-list order, six small keys would come first and the large one last,
    // alone: 3 + 6 = 9. Largest first: 6 on one lane, the six small ones on the other.
    const std::vector<double> costs = {1, 1, 1, 1, 1, 1, 6};
    lane_schedule schedule(work_of(costs), {0, 1});
    EXPECT_DOUBLE_EQ(makespan(schedule, costs), 6);
}

TEST(LaneSchedule, TheLargestKeysFirstBalanceFourLanes) {
    // Twelve small keys then two large: 3 + 6 = 9 in work-list order; largest first, 6 (the sum
    // over 4 lanes, the best there is).
    std::vector<double> costs(12, 1);
    costs.insert(costs.end(), {6, 6});
    lane_schedule schedule(work_of(costs), {0, 1, 2, 3});
    EXPECT_DOUBLE_EQ(makespan(schedule, costs), 6);
}

TEST(LaneSchedule, KeysOfATuneThatDifferByOrdersOfMagnitudeBalance) {
    // Bytes moved per key, as a tune's work list orders them: f32, f16, bf16, each over the
    // problems 1024 ... 4096 x 393216 in ascending order.
    const std::vector<double> elements = {1024, 65536, 1048576, 16777216, 268435456, 1610612736};
    std::vector<double> costs;
    for (double bytes : {4, 2, 2})
        for (double n : elements) costs.push_back(n * bytes);
    const double largest = *std::max_element(costs.begin(), costs.end());
    double total = 0;
    for (double cost : costs) total += cost;
    // Four lanes: the f32 4096 x 393216 key alone bounds the tune, and nothing waits past it.
    lane_schedule four(work_of(costs), {0, 1, 2, 3});
    EXPECT_DOUBLE_EQ(makespan(four, costs), largest);
    // Two lanes: half the total, the best there is (in work-list order: 14% longer).
    lane_schedule two(work_of(costs), {0, 1});
    EXPECT_DOUBLE_EQ(makespan(two, costs), total / 2);
}

TEST(LaneSchedule, AFailedLaneHandsItsKeyToTheRestOfTheGroupAndGetsNoMore) {
    lane_schedule schedule(work_of({10, 8, 6, 4}), {5, 7});
    EXPECT_EQ(schedule.next_key(0), 0u);
    EXPECT_EQ(schedule.next_key(1), 1u);
    const lane_failure failure = schedule.fail_lane(0);
    EXPECT_EQ(failure.device, 5);
    EXPECT_EQ(failure.interrupted, 0u);
    EXPECT_TRUE(failure.handed_over);
    EXPECT_EQ(schedule.next_key(0), std::nullopt);
    schedule.complete(1, 1);
    // The interrupted key comes back first, as it was taken before every key still queued.
    EXPECT_EQ(keys_in_order(schedule, 1), (std::vector<std::size_t>{0, 2, 3}));
    EXPECT_EQ(schedule.next_key(0), std::nullopt);
    EXPECT_TRUE(schedule.finished());
    const lane_report report = schedule.report();
    EXPECT_EQ(report.measured_by, (std::map<std::size_t, int>{{0, 7}, {1, 7}, {2, 7}, {3, 7}}));
    ASSERT_EQ(report.failures.size(), 1u);
    EXPECT_EQ(report.failures[0].device, 5);
    EXPECT_EQ(report.failures[0].interrupted, 0u);
    EXPECT_TRUE(report.unmeasured.empty());
}

TEST(LaneSchedule, AnIdleLaneThatFailsLeavesTheQueuedKeysToTheRest) {
    lane_schedule schedule(work_of({3, 2, 1}), {0, 1, 2});
    const lane_failure failure = schedule.fail_lane(1);
    EXPECT_EQ(failure.device, 1);
    EXPECT_EQ(failure.interrupted, std::nullopt);
    EXPECT_FALSE(failure.handed_over);
    EXPECT_EQ(schedule.next_key(1), std::nullopt);
    EXPECT_EQ(schedule.next_key(0), 0u);
    EXPECT_EQ(schedule.next_key(2), 1u);
    EXPECT_EQ(schedule.next_key(1), std::nullopt);
    schedule.complete(2, 1);
    EXPECT_EQ(schedule.next_key(2), 2u);
    schedule.complete(2, 2);
    schedule.complete(0, 0);
    EXPECT_TRUE(schedule.finished());
    const lane_report report = schedule.report();
    EXPECT_EQ(report.measured_by, (std::map<std::size_t, int>{{0, 0}, {1, 2}, {2, 2}}));
    ASSERT_EQ(report.failures.size(), 1u);
    EXPECT_TRUE(report.unmeasured.empty());
}

TEST(LaneSchedule, WhenEveryLaneFailsTheKeysLeftAreReportedUnmeasuredInWorkListOrder) {
    lane_schedule schedule(work_of({1, 5, 2, 4, 3}), {0, 1});
    EXPECT_EQ(schedule.next_key(0), 1u);
    schedule.complete(0, 1);
    EXPECT_EQ(schedule.next_key(0), 3u);
    EXPECT_EQ(schedule.next_key(1), 4u);
    EXPECT_TRUE(schedule.fail_lane(0).handed_over);
    EXPECT_FALSE(schedule.finished());  // lane 1 lives and key 3 is queued again
    EXPECT_TRUE(schedule.fail_lane(1).handed_over);
    EXPECT_TRUE(schedule.finished());
    const lane_report report = schedule.report();
    EXPECT_EQ(report.measured_by, (std::map<std::size_t, int>{{1, 0}}));
    ASSERT_EQ(report.failures.size(), 2u);
    EXPECT_EQ(report.failures[0].interrupted, 3u);
    EXPECT_EQ(report.failures[1].interrupted, 4u);
    EXPECT_EQ(report.unmeasured, (std::vector<std::size_t>{0, 2, 3, 4}));
}

TEST(LaneSchedule, AKeyIsHandedOverOnceAndNotMeasuredWhenItsSecondLaneFailsToo) {
    lane_schedule schedule(work_of({9, 1, 1}), {0, 1, 2});
    EXPECT_EQ(schedule.next_key(0), 0u);
    EXPECT_TRUE(schedule.fail_lane(0).handed_over);
    EXPECT_EQ(schedule.next_key(1), 0u);
    const lane_failure second = schedule.fail_lane(1);
    EXPECT_EQ(second.interrupted, 0u);
    EXPECT_FALSE(second.handed_over);
    // The third lane is spared key 0 and measures the rest.
    EXPECT_EQ(keys_in_order(schedule, 2), (std::vector<std::size_t>{1, 2}));
    EXPECT_TRUE(schedule.finished());
    const lane_report report = schedule.report();
    EXPECT_EQ(report.measured_by, (std::map<std::size_t, int>{{1, 2}, {2, 2}}));
    EXPECT_EQ(report.unmeasured, (std::vector<std::size_t>{0}));
}

TEST(LaneSchedule, MisuseIsAnError) {
    EXPECT_EQ(error_of([] { lane_schedule({}, {}); }), "a lane schedule needs at least one GPU");
    EXPECT_EQ(error_of([] { lane_schedule({}, {1, 1}); }), "GPU 1 is given twice to one lane schedule");
    EXPECT_EQ(error_of([] { lane_schedule({{4, 1}, {4, 2}}, {0}); }), "key 4 is given twice to one lane schedule");
    EXPECT_TRUE(contains(error_of([] { lane_schedule({{4, -1}}, {0}); }), "key 4 has cost -1"));
    EXPECT_TRUE(contains(error_of([] { lane_schedule({{4, std::nan("")}}, {0}); }), "costs are finite and not negative"));

    lane_schedule schedule(work_of({2, 1}), {6, 8});
    EXPECT_EQ(error_of([&] { schedule.next_key(2); }), "lane 2 does not exist: the schedule has 2");
    EXPECT_EQ(error_of([&] { schedule.complete(0, 0); }), "lane 0 (GPU 6) completes key 0, which it was not measuring");
    ASSERT_EQ(schedule.next_key(0), 0u);
    EXPECT_EQ(error_of([&] { schedule.next_key(0); }), "lane 0 (GPU 6) still measures key 0");
    EXPECT_EQ(error_of([&] { schedule.complete(0, 1); }), "lane 0 (GPU 6) completes key 1, which it was not measuring");
    schedule.fail_lane(1);
    EXPECT_EQ(error_of([&] { schedule.fail_lane(1); }), "lane 1 (GPU 8) has failed already");
}

/// What a random run of calls did.
struct random_run {
    std::vector<std::size_t> handed_out;  ///< every key next_key returned, in order
    std::map<std::size_t, std::size_t> completed_by;  ///< key -> the lane that completed it
    lane_report report;
};

/// Drives `schedule` with random calls until it is finished, checking at every step that a
/// failed lane gets no key and that a key is only handed out again after its lane failed
/// measuring it. Every key is measured in zero time: only the order of the calls counts.
random_run run_randomly(lane_schedule& schedule, std::size_t key_count, std::mt19937& random) {
    random_run run;
    std::vector<std::optional<std::size_t>> measuring(schedule.lane_count());
    std::vector<bool> failed(schedule.lane_count(), false);
    std::vector<int> times_handed_out(key_count, 0);
    std::multiset<std::size_t> interrupted_and_handed_over;
    std::uniform_int_distribution<std::size_t> pick_lane(0, schedule.lane_count() - 1);
    std::uniform_int_distribution<int> percent(0, 99);
    // A run of 30 keys over 5 lanes takes a few hundred steps; far more means it never ends.
    for (int step = 0; step < 100'000 && !schedule.finished(); ++step) {
        const std::size_t lane = pick_lane(random);
        const int roll = percent(random);
        // Failures are rare (5% of the calls), so that most runs measure most keys.
        if (roll < 5 && !failed[lane]) {
            const lane_failure failure = schedule.fail_lane(lane);
            EXPECT_EQ(failure.interrupted, measuring[lane]);
            if (failure.handed_over) {
                interrupted_and_handed_over.insert(*failure.interrupted);
                EXPECT_EQ(interrupted_and_handed_over.count(*failure.interrupted), 1u) << "handed over twice";
            }
            failed[lane] = true;
            measuring[lane].reset();
        } else if (measuring[lane]) {
            schedule.complete(lane, *measuring[lane]);
            EXPECT_TRUE(run.completed_by.emplace(*measuring[lane], lane).second) << "measured twice";
            measuring[lane].reset();
        } else {
            measuring[lane] = schedule.next_key(lane);
            if (!measuring[lane]) continue;
            EXPECT_FALSE(failed[lane]) << "a failed lane got key " << *measuring[lane];
            const std::size_t key = *measuring[lane];
            run.handed_out.push_back(key);
            ++times_handed_out[key];
            EXPECT_LE(times_handed_out[key], 1 + static_cast<int>(interrupted_and_handed_over.count(key)))
                << "key " << key << " handed out again without a failure";
        }
    }
    EXPECT_TRUE(schedule.finished());
    run.report = schedule.report();
    return run;
}

TEST(LaneSchedule, RandomRunsMeasureEveryKeyOnceOrReportIt) {
    std::mt19937 random(20261215);  // fixed: a failure replays
    std::uniform_int_distribution<std::size_t> key_counts(0, 30), lane_counts(1, 5);
    std::uniform_real_distribution<double> log_cost(0, 9);  // costs over nine orders of magnitude
    int handed_over = 0, given_up = 0, all_failed = 0;  // runs that reached each case
    for (int trial = 0; trial < 500; ++trial) {
        const std::size_t keys = key_counts(random), lanes = lane_counts(random);
        std::vector<double> costs;
        for (std::size_t k = 0; k < keys; ++k) costs.push_back(std::pow(10.0, std::floor(log_cost(random))));
        std::vector<int> devices;
        for (std::size_t lane = 0; lane < lanes; ++lane) devices.push_back(static_cast<int>(10 + lane));
        const unsigned seed = static_cast<unsigned>(random());
        std::mt19937 calls(seed);
        lane_schedule schedule(work_of(costs), devices);
        const random_run run = run_randomly(schedule, keys, calls);
        SCOPED_TRACE("trial " + std::to_string(trial));

        const lane_report& report = run.report;
        std::set<std::size_t> measured, unmeasured(report.unmeasured.begin(), report.unmeasured.end());
        for (const auto& [key, device] : report.measured_by) {
            measured.insert(key);
            EXPECT_EQ(unmeasured.count(key), 0u) << "key " << key << " both measured and unmeasured";
            EXPECT_EQ(device, static_cast<int>(10 + run.completed_by.at(key)));
        }
        EXPECT_EQ(unmeasured.size(), report.unmeasured.size()) << "a key reported unmeasured twice";
        EXPECT_EQ(measured.size() + unmeasured.size(), keys) << "a key lost";
        EXPECT_TRUE(std::is_sorted(report.unmeasured.begin(), report.unmeasured.end()));
        std::set<std::size_t> keys_given_up;
        for (const lane_failure& failure : report.failures) {
            if (failure.interrupted && !failure.handed_over) keys_given_up.insert(*failure.interrupted);
            if (failure.handed_over) ++handed_over;
        }
        given_up += !keys_given_up.empty();
        all_failed += report.failures.size() == lanes;
        if (report.failures.size() < lanes) {
            EXPECT_EQ(unmeasured, keys_given_up) << "a live lane left keys unmeasured";
        }

        // The same work and calls give the same keys and report.
        std::mt19937 replay(seed);
        lane_schedule again(work_of(costs), devices);
        const random_run second = run_randomly(again, keys, replay);
        EXPECT_EQ(second.handed_out, run.handed_out);
        EXPECT_EQ(second.report.measured_by, report.measured_by);
        EXPECT_EQ(second.report.unmeasured, report.unmeasured);
        EXPECT_EQ(second.report.failures.size(), report.failures.size());
    }
    // The runs reached every case they check.
    EXPECT_GT(handed_over, 0);
    EXPECT_GT(given_up, 0);
    EXPECT_GT(all_failed, 0);
}

} // namespace
} // namespace kerntune
