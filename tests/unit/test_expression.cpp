#include <gtest/gtest.h>

#include <climits>

#include "core/error.hpp"
#include "core/expression.hpp"

namespace kerntune {
namespace {

std::int64_t eval(const std::string& text, const variables& vars = {}) { return expression::parse(text).evaluate(vars); }

TEST(Expression, FollowsCPrecedenceAndAssociativity) {
    EXPECT_EQ(eval("2 + 3 * 4"), 14);
    EXPECT_EQ(eval("(2 + 3) * 4"), 20);
    EXPECT_EQ(eval("10 - 4 - 3"), 3);
    EXPECT_EQ(eval("100 / 10 / 5"), 2);
    EXPECT_EQ(eval("7 % 4 + 1"), 4);
    EXPECT_EQ(eval("-3 * -2"), 6);
    EXPECT_EQ(eval("1 + 2 < 4 == 1"), 1);
    EXPECT_EQ(eval("!0 && 2 > 1 || 0"), 1);
}

TEST(Expression, TernaryIsRightAssociativeAndShortCircuits) {
    EXPECT_EQ(eval("0 ? 1 : 0 ? 2 : 3"), 3);
    EXPECT_EQ(eval("1 ? 5 : 1 / 0"), 5);  // the untaken branch is never evaluated
    EXPECT_EQ(eval("0 && 1 / 0"), 0);
    EXPECT_EQ(eval("1 || 1 / 0"), 1);
}

TEST(Expression, ComparisonsDistinguishOneAndTwoCharacterOperators) {
    EXPECT_EQ(eval("3 <= 3"), 1);
    EXPECT_EQ(eval("3 < 3"), 0);
    EXPECT_EQ(eval("3 >= 4"), 0);
    EXPECT_EQ(eval("3 != 4"), 1);
    EXPECT_EQ(eval("!(3 == 4)"), 1);
}

TEST(Expression, FunctionsAndNames) {
    const variables vars = {{"n", 1000}, {"BLOCK", 256}, {"sizeof(T)", 2}};
    EXPECT_EQ(eval("cdiv(n, BLOCK)", vars), 4);
    EXPECT_EQ(eval("cdiv(1024, BLOCK)", vars), 4);
    EXPECT_EQ(eval("cdiv(0, 7)"), 0);
    EXPECT_EQ(eval("min(n, BLOCK) + max(1, 2)", vars), 258);
    EXPECT_EQ(eval("16 / sizeof(T)", vars), 8);
    EXPECT_EQ(eval("16/sizeof( T )", vars), 8);
}

TEST(Expression, ListsTheNamesItReads) {
    const std::vector<std::string> names = expression::parse("VEC * sizeof(T) <= 16 && VEC > n").names();
    EXPECT_EQ(names, (std::vector<std::string>{"VEC", "n", "sizeof(T)"}));
}

TEST(Expression, OverflowDivisionByZeroAndUnknownNamesAreErrors) {
    EXPECT_THROW(eval("9223372036854775807 + 1"), error);
    EXPECT_THROW(eval("4611686018427387904 * 2"), error);
    EXPECT_THROW(eval("-9223372036854775807 - 2"), error);
    EXPECT_THROW(eval("1 / 0"), error);
    EXPECT_THROW(eval("1 % 0"), error);
    EXPECT_THROW(eval("cdiv(1, 0)"), error);
    EXPECT_THROW(eval("x + 1"), error);
    EXPECT_THROW(eval("99999999999999999999"), error);
}

TEST(Expression, SyntaxErrorsNameTheColumn) {
    for (const char* bad : {"", "1 +", "(1", "1)", "1 = 2", "foo(1, 2)", "min(1)", "2x", "1 ? 2", "sizeof(U)", "1; 2", "a.b"}) {
        try {
            expression::parse(bad);
            ADD_FAILURE() << "accepted '" << bad << "'";
        } catch (const error& failure) {
            EXPECT_NE(std::string(failure.what()).find("column"), std::string::npos) << failure.what();
        }
    }
}

} // namespace
} // namespace kerntune
