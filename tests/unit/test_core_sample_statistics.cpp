#include <gtest/gtest.h>

#include "core/sample_statistics.hpp"

namespace kerntune {
namespace {

TEST(SampleStatistics, MedianOfOddAndEvenCountsInAnyOrder) {
    EXPECT_DOUBLE_EQ(summarize({3, 1, 2}).median, 2.0);
    EXPECT_DOUBLE_EQ(summarize({4, 1, 3, 2}).median, 2.5);
    EXPECT_EQ(summarize({4, 1, 3, 2}).count, 4);
}

TEST(SampleStatistics, NoiseIsInterquartileRangeOverMedian) {
    // quartiles of 1..5 are 2 and 4, median 3
    EXPECT_DOUBLE_EQ(summarize({5, 4, 3, 2, 1}).noise, 2.0 / 3.0);
    EXPECT_DOUBLE_EQ(summarize({7, 7, 7, 7}).noise, 0.0);
}

TEST(SampleStatistics, OneOutlierBarelyMovesTheResult) {
    const sample_summary s = summarize({10, 10, 10, 10, 10, 10, 10, 1000});
    EXPECT_DOUBLE_EQ(s.median, 10.0);
    EXPECT_DOUBLE_EQ(s.noise, 0.0);
}

TEST(SampleStatistics, EmptyInputGivesZeros) {
    const sample_summary s = summarize({});
    EXPECT_EQ(s.count, 0);
    EXPECT_EQ(s.median, 0.0);
}

} // namespace
} // namespace kerntune
