#include <gtest/gtest.h>

#include "core/text.hpp"

namespace kerntune {
namespace {

TEST(CoreText, SplitKeepsEmptyPieces) {
    EXPECT_EQ(split("a,,b", ','), (std::vector<std::string_view>{"a", "", "b"}));
    EXPECT_EQ(split("", ','), (std::vector<std::string_view>{""}));
    EXPECT_EQ(split("4096x393216", 'x'), (std::vector<std::string_view>{"4096", "393216"}));
}

TEST(CoreText, JsonStringEscapesQuotesBackslashesAndControlCharacters) {
    EXPECT_EQ(json_string("plain"), "\"plain\"");
    EXPECT_EQ(json_string("a\"b\\c\nd\te"), "\"a\\\"b\\\\c\\nd\\te\"");
    EXPECT_EQ(json_string(std::string("\x01", 1)), "\"\\u0001\"");
}

} // namespace
} // namespace kerntune
