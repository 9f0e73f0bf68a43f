// nvrtc label: every variant of every template, and the tuner's validation kernels, compile
// for an explicit arch with the toolkit alone (no GPU, no driver).
#include <gtest/gtest.h>

#include "core/config.hpp"
#include "catalog/catalog.hpp"
#include "tune/tuner.hpp"

namespace kerntune {
namespace {

class EveryTemplateCompiles : public ::testing::TestWithParam<std::string> {};

TEST_P(EveryTemplateCompiles, ForEveryDtypeWithoutFailures) {
    const std::string arch = GetParam();
    const catalog builtin;
    ASSERT_FALSE(builtin.specs().empty());
    for (const auto& listed : builtin.specs()) {
        const kernel_spec& spec = *listed;
        for (const compile_outcome& outcome : compile_space(spec, spec.dtypes, arch)) {
            SCOPED_TRACE(spec.name + " " + std::string(to_string(outcome.type)) + " " + arch);
            EXPECT_EQ(outcome.candidates, static_cast<int>(enumerate_space(spec, outcome.type).size()));
            EXPECT_GT(outcome.kernels, 0);
            EXPECT_EQ(outcome.failed, 0) << (outcome.failures.empty() ? "" : outcome.failures.front().kernel + ": " + outcome.failures.front().log);
        }
    }
}

// Generated templates of every shape the generator emits: no input; two, with scalars and a bool
// result; all six.
TEST_P(EveryTemplateCompiles, ForGeneratedExpressionsOfEveryArity) {
    const std::string arch = GetParam();
    catalog templates;
    for (const char* text : {"exp(1)", "where(x > y, alpha * x, y) >= beta || !(x < 0)", "x + y * z - u / v + w"}) {
        const kernel_spec& spec =
            *templates.add_expression(elementwise_expression::parse(text, {{"alpha", 0.5f}, {"beta", -1}}));
        for (const compile_outcome& outcome : compile_space(spec, spec.dtypes, arch)) {
            SCOPED_TRACE(std::string(text) + " " + std::string(to_string(outcome.type)) + " " + arch);
            EXPECT_EQ(outcome.candidates, static_cast<int>(enumerate_space(spec, outcome.type).size()));
            EXPECT_EQ(outcome.failed, 0) << (outcome.failures.empty() ? "" : outcome.failures.front().kernel + ": " + outcome.failures.front().log);
        }
    }
}

INSTANTIATE_TEST_SUITE_P(Arches, EveryTemplateCompiles, ::testing::Values("sm_80", "sm_90"));

} // namespace
} // namespace kerntune
