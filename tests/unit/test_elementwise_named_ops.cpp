#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/text_cursor.hpp"
#include "elementwise/named_ops.hpp"
#include "test_elementwise_support.hpp"

namespace kerntune {
namespace {

using test::bits_of;

constexpr float inf = std::numeric_limits<float>::infinity();
constexpr float nan = std::numeric_limits<float>::quiet_NaN();

const named_op& op(std::string_view name) {
    const named_op* found = find_named_op(name);
    if (!found) throw std::runtime_error("no named op " + std::string(name));
    return *found;
}

elementwise_expression parsed(const named_op& entry) {
    return elementwise_expression::parse(entry.expression, entry.scalars);
}

/// The named op `name` at x, with its scalars' defaults, or with `scalars` in its order.
float at(std::string_view name, float x, std::vector<float> scalars = {}) {
    const named_op& entry = op(name);
    if (scalars.empty())
        for (const scalar_default& scalar : entry.scalars) scalars.push_back(scalar.value);
    return parsed(entry).evaluate(&x, scalars.data());
}

/// Within 4 float32 ulps of `exact` (the host's libm and CUDA's differ by an ulp or two; the
/// GPU's accuracy against torch is tools/elementwise_accuracy.py's to measure).
void expect_close(std::string_view name, float x, double exact, std::vector<float> scalars = {}) {
    const float value = at(name, x, scalars);
    EXPECT_NEAR(value, exact, 4 * std::numeric_limits<float>::epsilon() * std::max(1.0, std::fabs(exact)))
        << name << "(" << x << ")";
}

void expect_exact(std::string_view name, float x, float expected, std::vector<float> scalars = {}) {
    const float value = at(name, x, scalars);
    EXPECT_EQ(bits_of(value), bits_of(expected)) << name << "(" << x << ") gives " << value << ", not " << expected;
}

TEST(NamedOps, EveryEntryParsesWithItsScalarsAndTakesOneInput) {
    ASSERT_FALSE(named_ops().empty());
    for (const named_op& entry : named_ops()) {
        SCOPED_TRACE(std::string(entry.name));
        const elementwise_expression e = parsed(entry);
        EXPECT_EQ(e.input_count(), 1);
        EXPECT_TRUE(e.result_is_float());
        ASSERT_EQ(e.scalars().size(), entry.scalars.size());
        // Every declared scalar is used: without it the text does not parse.
        for (std::size_t i = 0; i < entry.scalars.size(); ++i) {
            std::vector<scalar_default> without = entry.scalars;
            without.erase(without.begin() + static_cast<std::ptrdiff_t>(i));
            EXPECT_THROW(elementwise_expression::parse(entry.expression, without), error) << entry.scalars[i].name;
        }
        EXPECT_FALSE(entry.torch_call.empty());
    }
}

TEST(NamedOps, NamesAreUniqueIdentifiersAndLeakyReluIsNotOne) {
    std::set<std::string_view> names;
    for (const named_op& entry : named_ops()) {
        EXPECT_TRUE(names.insert(entry.name).second) << entry.name << " twice";
        EXPECT_TRUE(detail::is_identifier(entry.name)) << entry.name;  // an op name and a Python attribute
        EXPECT_EQ(find_named_op(entry.name), &entry);
    }
    // leaky_relu is its own template (templates/leaky_relu.yaml): the catalogue has that name.
    EXPECT_EQ(names.count("leaky_relu"), 0u);
    EXPECT_EQ(find_named_op("leaky_relu"), nullptr);
    EXPECT_EQ(find_named_op("no_such_op"), nullptr);
    EXPECT_EQ(find_named_op(""), nullptr);
    // The list, under torch's names (gelu's tanh form as gelu_tanh).
    for (const char* name : {"relu", "sigmoid", "tanh", "silu", "gelu", "gelu_tanh", "selu", "elu", "celu",
                             "hardsigmoid", "hardswish", "hardtanh", "relu6", "softplus", "softsign", "mish",
                             "new_gelu"})
        EXPECT_NE(find_named_op(name), nullptr) << name;
}

TEST(NamedOps, ScalarsAreTorchsKeywordArgumentsWithTorchsDefaults) {
    const auto scalars_of = [](std::string_view name) {
        std::vector<std::pair<std::string, float>> out;
        for (const scalar_default& s : op(name).scalars) out.emplace_back(s.name, s.value);
        return out;
    };
    using list = std::vector<std::pair<std::string, float>>;
    EXPECT_EQ(scalars_of("elu"), (list{{"alpha", 1.0f}}));
    EXPECT_EQ(scalars_of("celu"), (list{{"alpha", 1.0f}}));
    EXPECT_EQ(scalars_of("hardtanh"), (list{{"min_val", -1.0f}, {"max_val", 1.0f}}));
    EXPECT_EQ(scalars_of("softplus"), (list{{"beta", 1.0f}, {"threshold", 20.0f}}));
    for (const char* fixed : {"relu", "sigmoid", "tanh", "silu", "gelu", "gelu_tanh", "selu", "hardsigmoid",
                              "hardswish", "relu6", "softsign", "mish", "new_gelu"})
        EXPECT_TRUE(op(fixed).scalars.empty()) << fixed << ": torch fixes its constants";
}

TEST(NamedOps, PiecewiseOpsGiveTheirExactValues) {
    expect_exact("relu", -1, 0);
    expect_exact("relu", 2.5f, 2.5f);
    expect_exact("relu", -inf, 0);
    expect_exact("relu", inf, inf);
    expect_exact("relu6", -1, 0);
    expect_exact("relu6", 3, 3);
    expect_exact("relu6", 7, 6);
    expect_exact("hardtanh", -3, -1);
    expect_exact("hardtanh", 0.5f, 0.5f);
    expect_exact("hardtanh", 3, 1);
    expect_exact("hardtanh", -3, -2, {-2, 2});
    expect_exact("hardtanh", 1.5f, 1.5f, {-2, 2});
    expect_exact("hardtanh", inf, 2, {-2, 2});
    expect_exact("hardsigmoid", -3, 0);
    expect_exact("hardsigmoid", -10, 0);
    expect_exact("hardsigmoid", 0, 0.5f);  // 3 * float(1/6) rounds to 0.5
    expect_exact("hardsigmoid", 3, 1);
    expect_exact("hardsigmoid", 1, 4 * (1.0f / 6.0f));
    expect_exact("hardswish", -3, -0.0f);  // -3 * 0: torch's formula gives -0 below -3
    expect_exact("hardswish", -10, -0.0f);
    expect_exact("hardswish", 3, 3);
    expect_exact("hardswish", 10, 10);
    expect_exact("hardswish", 1, 4 * (1.0f / 6.0f));
    expect_exact("softsign", 1, 0.5f);
    expect_exact("softsign", -3, -0.75f);
    expect_exact("elu", 2, 2);
    expect_exact("elu", -inf, -1);
    expect_exact("elu", -inf, -0.5f, {0.5f});
    expect_exact("celu", -inf, -2, {2});
    expect_exact("selu", -inf, -1.7580993f);
    expect_exact("selu", 2, 2 * 1.050701f);
}

TEST(NamedOps, SoftplusAboveItsThresholdReturnsTheInput) {
    expect_exact("softplus", 20.5f, 20.5f);
    expect_exact("softplus", 1e30f, 1e30f);  // exp would overflow: the threshold keeps it finite
    expect_exact("softplus", inf, inf);
    expect_exact("softplus", 10.5f, 10.5f, {2, 20});  // 10.5 * 2 > 20
    expect_exact("softplus", 3, 3, {1, 2});
    expect_close("softplus", 5, 5.000022699449609, {2, 20});  // 5 * 2 <= 20: log1p(exp(10)) / 2
    expect_close("softplus", 0, 0.6931471805599453);
    expect_close("softplus", -1, 0.31326168751822286);
    expect_exact("softplus", -inf, 0);
}

TEST(NamedOps, SmoothOpsGiveTheirValuesOnTheHost) {
    expect_exact("sigmoid", 0, 0.5f);
    expect_close("sigmoid", 2, 0.8807970779778823);
    expect_exact("sigmoid", -inf, 0);
    expect_exact("sigmoid", inf, 1);
    expect_exact("tanh", 0, 0);
    expect_close("tanh", 0.5f, 0.46211715726000974);
    expect_exact("tanh", -inf, -1);
    expect_exact("silu", 0, 0);
    expect_close("silu", 1, 0.7310585786300049);
    expect_exact("silu", 100, 100);
    expect_exact("gelu", 0, 0);
    expect_close("gelu", 1, 0.8413447460685429);
    expect_close("gelu", -1, -0.15865525393145707);
    expect_exact("gelu", 10, 10);
    expect_close("gelu_tanh", 1, 0.8411919906082768);
    expect_close("gelu_tanh", 2, 1.954597694087775);
    expect_close("new_gelu", 1, 0.8411919906082768);
    expect_close("elu", -1, -0.6321205588285577);
    expect_close("celu", -1, -0.7869386805747332, {2});
    expect_close("selu", -1, -1.1113307378125625);
    expect_close("selu", 2, 2.101401974710961);
    expect_close("mish", 1, 0.8650983882673103);
    expect_close("mish", -1, -0.30340146137410895);
    expect_exact("mish", 0, 0);
}

TEST(NamedOps, NaNPropagatesThroughEveryOpAsInTorch) {
    for (const named_op& entry : named_ops()) EXPECT_TRUE(std::isnan(at(entry.name, nan))) << entry.name;
}

// torch's formulas give NaN where an infinity meets a zero; kerntune computes the same formulas,
// so it does too (a formula "fixed" here would no longer be torch's).
TEST(NamedOps, InfinitiesGiveWhatTorchsFormulasGive) {
    EXPECT_TRUE(std::isnan(at("silu", -inf)));       // -inf / (1 + inf)
    EXPECT_TRUE(std::isnan(at("gelu", -inf)));       // -inf * 0.5 * (1 + erf(-inf))
    EXPECT_TRUE(std::isnan(at("gelu_tanh", -inf)));  // 0.5 * -inf * (1 + tanh(-inf))
    EXPECT_TRUE(std::isnan(at("mish", -inf)));       // -inf * tanh(log1p(0))
    EXPECT_TRUE(std::isnan(at("hardswish", -inf)));  // -inf * 0 * (1 / 6)
    EXPECT_TRUE(std::isnan(at("softsign", inf)));    // inf / inf
    expect_exact("silu", inf, inf);
    expect_exact("gelu", inf, inf);
    expect_exact("mish", inf, inf);
}

TEST(NamedOps, TheNewGeluIsTheTanhGeluWrittenWithTorchOpsAndGeluTanhHasTorchsFma) {
    // The torch composite rounds every operation; torch's gelu tanh kernel, compiled by nvcc,
    // fuses x + kKappa * x^3 into one fma (docs/EXPRESSIONS.md).
    EXPECT_EQ(parsed(op("new_gelu")).canonical(), ".5*x*(1+tanh(.7978846*(x+.044715*(x*x*x))))");
    EXPECT_EQ(parsed(op("gelu_tanh")).canonical(), ".5*x*(1+tanh(.7978846*fma(.044715,x*x*x,x)))");
    // The fma rounds once where the composite rounds twice: they differ on some inputs.
    int differ = 0;
    for (float x = -6.0f; x <= 6.0f; x += 0.001f) differ += at("new_gelu", x) != at("gelu_tanh", x);
    EXPECT_GT(differ, 0);
}

} // namespace
} // namespace kerntune
