#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "core/error.hpp"
#include "core/problem.hpp"
#include "test_core_support.hpp"

namespace kerntune {
namespace {

using test::contains;
using test::error_of;

TEST(CoreProblem, ParsesShapesAndKeysThemByElementCount) {
    const problem p = parse_shape("4096x393216");
    EXPECT_EQ(p.shape, (std::vector<std::int64_t>{4096, 393216}));
    EXPECT_EQ(p.numel(), 1610612736);
    EXPECT_EQ(p.key(), "n=1610612736");
    EXPECT_EQ(p.to_string(), "4096x393216");
    const problem flat = parse_shape("1610612736");
    EXPECT_EQ(flat.shape.size(), 1u);
    EXPECT_EQ(flat.key(), p.key());
    EXPECT_EQ(parse_shape("2x3x5").numel(), 30);
}

TEST(CoreProblem, LargestShapeThatFitsInt64IsAccepted) {
    EXPECT_EQ(parse_shape("9223372036854775807").numel(), INT64_MAX);
    EXPECT_EQ(parse_shape("3037000499x3037000499").numel(), 3037000499LL * 3037000499LL);
}

TEST(CoreProblem, RejectsEveryMalformedShapeQuotingIt) {
    for (const char* bad : {"",
                            "x",
                            "0",
                            "0x5",
                            "5x0",
                            "-5",
                            "4096x-1",
                            "+5",
                            "x5",
                            "5x",
                            "5xx5",
                            "abc",
                            "12a",
                            "1.5",
                            " 5",
                            "5 ",
                            "4 096",
                            "4096*2",
                            "4096X2",
                            "9223372036854775808",
                            "99999999999999999999",
                            "4294967296x4294967296",
                            "3037000500x3037000500",
                            "2x2x2305843009213693952"}) {
        const std::string message = error_of([&] { parse_shape(bad); });
        EXPECT_TRUE(contains(message, "'" + std::string(bad) + "'")) << message;
    }
}

TEST(CoreProblem, ParsesListsAndRejectsEmptyItems) {
    const std::vector<problem> list = parse_shape_list("4096x393216,1048576");
    ASSERT_EQ(list.size(), 2u);
    EXPECT_EQ(list[0].to_string(), "4096x393216");
    EXPECT_EQ(list[1].numel(), 1048576);
    for (const char* bad : {"", ",", "1024,", ",1024", "1024,,2048", "1024,0"})
        EXPECT_THROW(parse_shape_list(bad), error) << "accepted '" << bad << "'";
}

} // namespace
} // namespace kerntune
