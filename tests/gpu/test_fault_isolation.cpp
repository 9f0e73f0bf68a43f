// gpu label: a tune over candidates that fault, hang, exceed resources, fail to compile, or
// compute wrong results finishes, records each failure, and picks a good winner.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>

#include "core/config.hpp"
#include "kernel_harness.hpp"
#include "catalog/spec_loader.hpp"
#include "tune/tuner.hpp"

namespace kerntune::testing {
namespace {

TEST(FaultIsolation, EveryFailureIsRecordedAndAGoodCandidateWins) {
    KERNTUNE_REQUIRE_GPU();
    const kernel_spec spec = load_spec(std::filesystem::path(KERNTUNE_TEST_FIXTURE_DIR) / "faulty.yaml");
    tune_options options;
    options.dtypes = {dtype::f32};
    options.problems = {make_problem({"n"}, parse_shape("100003"))};
    options.candidate_timeout_ms = 3000;  // the spinning candidates are killed after this
    options.max_samples = 10;
    database db = database::open(scratch_path("faults.db"), open_mode::read_write);

    const std::vector<tune_outcome> outcomes = tune(spec, options, db, nullptr);
    ASSERT_EQ(outcomes.size(), 1u);
    ASSERT_TRUE(outcomes[0].best.has_value()) << "a good candidate must win";
    EXPECT_EQ(outcomes[0].best->config.rfind("good.", 0), 0u) << outcomes[0].best->config;
    EXPECT_EQ(outcomes[0].ok, 2);
    EXPECT_EQ(outcomes[0].failed, 12);

    const std::map<std::string, std::string> expected = {
        {"good", "ok"},          {"out_of_bounds", "runtime_fault"}, {"spin", "timeout"},
        {"too_few_threads", "resource_limit"}, {"no_compile", "compile_failed"}, {"partial", "wrong_answer"},
        {"wrong", "wrong_answer"}};
    const std::vector<measurement> rows = db.measurements(outcomes[0].best->key);
    ASSERT_EQ(rows.size(), 14u);
    for (const measurement& row : rows) {
        const std::string mode = row.config.substr(0, row.config.find('.'));
        EXPECT_EQ(to_string(row.status), expected.at(mode)) << row.config << ": " << row.message;
        EXPECT_EQ(row.message.empty(), row.status == candidate_status::ok)
            << row.config << ": a failure must say why";
        const bool has_log = row.message.find("fails to compile on purpose") != std::string::npos;
        EXPECT_EQ(has_log, row.status == candidate_status::compile_failed) << row.config;
    }
    EXPECT_EQ(db.integrity_check(), "ok");
}

} // namespace
} // namespace kerntune::testing
