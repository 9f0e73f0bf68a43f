#include <gtest/gtest.h>

#include "core/size_lookup.hpp"

namespace kerntune {
namespace {

TEST(SizeLookup, ExactSizeWinsWhenTuned) {
    const auto found = nearest_tuned_size(1 << 20, {{1 << 10, "a"}, {1 << 20, "b"}, {1 << 30, "c"}});
    ASSERT_TRUE(found);
    EXPECT_EQ(found->label, "b");
}

TEST(SizeLookup, NearestIsMeasuredInLogSpace) {
    // 5e6 is 4.8x above 2^20 and 3.4x below 2^24: nearer to 2^24 by ratio.
    // 2e6 is 1.9x above 2^20 and 8.4x below 2^24: nearer to 2^20.
    const auto found = nearest_tuned_size(5'000'000, {{1 << 20, "small"}, {1 << 24, "large"}});
    ASSERT_TRUE(found);
    EXPECT_EQ(found->label, "large");
    const auto below = nearest_tuned_size(2'000'000, {{1 << 20, "small"}, {1 << 24, "large"}});
    ASSERT_TRUE(below);
    EXPECT_EQ(below->label, "small");
}

TEST(SizeLookup, TiesGoToTheLargerSize) {
    const auto found = nearest_tuned_size(1 << 20, {{1 << 18, "small"}, {1 << 22, "large"}});
    ASSERT_TRUE(found);
    EXPECT_EQ(found->label, "large");
}

TEST(SizeLookup, NothingTunedGivesNone) { EXPECT_FALSE(nearest_tuned_size(1000, {})); }

} // namespace
} // namespace kerntune
