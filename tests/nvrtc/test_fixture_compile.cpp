// nvrtc label: compile failures are pinned on exactly the candidates that cause them, and the
// fixture spec of the loader's tests is a template that compiles.
#include <gtest/gtest.h>

#include <filesystem>

#include "catalog/spec_loader.hpp"
#include "tune/tuner.hpp"

namespace kerntune {
namespace {

TEST(FixtureCompile, OnlyTheBrokenCandidatesFailWithTheirOwnLog) {
    const kernel_spec spec = load_spec(std::filesystem::path(KERNTUNE_TEST_FIXTURE_DIR) / "faulty.yaml");
    const std::vector<compile_outcome> outcomes = compile_space(spec, {dtype::f32}, "sm_90");
    ASSERT_EQ(outcomes.size(), 1u);
    EXPECT_EQ(outcomes[0].kernels, 14);
    EXPECT_EQ(outcomes[0].failed, 2);  // MODE no_compile, for each of the two block sizes
    for (const compile_failure& failure : outcomes[0].failures) {
        EXPECT_NE(failure.kernel.find("kt_fixture::faulty<float, 4, "), std::string::npos) << failure.kernel;
        EXPECT_NE(failure.log.find("fails to compile on purpose"), std::string::npos) << failure.log;
    }
}

TEST(FixtureCompile, TheLoaderFixtureSpecCompilesForEveryDtype) {
    const kernel_spec spec = load_spec(std::filesystem::path(KERNTUNE_TEST_FIXTURE_DIR) / "spec_fields.yaml");
    for (const compile_outcome& outcome : compile_space(spec, spec.dtypes, "sm_90")) {
        SCOPED_TRACE(to_string(outcome.type));
        EXPECT_GT(outcome.kernels, 0);
        EXPECT_EQ(outcome.failed, 0) << (outcome.failures.empty() ? "" : outcome.failures.front().kernel + ": " + outcome.failures.front().log);
    }
}

TEST(FixtureCompile, TheTwoAxisRowSumFixtureCompilesForEveryDtype) {
    const kernel_spec spec = load_spec(std::filesystem::path(KERNTUNE_TEST_FIXTURE_DIR) / "row_sum.yaml");
    for (const compile_outcome& outcome : compile_space(spec, spec.dtypes, "sm_90")) {
        SCOPED_TRACE(to_string(outcome.type));
        EXPECT_EQ(outcome.candidates, 12);  // ROWS 3 x LANES 2 x PAD 2
        EXPECT_EQ(outcome.kernels, 12);     // PAD only changes the launch; each with STEP 1 and 2
        EXPECT_EQ(outcome.failed, 0) << (outcome.failures.empty() ? "" : outcome.failures.front().kernel + ": " + outcome.failures.front().log);
    }
}

} // namespace
} // namespace kerntune
