// The kernel interface beyond "n elements" on the row_sum fixture (tests/fixtures/templates):
// a [rows, cols] problem, buffers of other extents and a fixed type, axis and caller scalars,
// 2-D launches with dynamic shared memory; and packing them as cuLaunchKernel reads them.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <limits>

#include "catalog/catalog.hpp"
#include "catalog/spec_loader.hpp"
#include "core/config.hpp"
#include "core/error.hpp"
#include "core/kernel_arguments.hpp"
#include "test_core_support.hpp"

namespace kerntune {
namespace {

using test::contains;
using test::error_of;

const kernel_spec& row_sum() {
    static const kernel_spec spec = load_spec(std::filesystem::path(KERNTUNE_TEST_FIXTURE_DIR) / "row_sum.yaml");
    return spec;
}

float float_of(std::uint64_t bits) {
    float value = 0;
    const std::uint32_t low = static_cast<std::uint32_t>(bits);
    std::memcpy(&value, &low, sizeof(value));
    return value;
}

TEST(KernelArguments, TheRowSumFixtureDeclaresTwoAxesAndATypedSignature) {
    const kernel_spec& spec = row_sum();
    EXPECT_EQ(spec.axes, (std::vector<std::string>{"rows", "cols"}));
    EXPECT_EQ(spec.buffer_count(), 2);
    EXPECT_EQ(spec.caller_scalar_count(), 1);
    EXPECT_EQ(spec.validation.fill.kind, fill_policy::finite);
    EXPECT_EQ(to_string(spec.validation.fill), "finite:-4:4");
    EXPECT_EQ(to_string(spec.validation.compare), "tolerance:0.05:0.0001");
    EXPECT_EQ(make_problem(spec.axes, parse_shape("300x1000")).key(), "rows=300.cols=1000");
}

TEST(KernelArguments, BindingEvaluatesExtentsAndAxisScalarsForTheDtype) {
    const problem shape = make_problem(row_sum().axes, parse_shape("300x1000"));
    const std::vector<bound_arg> bound = bind_arguments(row_sum(), dtype::f16, shape);
    ASSERT_EQ(bound.size(), 5u);
    EXPECT_EQ(bound[0].element, dtype::f16);  // T
    EXPECT_EQ(bound[0].count, 300000);
    EXPECT_EQ(bound[0].bytes(), 600000);
    EXPECT_EQ(bound[1].access, buffer_access::out);
    EXPECT_EQ(bound[1].element, dtype::f32);  // fixed, whatever T is
    EXPECT_EQ(bound[1].count, 300);
    EXPECT_EQ(bound[2].type, scalar_type::i64);
    EXPECT_EQ(bound[2].bits, 300u);
    EXPECT_EQ(bound[3].type, scalar_type::i32);
    EXPECT_EQ(bound[3].bits, 1000u);
    EXPECT_TRUE(bound[4].from_caller);
    EXPECT_EQ(float_of(bound[4].bits), 0.5f);
    EXPECT_EQ(parse_bound_args(to_string(bound)), bound) << to_string(bound);
}

TEST(KernelArguments, PackingPutsBuffersAndScalarsWhereTheKernelReadsThem) {
    const problem shape = make_problem(row_sum().axes, parse_shape("7x9"));
    const std::vector<bound_arg> bound = bind_arguments(row_sum(), dtype::f32, shape);
    const std::uint64_t buffers[] = {0x1000, 0x2000};
    const double scalars[] = {2.5};
    packed_args with_caller(bound, buffers, scalars);
    void** slots = with_caller.slots();
    EXPECT_EQ(*static_cast<std::uint64_t*>(slots[0]), 0x1000u);
    EXPECT_EQ(*static_cast<std::uint64_t*>(slots[1]), 0x2000u);
    EXPECT_EQ(*static_cast<long long*>(slots[2]), 7);
    EXPECT_EQ(*static_cast<int*>(slots[3]), 9);
    EXPECT_EQ(*static_cast<float*>(slots[4]), 2.5f);
    packed_args with_defaults(bound, buffers, nullptr);
    EXPECT_EQ(*static_cast<float*>(with_defaults.slots()[4]), 0.5f);
}

TEST(KernelArguments, AWorkspaceSlotIsNullUntilTheLaunchSetsIt) {
    const std::vector<bound_arg> bound = parse_bound_args("buffer:in:f32:8,workspace,scalar:i64:8");
    const std::uint64_t buffers[] = {0x1000};
    packed_args args(bound, buffers, nullptr);
    EXPECT_EQ(*static_cast<std::uint64_t*>(args.slots()[0]), 0x1000u);
    EXPECT_EQ(*static_cast<std::uint64_t*>(args.slots()[1]), 0u);
    EXPECT_EQ(*static_cast<long long*>(args.slots()[2]), 8);
    args.set_workspace(0x9000);
    EXPECT_EQ(*static_cast<std::uint64_t*>(args.slots()[1]), 0x9000u);
    EXPECT_EQ(*static_cast<std::uint64_t*>(args.slots()[0]), 0x1000u);
    EXPECT_THROW(parse_bound_args("workspace:1"), error);
}

TEST(KernelArguments, ScalarsOutOfTheirTypeAreRefused) {
    EXPECT_THROW(scalar_bits(scalar_type::i32, 2147483648.0), error);
    EXPECT_THROW(scalar_bits(scalar_type::i32, 1.5), error);
    EXPECT_THROW(scalar_bits(scalar_type::i64, 9223372036854775808.0), error);
    EXPECT_EQ(scalar_bits(scalar_type::i32, -1), 0xffffffffu);
    EXPECT_EQ(scalar_bits(scalar_type::i64, -1), ~std::uint64_t{0});
    // cols past 2^31 does not fit the i32 the kernel takes.
    const problem wide = make_problem(row_sum().axes, std::vector<std::int64_t>{1, 3000000000});
    const std::string message = error_of([&] { bind_arguments(row_sum(), dtype::f32, wide); });
    EXPECT_TRUE(contains(message, "cols = 3000000000")) << message;
    for (const char* bad : {"buffer:in:f32", "scalar:i32:100000000", "caller:f64:0", "buffer:sideways:f32:1", "x"})
        EXPECT_THROW(parse_bound_args(bad), error) << bad;
}

// Before the cap, n = 2^60 - 1 in f32 passed (the old check allowed 2^63 / 8 elements), and
// the tuner's sum of its buffers, 1.4e19 bytes, wrapped to -9223372036854775808.
TEST(KernelArguments, BuffersLargerThanAGpuCanAddressAreRefusedNamingTheProblem) {
    const std::shared_ptr<const kernel_spec> spec = catalog().at("leaky_relu");
    const kernel_spec& leaky_relu = *spec;
    constexpr std::int64_t max = std::numeric_limits<std::int64_t>::max();
    for (const std::int64_t n : {max, max / 2 + 1, max / 8, (std::int64_t{1} << 47) + 1}) {
        SCOPED_TRACE(n);
        const std::string message =
            error_of([&] { bind_arguments(leaky_relu, dtype::f32, make_problem({"n"}, std::vector<std::int64_t>{n})); });
        EXPECT_EQ(message, "leaky_relu n=" + std::to_string(n) + ": buffer x of " + std::to_string(n) +
                               " f32 elements is over 2^49 bytes (512 TiB), more than a GPU can address");
    }
    // Exactly 2^49 bytes is allowed, in any element size, and the bytes moved do not wrap.
    for (const auto& [type, n] : {std::pair{dtype::f32, std::int64_t{1} << 47}, std::pair{dtype::bf16, std::int64_t{1} << 48}}) {
        const problem shape = make_problem({"n"}, std::vector<std::int64_t>{n});
        EXPECT_EQ(bind_arguments(leaky_relu, type, shape).at(1).bytes(), max_buffer_bytes);
        EXPECT_EQ(bytes_moved(leaky_relu, type, shape), 2 * max_buffer_bytes);
        EXPECT_FALSE(error_of([&] {
                         bind_arguments(leaky_relu, type, make_problem({"n"}, std::vector<std::int64_t>{n + 1}));
                     }).empty());
    }
}

TEST(KernelArguments, LaunchesAreTwoDimensionalWithDynamicSharedMemory) {
    const problem shape = make_problem(row_sum().axes, parse_shape("300x1000"));
    const device_limits h200{132, 2048, 233472, 232448};
    const config padded = parse_label(row_sum(), "r4.l64.pad65536");
    const launch_geometry g = candidate_launch(row_sum(), padded, dtype::f32, shape, h200);
    EXPECT_EQ(to_string(g), "1x75x1/64x4x1/66560");
    EXPECT_EQ(to_string(parse_launch_geometry(to_string(g))), to_string(g));
    // A device that allows only the default 48 KiB per block cannot run it.
    const std::string message = error_of([&] { candidate_launch(row_sum(), padded, dtype::f32, shape, {132, 2048, 233472, 49152}); });
    EXPECT_TRUE(contains(message, "66560 bytes of dynamic shared memory")) << message;
    const launch_geometry reference = reference_launch(row_sum(), dtype::f32, shape, h200);
    EXPECT_EQ(to_string(reference), "3x1x1/128x1x1/0");
    for (const char* bad : {"1x1/1x1x1/0", "0x1x1/1x1x1/0", "1x1x1/1025x1x1/0", "1x1x1/32x32x2/0", "1x70000x1/1x1x1/0", "a"})
        EXPECT_THROW(parse_launch_geometry(bad), error) << bad;
}

TEST(KernelArguments, AProblemMustMatchTheAxes) {
    const std::string message = error_of([&] { make_problem(row_sum().axes, parse_shape("300")); });
    EXPECT_TRUE(contains(message, "[rows, cols]")) << message;
    EXPECT_THROW(make_problem(row_sum().axes, parse_shape("3x4x5")), error);
}

} // namespace
} // namespace kerntune
