// gpu label: the user template of examples/templates (axpby) end to end: tuned into a scratch
// database, then launched through the C++ API from a runtime that adds the folder, on aligned,
// misaligned and aliased buffers, every element checked bit for bit against the host.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "catalog/spec_loader.hpp"
#include "core/config.hpp"
#include "core/problem.hpp"
#include "kernel_harness.hpp"
#include "kerntune/kerntune.hpp"
#include "tune/tuner.hpp"

namespace kerntune::testing {
namespace {

std::filesystem::path example_folder() {
    return (std::filesystem::path(KERNTUNE_TEST_TEMPLATE_DIR) / ".." / "examples" / "templates").lexically_normal();
}

/// axpby's result for f32 input bits, as the kernel computes it: each product rounded to float,
/// then their sum (volatile keeps the host compiler from fusing them into an fma).
std::uint32_t axpby_expected(float a, std::uint32_t x, float b, std::uint32_t z) {
    volatile float ax = a * float_of(x);
    volatile float bz = b * float_of(z);
    return bits_of(ax + bz);
}

/// Where the three buffers sit: element offsets past a 256-byte boundary, and whether y is
/// one of the inputs (then y's offset is that input's).
struct placement {
    int x_offset, z_offset, y_offset;
    enum { separate, y_is_x, y_is_z } aliasing;
    const char* what;
};

const placement placements[] = {
    {0, 0, 0, placement::separate, "all aligned"},
    {1, 1, 1, placement::separate, "all misaligned alike: head, vector body, tail"},
    {3, 3, 3, placement::separate, "all misaligned alike by 12 bytes"},
    {1, 2, 3, placement::separate, "misaligned apart: the scalar path"},
    {0, 0, 1, placement::separate, "only y misaligned"},
    {2, 0, 0, placement::y_is_x, "in place on x, misaligned"},
    {0, 1, 0, placement::y_is_z, "in place on z, misaligned"},
};

/// Runs rt.launch("axpby") for f32 on x and z (element bits) placed as `where`, with `scalars`
/// (a, b) or their defaults when null, and returns how many elements differ from the host.
std::size_t run_and_check(runtime& rt, const std::vector<std::uint32_t>& x, const std::vector<std::uint32_t>& z,
                          const placement& where, const float* scalars) {
    const std::size_t n = x.size(), bytes = n * sizeof(float);
    device_buffer x_buffer(bytes + 256), z_buffer(bytes + 256), y_buffer(bytes + 256);
    const CUdeviceptr x_device = x_buffer.get() + static_cast<CUdeviceptr>(where.x_offset) * sizeof(float);
    const CUdeviceptr z_device = z_buffer.get() + static_cast<CUdeviceptr>(where.z_offset) * sizeof(float);
    CUdeviceptr y_device = y_buffer.get() + static_cast<CUdeviceptr>(where.y_offset) * sizeof(float);
    if (where.aliasing == placement::y_is_x) y_device = x_device;
    if (where.aliasing == placement::y_is_z) y_device = z_device;
    KERNTUNE_CU(cuMemcpyHtoD(x_device, x.data(), bytes));
    KERNTUNE_CU(cuMemcpyHtoD(z_device, z.data(), bytes));
    if (where.aliasing == placement::separate) {
        const std::vector<std::uint32_t> poison(n, 0x7fa5a5a5u);  // a signalling NaN: no result has these bits
        KERNTUNE_CU(cuMemcpyHtoD(y_device, poison.data(), bytes));
    }
    void* buffers[] = {reinterpret_cast<void*>(x_device), reinterpret_cast<void*>(z_device),
                       reinterpret_cast<void*>(y_device)};
    rt.launch("axpby", KT_F32, static_cast<std::int64_t>(n), buffers, 3, scalars, scalars == nullptr ? 0 : 2);
    KERNTUNE_CU(cuCtxSynchronize());
    std::vector<std::uint32_t> y(n);
    KERNTUNE_CU(cuMemcpyDtoH(y.data(), y_device, bytes));

    const float a = scalars == nullptr ? 1.0f : scalars[0], b = scalars == nullptr ? 1.0f : scalars[1];
    std::size_t wrong = 0;
    for (std::size_t i = 0; i < n; ++i) {
        const std::uint32_t want = axpby_expected(a, x[i], b, z[i]);
        // NaN results are compared as a class: the GPU's NaN is canonical, the host's keeps a payload.
        const bool same = is_nan(dtype::f32, want) ? is_nan(dtype::f32, y[i]) : y[i] == want;
        if (!same && ++wrong <= 3)
            ADD_FAILURE() << where.what << ": element " << i << " of " << n << ": x 0x" << std::hex << x[i] << ", z 0x"
                          << z[i] << " gave 0x" << y[i] << ", expected 0x" << want << std::dec;
    }
    return wrong;
}

class ExampleTemplateOnGpu : public testing::gpu_context_test {};

TEST_F(ExampleTemplateOnGpu, TunedAxpbyIsFoundExactlyAndBitExactForAnyPlacement) {
    constexpr std::int64_t n = 1000003;  // prime: a tail for every vector width above 1
    const kernel_spec spec = load_spec(example_folder() / "axpby.yaml");
    tune_options options;
    options.dtypes = {dtype::f32};
    options.problems = {make_problem(spec.axes, std::vector<std::int64_t>{n})};
    options.max_samples = 10;
    const std::filesystem::path path = scratch_path("axpby.db");
    std::string tuned_label;
    {
        database db = database::open(path, open_mode::read_write);
        const std::vector<tune_outcome> outcomes = tune(spec, options, db, nullptr);
        ASSERT_EQ(outcomes.size(), 1u);
        const int space = static_cast<int>(enumerate_space(spec, dtype::f32).size());
        EXPECT_EQ(outcomes[0].ok, space) << "every candidate of the example validates against its reference";
        EXPECT_EQ(outcomes[0].failed, 0);
        ASSERT_TRUE(outcomes[0].best.has_value());
        tuned_label = outcomes[0].best->config;
        EXPECT_NO_THROW(parse_label(spec, tuned_label));
        EXPECT_EQ(outcomes[0].best->key.problem_key, "n=1000003");
    }

    runtime rt(path.string());
    rt.add_templates(example_folder().string());
    const launch_choice choice = rt.query("axpby", KT_F32, n);
    EXPECT_EQ(choice.match, KT_MATCH_EXACT) << "the runtime's spec hashes like the tuner's";
    EXPECT_EQ(choice.label, tuned_label);
    EXPECT_EQ(choice.binary_source, "database") << "the tuner stored the winner's cubin";

    std::mt19937 rng(17);
    const std::vector<std::uint32_t> x = random_bits(dtype::f32, static_cast<std::size_t>(n), rng);
    const std::vector<std::uint32_t> z = random_bits(dtype::f32, static_cast<std::size_t>(n), rng);
    const float scalars[] = {2.0f, -0.5f};
    for (const placement& where : placements) {
        SCOPED_TRACE(where.what);
        EXPECT_EQ(run_and_check(rt, x, z, where, scalars), 0u);
    }
    EXPECT_EQ(run_and_check(rt, x, z, placements[1], nullptr), 0u) << "the defaults a = b = 1";
    EXPECT_EQ(rt.query("axpby", KT_F32, n).match, KT_MATCH_EXACT);

    // Another size of the same regime (L2-resident: 9.6 MB moved) on the same GPU takes the
    // tuned config as the nearest, and is exact too.
    const launch_choice nearest = rt.query("axpby", KT_F32, 800000);
    EXPECT_EQ(nearest.match, KT_MATCH_NEAREST);
    EXPECT_EQ(nearest.label, tuned_label);
    const std::vector<std::uint32_t> x_small(x.begin(), x.begin() + 800000), z_small(z.begin(), z.begin() + 800000);
    EXPECT_EQ(run_and_check(rt, x_small, z_small, placements[1], scalars), 0u);
    EXPECT_EQ(rt.query("axpby", KT_F16, n).match, KT_MATCH_DEFAULT) << "only f32 was tuned";
}

TEST_F(ExampleTemplateOnGpu, AddingTheFolderTwiceAddsItOnceAndAnUnknownFolderIsAnInvalidArgument) {
    runtime rt(scratch_path("axpby-twice.db").string());
    rt.add_templates(example_folder().string());
    EXPECT_NO_THROW(rt.add_templates(example_folder().string()));
    try {
        rt.add_templates((example_folder() / "no-such-folder").string());
        ADD_FAILURE() << "a missing folder was accepted";
    } catch (const runtime_error& failure) {
        EXPECT_EQ(failure.status(), KT_ERROR_INVALID_ARGUMENT);
        EXPECT_NE(std::string(failure.what()).find("no-such-folder"), std::string::npos) << failure.what();
    }
    // The catalogue is as it was: axpby still launches.
    std::mt19937 rng(3);
    EXPECT_EQ(run_and_check(rt, random_bits(dtype::f32, 1001, rng), random_bits(dtype::f32, 1001, rng), placements[0],
                            nullptr),
              0u);
}

} // namespace
} // namespace kerntune::testing
