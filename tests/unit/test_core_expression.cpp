#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/expression.hpp"
#include "test_core_support.hpp"

namespace kerntune {
namespace {

using test::contains;
using test::error_of;

std::int64_t eval(const std::string& text, const variables& vars = {}) {
    return expression::parse(text).evaluate(vars);
}

TEST(CoreExpression, ArithmeticFollowsCPrecedenceAndLeftAssociativity) {
    EXPECT_EQ(eval("1 + 2 * 3"), 7);
    EXPECT_EQ(eval("(1 + 2) * 3"), 9);
    EXPECT_EQ(eval("10 - 4 - 3"), 3);
    EXPECT_EQ(eval("100 / 10 / 5"), 2);
    EXPECT_EQ(eval("7 % 3 * 2"), 2);
    EXPECT_EQ(eval("2 * 3 % 4"), 2);
    EXPECT_EQ(eval("-2 * -3"), 6);
    EXPECT_EQ(eval("- -5"), 5);
    EXPECT_EQ(eval("--5"), 5);
    EXPECT_EQ(eval("2--3"), 5);
    EXPECT_EQ(eval("  ( ( 42 ) )  "), 42);
}

TEST(CoreExpression, ComparisonAndLogicFollowCPrecedence) {
    EXPECT_EQ(eval("1 + 2 < 4"), 1);         // + binds tighter than <
    EXPECT_EQ(eval("2 < 1 == 0"), 1);        // < binds tighter than ==
    EXPECT_EQ(eval("1 == 1 && 2 == 3"), 0);  // == binds tighter than &&
    EXPECT_EQ(eval("1 || 0 && 0"), 1);       // && binds tighter than ||
    EXPECT_EQ(eval("(1 || 0) && 0"), 0);
    EXPECT_EQ(eval("!0 + 1"), 2);  // unary binds tightest
    EXPECT_EQ(eval("!(0 + 1)"), 0);
    EXPECT_EQ(eval("3 <= 3"), 1);
    EXPECT_EQ(eval("3 < 3"), 0);
    EXPECT_EQ(eval("4 >= 5"), 0);
    EXPECT_EQ(eval("4 > 3"), 1);
    EXPECT_EQ(eval("4 != 4"), 0);
}

TEST(CoreExpression, BooleansAreZeroOrOne) {
    EXPECT_EQ(eval("5 && 7"), 1);
    EXPECT_EQ(eval("0 || -3"), 1);
    EXPECT_EQ(eval("!5"), 0);
    EXPECT_EQ(eval("!!5"), 1);
    EXPECT_EQ(eval("(3 < 4) + (4 < 3) + (2 == 2)"), 2);
}

TEST(CoreExpression, TernaryIsRightAssociativeAndBindsLoosest) {
    EXPECT_EQ(eval("1 ? 2 : 0 ? 3 : 4"), 2);
    EXPECT_EQ(eval("0 ? 2 : 1 ? 3 : 4"), 3);
    EXPECT_EQ(eval("0 ? 2 : 0 ? 3 : 4"), 4);
    EXPECT_EQ(eval("1 ? 0 ? 5 : 6 : 7"), 6);  // a ternary in the middle
    EXPECT_EQ(eval("1 || 0 ? 10 : 20 + 1"), 10);
    EXPECT_EQ(eval("0 ? 10 : 20 + 1"), 21);
}

TEST(CoreExpression, OnlyTheNeededOperandsAreEvaluated) {
    EXPECT_EQ(eval("1 ? 5 : 1 / 0"), 5);
    EXPECT_EQ(eval("0 ? missing : 6"), 6);
    EXPECT_EQ(eval("0 && 1 / 0"), 0);
    EXPECT_EQ(eval("1 || missing"), 1);
}

TEST(CoreExpression, DivisionTruncatesTowardZeroLikeCpp) {
    EXPECT_EQ(eval("7 / 2"), 3);
    EXPECT_EQ(eval("-7 / 2"), -3);
    EXPECT_EQ(eval("7 / -2"), -3);
    EXPECT_EQ(eval("-7 % 2"), -1);
    EXPECT_EQ(eval("7 % -2"), 1);
}

TEST(CoreExpression, FunctionsMinMaxAndCeilingDivision) {
    EXPECT_EQ(eval("min(3, -4)"), -4);
    EXPECT_EQ(eval("max(3, -4)"), 3);
    EXPECT_EQ(eval("cdiv(10, 3)"), 4);
    EXPECT_EQ(eval("cdiv(9, 3)"), 3);
    EXPECT_EQ(eval("cdiv(0, 5)"), 0);
    EXPECT_EQ(eval("cdiv(9223372036854775807, 2)"), 4611686018427387904);  // no a + b - 1 overflow
    EXPECT_EQ(eval("min(max(1, 2), cdiv(7, 2)) * 10"), 20);
    EXPECT_EQ(eval("max(1 ? 2 : 3, 0)"), 2);  // arguments are full expressions
    EXPECT_THROW(eval("cdiv(-1, 2)"), error);
    EXPECT_THROW(eval("cdiv(1, 0)"), error);
    EXPECT_THROW(eval("cdiv(1, -2)"), error);
}

TEST(CoreExpression, NamesAndSizeofTReadVariables) {
    const variables vars = {{"n", 1000}, {"BLOCK", 256}, {"sizeof(T)", 2},
                            {"tile", 0}, {"GRID", 0},    {"_x1", 5}};
    EXPECT_EQ(eval("cdiv(n, BLOCK)", vars), 4);
    EXPECT_EQ(eval("16 / sizeof(T)", vars), 8);
    EXPECT_EQ(eval("16 / sizeof ( T )", vars), 8);
    EXPECT_EQ(eval("GRID == tile", vars), 1);
    EXPECT_EQ(eval("_x1 * 2", vars), 10);
    EXPECT_EQ(eval("min", {{"min", 3}}), 3);  // a function name without a call is a plain name
}

TEST(CoreExpression, NamesAreSortedUniqueAndIncludeSizeofT) {
    const expression e = expression::parse("VEC * sizeof(T) <= 16 && VEC > n ? BLOCK : sizeof(T)");
    EXPECT_EQ(e.names(), (std::vector<std::string>{"BLOCK", "VEC", "n", "sizeof(T)"}));
    EXPECT_TRUE(expression::parse("cdiv(4, 2) + 1").names().empty());
}

TEST(CoreExpression, KeepsItsTextAndEvaluatesRepeatedly) {
    const expression e = expression::parse("x * 2");
    EXPECT_EQ(e.text(), "x * 2");
    EXPECT_EQ(e.evaluate({{"x", 3}}), 6);
    EXPECT_EQ(e.evaluate({{"x", 4}}), 8);
    const expression copy = e;
    EXPECT_EQ(copy.evaluate({{"x", 5}}), 10);
}

TEST(CoreExpression, LiteralsSpanTheInt64Range) {
    EXPECT_EQ(eval("9223372036854775807"), INT64_MAX);
    EXPECT_EQ(eval("-9223372036854775807 - 1"), INT64_MIN);
    EXPECT_THROW(expression::parse("9223372036854775808"), error);
    EXPECT_THROW(expression::parse("99999999999999999999"), error);
}

TEST(CoreExpression, EveryOverflowIsAnError) {
    for (const char* overflowing :
         {"9223372036854775807 + 1", "-9223372036854775807 - 2", "4611686018427387904 * 2",
          "-4611686018427387905 * 2", "3037000500 * 3037000500", "-(-9223372036854775807 - 1)",
          "(-9223372036854775807 - 1) / -1", "(-9223372036854775807 - 1) % -1",
          "0 - 9223372036854775807 - 2"}) {
        const std::string message = error_of([&] { eval(overflowing); });
        EXPECT_TRUE(contains(message, "overflow")) << overflowing << ": " << message;
        EXPECT_TRUE(contains(message, overflowing)) << message;
    }
}

TEST(CoreExpression, DivisionByZeroAndUnknownNamesAreErrors) {
    EXPECT_TRUE(contains(error_of([] { eval("1 / 0"); }), "division by zero"));
    EXPECT_TRUE(contains(error_of([] { eval("1 % (2 - 2)"); }), "division by zero"));
    const std::string unknown = error_of([] { eval("BLOCK + 1", {{"VEC", 1}}); });
    EXPECT_TRUE(contains(unknown, "unknown name 'BLOCK'")) << unknown;
    EXPECT_TRUE(contains(unknown, "BLOCK + 1")) << unknown;
    EXPECT_TRUE(contains(error_of([] { eval("sizeof(T)"); }), "unknown name 'sizeof(T)'"));
    EXPECT_THROW(expression().evaluate({}), error);
}

TEST(CoreExpression, SyntaxErrorsNameTheTextAndTheColumn) {
    const struct {
        const char* text;
        int column;
    } cases[] = {
        {"", 1},           {"1 +", 4},      {"(1", 3},           {"1)", 2},
        {"1 2", 3},        {"1 = 2", 3},    {"1 & 2", 3},        {"1 | 2", 3},
        {"a.b", 2},        {"2x", 2},       {"2.5", 2},          {"1 ? 2", 6},
        {"foo(1, 2)", 1},  {"min(1)", 6},   {"min(1, 2, 3)", 9}, {"sizeof(U)", 8},
        {"sizeof(Tx)", 9}, {"sizeof T", 8}, {"1; 2", 2},         {"BLOCK $ 2", 7},
        {"* 2", 1},        {"()", 2},       {"1 <== 2", 5},      {"max(1, 2) junk", 11},
    };
    for (const auto& c : cases) {
        const std::string message = error_of([&] { expression::parse(c.text); });
        EXPECT_TRUE(contains(message, "'" + std::string(c.text) + "'")) << message;
        EXPECT_TRUE(contains(message, "at column " + std::to_string(c.column))) << c.text << ": " << message;
    }
}

/// `count` copies of `part`.
std::string repeat(const std::string& part, std::size_t count) {
    std::string text;
    text.reserve(part.size() * count);
    for (std::size_t i = 0; i < count; ++i) text += part;
    return text;
}

// Before the limits each of these overflowed the stack (`kerntune list` exited 139): the parser
// recursed once per parenthesis, minus sign or ?:, and evaluate once per level of the tree.
TEST(CoreExpression, HostileTextsAreRefusedAtTheLengthLimitQuickly) {
    const auto started = std::chrono::steady_clock::now();
    const struct {
        const char* what;
        std::string text;
    } cases[] = {
        {"20,000 nested parentheses", repeat("(", 20'000) + "1" + repeat(")", 20'000)},
        {"a flat sum of 50,000 terms", "1" + repeat(" + 1", 49'999)},
        {"400,000 unary minus signs", repeat("-", 400'000) + "1"},
        {"100,000 nested ?:", repeat("1 ? ", 100'000) + "1" + repeat(" : 0", 100'000)},
    };
    for (const auto& c : cases) {
        const std::string message = error_of([&] { expression::parse(c.text); });
        EXPECT_TRUE(contains(message, std::to_string(c.text.size()) +
                                          " characters, longer than the limit of 4096 at column 4097"))
            << c.what << ": " << message;
        EXPECT_TRUE(contains(message, "expression '" + c.text.substr(0, 80) + "...'")) << c.what << ": " << message;
        EXPECT_LT(message.size(), 200u) << c.what << ": the message is one short line";
    }
    EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count(), 1.0);
}

TEST(CoreExpression, NestingDeeperThan64LevelsIsRefusedNamingTheLimitAndTheColumn) {
    // Every kind of nesting counts: parentheses, function arguments, ?: and unary operators.
    const struct {
        std::string allowed;  // 64 levels
        std::int64_t value;   // of allowed
        std::string refused;  // 65 levels
        std::size_t column;   // of the construct that opens the 65th
    } cases[] = {
        {repeat("(", 64) + "7" + repeat(")", 64), 7, repeat("(", 65) + "7" + repeat(")", 65), 65},
        {repeat("-", 64) + "7", 7, repeat("-", 65) + "7", 65},
        {repeat("!", 63) + "-7", 0, repeat("!", 64) + "-7", 65},
        {repeat("min(", 64) + "7" + repeat(", 9)", 64), 7, repeat("min(", 65) + "7" + repeat(", 9)", 65), 257},
        {repeat("1 ? ", 64) + "7" + repeat(" : 0", 64), 7, repeat("1 ? ", 65) + "7" + repeat(" : 0", 65), 259},
        {repeat("0 ? 0 : ", 64) + "7", 7, repeat("0 ? 0 : ", 65) + "7", 515},
        {"- (" + repeat("!(", 31) + "0" + repeat(")", 31) + " + 6)", -7,
         "- (" + repeat("!(", 32) + "0" + repeat(")", 32) + ")", 66},
    };
    for (const auto& c : cases) {
        EXPECT_EQ(eval(c.allowed), c.value) << c.allowed;
        const std::string message = error_of([&] { expression::parse(c.refused); });
        EXPECT_TRUE(contains(message, "nested deeper than the limit of 64 levels at column " + std::to_string(c.column)))
            << c.refused << ": " << message;
    }
}

TEST(CoreExpression, TreesAsHighAsTheLengthAllowsEvaluateWithoutRecursion) {
    // A flat chain at the length limit is a left-deep tree over 2,000 nodes high: no nesting,
    // so the parser accepts it, and evaluate walks it with its own stack.
    const std::string sum = "1" + repeat("+1", 2047);  // 4095 characters
    ASSERT_EQ(sum.size(), 4095u);
    EXPECT_EQ(eval(sum), 2048);
    const std::string difference = "4096" + repeat("-2", 2045);
    EXPECT_EQ(eval(difference), 4096 - 2 * 2045);
    // Short-circuits deep in the tree still skip what C skips: n / d is never divided by zero.
    const std::string guarded = repeat("0||", 1000) + "d != 0 && n / d > 1";
    EXPECT_EQ(eval(guarded, {{"n", 10}, {"d", 0}}), 0);
    EXPECT_EQ(eval(guarded, {{"n", 10}, {"d", 2}}), 1);
    const std::string chosen = repeat("x + ", 1000) + "(x > 0 ? x : 1 / x)";
    EXPECT_EQ(eval(chosen, {{"x", 3}}), 3003);
    EXPECT_TRUE(contains(error_of([&] { eval(sum.substr(2) + "+a"); }), "unknown name 'a'"));  // the last leaf
    EXPECT_EQ(eval(repeat("1*", 2047) + "1"), 1);
}

} // namespace
} // namespace kerntune
