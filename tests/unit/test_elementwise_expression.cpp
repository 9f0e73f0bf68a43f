#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "elementwise/elementwise_expression.hpp"
#include "test_elementwise_support.hpp"

namespace kerntune {
namespace {

using test::bits_of;
using test::repeat;

/// `text` evaluated with x, y, z = 2, 3, 5 (u, v, w = 7, 11, 13) and its scalars' defaults.
float eval(const std::string& text, const std::vector<scalar_default>& scalars = {}) {
    const float inputs[] = {2, 3, 5, 7, 11, 13};
    std::vector<float> values;
    for (const scalar_default& scalar : scalars) values.push_back(scalar.value);
    return elementwise_expression::parse(text, scalars).evaluate(inputs, values.data());
}

/// The value of a one-input expression at x.
float at(const std::string& text, float x) { return elementwise_expression::parse(text).evaluate(&x, nullptr); }

std::string canonical(const std::string& text, const std::vector<scalar_default>& scalars = {}) {
    return elementwise_expression::parse(text, scalars).canonical();
}

/// Checks that each text evaluates (with eval's inputs) to exactly its value, bit for bit.
void expect_values(const std::vector<std::pair<std::string, float>>& cases) {
    for (const auto& [text, value] : cases) EXPECT_EQ(bits_of(eval(text)), bits_of(value)) << text << " gives " << eval(text);
}

TEST(ElementwiseExpression, OperatorsComputeInFloat32) {
    expect_values({{"x + y", 5}, {"x - y", -1}, {"x * y", 6}, {"y / x", 1.5f}, {"-x", -2}, {"- -x", 2},
                   {"u + v + w", 31}, {"x / 0", std::numeric_limits<float>::infinity()}, {"-(x - x)", -0.0f}});
    // Each operation rounds to float32 on its own: (1 + 2^-12)^2 - 1 is 2^-11 + 2^-24 exactly,
    // which the product's rounding to float32 (a tie, to even) turns into 2^-11; an fma or a
    // double would keep the 2^-24.
    EXPECT_EQ(at("x * x - 1", 1.0f + 0x1p-12f), 0x1p-11f);
    EXPECT_EQ(at("fma(x, x, -1)", 1.0f + 0x1p-12f), 0x1p-11f + 0x1p-24f);  // an fma keeps it
    EXPECT_TRUE(std::isnan(at("x / x", 0.0f)));
}

TEST(ElementwiseExpression, ComparisonsAndLogicGiveBoolsAsOneAndZero) {
    expect_values({{"x < y", 1},           {"y < x", 0},           {"x <= 2", 1},          {"x > 2", 0},
                   {"x >= 2", 1},          {"x == 2", 1},          {"x != 2", 0},          {"x < y && y < z", 1},
                   {"x > y && y < z", 0},  {"x > y || y < z", 1},  {"x > y || y > z", 0},  {"!(x < y)", 0},
                   {"!!(x < y)", 1}});
    const float nan = std::numeric_limits<float>::quiet_NaN();
    EXPECT_EQ(at("x == x", nan), 0.0f);  // IEEE: NaN equals nothing
    EXPECT_EQ(at("x != x", nan), 1.0f);
    EXPECT_EQ(at("x < 1 || x >= 1", nan), 0.0f);
    EXPECT_TRUE(elementwise_expression::parse("x").result_is_float());
    EXPECT_FALSE(elementwise_expression::parse("x < 1").result_is_float());
    EXPECT_FALSE(elementwise_expression::parse("!(x < 1) && x > 0").result_is_float());
    EXPECT_TRUE(elementwise_expression::parse("where(x < 1, x, 1)").result_is_float());
}

TEST(ElementwiseExpression, EveryFunctionEvaluatesToItsValue) {
    expect_values({
        {"where(x < y, x, y)", 2}, {"where(x > y, x, y)", 3}, {"min(x, y)", 2},      {"max(x, y)", 3},
        {"clamp(z, x, y)", 3},     {"clamp(x, y, z)", 3},     {"clamp(y, x, z)", 3}, {"pow(x, 10)", 1024},
        {"pow(4, 0.5)", 2},        {"abs(-y)", 3},            {"exp(0)", 1},         {"exp2(y)", 8},
        {"log(1)", 0},             {"log2(8)", 3},            {"log1p(0)", 0},       {"expm1(0)", 0},
        {"sqrt(16)", 4},           {"rsqrt(4)", 0.5f},        {"tanh(0)", 0},        {"sigmoid(0)", 0.5f},
        {"erf(0)", 0},             {"sin(0)", 0},             {"cos(0)", 1},         {"floor(-1.5)", -2},
        {"ceil(-1.5)", -1},        {"sigmoid(100)", 1},
        {"clamp(y, z, x)", 2},  // lo > hi gives hi, as torch.clamp
        // float32 functions, not double ones rounded afterwards
        {"exp(1)", std::exp(1.0f)}, {"tanh(0.5)", std::tanh(0.5f)}, {"erf(0.5)", std::erf(0.5f)},
        {"log1p(1e-7)", std::log1p(1e-7f)},
        {"sigmoid(-100)", 1.0f / (1.0f + std::exp(100.0f))},  // exp overflows: 0, not NaN
    });
    EXPECT_NEAR(eval("sigmoid(1)"), 0.7310586f, 1e-7f);
    EXPECT_NEAR(eval("sin(1) * sin(1) + cos(1) * cos(1)"), 1.0f, 1e-7f);
}

TEST(ElementwiseExpression, RoundGoesHalfToEvenLikeTorchRound) {
    expect_values({{"round(2.5)", 2}, {"round(3.5)", 4}, {"round(-2.5)", -2}, {"round(.5)", 0}, {"round(2.6)", 3},
                   {"round(-.4)", -0.0f}});
}

TEST(ElementwiseExpression, MinMaxAndClampPropagateNaNLikeTorch) {
    const float nan = std::numeric_limits<float>::quiet_NaN();
    const float inputs[] = {nan, 1.0f};
    for (const char* text : {"min(x, y)", "min(y, x)", "max(x, y)", "max(y, x)", "clamp(x, y, 2)", "clamp(y, x, 2)",
                             "clamp(y, 0, x)"}) {
        EXPECT_TRUE(std::isnan(elementwise_expression::parse(text).evaluate(inputs, nullptr))) << text;
    }
    EXPECT_EQ(at("min(x, 1)", -std::numeric_limits<float>::infinity()), -std::numeric_limits<float>::infinity());
}

TEST(ElementwiseExpression, LiteralsAreDecimalFloatsRoundedToFloat32Once) {
    expect_values({
        {"1", 1}, {"1.", 1}, {".5", 0.5f}, {"1e-5", 1e-5f}, {"2.5E+3", 2500}, {"0.1", 0.1f},
        {"16777217", 16777216},  // 2^24 + 1 rounds to even
        {"3.4028235e38", std::numeric_limits<float>::max()},
        {"1e-45", std::numeric_limits<float>::denorm_min()},
        {"0e999999999999", 0},
        {"0000000000000000000000000000000000000000001.5", 1.5f},
        // Rounded once from the decimal, not through double: this is 1 + 2^-24 + 10^-83, just
        // over the tie between 1 and 1 + 2^-23, so it rounds up. Through double it would become
        // the tie 1 + 2^-24 first, then round to even: 1.
        {"1.00000005960464477539062500000000000000000000000000000000000000000000000000000000001", 1.0f + 0x1p-23f},
    });
}

TEST(ElementwiseExpression, ScalarsAreReadByNameWithTheValuesGiven) {
    const std::vector<scalar_default> scalars = {{"alpha", 0.5f}, {"beta", -1.0f}, {"_gain2", 4.0f}};
    EXPECT_EQ(eval("x * alpha + beta", scalars), 0.0f);
    EXPECT_EQ(eval("_gain2 * y", scalars), 12.0f);
    const elementwise_expression e = elementwise_expression::parse("x * alpha + beta", scalars);
    const float x = 3.0f;
    const float values[] = {2.0f, 10.0f, 0.0f};
    EXPECT_EQ(e.evaluate(&x, values), 16.0f);
    ASSERT_EQ(e.scalars().size(), 3u);
    EXPECT_EQ(e.scalars()[1].name, "beta");
    EXPECT_EQ(e.scalars()[1].value, -1.0f);
}

TEST(ElementwiseExpression, InputsAreXUpToTheHighestLetterUsed) {
    EXPECT_EQ(elementwise_expression::parse("x").input_count(), 1);
    EXPECT_EQ(elementwise_expression::parse("y + 1").input_count(), 2);
    EXPECT_EQ(elementwise_expression::parse("z * x").input_count(), 3);
    EXPECT_EQ(elementwise_expression::parse("u").input_count(), 4);
    EXPECT_EQ(elementwise_expression::parse("v - x").input_count(), 5);
    EXPECT_EQ(elementwise_expression::parse("w").input_count(), 6);
    EXPECT_EQ(elementwise_expression::parse("exp(1)").input_count(), 0);
    EXPECT_EQ(elementwise_expression::parse("a", {{"a", 1}}).input_count(), 0);
    EXPECT_EQ(eval("y"), 3.0f);  // y is input 1 whether or not x is used
    EXPECT_EQ(eval("w - u"), 6.0f);
}

TEST(ElementwiseExpression, PrecedenceAndAssociativityFollowC) {
    EXPECT_EQ(eval("z - y - x"), 0.0f);  // (5 - 3) - 2
    EXPECT_EQ(eval("z - (y - x)"), 4.0f);
    EXPECT_EQ(eval("12 / y / x"), 2.0f);
    EXPECT_EQ(eval("x + y * z"), 17.0f);
    EXPECT_EQ(eval("(x + y) * z"), 25.0f);
    EXPECT_EQ(eval("x * y + z"), 11.0f);
    EXPECT_EQ(eval("x - -y"), 5.0f);
    EXPECT_EQ(eval("x--y"), 5.0f);
    EXPECT_EQ(eval("x + 1 < y * 2"), 1.0f);  // arithmetic binds tighter than comparisons
    EXPECT_EQ(eval("x < y && y < z"), 1.0f);  // comparisons bind tighter than && (else a type error)
    EXPECT_EQ(eval("x < y || y < z && z < x"), 1.0f);  // && binds tighter than ||: (x<y||y<z)&&z<x is 0
    EXPECT_EQ(eval("!(x < y) || x < y"), 1.0f);
    // Unary minus binds tighter than *, and the tree says so.
    const auto root = [](const std::string& text) { return elementwise_expression::parse(text).nodes().back().op; };
    EXPECT_EQ(root("-x * y"), elementwise_op::multiply);
    EXPECT_EQ(root("-x - y"), elementwise_op::subtract);
    EXPECT_EQ(root("-(x * y)"), elementwise_op::negate);
    EXPECT_EQ(root("-exp(x)"), elementwise_op::negate);
    EXPECT_EQ(root("x - y - z"), elementwise_op::subtract);
    EXPECT_EQ(elementwise_expression::parse("x - y - z").nodes()[2].op, elementwise_op::subtract);  // x - y first
    EXPECT_EQ(root("x < y || y < z && z < x"), elementwise_op::logical_or);
}

TEST(ElementwiseExpression, NodesComeAfterTheirOperandsWithTheRootLast) {
    const elementwise_expression e = elementwise_expression::parse("where(x < 1, exp(-x), y * 2)");
    const std::vector<elementwise_node>& nodes = e.nodes();
    for (std::size_t i = 0; i < nodes.size(); ++i)
        for (const int operand : nodes[i].operands) EXPECT_LT(operand, static_cast<int>(i));
    EXPECT_EQ(nodes.back().op, elementwise_op::where);
}

TEST(ElementwiseExpression, CanonicalTextIgnoresWhiteSpaceLiteralSpellingAndRedundantParentheses) {
    const struct {
        std::vector<std::string> spellings;
        std::string canonical;
    } cases[] = {
        {{"x+y", " x  +\ty\n", "(x)+(y)", "((x+y))", "(((x))+y)"}, "x+y"},
        {{"x*1", "x*1.0", "x*1.00", "x*10e-1", "x*1.", "x*0.1e1", "x*1E0", "x * 000001"}, "x*1"},
        {{"x*y+z", "(x*y)+z", "((x) * (y)) + z"}, "x*y+z"},
        {{"x-y-z", "(x-y)-z"}, "x-y-z"},
        {{"x-(y-z)", "x - ( y - z )"}, "x-(y-z)"},
        {{"-x*y", "(-x)*y", "-(x)*y"}, "-x*y"},
        {{"-(x*y)"}, "-(x*y)"},
        {{"- -x", "-(-x)", "--x"}, "--x"},
        {{"x - -1", "x-(-1)"}, "x--1"},
        {{"x<y&&y<z", "(x < y) && (y < z)"}, "x<y&&y<z"},
        {{"(x<y||y<z)&&z<x"}, "(x<y||y<z)&&z<x"},
        {{"x<y||y<z&&z<x", "x<y||(y<z&&z<x)"}, "x<y||y<z&&z<x"},
        {{"!(x<y)"}, "!(x<y)"},
        {{"where( x<0 , 0.5*x , x )"}, "where(x<0,.5*x,x)"},
        {{"clamp(x, -1, 1e0)"}, "clamp(x,-1,1)"},
        {{"exp ( x )", "exp((x))"}, "exp(x)"},
        {{"x*1e10", "x*10000000000", "x*1.0e10"}, "x*1e10"},
        {{"x*100", "x*1e2"}, "x*100"},
        {{"x*1000", "x*1e3"}, "x*1e3"},
        {{"x*1.5e-7", "x*.00000015"}, "x*15e-8"},
        {{"x*0.001", "x*1e-3"}, "x*.001"},
        {{"x*0.1"}, "x*.1"},
        {{"x*123.25"}, "x*123.25"},
        {{"x*16777217", "x*16777216"}, "x*16777216"},
        {{"x*3.4028235e38"}, "x*34028235e31"},
        {{"x*1.4e-45", "x*1e-45"}, "x*1e-45"},
        {{"x*0", "x*0.000", "x*0e10"}, "x*0"},
    };
    for (const auto& c : cases)
        for (const std::string& spelling : c.spellings) EXPECT_EQ(canonical(spelling), c.canonical) << spelling;
}

TEST(ElementwiseExpression, CanonicalTextTellsDifferentComputationsApart) {
    const std::vector<std::pair<std::string, std::string>> different = {
        {"x+y", "y+x"},           {"(x+y)+z", "x+(y+z)"},   {"x-y-z", "x-(y-z)"},  {"x*1", "x*1.0000001"},
        {"x", "y"},               {"-x*y", "-(x*y)"},       {"min(x,y)", "min(y,x)"}, {"x<y", "y>x"},
        {"x*y", "x*y*1"},         {"exp(x)", "exp2(x)"},    {"x", "(x)*1"},
    };
    for (const auto& [a, b] : different) EXPECT_NE(canonical(a), canonical(b)) << a << " vs " << b;
}

TEST(ElementwiseExpression, TheKeyIncludesTheScalarsNamesAndDefaultsInOrder) {
    const std::vector<scalar_default> scalars = {{"alpha", 0.5f}, {"beta", -2.0f}};
    EXPECT_EQ(canonical("x * alpha + beta", scalars), "x*alpha+beta;alpha=.5;beta=-2");
    EXPECT_EQ(canonical("x", {{"unused", 1}}), "x;unused=1");
    EXPECT_EQ(canonical("x", {{"a", -0.0f}}), "x;a=-0");
    EXPECT_EQ(canonical("x", {{"a", 1e20f}}), "x;a=1e20");
    EXPECT_NE(canonical("x * alpha + beta", scalars),
              canonical("x * alpha + beta", {{"alpha", 0.5f}, {"beta", -1.0f}}));  // another default
    EXPECT_NE(canonical("x * alpha + beta", scalars),
              canonical("x * alpha + beta", {{"beta", -2.0f}, {"alpha", 0.5f}}));  // another order
    EXPECT_NE(canonical("x", {{"a", 1}}), canonical("x", {{"b", 1}}));
    EXPECT_NE(canonical("x", {{"a", 0.0f}}), canonical("x", {{"a", -0.0f}}));
    EXPECT_NE(canonical("x"), canonical("x", {{"a", 0}}));
    EXPECT_EQ(elementwise_expression::parse("x * alpha + beta", scalars).canonical_text(), "x*alpha+beta");
}

TEST(ElementwiseExpression, CanonicalTextParsesAgainToItselfAndIsNeverLonger) {
    const std::vector<scalar_default> scalars = {{"alpha", 0.5f}, {"s0", 3}};
    for (const std::string text :
         {"x", "  x * alpha + s0 ", "((x - y) - (z - u)) / (v * w)", "-(-(x))", "x - - - 1.000",
          "where(!(x < 1) && y >= 2 || z != 3, clamp(x, -1, 1), pow(y, .25e1))",
          "sigmoid(x) * tanh(log1p(exp(y)))", "min(max(x, 0), 6) / 6", "1e-45 + 3.4028235e38 * x",
          "sqrt(rsqrt(abs(floor(ceil(round(erf(sin(cos(exp2(log2(expm1(log(x)))))))))))))"}) {
        const elementwise_expression first = elementwise_expression::parse(text, scalars);
        const elementwise_expression again = elementwise_expression::parse(first.canonical_text(), scalars);
        EXPECT_EQ(again.canonical(), first.canonical()) << text;
        EXPECT_EQ(again.input_count(), first.input_count()) << text;
        EXPECT_LE(first.canonical_text().size(), text.size()) << text;
    }
}

TEST(ElementwiseExpression, CanonicalLiteralsAreNoLongerThanAnySpellingThatReadsBack) {
    // Random float32 values (every exponent), each spelt by printf in many ways: the canonical
    // spelling reads back to the same bits and is never longer than one that also does.
    std::mt19937 random(14);
    for (int i = 0; i < 2000; ++i) {
        float value = 0;
        do {
            const std::uint32_t bits = random() & 0x7fffffffu;
            std::memcpy(&value, &bits, sizeof(value));
        } while (!std::isfinite(value));
        const std::string spelt = canonical("x*" + test::printed("%.*e", 8, value)).substr(2);
        EXPECT_EQ(bits_of(at(spelt, 1.0f)), bits_of(value)) << spelt;
        for (const char* format : {"%.*e", "%.*g", "%.*f"}) {
            for (int precision = 0; precision <= 9; ++precision) {
                const std::string other = test::printed(format, precision, value);
                if (other.size() > elementwise_expression::max_length) continue;
                if (bits_of(at(other, 1.0f)) != bits_of(value)) continue;  // a spelling of another float
                EXPECT_LE(spelt.size(), other.size()) << other << " is shorter than " << spelt;
            }
        }
    }
}

TEST(ElementwiseExpression, TreesAsHighAsTheLengthAllowsEvaluateAndPrintWithoutRecursion) {
    // A flat sum at the length limit is a left-deep tree 2,048 nodes high.
    const std::string sum = "x" + repeat("+x", 2047);
    ASSERT_EQ(sum.size(), 4095u);
    const elementwise_expression e = elementwise_expression::parse(sum);
    EXPECT_EQ(at(sum, 1.0f), 2048.0f);
    EXPECT_EQ(e.canonical(), sum);
    EXPECT_EQ(elementwise_expression::parse(e.canonical_text()).canonical(), sum);
    const std::string right_deep = repeat("x-(", 64) + "x-x" + repeat(")", 64);  // at the nesting limit
    EXPECT_EQ(at(right_deep, 1.0f), 0.0f);  // 0, 1, 0, ... outwards
    EXPECT_EQ(canonical(right_deep), right_deep);
    EXPECT_EQ(at(repeat("-", 64) + "x", 3.0f), 3.0f);
    EXPECT_EQ(at(repeat("floor(", 64) + "x" + repeat(")", 64), 2.5f), 2.0f);
    EXPECT_EQ(at(repeat("min(", 64) + "x" + repeat(",9)", 64), 2.5f), 2.5f);
}

} // namespace
} // namespace kerntune
