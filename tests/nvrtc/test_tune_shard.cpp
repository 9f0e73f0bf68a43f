// nvrtc label (src/tune links NVRTC; nothing here compiles or needs a GPU): the pure functions of
// fleet tuning, src/tune/shard.cpp: `--shard K/N`, the shard a scheduler's environment gives, and
// the split of a work list.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <numeric>
#include <set>
#include <string>
#include <vector>

#include "tune/shard.hpp"
#include "../support/expectations.hpp"

namespace kerntune {
namespace {

using testing::contains;
using testing::error_of;

/// An environment of exactly these variables.
environment_lookup environment_of(std::map<std::string, std::string> variables) {
    return [variables = std::move(variables)](const char* name) -> std::optional<std::string> {
        const auto it = variables.find(name);
        if (it == variables.end()) return std::nullopt;
        return it->second;
    };
}

TEST(ShardSpec, KOfNIsZeroBased) {
    EXPECT_EQ(parse_shard("0/1"), (shard{0, 1}));
    EXPECT_EQ(parse_shard("0/4"), (shard{0, 4}));
    EXPECT_EQ(parse_shard("3/4"), (shard{3, 4}));
    EXPECT_EQ(parse_shard("2147483646/2147483647"), (shard{2147483646, 2147483647}));
    EXPECT_EQ(to_string(shard{2, 4}), "2/4");
}

TEST(ShardSpec, EveryMalformedSpecIsOneLineQuotingIt) {
    const std::map<std::string, std::string> expected = {
        {"3/2", "--shard '3/2': shard 3 of 2 does not exist: K counts from 0 to N - 1 = 1"},
        {"2/2", "--shard '2/2': shard 2 of 2 does not exist: K counts from 0 to N - 1 = 1"},
        {"0/0", "--shard '0/0': the count N must be at least 1"},
        {"-1/4", "--shard '-1/4': expected K/N"},
        {"1/-4", "--shard '1/-4': expected K/N"},
        {"a/b", "--shard 'a/b': expected K/N"},
        {"1/", "--shard '1/': expected K/N"},
        {"/2", "--shard '/2': expected K/N"},
        {"/", "--shard '/': expected K/N"},
        {"", "--shard '': expected K/N"},
        {"3", "--shard '3': expected K/N"},
        {"1/2/3", "--shard '1/2/3': expected K/N"},
        {" 1/2", "--shard ' 1/2': expected K/N"},
        {"1/2 ", "--shard '1/2 ': expected K/N"},
        {"+1/2", "--shard '+1/2': expected K/N"},
        {"0x1/2", "--shard '0x1/2': expected K/N"},
        {"1.0/2", "--shard '1.0/2': expected K/N"},
        {"2147483648/2147483649", "--shard '2147483648/2147483649': expected K/N"},  // 2^31: past an int
        {"0/99999999999999999999", "--shard '0/99999999999999999999': expected K/N"},
    };
    for (const auto& [spec, message] : expected) {
        SCOPED_TRACE(spec);
        const std::string problem = error_of([&] { parse_shard(spec); });
        EXPECT_EQ(problem.rfind(message, 0), 0u) << problem;
        EXPECT_EQ(problem.find('\n'), std::string::npos) << problem;
    }
}

TEST(ShardEnvironment, NoSchedulerIsNoShard) {
    EXPECT_FALSE(shard_from_environment(environment_of({})).has_value());
    // Other variables, and a scheduler's index without its count, are no split.
    EXPECT_FALSE(shard_from_environment(environment_of({{"RANK", "3"}, {"HOME", "/root"}})).has_value());
    EXPECT_FALSE(shard_from_environment(environment_of({{"SLURM_PROCID", "0"}})).has_value());
}

TEST(ShardEnvironment, EachSchedulersVariablesGiveItsShard) {
    struct scheduler_case {
        std::map<std::string, std::string> variables;
        shard expected;
        std::string source;
    };
    const std::vector<scheduler_case> cases = {
        {{{"SLURM_ARRAY_TASK_ID", "2"}, {"SLURM_ARRAY_TASK_COUNT", "4"}}, {2, 4},
         "SLURM_ARRAY_TASK_ID=2 SLURM_ARRAY_TASK_COUNT=4"},
        // --array=1-8: IDs from 1.
        {{{"SLURM_ARRAY_TASK_ID", "1"}, {"SLURM_ARRAY_TASK_MIN", "1"}, {"SLURM_ARRAY_TASK_COUNT", "8"}}, {0, 8},
         "SLURM_ARRAY_TASK_ID=1 SLURM_ARRAY_TASK_MIN=1 SLURM_ARRAY_TASK_COUNT=8"},
        {{{"SLURM_ARRAY_TASK_ID", "8"}, {"SLURM_ARRAY_TASK_MIN", "1"}, {"SLURM_ARRAY_TASK_COUNT", "8"}}, {7, 8},
         "SLURM_ARRAY_TASK_ID=8 SLURM_ARRAY_TASK_MIN=1 SLURM_ARRAY_TASK_COUNT=8"},
        // --array=10-16:3 is 10, 13, 16.
        {{{"SLURM_ARRAY_TASK_ID", "13"},
          {"SLURM_ARRAY_TASK_MIN", "10"},
          {"SLURM_ARRAY_TASK_STEP", "3"},
          {"SLURM_ARRAY_TASK_COUNT", "3"}},
         {1, 3},
         "SLURM_ARRAY_TASK_ID=13 SLURM_ARRAY_TASK_MIN=10 SLURM_ARRAY_TASK_STEP=3 SLURM_ARRAY_TASK_COUNT=3"},
        {{{"SLURM_PROCID", "5"}, {"SLURM_NTASKS", "6"}}, {5, 6}, "SLURM_PROCID=5 SLURM_NTASKS=6"},
        {{{"JOB_COMPLETION_INDEX", "0"}, {"KERNTUNE_SHARD_COUNT", "3"}}, {0, 3},
         "JOB_COMPLETION_INDEX=0 KERNTUNE_SHARD_COUNT=3"},
        {{{"RANK", "7"}, {"WORLD_SIZE", "8"}, {"LOCAL_RANK", "7"}}, {7, 8}, "RANK=7 WORLD_SIZE=8"},
        {{{"OMPI_COMM_WORLD_RANK", "1"}, {"OMPI_COMM_WORLD_SIZE", "2"}}, {1, 2},
         "OMPI_COMM_WORLD_RANK=1 OMPI_COMM_WORLD_SIZE=2"},
    };
    for (const scheduler_case& c : cases) {
        SCOPED_TRACE(c.source);
        const std::optional<scheduler_shard> found = shard_from_environment(environment_of(c.variables));
        ASSERT_TRUE(found.has_value());
        EXPECT_EQ(found->part, c.expected);
        EXPECT_EQ(found->source, c.source);
    }
}

TEST(ShardEnvironment, ACountOfOneIsNoSplitSoAJobArrayTaskIsNotSplitByItsBatchStep) {
    // A task of an array of 4 runs its batch script as Slurm task 0 of 1.
    const std::optional<scheduler_shard> found = shard_from_environment(environment_of(
        {{"SLURM_ARRAY_TASK_ID", "3"}, {"SLURM_ARRAY_TASK_COUNT", "4"}, {"SLURM_PROCID", "0"}, {"SLURM_NTASKS", "1"}}));
    ASSERT_TRUE(found.has_value());
    EXPECT_EQ(found->part, (shard{3, 4}));
    EXPECT_FALSE(shard_from_environment(environment_of({{"SLURM_PROCID", "0"}, {"SLURM_NTASKS", "1"}})).has_value());
    EXPECT_FALSE(shard_from_environment(environment_of({{"RANK", "0"}, {"WORLD_SIZE", "1"}})).has_value());
}

TEST(ShardEnvironment, SchedulersThatAgreeAreOneShardAndOnesThatDisagreeAnError) {
    // torchrun started by srun, one process per Slurm task: the same split.
    const std::optional<scheduler_shard> agreeing = shard_from_environment(
        environment_of({{"SLURM_PROCID", "2"}, {"SLURM_NTASKS", "4"}, {"RANK", "2"}, {"WORLD_SIZE", "4"}}));
    ASSERT_TRUE(agreeing.has_value());
    EXPECT_EQ(agreeing->part, (shard{2, 4}));
    EXPECT_EQ(agreeing->source, "SLURM_PROCID=2 SLURM_NTASKS=4 RANK=2 WORLD_SIZE=4");

    EXPECT_EQ(error_of([] {
                  shard_from_environment(environment_of(
                      {{"SLURM_ARRAY_TASK_ID", "1"}, {"SLURM_ARRAY_TASK_COUNT", "4"}, {"RANK", "3"}, {"WORLD_SIZE", "8"}}));
              }),
              "the scheduler's variables disagree: SLURM_ARRAY_TASK_ID=1 SLURM_ARRAY_TASK_COUNT=4 is shard 1/4, RANK=3 "
              "WORLD_SIZE=8 is shard 3/8 (give --shard K/N)");
}

TEST(ShardEnvironment, BadValuesAreOneLineNamingTheVariable) {
    const std::map<std::string, std::map<std::string, std::string>> cases = {
        {"the scheduler's SLURM_ARRAY_TASK_ID='abc' is not a whole number from 0",
         {{"SLURM_ARRAY_TASK_ID", "abc"}, {"SLURM_ARRAY_TASK_COUNT", "4"}}},
        {"the scheduler's WORLD_SIZE='-2' is not a whole number from 0", {{"RANK", "0"}, {"WORLD_SIZE", "-2"}}},
        {"the scheduler's SLURM_NTASKS='99999999999' is not a whole number from 0",
         {{"SLURM_PROCID", "0"}, {"SLURM_NTASKS", "99999999999"}}},
        {"RANK=8 WORLD_SIZE=8: shard 8 of 8 does not exist", {{"RANK", "8"}, {"WORLD_SIZE", "8"}}},
        {"OMPI_COMM_WORLD_RANK=0 OMPI_COMM_WORLD_SIZE=0: the count N must be at least 1",
         {{"OMPI_COMM_WORLD_RANK", "0"}, {"OMPI_COMM_WORLD_SIZE", "0"}}},
        {"JOB_COMPLETION_INDEX=2 is set but KERNTUNE_SHARD_COUNT is not", {{"JOB_COMPLETION_INDEX", "2"}}},
        // --array=1,4,9: ID 9 minus the first, 1, is 8, not below the count of 3.
        {"SLURM_ARRAY_TASK_ID=9 SLURM_ARRAY_TASK_MIN=1 SLURM_ARRAY_TASK_COUNT=3: shard 8 of 3 does not exist",
         {{"SLURM_ARRAY_TASK_ID", "9"}, {"SLURM_ARRAY_TASK_MIN", "1"}, {"SLURM_ARRAY_TASK_COUNT", "3"}}},
        {"SLURM_ARRAY_TASK_ID=11 SLURM_ARRAY_TASK_MIN=10 SLURM_ARRAY_TASK_STEP=3 SLURM_ARRAY_TASK_COUNT=3: the task ID "
         "is not the array's first ID plus a whole number of steps",
         {{"SLURM_ARRAY_TASK_ID", "11"},
          {"SLURM_ARRAY_TASK_MIN", "10"},
          {"SLURM_ARRAY_TASK_STEP", "3"},
          {"SLURM_ARRAY_TASK_COUNT", "3"}}},
    };
    for (const auto& [message, variables] : cases) {
        SCOPED_TRACE(message);
        const std::string problem = error_of([&] { shard_from_environment(environment_of(variables)); });
        EXPECT_EQ(problem.rfind(message, 0), 0u) << problem;
        EXPECT_TRUE(contains(problem, "--shard K/N")) << problem;
        EXPECT_EQ(problem.find('\n'), std::string::npos) << problem;
    }
}

/// The keys shard `part` takes, in the order of the list.
std::vector<std::string> keys_of(const std::vector<std::string>& keys, const shard& part) {
    std::vector<std::string> taken;
    for (const std::size_t i : shard_positions(keys, part)) taken.push_back(keys[i]);
    return taken;
}

TEST(ShardSplit, EveryKeyGoesToExactlyOneShardAndTheCountsDifferByAtMostOne) {
    std::vector<std::string> keys;
    for (const char* problem : {"n=1048576", "n=16777216", "n=1610612736", "n=4096", "n=65536"})
        for (const char* type : {"f32", "f16", "bf16"}) keys.push_back(std::string(problem) + " " + type);
    for (int count = 1; count <= 20; ++count) {
        SCOPED_TRACE(count);
        std::multiset<std::string> covered;
        std::size_t fewest = keys.size(), most = 0;
        for (int index = 0; index < count; ++index) {
            const std::vector<std::size_t> positions = shard_positions(keys, {index, count});
            EXPECT_TRUE(std::is_sorted(positions.begin(), positions.end()));
            for (const std::size_t i : positions) covered.insert(keys[i]);
            fewest = std::min(fewest, positions.size());
            most = std::max(most, positions.size());
        }
        EXPECT_EQ(covered, std::multiset<std::string>(keys.begin(), keys.end()));
        EXPECT_LE(most - fewest, 1u);
    }
}

TEST(ShardSplit, TheSplitDependsOnTheKeysNotOnTheirOrder) {
    // Every machine must split alike, however its list was ordered: the keys are sorted first.
    const std::vector<std::string> keys = {"n=4096 f32", "n=1024 f16", "n=4096 f16", "n=1024 f32", "n=2048 bf16"};
    std::vector<std::string> reversed(keys.rbegin(), keys.rend());
    for (int index = 0; index < 2; ++index) {
        std::vector<std::string> a = keys_of(keys, {index, 2}), b = keys_of(reversed, {index, 2});
        std::sort(a.begin(), a.end());
        std::sort(b.begin(), b.end());
        EXPECT_EQ(a, b);
    }
    // Byte order, dealt round robin: n=1024 f16, n=1024 f32, n=2048 bf16, n=4096 f16, n=4096 f32.
    EXPECT_EQ(keys_of(keys, {0, 2}), (std::vector<std::string>{"n=4096 f32", "n=1024 f16", "n=2048 bf16"}));
    EXPECT_EQ(keys_of(keys, {1, 2}), (std::vector<std::string>{"n=4096 f16", "n=1024 f32"}));
}

TEST(ShardSplit, AKeyGivenTwiceIsTakenOnceAtItsFirstPosition) {
    const std::vector<std::string> keys = {"b", "a", "b", "c", "a"};
    EXPECT_EQ(shard_positions(keys, {0, 1}), (std::vector<std::size_t>{0, 1, 3}));
    EXPECT_EQ(shard_positions(keys, {0, 2}), (std::vector<std::size_t>{1, 3}));  // a, c
    EXPECT_EQ(shard_positions(keys, {1, 2}), (std::vector<std::size_t>{0}));     // b
    EXPECT_TRUE(shard_positions({}, {0, 3}).empty());
    EXPECT_TRUE(shard_positions(keys, {3, 4}).empty()) << "more shards than keys leaves some with none";
}

} // namespace
} // namespace kerntune
