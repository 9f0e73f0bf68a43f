// gpu label: `tune` on the device, end to end, into a fresh database.
#include <gtest/gtest.h>

#include <filesystem>

#include "catalog/catalog.hpp"
#include "core/config.hpp"
#include "cuda/nvrtc.hpp"
#include "kernel_harness.hpp"
#include "tune/tuner.hpp"

namespace kerntune::testing {
namespace {


TEST(TuneEndToEnd, StoresAValidatedWinnerForEachDtypeAndResumes) {
    KERNTUNE_REQUIRE_GPU();
    const kernel_spec spec = *catalog().at("leaky_relu");
    tune_options options;
    options.dtypes = {dtype::f32, dtype::bf16};
    options.problems = {make_problem({"n"}, parse_shape("3x65537"))};  // odd: exercises heads and tails
    options.max_samples = 20;
    database db = database::open(scratch_path("tune.db"), open_mode::read_write);

    const std::vector<tune_outcome> outcomes = tune(spec, options, db, nullptr);
    ASSERT_EQ(outcomes.size(), 2u);
    for (const tune_outcome& outcome : outcomes) {
        SCOPED_TRACE(std::string(to_string(outcome.type)));
        const int space = static_cast<int>(enumerate_space(spec, outcome.type).size());
        EXPECT_EQ(outcome.ok, space) << "every candidate of the shipped template validates";
        EXPECT_EQ(outcome.failed, 0);
        ASSERT_TRUE(outcome.best.has_value());
        EXPECT_GT(outcome.best->gbps, 0.0);
        const std::optional<winner> stored = db.find_winner(outcome.best->key);
        ASSERT_TRUE(stored.has_value());
        EXPECT_EQ(stored->config, outcome.best->config);
        EXPECT_NO_THROW(parse_label(spec, stored->config));
        const std::vector<measurement> rows = db.measurements(outcome.best->key);
        EXPECT_EQ(static_cast<int>(rows.size()), space);
        for (const measurement& row : rows) {
            EXPECT_EQ(row.status, candidate_status::ok) << row.config << ": " << row.message;
            // A candidate stops before min_samples only when it cannot be the winner: a first
            // sample over hopeless_factor times the best so far, or a fastest over
            // contender_factor times it (the smaller), and the best so far is no faster than the
            // winner.
            EXPECT_TRUE(row.samples >= options.min_samples || row.median_us > options.contender_factor * stored->median_us)
                << row.config << ": " << row.samples << " samples, " << row.median_us << " us";
            EXPECT_GE(row.median_us, stored->median_us);
        }
        EXPECT_EQ(outcome.best->key.nvrtc_version, nvrtc_version());
    }

    // A second run finds every candidate measured and only re-picks the winner.
    const std::vector<tune_outcome> again = tune(spec, options, db, nullptr);
    ASSERT_EQ(again.size(), 2u);
    for (std::size_t i = 0; i < again.size(); ++i) {
        EXPECT_EQ(again[i].resumed, outcomes[i].ok + outcomes[i].failed);
        EXPECT_EQ(again[i].ok, 0);
        ASSERT_TRUE(again[i].best.has_value());
        EXPECT_EQ(again[i].best->config, outcomes[i].best->config);
    }
}

TEST(TuneEndToEnd, AnExhaustedBudgetMeasuresTheDefaultFirstAndTheRestOnTheNextRun) {
    KERNTUNE_REQUIRE_GPU();
    const kernel_spec spec = *catalog().at("leaky_relu");
    tune_options options;
    options.dtypes = {dtype::f16};
    options.problems = {make_problem({"n"}, parse_shape("65537")), make_problem({"n"}, parse_shape("4099"))};
    options.max_samples = 10;
    options.budget_seconds = 1e-6;  // over before the first candidate
    database db = database::open(scratch_path("budget.db"), open_mode::read_write);
    const int space = static_cast<int>(enumerate_space(spec, dtype::f16).size());
    const std::string default_label = label(spec, default_config(spec, dtype::f16));

    const std::vector<tune_outcome> cut = tune(spec, options, db, nullptr);
    ASSERT_EQ(cut.size(), 2u);
    for (const tune_outcome& outcome : cut) {
        EXPECT_EQ(outcome.ok, 1);
        EXPECT_EQ(outcome.unmeasured, space - 1);
        ASSERT_TRUE(outcome.best.has_value());
        EXPECT_EQ(outcome.best->config, default_label);
        EXPECT_EQ(db.measurements(outcome.best->key).size(), 1u);
    }

    options.budget_seconds = 0;
    const std::vector<tune_outcome> rest = tune(spec, options, db, nullptr);
    for (const tune_outcome& outcome : rest) {
        EXPECT_EQ(outcome.resumed, 1);
        EXPECT_EQ(outcome.ok, space - 1);
        EXPECT_EQ(outcome.unmeasured, 0);
        ASSERT_TRUE(outcome.best.has_value());
        EXPECT_EQ(static_cast<int>(db.measurements(outcome.best->key).size()), space);
    }
}

TEST(TuneEndToEnd, TamperedStoredRowsAreNeitherResumedNorWinners) {
    KERNTUNE_REQUIRE_GPU();
    const kernel_spec spec = *catalog().at("leaky_relu");
    const device_info gpu = query_device(0);
    database db = database::open(scratch_path("tampered.db"), open_mode::read_write);
    db.upsert_device({gpu.identity(), gpu.name, gpu.cc_major, gpu.cc_minor, gpu.sm_count});
    measurement tampered;
    tampered.key = {spec.name, spec.source_hash, "f32", "n=65537", gpu.identity(), nvrtc_version()};
    tampered.config = "1);asm(\"trap\");//";
    tampered.status = candidate_status::ok;
    tampered.median_us = 0.001;  // would win if it were believed
    tampered.samples = 10;
    db.record_measurement(tampered);

    tune_options options;
    options.dtypes = {dtype::f32};
    options.problems = {make_problem({"n"}, parse_shape("65537"))};
    options.max_samples = 10;
    const std::vector<tune_outcome> outcomes = tune(spec, options, db, nullptr);
    ASSERT_EQ(outcomes.size(), 1u);
    EXPECT_EQ(outcomes[0].resumed, 0) << "the tampered row is not a measured candidate";
    ASSERT_TRUE(outcomes[0].best.has_value());
    EXPECT_NE(outcomes[0].best->config, tampered.config);
    EXPECT_NO_THROW(parse_label(spec, outcomes[0].best->config));
    EXPECT_EQ(db.find_winner(tampered.key)->config, outcomes[0].best->config);
}

} // namespace
} // namespace kerntune::testing
