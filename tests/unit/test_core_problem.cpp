// Shapes as users write them, problems over a spec's axes, and problem keys: one spelling, parsed
// back strictly.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/problem.hpp"
#include "test_core_support.hpp"

namespace kerntune {
namespace {

using test::contains;
using test::error_of;

using extents = std::vector<std::int64_t>;
const std::vector<std::string> n_axes = {"n"};
const std::vector<std::string> grid_axes = {"rows", "cols"};
const std::vector<std::string> reduce_axes = {"outer", "reduce", "inner"};

TEST(CoreProblem, ParsesShapes) {
    const tensor_shape shape = parse_shape("4096x393216");
    EXPECT_EQ(shape.dims, (extents{4096, 393216}));
    EXPECT_EQ(shape.numel(), 1610612736);
    EXPECT_EQ(shape.to_string(), "4096x393216");
    EXPECT_EQ(parse_shape("1610612736").dims, (extents{1610612736}));
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
    const std::vector<tensor_shape> list = parse_shape_list("4096x393216,1048576");
    ASSERT_EQ(list.size(), 2u);
    EXPECT_EQ(list[0].to_string(), "4096x393216");
    EXPECT_EQ(list[1].numel(), 1048576);
    for (const char* bad : {"", ",", "1024,", ",1024", "1024,,2048", "1024,0"})
        EXPECT_THROW(parse_shape_list(bad), error) << "accepted '" << bad << "'";
}

TEST(CoreProblem, OneAxisProblemsAreKeyedByElementCount) {
    // An elementwise op depends only on the element count: both shapes are one problem.
    const problem p = make_problem(n_axes, parse_shape("4096x393216"));
    EXPECT_EQ(p.axes, n_axes);
    EXPECT_EQ(p.extents, (extents{1610612736}));
    EXPECT_EQ(p.key(), "n=1610612736");
    EXPECT_EQ(p.to_string(), "4096x393216");
    EXPECT_EQ(p.numel(), 1610612736);
    const problem flat = make_problem(n_axes, parse_shape("1610612736"));
    EXPECT_EQ(flat.key(), p.key());
    EXPECT_EQ(flat.to_string(), "1610612736");
}

TEST(CoreProblem, SeveralAxesTakeOneDimensionEach) {
    const problem grid = make_problem(grid_axes, parse_shape("4096x393216"));
    EXPECT_EQ(grid.extents, (extents{4096, 393216}));
    EXPECT_EQ(grid.key(), "rows=4096.cols=393216");
    EXPECT_EQ(grid.numel(), 1610612736);
    EXPECT_EQ(grid.extent("rows"), 4096);
    EXPECT_EQ(grid.extent("cols"), 393216);
    const problem reduction = make_problem(reduce_axes, extents{16, 4194304, 1});
    EXPECT_EQ(reduction.key(), "outer=16.reduce=4194304.inner=1");
    EXPECT_EQ(reduction.to_string(), "16x4194304x1");  // nothing shown: the extents
    for (const char* shape : {"4096", "2x3x4"}) {
        const std::string message = error_of([&] { make_problem(grid_axes, parse_shape(shape)); });
        EXPECT_TRUE(contains(message, "[rows, cols]")) << message;
    }
}

TEST(CoreProblem, ExtentOfAnUnknownAxisIsAnError) {
    const problem grid = make_problem(grid_axes, extents{4, 8});
    EXPECT_TRUE(contains(error_of([&] { grid.extent("n"); }), "no axis 'n'"));
}

TEST(CoreProblem, BindAddsEveryAxis) {
    variables vars{{"sm_count", 132}};
    make_problem(reduce_axes, extents{16, 4194304, 1}).bind(vars);
    EXPECT_EQ(vars, (variables{{"sm_count", 132}, {"outer", 16}, {"reduce", 4194304}, {"inner", 1}}));
}

TEST(CoreProblem, MakeProblemRefusesWhatNoSpecCanMean) {
    EXPECT_EQ(make_problem(n_axes, extents{INT64_MAX}).numel(), INT64_MAX);
    EXPECT_TRUE(contains(error_of([] { make_problem(n_axes, extents{0}); }), "must be >= 1"));
    EXPECT_TRUE(contains(error_of([] { make_problem(grid_axes, extents{4, -8}); }), "cols must be >= 1"));
    EXPECT_TRUE(contains(error_of([] { make_problem(grid_axes, extents{4}); }), "[rows, cols]"));
    EXPECT_TRUE(contains(error_of([] { make_problem(n_axes, extents{4, 8}); }), "[n]"));
    EXPECT_TRUE(contains(error_of([] { make_problem({}, extents{}); }), "1 to 4 axes"));
    EXPECT_TRUE(contains(error_of([] {
                             make_problem({"a", "b", "c", "d", "e"}, extents{1, 1, 1, 1, 1});
                         }),
                         "not 5"));
    EXPECT_TRUE(contains(error_of([] { make_problem(grid_axes, extents{4294967296, 4294967296}); }), "2^63"));
    // A key must parse back and an axis is a variable: no '.', '=', spaces, empty or repeated names.
    for (const char* bad : {"a.b", "n=1", "", "two words", "1n", "n-1"})
        EXPECT_TRUE(contains(error_of([&] { make_problem({bad}, extents{4}); }), "not an identifier")) << bad;
    EXPECT_TRUE(contains(error_of([] { make_problem({"n", "n"}, extents{4, 8}); }), "twice"));
    EXPECT_EQ(make_problem({"_batch2", "n"}, extents{4, 8}).key(), "_batch2=4.n=8");
}

TEST(CoreProblem, HandBuiltShapesAreCheckedToo) {
    // Negative dimensions multiply to a positive count; an empty shape has no elements.
    EXPECT_THROW(make_problem(n_axes, tensor_shape{{-2, -3}}), error);
    EXPECT_THROW(make_problem(n_axes, tensor_shape{{}}), error);
    EXPECT_THROW(make_problem(grid_axes, tensor_shape{{-2, -3}}), error);
    EXPECT_TRUE(contains(error_of([] { tensor_shape{{4294967296, 4294967296}}.numel(); }), "2^63"));
    EXPECT_THROW(make_problem(n_axes, tensor_shape{{4294967296, 4294967296}}), error);
}

TEST(CoreProblem, KeysParseBackToTheSameProblem) {
    for (const problem& p :
         {make_problem(n_axes, extents{1}), make_problem(n_axes, extents{1610612736}),
          make_problem(n_axes, extents{INT64_MAX}), make_problem(grid_axes, extents{4, 8}),
          make_problem(grid_axes, extents{8, 4}), make_problem(reduce_axes, extents{16, 4194304, 1})}) {
        const problem parsed = parse_problem_key(p.axes, p.key());
        EXPECT_EQ(parsed.axes, p.axes) << p.key();
        EXPECT_EQ(parsed.extents, p.extents) << p.key();
        EXPECT_EQ(parsed.key(), p.key());
    }
}

TEST(CoreProblem, ParseProblemKeyRefusesEveryOtherSpellingQuotingIt) {
    for (const char* bad : {"n=0",
                            "n=-1",
                            "n=01",
                            "n=1x",
                            "n=+1",
                            "n= 1",
                            "n=1 ",
                            " n=1",
                            "N=1",
                            "n:1",
                            "n=",
                            "=1",
                            "n",
                            "1",
                            "n=1.",
                            ".n=1",
                            "n=1.n=1",
                            "n==1",
                            "n=1.5",
                            "rows=4",
                            "n=9223372036854775808",
                            "n=99999999999999999999",
                            "n=0x10",
                            ""}) {
        const std::string message = error_of([&] { parse_problem_key(n_axes, bad); });
        EXPECT_TRUE(contains(message, "'" + std::string(bad) + "'")) << message;
    }
    for (const char* bad :
         {"rows=4", "cols=8", "cols=8.rows=4", "rows=4.cols=8.n=1", "rows=4.cols=0", "rows=4.cols=08",
          "rows=4,cols=8", "rows=4..cols=8", "rows=4.cols=8.", "n=32", ""})
        EXPECT_THROW(parse_problem_key(grid_axes, bad), error) << "accepted '" << bad << "'";
    // Each value fits, the product does not.
    EXPECT_TRUE(
        contains(error_of([] { parse_problem_key(grid_axes, "rows=4294967296.cols=4294967296"); }), "2^63"));
    EXPECT_THROW(parse_problem_key({}, "n=1"), error);
}

TEST(CoreProblem, AReductionTakesItsAxesOrATensorShapeAndTheDimItReduces) {
    const std::vector<std::string> axes = {"outer", "reduce", "inner"};
    EXPECT_TRUE(is_reduction(axes));
    EXPECT_FALSE(is_reduction({"rows", "cols"}));
    EXPECT_EQ(make_problem(axes, parse_shape("4096x393216")).key(), "outer=4096.reduce=393216.inner=1");
    EXPECT_EQ(make_problem(axes, parse_shape("1000")).key(), "outer=1.reduce=1000.inner=1");
    EXPECT_EQ(make_problem(axes, parse_shape("8x64x32x32"), 1).key(), "outer=8.reduce=64.inner=1024");
    EXPECT_EQ(make_problem(axes, parse_shape("8x64x32x32"), 1).to_string(), "8x64x32x32 dim 1");
    EXPECT_EQ(make_problem(axes, parse_shape("8x64x32x32"), -4).key(), "outer=1.reduce=8.inner=65536");
    EXPECT_EQ(make_problem(axes, parse_shape("16x64x256x256"), -1).key(), "outer=262144.reduce=256.inner=1");
    // Three dims without a dim are the axes themselves.
    EXPECT_EQ(make_problem(axes, parse_shape("128x4096x4095")).key(), "outer=128.reduce=4096.inner=4095");
    EXPECT_EQ(make_problem(axes, parse_shape("128x4096x4095"), -1).key(), "outer=524288.reduce=4095.inner=1");
    std::string message = error_of([&] { make_problem(axes, parse_shape("8x64"), 2); });
    EXPECT_TRUE(contains(message, "dim 2 is out of range for shape 8x64 (expected -2 to 1)")) << message;
    message = error_of([&] { make_problem({"n"}, parse_shape("8x64"), 0); });
    EXPECT_TRUE(contains(message, "applies to ops whose problem axes are [outer, reduce, inner], not [n]")) << message;
}

} // namespace
} // namespace kerntune
