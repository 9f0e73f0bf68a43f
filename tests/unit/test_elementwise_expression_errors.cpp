#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "elementwise/elementwise_expression.hpp"
#include "test_core_support.hpp"
#include "test_elementwise_support.hpp"

namespace kerntune {
namespace {

using test::contains;
using test::error_of;
using test::repeat;

struct refused {
    std::string text;
    std::string what;  // the message's part between the quoted text and the column
    std::size_t column;
};

/// Checks that parsing each case throws exactly "expression 'TEXT': WHAT at column N", the
/// text cut to 80 characters and "..." when it is longer than 83.
void expect_refused(const std::vector<refused>& cases) {
    for (const refused& c : cases) {
        const std::string message = error_of([&] { elementwise_expression::parse(c.text); });
        const std::string quoted = c.text.size() <= 83 ? c.text : c.text.substr(0, 80) + "...";
        EXPECT_EQ(message, "expression '" + quoted + "': " + c.what + " at column " + std::to_string(c.column));
    }
}

TEST(ElementwiseExpressionErrors, UnknownNamesAndFunctionsNameThemselvesAndTheirColumn) {
    expect_refused({
        {"foo + 1", "unknown name 'foo'", 1},
        {"x + bar * 2", "unknown name 'bar'", 5},
        {"X", "unknown name 'X'", 1},  // names are case-sensitive
        {"xy", "unknown name 'xy'", 1},
        {"inf", "unknown name 'inf'", 1},
        {"nan", "unknown name 'nan'", 1},
        {"true", "unknown name 'true'", 1},
        {"alpha", "unknown name 'alpha'", 1},  // not declared
        {"foo(x)", "unknown function 'foo'", 1},
        {"1 + x(2)", "unknown function 'x'", 5},
        {"fminf(x, y)", "unknown function 'fminf'", 1},
        {"exp + 1", "expected '(' after the function 'exp'", 5},
    });
}

TEST(ElementwiseExpressionErrors, ALongUnknownNameIsShownCut) {
    const std::string name = repeat("a", 1000);
    const std::string message = error_of([&] { elementwise_expression::parse("x + " + name); });
    EXPECT_TRUE(contains(message, "unknown name '" + repeat("a", 37) + "...' at column 5")) << message;
    EXPECT_LT(message.size(), 200u);
}

TEST(ElementwiseExpressionErrors, SyntaxErrorsNameTheirColumn) {
    expect_refused({
        {"", "unexpected end", 1},
        {"   ", "unexpected end", 4},
        {"x +", "unexpected end", 4},
        {"(x", "expected ')'", 3},
        {"x)", "unexpected ')'", 2},
        {"x y", "unexpected 'y'", 3},
        {"x = y", "unexpected '='", 3},
        {"x & y", "unexpected '&'", 3},
        {"x | y", "unexpected '|'", 3},
        {"x ? y : z", "unexpected '?'", 3},
        {"x % y", "unexpected '%'", 3},
        {"x ** 2", "unexpected '*'", 4},
        {"+x", "unexpected '+'", 1},
        {"x; y", "unexpected ';'", 2},
        {"()", "unexpected ')'", 2},
        {"min(x y)", "expected ',' or ')'", 7},
        {"min(x,)", "unexpected ')'", 7},
        {"min(,x)", "unexpected ','", 5},
        {"1.2.3", "malformed number", 4},
        {"2x", "malformed number", 2},
        {"1e", "malformed number", 3},
        {"1e+", "malformed number", 4},
        {"1e+x", "malformed number", 4},
        {"1.5f", "malformed number", 4},
        {"0x1p3", "malformed number", 2},
        {". 5", "unexpected '.'", 1},
        {"x.y", "unexpected '.'", 2},
        {"1 .5", "unexpected '.'", 3},
    });
}

TEST(ElementwiseExpressionErrors, WrongArityNamesTheFunctionAndItsColumn) {
    expect_refused({
        {"min(x)", "'min' takes 2 arguments, not 1", 1},
        {"x + max(x, y, z)", "'max' takes 2 arguments, not 3", 5},
        {"exp(x, y)", "'exp' takes 1 argument, not 2", 1},
        {"sqrt()", "'sqrt' takes 1 argument, not 0", 1},
        {"where(x < y, x)", "'where' takes 3 arguments, not 2", 1},
        {"clamp(x, 1, 2, 3)", "'clamp' takes 3 arguments, not 4", 1},
        {"pow(2)", "'pow' takes 2 arguments, not 1", 1},
    });
}

TEST(ElementwiseExpressionErrors, TypeErrorsNameTheOperandsColumn) {
    expect_refused({
        {"(x < y) + 1", "a bool where '+' takes a float", 2},
        {"x * (y < z)", "a bool where '*' takes a float", 6},
        {"-(x < y)", "a bool where '-' takes a float", 3},
        {"x < y < z", "a bool where '<' takes a float", 1},
        {"x < y == y < z", "a bool where '==' takes a float", 1},
        {"x && y", "a float where '&&' takes a bool", 1},
        {"x < 1 || y", "a float where '||' takes a bool", 10},
        {"!x", "a float where '!' takes a bool", 2},
        {"where(x, y, z)", "a float where 'where' takes a bool", 7},
        {"where(x < y, x < y, z)", "a bool where 'where' takes a float", 14},
        {"exp(x < y)", "a bool where 'exp' takes a float", 5},
        {"min(x, !(x < y))", "a bool where 'min' takes a float", 8},
    });
}

TEST(ElementwiseExpressionErrors, LiteralsOutsideFloat32sRangeNameTheirColumn) {
    const std::string range = "literal outside the range of float32 (it would round to infinity or to zero)";
    expect_refused({
        {"1e39", range, 1},
        {"x + 1e39", range, 5},
        {"3.4028236e38", range, 1},  // just past the largest float's rounding boundary
        {"x * 1e-50", range, 5},      // not zero, rounds to zero
        {"1e999999999999999999999", range, 1},
        {repeat("9", 40), range, 1},
    });
}

TEST(ElementwiseExpressionErrors, TextsPastTheLengthAndNestingLimitsAreRefused) {
    const std::string sum = "x" + repeat("+x", 2048);  // 4097 characters
    EXPECT_TRUE(contains(error_of([&] { elementwise_expression::parse(sum); }),
                         "4097 characters, longer than the limit of 4096 at column 4097"));
    expect_refused({
        {repeat("(", 65) + "x" + repeat(")", 65), "nested deeper than the limit of 64 levels", 65},
        {repeat("-", 65) + "x", "nested deeper than the limit of 64 levels", 65},
        {repeat("!", 64) + "(x < 1)", "nested deeper than the limit of 64 levels", 65},
        {repeat("exp(", 65) + "x" + repeat(")", 65), "nested deeper than the limit of 64 levels", 257},
        {repeat("-(", 33) + "x" + repeat(")", 33), "nested deeper than the limit of 64 levels", 65},
    });
}

TEST(ElementwiseExpressionErrors, MessagesAreOneLineWithControlCharactersEscaped) {
    const std::string with_nul("x +\0 1", 6);
    EXPECT_EQ(error_of([&] { elementwise_expression::parse(with_nul); }),
              "expression 'x +\\x00 1': unexpected '\\x00' at column 4");
    EXPECT_EQ(error_of([] { elementwise_expression::parse("x\n+\ny y"); }),
              "expression 'x\\n+\\ny y': unexpected 'y' at column 7");
    const std::string escape = error_of([] { elementwise_expression::parse("x \x1b[2J"); });
    EXPECT_EQ(escape, "expression 'x \\x1b[2J': unexpected '\\x1b' at column 3");
}

TEST(ElementwiseExpressionErrors, BadScalarDeclarationsAreRefusedNamingTheScalar) {
    const float nan = std::numeric_limits<float>::quiet_NaN();
    const float inf = std::numeric_limits<float>::infinity();
    const struct {
        std::vector<scalar_default> scalars;
        std::string what;
    } cases[] = {
        {{{"", 1}}, "scalar 1 '' is not a name (letters, digits and '_', not starting with a digit)"},
        {{{"a", 1}, {"1a", 1}}, "scalar 2 '1a' is not a name (letters, digits and '_', not starting with a digit)"},
        {{{"a-b", 1}}, "scalar 1 'a-b' is not a name (letters, digits and '_', not starting with a digit)"},
        {{{"a b", 1}}, "scalar 1 'a b' is not a name (letters, digits and '_', not starting with a digit)"},
        {{{std::string("a\0b", 3), 1}},
         "scalar 1 'a\\x00b' is not a name (letters, digits and '_', not starting with a digit)"},
        {{{"x", 1}}, "scalar 1 'x' is the name of an input"},
        {{{"a", 1}, {"w", 1}}, "scalar 2 'w' is the name of an input"},
        {{{"exp", 1}}, "scalar 1 'exp' is the name of a function"},
        {{{"where", 1}}, "scalar 1 'where' is the name of a function"},
        {{{"a", 1}, {"b", 2}, {"a", 3}}, "scalar 3 'a' is declared twice (also scalar 1)"},
        {{{"a", nan}}, "scalar 1 'a' has a default that is not finite"},
        {{{"a", -inf}}, "scalar 1 'a' has a default that is not finite"},
        {{{repeat("a", 65), 1}}, "scalar 1 '" + repeat("a", 37) + "...' is longer than the limit of 64 characters"},
        {std::vector<scalar_default>(17, {"a", 1}), "17 scalars, more than the limit of 16"},
    };
    for (const auto& c : cases)
        EXPECT_EQ(error_of([&] { elementwise_expression::parse("x", c.scalars); }), "expression 'x': " + c.what);
    // At the limits they are accepted.
    std::vector<scalar_default> sixteen;
    for (int i = 0; i < 16; ++i) sixteen.push_back({"s" + std::to_string(i), static_cast<float>(i)});
    EXPECT_EQ(elementwise_expression::parse("x * s15", sixteen).scalars().size(), 16u);
    EXPECT_EQ(elementwise_expression::parse(repeat("a", 64), {{repeat("a", 64), 1}}).input_count(), 0);
    EXPECT_EQ(elementwise_expression::parse("xx + _", {{"xx", 1}, {"_", 2}}).scalars().size(), 2u);
}

} // namespace
} // namespace kerntune
