#include <gtest/gtest.h>

#include "core/text.hpp"

namespace kerntune {
namespace {

TEST(CoreText, SplitKeepsEmptyPieces) {
    EXPECT_EQ(split("a,,b", ','), (std::vector<std::string_view>{"a", "", "b"}));
    EXPECT_EQ(split("", ','), (std::vector<std::string_view>{""}));
    EXPECT_EQ(split("4096x393216", 'x'), (std::vector<std::string_view>{"4096", "393216"}));
}

} // namespace
} // namespace kerntune
