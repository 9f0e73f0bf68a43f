// gpu label: a tune over candidates that fault, hang, exceed resources, fail to compile, or
// compute wrong results finishes, records each failure, and picks a good winner.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
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

// The candidates of a problem share one run of the reference (the worker keeps its outputs),
// so the inputs must be what it was given for every candidate: here each candidate computes the
// right outputs and then overwrites its input. Were the inputs not filled again for the next
// candidate, it would compute from the scribbled values and be a wrong_answer.
TEST(FaultIsolation, ACandidateThatWritesItsInputDoesNotChangeTheNextOnesInputs) {
    KERNTUNE_REQUIRE_GPU();
    const std::filesystem::path folder = scratch_path("scribbler");
    std::filesystem::create_directories(folder);
    std::ofstream(folder / "scribbler.yaml") << R"(name: scribbler
description: "Writes its input after computing its output"
source: scribbler.cu
kernel: kt_fixture::scribbler
reference:
  kernel: kt_fixture::negated
  block: 256
  grid: cdiv(n, 256)
dtypes: [f32]
arguments:
  - {name: x, kind: input}
  - {name: y, kind: output}
  - {name: n, kind: count}
bytes_moved: 2 * n * sizeof(T)
parameters:
  - {name: BLOCK, short: blk, kind: template, values: [128, 256, 512]}
launch:
  block: BLOCK
  grid: cdiv(n, BLOCK)
default: {BLOCK: 256}
)";
    std::ofstream(folder / "scribbler.cu") << R"(namespace kt_fixture {
template <typename T, int BLOCK> __global__ void scribbler(const T* x, T* y, long long n) {
    const long long i = static_cast<long long>(blockIdx.x) * BLOCK + threadIdx.x;
    if (i >= n) return;
    const T v = x[i];
    y[i] = -v;
    const_cast<T*>(x)[i] = v * 3.0f + 1.0f;
}
template <typename T> __global__ void negated(const T* x, T* y, long long n) {
    const long long i = static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i < n) y[i] = -x[i];
}
} // namespace kt_fixture
)";
    const kernel_spec spec = load_spec(folder / "scribbler.yaml");
    tune_options options;
    options.dtypes = {dtype::f32};
    options.problems = {make_problem({"n"}, parse_shape("100003"))};
    database db = database::open(folder / "scribbler.db", open_mode::read_write);
    const std::vector<tune_outcome> outcomes = tune(spec, options, db, nullptr);
    ASSERT_EQ(outcomes.size(), 1u);
    EXPECT_EQ(outcomes[0].ok, 3);
    ASSERT_TRUE(outcomes[0].best.has_value());
    for (const measurement& row : db.measurements(outcomes[0].best->key))
        EXPECT_EQ(row.status, candidate_status::ok) << row.config << ": " << row.message;
}

} // namespace
} // namespace kerntune::testing
