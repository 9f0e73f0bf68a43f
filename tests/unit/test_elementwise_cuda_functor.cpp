#include <gtest/gtest.h>

#include <limits>
#include <string>
#include <vector>

#include "elementwise/cuda_functor.hpp"
#include "test_core_support.hpp"
#include "test_elementwise_support.hpp"

namespace kerntune {
namespace {

using test::contains;
using test::repeat;

std::string emitted(const std::string& text, const std::vector<scalar_default>& scalars = {}) {
    return emit_cuda_functor(elementwise_expression::parse(text, scalars));
}

/// The functor's line that returns, without its indentation.
std::string returned(const std::string& text) {
    const std::string source = emitted(text);
    const std::size_t at = source.find("return ");
    return source.substr(at, source.find('\n', at) - at);
}

TEST(ElementwiseCudaFunctor, IsOneLinePerOperationWithTheEmittersOwnNames) {
    EXPECT_EQ(emitted("where(y < 0.5, x * alpha + beta, -sigmoid(x))", {{"alpha", 2}, {"beta", 1}}),
              "struct kt_expression {\n"
              "    float s0;\n"
              "    float s1;\n"
              "    __device__ float operator()(float in0, float in1) const {\n"
              "        const bool t0 = in1 < 0x1p-1f;\n"
              "        const float t1 = kt_math::mul(in0, s0);\n"
              "        const float t2 = kt_math::add(t1, s1);\n"
              "        const float t3 = kt_math::sigmoid(in0);\n"
              "        const float t4 = -t3;\n"
              "        const float t5 = t0 ? t2 : t4;\n"
              "        return t5;\n"
              "    }\n"
              "};\n");
}

TEST(ElementwiseCudaFunctor, TakesEveryInputUpToTheHighestAndReturnsWhatTheExpressionGives) {
    EXPECT_TRUE(contains(emitted("z"), "__device__ float operator()(float in0, float in1, float in2) const {"));
    EXPECT_TRUE(contains(emitted("z"), "return in2;"));
    EXPECT_TRUE(contains(emitted("1"), "__device__ float operator()() const {"));
    EXPECT_TRUE(contains(emitted("x < y || !(x >= 1)"), "__device__ bool operator()(float in0, float in1) const {"));
    EXPECT_TRUE(contains(emitted("x < y || !(x >= 1)"), "const bool t3 = t0 || t2;"));
    const std::string unused = emitted("x", {{"a", 1}, {"b", 2}});
    EXPECT_TRUE(contains(unused, "    float s0;\n    float s1;\n")) << "every declared scalar is a member";
}

TEST(ElementwiseCudaFunctor, SpellsLiteralsAsExactHexFloatsFromTheirValue) {
    EXPECT_EQ(returned("1.5"), "return 0x1.8p+0f;");
    EXPECT_EQ(returned("1"), "return 0x1p+0f;");
    EXPECT_EQ(returned("0"), "return 0x0p+0f;");
    EXPECT_EQ(returned("0.1"), "return 0x1.99999ap-4f;");
    EXPECT_EQ(returned("16777216"), "return 0x1p+24f;");
    EXPECT_EQ(returned("3.4028235e38"), "return 0x1.fffffep+127f;");
    EXPECT_EQ(returned("1.1754944e-38"), "return 0x1p-126f;");        // the smallest normal
    EXPECT_EQ(returned("1e-45"), "return 0x0.000002p-126f;");         // the smallest subnormal
    EXPECT_EQ(returned("1.1754942e-38"), "return 0x0.fffffep-126f;");  // the largest subnormal
    // However the user spelt it.
    EXPECT_EQ(emitted("x * 2.50"), emitted("x*25e-1"));
}

TEST(ElementwiseCudaFunctor, MapsEveryOperationToItsWhitelistedSpelling) {
    const struct {
        const char* text;
        const char* line;
    } cases[] = {
        {"x - y", "kt_math::sub(in0, in1)"},       {"x / y", "kt_math::div(in0, in1)"},
        {"x <= y", "in0 <= in1"},                  {"x > y", "in0 > in1"},
        {"x == y", "in0 == in1"},                  {"x != y", "in0 != in1"},
        {"min(x, y)", "kt_math::min(in0, in1)"},   {"max(x, y)", "kt_math::max(in0, in1)"},
        {"clamp(x, 0, 1)", "kt_math::clamp(in0, 0x0p+0f, 0x1p+0f)"},
        {"pow(x, y)", "kt_math::pow(in0, in1)"},   {"abs(x)", "kt_math::abs(in0)"},
        {"exp(x)", "kt_math::exp(in0)"},           {"exp2(x)", "kt_math::exp2(in0)"},
        {"log(x)", "kt_math::log(in0)"},           {"log2(x)", "kt_math::log2(in0)"},
        {"log1p(x)", "kt_math::log1p(in0)"},       {"expm1(x)", "kt_math::expm1(in0)"},
        {"sqrt(x)", "kt_math::sqrt(in0)"},         {"rsqrt(x)", "kt_math::rsqrt(in0)"},
        {"tanh(x)", "kt_math::tanh(in0)"},         {"erf(x)", "kt_math::erf(in0)"},
        {"sin(x)", "kt_math::sin(in0)"},           {"cos(x)", "kt_math::cos(in0)"},
        {"floor(x)", "kt_math::floor(in0)"},       {"ceil(x)", "kt_math::ceil(in0)"},
        {"round(x)", "kt_math::round(in0)"},       {"x < 1 && y > 1", "t0 && t1"},
    };
    for (const auto& c : cases) EXPECT_TRUE(contains(emitted(c.text), std::string(" = ") + c.line + ";\n")) << c.text;
}

TEST(ElementwiseCudaFunctor, NoNameFromTheUsersTextReachesTheSource) {
    const std::string source = emitted("x * evil_gain + asm_", {{"evil_gain", 1}, {"asm_", 2}});
    EXPECT_FALSE(contains(source, "evil")) << source;
    EXPECT_FALSE(contains(source, "asm")) << source;
    EXPECT_TRUE(contains(source, "kt_math::mul(in0, s0)"));
    EXPECT_TRUE(contains(source, "kt_math::add(t0, s1)"));
}

TEST(ElementwiseCudaFunctor, ATreeAsHighAsTheLengthAllowsIsEmittedWithoutRecursion) {
    const std::string source = emitted("x" + repeat("+x", 2047));
    EXPECT_TRUE(contains(source, "const float t0 = kt_math::add(in0, in0);\n"));
    EXPECT_TRUE(contains(source, "const float t2046 = kt_math::add(t2045, in0);\n        return t2046;\n"));
    EXPECT_FALSE(contains(source, "t2047"));
}

} // namespace
} // namespace kerntune
