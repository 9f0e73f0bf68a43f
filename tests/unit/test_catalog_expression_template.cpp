// The templates generated from elementwise expressions (catalog/expression_template.hpp): their
// names, families, arguments and space, and that no character of the user's text reaches the
// kernel source. No CUDA: the spec is loaded, not compiled (tests/nvrtc compiles it).
#include <gtest/gtest.h>

#include <string>

#include "catalog/catalog.hpp"
#include "catalog/expression_template.hpp"
#include "core/config.hpp"
#include "core/error.hpp"
#include "test_core_support.hpp"

namespace kerntune {
namespace {

using test::contains;
using test::error_of;

kernel_spec spec_of(const std::string& text, const std::vector<scalar_default>& scalars = {}) {
    return expression_spec(elementwise_expression::parse(text, scalars));
}

TEST(ExpressionTemplate, TheOpNameIsItsFamilyAndAHashOfTheCanonicalForm) {
    const kernel_spec spec = spec_of("x * sigmoid(x)");
    EXPECT_EQ(spec.family, expression_family(1));
    ASSERT_EQ(spec.name.size(), 29u) << spec.name;
    EXPECT_EQ(spec.name.substr(0, 13), expression_family(1) + "_");
    EXPECT_EQ(family_in_name(spec.name), spec.family);
    EXPECT_EQ(spec.description, "x*sigmoid(x)");
    // White space and the spelling of literals do not matter; scalars and their defaults do.
    EXPECT_EQ(spec_of("x*sigmoid( x )").name, spec.name);
    EXPECT_EQ(spec_of("x * 2.0").name, spec_of("x*2").name);
    EXPECT_EQ(spec_of("x * 2.0").source_hash, spec_of("x*2").source_hash);
    EXPECT_NE(spec_of("x * 2.5").name, spec_of("x*2").name);
    EXPECT_NE(spec_of("a * x", {{"a", 1}}).name, spec_of("a * x", {{"a", 2}}).name);
    EXPECT_NE(spec_of("a * x", {{"a", 1}}).name, spec_of("b * x", {{"b", 1}}).name);
}

TEST(ExpressionTemplate, FamiliesCountInputsAndNamesSayTheirFamilyOnly) {
    EXPECT_NE(expression_family(1), expression_family(2));
    EXPECT_EQ(spec_of("x + y").family, expression_family(2));
    EXPECT_EQ(spec_of("exp(1)").family, expression_family(0));
    EXPECT_EQ(spec_of("w").family, expression_family(6));
    for (const char* not_expression : {"leaky_relu", "", "ew1_", "ew1_0badcafe", "ew1_0badcafe_0123456789abcdeX",
                                       "ew7_0badcafe_0123456789abcdef", "ex1_0badcafe_0123456789abcdef",
                                       "ew1_0BADCAFE_0123456789abcdef", "ew1_0badcafe_0123456789abcdef0"})
        EXPECT_EQ(family_in_name(not_expression), "") << not_expression;
    EXPECT_EQ(family_in_name("ew1_0badcafe_0123456789abcdef"), "ew1_0badcafe");
}

TEST(ExpressionTemplate, ArgumentsAreTheInputsTheOutputTheCountAndTheScalars) {
    const kernel_spec spec = spec_of("where(x > y, alpha * x, beta)", {{"alpha", 0.5f}, {"beta", -2}});
    std::vector<std::string> names;
    for (const kernel_arg& argument : spec.arguments) names.push_back(argument.name);
    EXPECT_EQ(names, (std::vector<std::string>{"x", "y", "out", "n", "alpha", "beta"}));
    EXPECT_EQ(spec.buffer_count(), 3);
    EXPECT_EQ(spec.caller_scalar_count(), 2);
    EXPECT_EQ(spec.arguments[4].default_value, 0.5);
    EXPECT_EQ(spec.arguments[5].default_value, -2.0);
    EXPECT_EQ(spec.axes, (std::vector<std::string>{"n"}));
    EXPECT_EQ(spec.dtypes, (std::vector<dtype>{dtype::f32, dtype::f16, dtype::bf16}));
    EXPECT_FALSE(spec.default_shapes.empty());
    EXPECT_EQ(spec.kernel, "kt::expression");
    EXPECT_EQ(spec.reference_kernel, "kt::expression_reference");
}

TEST(ExpressionTemplate, TheSpaceIsTheSkeletonsAndBulkCopiesNeedAnInput) {
    const kernel_spec one = spec_of("x * 3");
    const std::vector<config> space = enumerate_space(one, dtype::f32);
    EXPECT_GT(space.size(), 50u);
    bool bulk = false;
    for (const config& c : space) bulk = bulk || label(one, c).find("bulk") != std::string::npos;
    EXPECT_TRUE(bulk);
    EXPECT_EQ(label(one, default_config(one, dtype::f32)), "blk256.vec4.unr2.plain.tile.w0");
    EXPECT_EQ(label(one, default_config(one, dtype::bf16)), "blk256.vec8.unr2.plain.tile.w0");
    // Bulk tiles stage every input: three inputs leave fewer bulk configs than one.
    const kernel_spec three = spec_of("x + y + z");
    EXPECT_LT(enumerate_space(three, dtype::f32).size(), space.size());
    for (const config& c : enumerate_space(spec_of("exp(1)"), dtype::f32))
        EXPECT_EQ(label(spec_of("exp(1)"), c).find("bulk"), std::string::npos);
}

TEST(ExpressionTemplate, NoCharacterOfTheUsersTextReachesTheSource) {
    const kernel_spec spec = spec_of("my_gain_zz * x + 0.044715 * pow(x, 3)", {{"my_gain_zz", 1.25f}});
    EXPECT_FALSE(contains(spec.source, "my_gain_zz"));
    EXPECT_FALSE(contains(spec.source, "0.044715"));
    EXPECT_TRUE(contains(spec.source, "kt_math::pow(in0, 0x1.8p+1f)")) << spec.source;
    EXPECT_TRUE(contains(spec.source, "float s0"));
    // Names of the generated arguments are refused as scalar names.
    for (const char* taken : {"n", "out"})
        EXPECT_TRUE(contains(error_of([&] { spec_of("x * " + std::string(taken), {{taken, 1}}); }),
                             "has the name of a generated argument"))
            << taken;
}

TEST(ExpressionTemplate, TheCatalogAddsAnExpressionOnceAndFindsItByItsOpName) {
    catalog templates;
    const std::size_t before = templates.specs().size();
    const auto first = templates.add_expression(elementwise_expression::parse("x - y"));
    const auto again = templates.add_expression(elementwise_expression::parse(" x-y "));
    EXPECT_EQ(first, again);
    EXPECT_EQ(templates.specs().size(), before + 1);
    EXPECT_EQ(templates.find(first->name), first);
    EXPECT_EQ(first->family, expression_family(2));
}

} // namespace
} // namespace kerntune
