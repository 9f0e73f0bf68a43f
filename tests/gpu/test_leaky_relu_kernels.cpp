// gpu label: what the LeakyReLU kernels compute, checked against a host reference.
#include <gtest/gtest.h>

#include "catalog/catalog.hpp"
#include "kernel_harness.hpp"

namespace kerntune::testing {
namespace {

kernel_spec leaky_relu_spec() { return *catalog().at("leaky_relu"); }

std::size_t default_index(const kernel_spec& spec, dtype type, const std::vector<config>& configs) {
    const config wanted = default_config(spec, type);
    for (std::size_t i = 0; i < configs.size(); ++i)
        if (configs[i] == wanted) return i;
    throw error("default config is not in the space");
}

class LeakyReluKernels : public ::testing::TestWithParam<dtype> {};
class LeakyReluSixteenBitKernels : public ::testing::TestWithParam<dtype> {};

TEST_P(LeakyReluSixteenBitKernels, EverySixteenBitPatternMatchesTheHostReference) {
    KERNTUNE_REQUIRE_GPU();
    const dtype type = GetParam();
    const kernel_spec spec = leaky_relu_spec();
    kernel_harness harness(spec, type);
    std::vector<std::uint32_t> input(65536);
    for (std::uint32_t i = 0; i < input.size(); ++i) input[i] = i;
    const std::size_t index = default_index(spec, type, harness.configs());
    EXPECT_EQ(harness.count_mismatches(input, harness.run(index, input, 0, 0, false)), 0u);
    EXPECT_EQ(harness.count_mismatches(input, harness.run(index, input, 0, 0, false, 0.2f), 0.2f), 0u);
}

// 16-bit types are covered exhaustively above; f32 by its special values here.
TEST(LeakyReluF32Kernels, SpecialValuesKeepPyTorchSemantics) {
    KERNTUNE_REQUIRE_GPU();
    const dtype type = dtype::f32;
    const kernel_spec spec = leaky_relu_spec();
    kernel_harness harness(spec, type);
    // +-0, +-inf, NaNs, smallest subnormals, largest subnormal, smallest normal, FLT_MAX, 1, -1
    const std::vector<std::uint32_t> input = {0x00000000, 0x80000000, 0x7f800000, 0xff800000, 0x7fc00000,
                                              0xffc00000, 0x7f800001, 0x00000001, 0x80000001, 0x807fffff,
                                              0x00800000, 0x80800000, 0x7f7fffff, 0xff7fffff, 0x3f800000, 0xbf800000};
    const std::vector<std::uint32_t> output = harness.run(default_index(spec, type, harness.configs()), input, 0, 0, false);
    EXPECT_EQ(harness.count_mismatches(input, output), 0u);
    EXPECT_EQ(output[1], 0x80000000u) << "-0.0 must stay -0.0";
    EXPECT_EQ(output[3], 0xff800000u) << "-inf must stay -inf";
    EXPECT_EQ(output[8], 0x80000000u) << "-smallest subnormal x 0.01 rounds to -0.0, not flushed early";
    EXPECT_NE(output[9], 0x80000000u) << "-largest subnormal x 0.01 is a subnormal: no flush to zero";
}

struct placement {
    int x_offset, y_offset;
    bool in_place;
};

// Runs config `index` on `input` at each placement; every element must match the host reference.
void expect_bit_exact(kernel_harness& harness, const kernel_spec& spec, std::size_t index,
                      const std::vector<std::uint32_t>& input, std::initializer_list<placement> placements) {
    for (const placement& p : placements) {
        SCOPED_TRACE(label(spec, harness.configs()[index]) + " n=" + std::to_string(input.size()) + " x+" +
                     std::to_string(p.x_offset) + " y+" + std::to_string(p.y_offset) + (p.in_place ? " in place" : ""));
        ASSERT_EQ(harness.count_mismatches(input, harness.run(index, input, p.x_offset, p.y_offset, p.in_place)), 0u);
    }
}

TEST_P(LeakyReluKernels, EveryConfigHandlesOddSizesMisalignmentAndInPlace) {
    KERNTUNE_REQUIRE_GPU();
    const kernel_spec spec = leaky_relu_spec();
    kernel_harness harness(spec, GetParam());
    std::mt19937 rng(1234);
    for (const std::size_t n : {std::size_t{1}, std::size_t{7}, std::size_t{33}, std::size_t{4099}, std::size_t{100003}}) {
        const std::vector<std::uint32_t> input = random_bits(GetParam(), n, rng);
        // aligned; both off by one (peel a head); off by different amounts (scalar path); in place
        for (std::size_t index = 0; index < harness.configs().size(); ++index)
            expect_bit_exact(harness, spec, index, input, {{0, 0, false}, {1, 1, false}, {1, 2, false}, {3, 3, true}});
    }
}

// The sizes above give every block one tile at most; here each bulk block of the stride policy
// pipelines several (2^23 elements over grids of at most 13 x 132 blocks), out of place and in
// place with a head (the tile policy's bulk configs run here too, one tile per block).
TEST_P(LeakyReluKernels, BulkConfigsPipelineManyTilesPerBlock) {
    KERNTUNE_REQUIRE_GPU();
    const kernel_spec spec = leaky_relu_spec();
    kernel_harness harness(spec, GetParam());
    std::mt19937 rng(99);
    const std::vector<std::uint32_t> input = random_bits(GetParam(), (std::size_t{1} << 23) + 3, rng);
    int bulk = 0;
    for (std::size_t index = 0; index < harness.configs().size(); ++index) {
        if (label(spec, harness.configs()[index]).find(".bulk.") == std::string::npos) continue;
        ++bulk;
        expect_bit_exact(harness, spec, index, input, {{0, 0, false}, {1, 1, true}});
    }
    EXPECT_EQ(bulk, 30);
}

std::string dtype_name(const ::testing::TestParamInfo<dtype>& info) { return std::string(to_string(info.param)); }

INSTANTIATE_TEST_SUITE_P(Dtypes, LeakyReluKernels, ::testing::Values(dtype::f32, dtype::f16, dtype::bf16), dtype_name);
INSTANTIATE_TEST_SUITE_P(Dtypes, LeakyReluSixteenBitKernels, ::testing::Values(dtype::f16, dtype::bf16), dtype_name);

} // namespace
} // namespace kerntune::testing
