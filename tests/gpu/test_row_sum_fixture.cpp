// gpu label: the kernel interface beyond "n elements", end to end on the row_sum fixture
// (tests/fixtures/templates/row_sum.yaml): a [rows, cols] problem tuned with finite inputs and
// a tolerance against a float64 reference, 2-D launches with dynamic shared memory past 48 KiB
// in the worker and the runtime, and kt_launch_problem with a caller scalar.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <random>

#include "catalog/spec_loader.hpp"
#include "cuda/device.hpp"
#include "cuda/driver.hpp"
#include "cuda/handles.hpp"
#include "cuda/nvrtc.hpp"
#include "kernel_harness.hpp"
#include "kerntune/kerntune.hpp"
#include "tune/tuner.hpp"

namespace kerntune::testing {
namespace {

TEST(RowSumFixture, TunesEveryCandidateIncludingSharedMemoryPast48KiB) {
    KERNTUNE_REQUIRE_GPU();
    const kernel_spec spec = load_spec(std::filesystem::path(KERNTUNE_TEST_FIXTURE_DIR) / "row_sum.yaml");
    tune_options options;
    options.dtypes = {dtype::f32, dtype::f16};
    options.problems = {make_problem(spec.axes, parse_shape("300x1000")), make_problem(spec.axes, parse_shape("5x3"))};
    options.max_samples = 10;
    const std::filesystem::path path = scratch_path("row_sum.db");
    database db = database::open(path, open_mode::read_write);
    const std::vector<tune_outcome> outcomes = tune(spec, options, db, nullptr);
    ASSERT_EQ(outcomes.size(), 4u);
    for (const tune_outcome& outcome : outcomes) {
        SCOPED_TRACE(std::string(to_string(outcome.type)) + " " + outcome.shape.key());
        EXPECT_EQ(outcome.ok, 12);
        EXPECT_EQ(outcome.failed, 0);
        ASSERT_TRUE(outcome.best.has_value());
        for (const measurement& row : db.measurements(outcome.best->key))
            EXPECT_EQ(row.status, candidate_status::ok) << row.config << ": " << row.message;
    }
    EXPECT_EQ(outcomes[0].best->key.problem_key, "rows=300.cols=1000");

    // Force a winner with 66560 bytes of dynamic shared memory, so that the runtime must raise the
    // function's limit too; every label of the space is valid, so it is used as an exact match.
    winner padded = *outcomes[0].best;
    padded.config = "r4.l64.pad65536";
    db.set_winner(padded);

    const std::int64_t rows = 300, cols = 1000;
    std::mt19937 rng(5);
    std::uniform_real_distribution<float> values(-4.0f, 4.0f);
    std::vector<float> x(static_cast<std::size_t>(rows * cols));
    for (float& v : x) v = values(rng);
    const primary_context context(0);  // current before anything is allocated
    runtime rt(path.string());
    rt.add_templates(KERNTUNE_TEST_FIXTURE_DIR);
    const std::int64_t extents[] = {rows, cols};
    const launch_choice choice = rt.query_problem("row_sum", KT_F32, extents, 2);
    EXPECT_EQ(choice.match, KT_MATCH_EXACT);
    EXPECT_EQ(choice.label, "r4.l64.pad65536");

    device_buffer x_device(x.size() * 4), total_device(static_cast<std::size_t>(rows) * 4);
    KERNTUNE_CU(cuMemcpyHtoD(x_device.get(), x.data(), x.size() * 4));
    void* buffers[] = {reinterpret_cast<void*>(x_device.get()), reinterpret_cast<void*>(total_device.get())};
    const double scale[] = {2.0};
    rt.launch_problem("row_sum", KT_F32, extents, 2, buffers, 2, scale, 1);
    KERNTUNE_CU(cuCtxSynchronize());
    std::vector<float> total(static_cast<std::size_t>(rows));
    KERNTUNE_CU(cuMemcpyDtoH(total.data(), total_device.get(), total.size() * 4));
    for (std::int64_t r = 0; r < rows; ++r) {
        double sum = 0;
        for (std::int64_t c = 0; c < cols; ++c) sum += x[static_cast<std::size_t>(r * cols + c)];
        EXPECT_NEAR(total[static_cast<std::size_t>(r)], 2.0 * sum, 0.05 + 1e-4 * std::fabs(2.0 * sum)) << "row " << r;
    }

    // Wrong extents and scalar counts are refused before anything is launched.
    const std::int64_t one_axis[] = {rows * cols};
    EXPECT_THROW(rt.launch_problem("row_sum", KT_F32, one_axis, 1, buffers, 2, nullptr, 0), runtime_error);
    EXPECT_THROW(rt.launch_problem("row_sum", KT_F32, extents, 2, buffers, 2, scale, 2), runtime_error);
    EXPECT_THROW(rt.launch_problem("row_sum", KT_BF16, extents, 2, buffers, 2, nullptr, 0), runtime_error);
}

} // namespace
} // namespace kerntune::testing
