// The parameter space of templates/leaky_relu.yaml: enumeration, labels, name expressions and
// launch geometry.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <limits>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "core/error.hpp"
#include "catalog/spec_loader.hpp"
#include "test_core_support.hpp"

namespace kerntune {
namespace {

using test::contains;
using test::error_of;

constexpr dtype all_dtypes[] = {dtype::f32, dtype::f16, dtype::bf16};

const kernel_spec& leaky_relu() {
    static const kernel_spec spec = load_spec(std::string(KERNTUNE_TEST_TEMPLATE_DIR) + "/leaky_relu.yaml");
    return spec;
}

// Values in declaration order: BLOCK, VEC, UNROLL, LOAD (0 plain, 1 bulk), GRID (0 tile, 1 stride), WAVES.
config make(std::vector<std::int64_t> values) { return {std::move(values)}; }

// The problem of n elements, leaky_relu's one axis.
problem n_problem(std::int64_t n) { return make_problem({"n"}, std::vector<std::int64_t>{n}); }

TEST(CoreConfig, LeakyReluSpaceHas174ConfigsPerDtype) {
    // plain: 4 BLOCK x 3 VEC (16 >= VEC * sizeof(T) >= 4) x 4 UNROLL x 3 (tile + WAVES 0, stride +
    // WAVES 1 or 4) = 144; bulk: 16-byte VEC, BLOCK * UNROLL <= 1024 (10 pairs) x 3 = 30
    for (dtype type : all_dtypes)
        EXPECT_EQ(enumerate_space(leaky_relu(), type).size(), 174u) << to_string(type);
}

/// A launch parameter named `name` with the values 0 .. count-1.
param_spec counting_parameter(const std::string& name, int count) {
    param_spec p;
    p.name = name;
    p.short_name = name;
    p.kind = param_kind::launch;
    for (int i = 0; i < count; ++i) p.values.push_back(i);
    return p;
}

TEST(CoreConfig, ASpaceOverAMillionConfigsIsCountedNotEnumeratedAndRefusedNamingItsSize) {
    // leaky_relu before constraints: BLOCK 4 x VEC 4 x UNROLL 4 x LOAD 2 x GRID 2 x WAVES 3.
    kernel_spec spec = leaky_relu();
    std::uint64_t product = 1;
    for (const param_spec& p : spec.params) product *= p.values.size();
    EXPECT_EQ(space_size(spec), product);
    // Two extra launch parameters of 400 values each: before the cap `kerntune list` enumerated
    // all of it (over 90 s, 2.8 GB).
    spec.params.push_back(counting_parameter("A", 400));
    spec.params.push_back(counting_parameter("B", 400));
    EXPECT_EQ(space_size(spec), product * 160'000);
    const auto started = std::chrono::steady_clock::now();
    const std::string message = error_of([&] { enumerate_space(spec, dtype::f32); });
    EXPECT_TRUE(contains(message, "the space of leaky_relu has " + std::to_string(product * 160'000) +
                                      " configs before constraints (BLOCK 4 x VEC 4 x UNROLL 4 x LOAD 2 x GRID 2 x "
                                      "WAVES 3 x A 400 x B 400), more than the limit of 1000000"))
        << message;
    EXPECT_EQ(error_of([&] { has_config(spec, dtype::f32); }), message);
    EXPECT_EQ(error_of([&] { check_space_size(spec); }), message);
    EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count(), 0.5);

    kernel_spec edge;
    edge.name = "edge";
    edge.params = {counting_parameter("A", 1000), counting_parameter("B", 1000)};
    EXPECT_EQ(space_size(edge), max_space_configs);
    EXPECT_NO_THROW(check_space_size(edge)) << "the limit itself is allowed";
    EXPECT_TRUE(has_config(edge, dtype::f32));
    edge.params[1] = counting_parameter("B", 1001);
    EXPECT_TRUE(contains(error_of([&] { check_space_size(edge); }), "has 1001000 configs before constraints"));

    kernel_spec huge;
    huge.name = "huge";
    for (int i = 0; i < 12; ++i) huge.params.push_back(counting_parameter("P" + std::to_string(i), 100));  // 10^24
    EXPECT_EQ(space_size(huge), std::numeric_limits<std::uint64_t>::max()) << "saturates instead of wrapping";
    EXPECT_TRUE(contains(error_of([&] { enumerate_space(huge, dtype::f32); }), "has over 2^64 configs"));
}

TEST(CoreConfig, HasConfigStopsAtTheFirstConfigThatSatisfiesTheConstraints) {
    for (dtype type : all_dtypes) EXPECT_TRUE(has_config(leaky_relu(), type));
    kernel_spec none = leaky_relu();
    none.constraints.push_back({expression::parse("BLOCK < 0"), 1});
    EXPECT_FALSE(has_config(none, dtype::f32));
    EXPECT_TRUE(enumerate_space(none, dtype::f32).empty());
}

TEST(CoreConfig, SpaceBindsSizeofTFromTheDtype) {
    const std::map<dtype, std::set<std::int64_t>> expected_vec = {
        {dtype::f32, {1, 2, 4}}, {dtype::f16, {2, 4, 8}}, {dtype::bf16, {2, 4, 8}}};
    for (dtype type : all_dtypes) {
        std::set<std::int64_t> vec;
        for (const config& c : enumerate_space(leaky_relu(), type)) {
            vec.insert(c.values[1]);
            EXPECT_EQ(c.values[4] == 1, c.values[5] > 0) << label(leaky_relu(), c);  // stride iff WAVES > 0
            if (c.values[3] == 1) {  // bulk: 16-byte vectors only
                EXPECT_EQ(c.values[1] * static_cast<std::int64_t>(dtype_size(type)), 16) << label(leaky_relu(), c);
            }
            EXPECT_TRUE(satisfies_constraints(leaky_relu(), c, type));
        }
        EXPECT_EQ(vec, expected_vec.at(type)) << to_string(type);
    }
}

TEST(CoreConfig, SpaceIsInDeclarationOrderWithTheLastParameterFastest) {
    const std::vector<config> space = enumerate_space(leaky_relu(), dtype::f32);
    ASSERT_EQ(space.size(), 174u);
    EXPECT_EQ(label(leaky_relu(), space[0]), "blk128.vec1.unr1.plain.tile.w0");
    EXPECT_EQ(label(leaky_relu(), space[1]), "blk128.vec1.unr1.plain.stride.w1");
    EXPECT_EQ(label(leaky_relu(), space[2]), "blk128.vec1.unr1.plain.stride.w4");
    EXPECT_EQ(label(leaky_relu(), space[3]), "blk128.vec1.unr2.plain.tile.w0");
    EXPECT_EQ(label(leaky_relu(), space.back()), "blk1024.vec4.unr8.plain.stride.w4");
    EXPECT_EQ(enumerate_space(leaky_relu(), dtype::f32), space);  // deterministic
}

TEST(CoreConfig, SatisfiesConstraintsChecksDomainAndEveryConstraint) {
    const kernel_spec& spec = leaky_relu();
    EXPECT_TRUE(satisfies_constraints(spec, make({256, 4, 2, 0, 0, 0}), dtype::f32));
    EXPECT_FALSE(satisfies_constraints(spec, make({256, 8, 2, 0, 0, 0}), dtype::f32));  // 32-byte vectors
    EXPECT_TRUE(satisfies_constraints(spec, make({256, 8, 2, 0, 0, 0}), dtype::f16));
    EXPECT_FALSE(satisfies_constraints(spec, make({256, 1, 2, 0, 0, 0}), dtype::bf16));  // 2-byte accesses
    EXPECT_FALSE(satisfies_constraints(spec, make({256, 4, 2, 0, 0, 1}), dtype::f32));   // tile with WAVES
    EXPECT_FALSE(satisfies_constraints(spec, make({256, 4, 2, 0, 1, 0}), dtype::f32));   // stride without
    EXPECT_FALSE(satisfies_constraints(spec, make({300, 4, 2, 0, 0, 0}), dtype::f32));   // not in the domain
    EXPECT_FALSE(satisfies_constraints(spec, make({256, 4, 2, 0}), dtype::f32));      // too short
    EXPECT_TRUE(satisfies_constraints(spec, make({128, 4, 8, 1, 1, 1}), dtype::f32));  // bulk
    EXPECT_FALSE(satisfies_constraints(spec, make({128, 2, 8, 1, 1, 1}), dtype::f32)); // bulk, 8-byte vectors
    EXPECT_TRUE(satisfies_constraints(spec, make({128, 4, 8, 1, 0, 0}), dtype::f32));  // bulk, one tile per block
    EXPECT_FALSE(satisfies_constraints(spec, make({256, 4, 8, 1, 1, 1}), dtype::f32)); // bulk stages over 48 KiB
}

TEST(CoreConfig, EveryConfigSurvivesALabelRoundTrip) {
    for (dtype type : all_dtypes) {
        std::set<std::string> labels;
        for (const config& c : enumerate_space(leaky_relu(), type)) {
            const std::string text = label(leaky_relu(), c);
            EXPECT_TRUE(labels.insert(text).second) << "duplicate label " << text;
            EXPECT_EQ(parse_label(leaky_relu(), text), c) << text;
        }
    }
}

TEST(CoreConfig, LabelSpellsIntegersWithShortNamesAndEnumsByName) {
    EXPECT_EQ(label(leaky_relu(), make({256, 4, 2, 0, 0, 0})), "blk256.vec4.unr2.plain.tile.w0");
    EXPECT_EQ(label(leaky_relu(), make({1024, 8, 8, 0, 1, 4})), "blk1024.vec8.unr8.plain.stride.w4");
    EXPECT_EQ(parse_label(leaky_relu(), "blk512.vec2.unr4.plain.stride.w1"), make({512, 2, 4, 0, 1, 1}));
}

TEST(CoreConfig, ParseLabelRejectsAnythingOutsideTheDeclaredDomain) {
    // Labels come back from databases: nothing but the exact spelling of a declared value may pass.
    const std::vector<std::string> tampered_labels = {"blk1048576.vec4.unr2.plain.tile.w0",
                                                      "blk-1.vec4.unr2.plain.tile.w0",
                                                      "blk2.5.vec4.unr2.plain.tile.w0",
                                                      "1);asm(\"trap\");//",
                                                      "blk256.vec4.unr2.plain.tile.w0);asm(\"trap\");//",
                                                      "blk256.vec4.unr2.plain.tile.w0.",
                                                      "blk256.vec4.unr2.plain.tile",
                                                      "blk256.vec4.unr2.plain.tile.w0.w0",
                                                      "blk256..vec4.unr2.plain.tile.w0",
                                                      "",
                                                      ".blk256.vec4.unr2.plain.tile.w0",
                                                      " blk256.vec4.unr2.plain.tile.w0",
                                                      "blk256.vec4.unr2.plain.tile.w0 ",
                                                      "blk0256.vec4.unr2.plain.tile.w0",
                                                      "blk+256.vec4.unr2.plain.tile.w0",
                                                      "blk 256.vec4.unr2.plain.tile.w0",
                                                      "BLK256.vec4.unr2.plain.tile.w0",
                                                      "blk256.vec4.unr2.plain.TILE.w0",
                                                      "blk256.vec4.unr2.plain.0.w0",
                                                      "blk256.vec4.unr2.plain.tiles.w0",
                                                      "blk256.vec4.unr2.plain.til.w0",
                                                      "blk25.vec4.unr2.plain.tile.w0",
                                                      "blk2560.vec4.unr2.plain.tile.w0",
                                                      "vec4.blk256.unr2.plain.tile.w0",
                                                      "blk256.vec3.unr2.plain.tile.w0",
                                                      "blk256.vec4.unr2.plain.tile.w2",
                                                      "blk256.vec4.unr2.plain.tile.wave0",
                                                      "blk0x100.vec4.unr2.plain.tile.w0",
                                                      std::string("blk256.vec4.unr2.plain.tile.w0\0", 31),
                                                      std::string("blk256\0.vec4.unr2.plain.tile.w0", 31)};
    for (const std::string& tampered : tampered_labels)
        EXPECT_THROW(parse_label(leaky_relu(), tampered), error) << "accepted '" << tampered << "'";
}

TEST(CoreConfig, ParseLabelChecksTheDomainNotTheConstraints) {
    // VEC = 8 is declared but too wide for f32: callers check constraints per dtype.
    const config c = parse_label(leaky_relu(), "blk128.vec8.unr1.plain.tile.w0");
    EXPECT_TRUE(in_domain(leaky_relu(), c));
    EXPECT_FALSE(satisfies_constraints(leaky_relu(), c, dtype::f32));
    EXPECT_TRUE(satisfies_constraints(leaky_relu(), c, dtype::f16));
}

TEST(CoreConfig, InDomainChecksEveryValueAndTheCount) {
    EXPECT_TRUE(in_domain(leaky_relu(), make({128, 8, 1, 0, 1, 4})));
    EXPECT_FALSE(in_domain(leaky_relu(), make({128, 8, 1, 0, 2, 4})));  // GRID has two names
    EXPECT_FALSE(in_domain(leaky_relu(), make({128, 8, 1, 0, -1, 4})));
    EXPECT_FALSE(in_domain(leaky_relu(), make({128, 8, 1, 0, 1, 2})));
    EXPECT_FALSE(in_domain(leaky_relu(), make({128, 8, 1, 2, 1, 4})));  // LOAD has two names
    EXPECT_FALSE(in_domain(leaky_relu(), make({128, 8, 1, 0, 1, 4, 0})));
    EXPECT_FALSE(in_domain(leaky_relu(), make({})));
}

TEST(CoreConfig, NameExpressionsCarryOnlyDeclaredIntegers) {
    const std::regex shape(
        R"(kt::leaky_relu<(float|__half|__nv_bfloat16), (128|256|512|1024), [1248], [1248], [01]>)");
    for (dtype type : all_dtypes)
        for (const config& c : enumerate_space(leaky_relu(), type)) {
            const std::string name = name_expression(leaky_relu(), c, {}, type);
            EXPECT_TRUE(std::regex_match(name, shape)) << name;
        }
    EXPECT_EQ(name_expression(leaky_relu(), make({256, 4, 2, 0, 0, 0}), {}, dtype::f32),
              "kt::leaky_relu<float, 256, 4, 2, 0>");
    EXPECT_EQ(name_expression(leaky_relu(), make({1024, 8, 8, 0, 1, 4}), {}, dtype::bf16),
              "kt::leaky_relu<__nv_bfloat16, 1024, 8, 8, 0>");
}

TEST(CoreConfig, ConfigsOutsideTheDomainNeverReachSourceLabelsOrLaunches) {
    const device_limits limits{132, 2048, 233472};
    for (const config& bad : {make({1048576, 4, 2, 0, 0, 0}), make({-1, 4, 2, 0, 0, 0}), make({256, 4, 2, 0, 2, 0}),
                              make({256, 4, 2, 0}), make({256, 4, 2, 0, 0, 7}), make({})}) {
        EXPECT_THROW(name_expression(leaky_relu(), bad, {}, dtype::f32), error);
        EXPECT_THROW(label(leaky_relu(), bad), error);
        EXPECT_THROW(launch_variables(leaky_relu(), bad, dtype::f32, n_problem(1024), limits), error);
        EXPECT_THROW(candidate_launch(leaky_relu(), bad, dtype::f32, n_problem(1024), limits), error);
    }
}

TEST(CoreConfig, EnumTemplateArgumentsAreEmittedAsTheirIndex) {
    EXPECT_EQ(name_expression(leaky_relu(), make({256, 8, 2, 1, 1, 1}), {}, dtype::f16),  // LOAD = bulk
              "kt::leaky_relu<__half, 256, 8, 2, 1>");
    kernel_spec spec = leaky_relu();
    spec.params[4].kind = param_kind::template_arg;  // GRID
    EXPECT_EQ(name_expression(spec, make({256, 4, 2, 0, 1, 1}), {}, dtype::f16),
              "kt::leaky_relu<__half, 256, 4, 2, 0, 1>");
}

TEST(CoreConfig, ReferenceNameExpressionHasTheElementTypeOnly) {
    EXPECT_EQ(reference_name_expression(leaky_relu(), dtype::f32), "kt::leaky_relu_reference<float>");
    EXPECT_EQ(reference_name_expression(leaky_relu(), dtype::f16), "kt::leaky_relu_reference<__half>");
    EXPECT_EQ(reference_name_expression(leaky_relu(), dtype::bf16),
              "kt::leaky_relu_reference<__nv_bfloat16>");
}

TEST(CoreConfig, DefaultConfigIsValidForEveryDtype) {
    EXPECT_EQ(label(leaky_relu(), default_config(leaky_relu(), dtype::f32)), "blk256.vec4.unr2.plain.tile.w0");
    EXPECT_EQ(label(leaky_relu(), default_config(leaky_relu(), dtype::f16)), "blk256.vec8.unr2.plain.tile.w0");
    EXPECT_EQ(label(leaky_relu(), default_config(leaky_relu(), dtype::bf16)), "blk256.vec8.unr2.plain.tile.w0");
    for (dtype type : all_dtypes)
        EXPECT_TRUE(satisfies_constraints(leaky_relu(), default_config(leaky_relu(), type), type));
}

TEST(CoreConfig, DefaultOutsideTheDomainOrTheConstraintsIsAnError) {
    kernel_spec spec = leaky_relu();
    spec.default_values[0].second = expression::parse("300");
    const std::string outside = error_of([&] { default_config(spec, dtype::f32); });
    EXPECT_TRUE(contains(outside, "BLOCK = 300 is not one of 128, 256, 512, 1024")) << outside;

    spec = leaky_relu();
    spec.default_values[1].second = expression::parse("8");  // 32-byte vectors for f32
    EXPECT_NO_THROW(default_config(spec, dtype::f16));
    const std::string violating = error_of([&] { default_config(spec, dtype::f32); });
    EXPECT_TRUE(contains(violating, "VEC * sizeof(T) <= 16")) << violating;
    EXPECT_TRUE(contains(violating, "f32")) << violating;
}

TEST(CoreConfig, TilePolicyLaunchesOneBlockPerTile) {
    const device_limits h100{132, 2048, 233472};
    const launch_geometry g =
        candidate_launch(leaky_relu(), make({256, 4, 2, 0, 0, 0}), dtype::f32, n_problem(1 << 20), h100);
    EXPECT_EQ(g.block[0], 256);
    EXPECT_EQ(g.grid[0], (1 << 20) / (256 * 4 * 2));
    // A partial last tile still gets a block; one element gets one block.
    EXPECT_EQ(candidate_launch(leaky_relu(), make({256, 4, 2, 0, 0, 0}), dtype::f32, n_problem(2049), h100).grid[0], 2);
    EXPECT_EQ(candidate_launch(leaky_relu(), make({1024, 8, 8, 0, 0, 0}), dtype::f16, n_problem(1), h100).grid[0], 1);
}

TEST(CoreConfig, StridePolicyCapsTheGridAtWavesOfResidentBlocks) {
    const device_limits h100{132, 2048, 233472};
    // 4 waves x 132 SMs x (2048 / 256) blocks per SM = 4224 < cdiv(2^30, 2048) = 524288.
    const launch_geometry capped =
        candidate_launch(leaky_relu(), make({256, 4, 2, 0, 1, 4}), dtype::f32, n_problem(1 << 30), h100);
    EXPECT_EQ(capped.block[0], 256);
    EXPECT_EQ(capped.grid[0], 4224);
    EXPECT_EQ(candidate_launch(leaky_relu(), make({1024, 4, 1, 0, 1, 1}), dtype::f32, n_problem(1 << 30), h100).grid[0],
              264);
    // bulk: shared memory fits 233472 / (32 * 128 * 4 + 1152) = 13 blocks of 128 threads, not 16.
    EXPECT_EQ(candidate_launch(leaky_relu(), make({128, 8, 4, 1, 1, 1}), dtype::f16, n_problem(1 << 30), h100).grid[0], 13 * 132);
    EXPECT_EQ(candidate_launch(leaky_relu(), make({256, 8, 2, 1, 1, 1}), dtype::f16, n_problem(1 << 30), h100).grid[0], 8 * 132);
    // Below the cap the grid is the tile count.
    EXPECT_EQ(candidate_launch(leaky_relu(), make({256, 4, 2, 0, 1, 4}), dtype::f32, n_problem(10000), h100).grid[0], 5);
}

TEST(CoreConfig, ReferenceLaunchUsesOneElementPerThread) {
    const launch_geometry g = reference_launch(leaky_relu(), dtype::bf16, n_problem(1000), {132, 2048, 233472});
    EXPECT_EQ(g.block[0], 256);
    EXPECT_EQ(g.grid[0], 4);
}

TEST(CoreConfig, LaunchOutsideCudaLimitsIsAnError) {
    const device_limits h100{132, 2048, 233472};
    // cdiv(2^40, 256) = 2^32 blocks: more than a grid may have.
    const std::string too_many =
        error_of([&] { reference_launch(leaky_relu(), dtype::f32, n_problem(1LL << 40), h100); });
    EXPECT_TRUE(contains(too_many, "grid dimension x of 4294967296 blocks")) << too_many;
    EXPECT_EQ(reference_launch(leaky_relu(), dtype::f32, n_problem(2147483647LL * 256), h100).grid[0], 2147483647);

    kernel_spec spec = leaky_relu();
    spec.launch.block[0] = expression::parse("BLOCK * 2");
    const config big = make({1024, 4, 2, 0, 0, 0});
    const std::string wide = error_of([&] { candidate_launch(spec, big, dtype::f32, n_problem(4096), h100); });
    EXPECT_TRUE(contains(wide, "block of 2048x1x1 threads")) << wide;
    EXPECT_TRUE(contains(wide, "blk1024.vec4.unr2.plain.tile.w0")) << wide;
    spec.launch.block[0] = expression::parse("BLOCK - BLOCK");
    EXPECT_THROW(candidate_launch(spec, big, dtype::f32, n_problem(4096), h100), error);
    // Stride with a device that reports nothing: WAVES * 0 gives an empty grid.
    EXPECT_THROW(candidate_launch(leaky_relu(), make({256, 4, 2, 0, 1, 4}), dtype::f32, n_problem(4096), {0, 0}), error);
}

TEST(CoreConfig, LaunchVariablesBindEverythingRulesMayRead) {
    const variables vars =
        launch_variables(leaky_relu(), make({512, 8, 4, 0, 1, 4}), dtype::f16, n_problem(12345), {132, 2048, 233472, 232448, 8});
    const variables expected = {{"BLOCK", 512},
                                {"VEC", 8},
                                {"UNROLL", 4},
                                {"LOAD", 0},
                                {"plain", 0},
                                {"bulk", 1},
                                {"GRID", 1},
                                {"WAVES", 4},
                                {"tile", 0},
                                {"stride", 1},
                                {"sizeof(T)", 2},
                                {"n", 12345},
                                {"sm_count", 132},
                                {"max_threads_per_sm", 2048},
                                {"shared_memory_per_sm", 233472},
                                {"max_shared_memory_per_block", 232448},
                                {"max_cluster_size", 8}};
    EXPECT_EQ(vars, expected);
}

TEST(CoreConfig, BytesMovedCountsReadsAndWrites) {
    EXPECT_EQ(bytes_moved(leaky_relu(), dtype::f32, n_problem(1000)), 8000);
    EXPECT_EQ(bytes_moved(leaky_relu(), dtype::f16, n_problem(1000)), 4000);
    EXPECT_EQ(bytes_moved(leaky_relu(), dtype::bf16, n_problem(1610612736)), 6442450944);
}

} // namespace
} // namespace kerntune
