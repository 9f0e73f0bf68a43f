// gpu label: fleet tuning on the one GPU here: two shards of a tune, each into its own database,
// merged as `kerntune db merge` merges them, hold the winners of a one-process tune within noise.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>

#include "catalog/catalog.hpp"
#include "kernel_harness.hpp"
#include "tune/tuner.hpp"

namespace kerntune::testing {
namespace {

/// The noise of the measurement a winner was chosen from.
double noise_of(const database& db, const winner& best) {
    for (const measurement& m : db.measurements(best.key))
        if (m.config == best.config) return m.noise;
    return 0;
}

TEST(TuneFleet, TwoShardsMergedHoldTheWinnersOfAOneProcessTuneWithinNoise) {
    KERNTUNE_REQUIRE_GPU();
    const kernel_spec spec = *catalog().at("leaky_relu");
    tune_options options;
    options.dtypes = {dtype::f32, dtype::f16};
    options.problems = {make_problem({"n"}, parse_shape("1048576")), make_problem({"n"}, parse_shape("16777216"))};
    options.max_samples = 20;

    database whole = database::open(scratch_path("whole.db"), open_mode::read_write);
    ASSERT_EQ(tune(spec, options, whole, nullptr).size(), 4u);
    std::vector<record_set> shards;
    for (int index = 0; index < 2; ++index) {
        options.part = {index, 2};
        database shard = database::open(scratch_path("shard-" + std::to_string(index) + ".db"), open_mode::read_write);
        EXPECT_EQ(tune(spec, options, shard, nullptr).size(), 2u) << "each shard tunes half of the four keys";
        shards.push_back(shard.records());
    }
    database merged = database::open(scratch_path("merged.db"), open_mode::read_write);
    const merge_report report = merged.merge(shards);
    EXPECT_TRUE(report.conflicts.empty());
    EXPECT_EQ(report.winners.added, 4);

    const std::vector<winner> expected = whole.winners(), found = merged.winners();
    ASSERT_EQ(found.size(), expected.size());
    for (std::size_t i = 0; i < found.size(); ++i) {
        SCOPED_TRACE(found[i].key.dtype + " " + found[i].key.problem_key);
        EXPECT_EQ(found[i].key.problem_key, expected[i].key.problem_key);
        // Within noise: two runs of one tune differ by their winners' spread; 5 % more allows for
        // clocks and temperature drifting between the runs (a guess: no GPU time to measure it).
        const double tolerance = 0.05 + 3 * std::max(noise_of(merged, found[i]), noise_of(whole, expected[i]));
        EXPECT_NEAR(found[i].median_us / expected[i].median_us, 1.0, tolerance)
            << found[i].config << " " << found[i].median_us << " us against " << expected[i].config << " "
            << expected[i].median_us << " us";
    }
}

} // namespace
} // namespace kerntune::testing
