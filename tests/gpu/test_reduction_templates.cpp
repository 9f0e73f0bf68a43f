// gpu label: every candidate of every row-wise reduction template (softmax, log_softmax, sum,
// mean, layer_norm, rms_norm) validates against its float64 reference in the tuner's worker,
// in each regime its space covers: rows cached in shared memory (a warp, a block or a cluster per
// row, several rows per block), rows too long to cache, odd lengths (PATH peeled: 16-byte steps
// between a head and a tail; under 160 bytes, PATH elements: element by element), and columns
// (inner > 1); and, at every shape of at most a row per SM, rows split over a
// cooperative grid (SPLIT, a team of the grid per row: parts of a few elements, empty parts, a
// row of one element).
#include <gtest/gtest.h>

#include "catalog/catalog.hpp"
#include "core/config.hpp"
#include "kernel_harness.hpp"
#include "tune/tuner.hpp"

namespace kerntune::testing {
namespace {

class ReductionTemplates : public ::testing::TestWithParam<std::string> {};

TEST_P(ReductionTemplates, EveryCandidateValidatesInEveryRegime) {
    KERNTUNE_REQUIRE_GPU();
    const kernel_spec spec = *catalog().at(GetParam());
    tune_options options;
    options.dtypes = {dtype::f32, dtype::bf16};
    // 37 rows of 1000 (cached); 3 rows of 100003 floats (odd; 400 KB: cached only split over a
    // cluster of 2 or more, or a grid team); 37 rows of 49 (odd and short: 196 bytes of f32,
    // peeled; 98 of bf16, element by element); columns of 33 elements, 129 apart; one row of one
    // element.
    for (const char* shape : {"37x1000x1", "3x100003x1", "37x49x1", "3x33x129", "1x1x1"})
        options.problems.push_back(make_problem(spec.axes, parse_shape(shape)));
    options.min_samples = 1;
    options.max_samples = 3;
    database db = database::open(scratch_path("reductions.db"), open_mode::read_write);
    for (const tune_outcome& outcome : tune(spec, options, db, nullptr)) {
        SCOPED_TRACE(spec.name + " " + std::string(to_string(outcome.type)) + " " + outcome.shape.key());
        // Every candidate at the problem (the space less what its problem_constraints leave out).
        EXPECT_GT(outcome.candidates, 0);
        EXPECT_LE(outcome.candidates, static_cast<int>(enumerate_space(spec, outcome.type).size()));
        EXPECT_EQ(outcome.ok, outcome.candidates);
        EXPECT_EQ(outcome.failed, 0);
        if (outcome.best) {
            for (const measurement& row : db.measurements(outcome.best->key))
                EXPECT_EQ(row.status, candidate_status::ok) << row.config << ": " << row.message;
        }
    }
}

INSTANTIATE_TEST_SUITE_P(Builtins, ReductionTemplates,
                         ::testing::Values("softmax", "log_softmax", "sum", "mean", "layer_norm", "rms_norm"));

} // namespace
} // namespace kerntune::testing
