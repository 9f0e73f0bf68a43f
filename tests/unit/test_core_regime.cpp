// Regimes (core/regime.hpp) and the lookup's rule of borrowing only within one (select_config),
// with fictional devices and a template built by hand; the built-in specs' regimes and ladders.
#include <gtest/gtest.h>

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "catalog/catalog.hpp"
#include "core/config.hpp"
#include "core/regime.hpp"
#include "core/select_config.hpp"
#include "test_core_support.hpp"

namespace kerntune {
namespace {

const std::string gpu = "Fictional GPU|sm_90|4 SMs";
const std::string nvrtc = "13.0";
const std::string hash = "0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9";

// A GPU small enough to count by hand: one wave of 16-byte accesses in and out is
// 4 * 1024 * 32 = 131072 bytes moved (launch-bound up to there), and L2 holds 1 MiB.
const regime_device small_gpu{{4, 1024, 65536, 49152, 1}, 1 << 20};
// The same with 4 MiB of L2: the L2 boundary moves, nothing else.
const regime_device small_gpu_big_l2{{4, 1024, 65536, 49152, 1}, 4 << 20};

// Real figures (device_info::regime_facts on the H200 of /work/.device; H100 SXM and A100 from
// their data sheets): the ladders must cover every regime on each.
const regime_device h200{{132, 2048, 233472, 232448, 16}, 62914560};
const regime_device h100{{132, 2048, 233472, 232448, 16}, 52428800};
const regime_device a100{{108, 2048, 167936, 166912, 1}, 41943040};

// An elementwise copy (one input, one output) with the regimes a one-axis spec gets by default.
const kernel_spec& copy_spec() {
    static const kernel_spec spec = [] {
        kernel_spec s = test::toy_copy_spec(hash);
        s.bytes_moved = expression::parse("2 * n * sizeof(T)");
        s.regimes = expression::parse(default_one_axis_regimes());
        return s;
    }();
    return spec;
}

problem n_problem(std::int64_t n) { return make_problem({"n"}, std::vector<std::int64_t>{n}); }

tuned_row n_row(std::int64_t n, std::string label, bool shipped = false) {
    tuned_row row{"toy_copy", hash, "f32", "n=" + std::to_string(n), gpu, nvrtc, std::move(label)};
    row.shipped = shipped;
    return row;
}

selection choose(std::int64_t n, const std::vector<tuned_row>& rows, const regime_device& device = small_gpu) {
    return select_config(copy_spec(), dtype::f32, n_problem(n), gpu, nvrtc, device, rows);
}

TEST(Regime, OneAxisDefaultIsLaunchBoundThenL2ThenDramByBytesMoved) {
    // f32: bytes moved = 8 n. 131072 bytes is n = 16384; 1 MiB is n = 131072.
    EXPECT_EQ(regime_of(copy_spec(), dtype::f32, n_problem(16384), small_gpu), 0);
    EXPECT_EQ(regime_of(copy_spec(), dtype::f32, n_problem(16385), small_gpu), 1);
    EXPECT_EQ(regime_of(copy_spec(), dtype::f32, n_problem(131072), small_gpu), 1);
    EXPECT_EQ(regime_of(copy_spec(), dtype::f32, n_problem(131073), small_gpu), 2);
    // The element size counts: f16 moves half the bytes, so the boundaries are twice as far.
    EXPECT_EQ(regime_of(copy_spec(), dtype::f16, n_problem(32768), small_gpu), 0);
    EXPECT_EQ(regime_of(copy_spec(), dtype::f16, n_problem(262145), small_gpu), 2);
    // The device's L2 moves its boundary.
    EXPECT_EQ(regime_of(copy_spec(), dtype::f32, n_problem(131073), small_gpu_big_l2), 1);
}

TEST(Regime, ASpecWithoutRegimesHasOneAndAnUncomputableRegimeIsNone) {
    kernel_spec plain = copy_spec();
    plain.regimes = expression();
    EXPECT_EQ(regime_of(plain, dtype::f32, n_problem(1), small_gpu), 0);
    EXPECT_EQ(regime_of(plain, dtype::f32, n_problem(std::int64_t(1) << 40), small_gpu), 0);
    // bytes_moved = 8 n overflows past 2^60: no regime, not an exception.
    EXPECT_EQ(regime_of(copy_spec(), dtype::f32, n_problem(std::int64_t(1) << 61), small_gpu), std::nullopt);
}

TEST(RegimeLookup, NearestIsTakenOnlyWithinTheWantedRegime) {
    // n = 20000 is in the L2 regime (1). The nearest row in log space, 16384 (launch-bound), is
    // refused for the farther 100000 of its own regime.
    const std::vector<tuned_row> rows = {n_row(16384, "blk128"), n_row(100000, "blk512")};
    const selection chosen = choose(20000, rows);
    EXPECT_EQ(chosen.match, config_match::nearest);
    EXPECT_EQ(chosen.label, "blk512");
    EXPECT_EQ(chosen.regime, 1);
    // Without regimes the nearest would have been 16384's: the rule, not the distance, decided.
    kernel_spec plain = copy_spec();
    plain.regimes = expression();
    EXPECT_EQ(select_config(plain, dtype::f32, n_problem(20000), gpu, nvrtc, small_gpu, rows).label, "blk128");
}

TEST(RegimeLookup, NothingTunedInTheRegimeIsTheDefaultNotABorrowAcrossTheBoundary) {
    const std::vector<tuned_row> rows = {n_row(1024, "blk128"), n_row(1 << 24, "blk512")};
    const selection chosen = choose(50000, rows);  // L2 regime: neither row is in it
    EXPECT_EQ(chosen.match, config_match::default_config);
    EXPECT_EQ(chosen.label, "blk256");
    EXPECT_TRUE(chosen.refused.empty());
    // An exact row needs no regime.
    EXPECT_EQ(choose(1024, rows).match, config_match::exact);
}

TEST(RegimeLookup, TheCallersDeviceFactsPlaceTheBoundary) {
    // 200000 floats move 1.6 MB: DRAM on the 1 MiB-L2 GPU, L2 on the 4 MiB one.
    const std::vector<tuned_row> rows = {n_row(120000, "blk128"), n_row(1 << 22, "blk512")};
    EXPECT_EQ(choose(200000, rows, small_gpu).label, "blk512");
    EXPECT_EQ(choose(200000, rows, small_gpu_big_l2).label, "blk128");
}

TEST(RegimeLookup, AWantedProblemInNoRegimeBorrowsNothing) {
    const std::vector<tuned_row> rows = {n_row(std::int64_t(1) << 40, "blk512")};
    const selection chosen = choose(std::int64_t(1) << 61, rows);
    EXPECT_EQ(chosen.regime, std::nullopt);
    EXPECT_EQ(chosen.match, config_match::default_config);
}

TEST(ShippedLookup, AUsersRowOfTheSameProblemWinsAndIsNotMarkedShipped) {
    const selection chosen = choose(1 << 22, {n_row(1 << 22, "blk128", true), n_row(1 << 22, "blk512")});
    EXPECT_EQ(chosen.match, config_match::exact);
    EXPECT_EQ(chosen.label, "blk512");
    EXPECT_FALSE(chosen.shipped);
    EXPECT_TRUE(chosen.refused.empty());  // a shipped row beneath a user's is not a disagreement
}

TEST(ShippedLookup, AShippedExactRowBeatsAUsersNearestOne) {
    const selection chosen = choose(1 << 22, {n_row(1 << 22, "blk128", true), n_row(1 << 21, "blk512")});
    EXPECT_EQ(chosen.match, config_match::exact);
    EXPECT_EQ(chosen.label, "blk128");
    EXPECT_TRUE(chosen.shipped);
    // And a shipped row serves as nearest, marked.
    const selection near = choose(3 << 20, {n_row(1 << 22, "blk128", true)});
    EXPECT_EQ(near.match, config_match::nearest);
    EXPECT_TRUE(near.shipped);
}

TEST(ShippedLookup, AUsersRefusedRowFallsBackToTheShippedRowOfItsProblem) {
    const selection chosen = choose(1 << 22, {n_row(1 << 22, "blk300"), n_row(1 << 22, "blk128", true)});
    EXPECT_EQ(chosen.match, config_match::exact);
    EXPECT_EQ(chosen.label, "blk128");
    EXPECT_TRUE(chosen.shipped);
    ASSERT_EQ(chosen.refused.size(), 1u);
    EXPECT_NE(chosen.refused[0].find("\"blk300\" refused"), std::string::npos) << chosen.refused[0];
}

TEST(ShippedLookup, ShippedRowsObeyRegimesAndStalenessLikeAnyOther) {
    tuned_row stale = n_row(1 << 22, "blk128", true);
    stale.template_hash = std::string(64, 'f');
    tuned_row other_gpu = n_row(1 << 22, "blk128", true);
    other_gpu.gpu_identity = "Fictional GPU|sm_90|8 SMs";
    tuned_row other_nvrtc = n_row(1 << 22, "blk128", true);
    other_nvrtc.nvrtc_version = "12.9";
    const selection chosen = choose(1 << 22, {stale, other_gpu, other_nvrtc, n_row(1024, "blk512", true)});
    EXPECT_EQ(chosen.match, config_match::default_config);  // 1024 is launch-bound, 2^22 DRAM
    EXPECT_FALSE(chosen.shipped);
    EXPECT_TRUE(chosen.refused.empty());
}

// Every regime a fine sweep of shapes reaches, for a spec, dtype and device, must hold one of
// the spec's default shapes (the ladder `kerntune tune --op OP` tunes): else some shape would
// find nothing to borrow and run the default config.
std::set<std::int64_t> regimes_of(const kernel_spec& spec, dtype type, const std::vector<problem>& shapes,
                                  const regime_device& device) {
    std::set<std::int64_t> found;
    for (const problem& shape : shapes)
        if (const std::optional<std::int64_t> r = regime_of(spec, type, shape, device)) found.insert(*r);
    return found;
}

std::vector<problem> sweep_of(const kernel_spec& spec) {
    std::vector<problem> shapes;
    if (spec.axes.size() == 1) {
        for (int k = 10; k <= 32; ++k) {
            shapes.push_back(n_problem(std::int64_t(1) << k));
            shapes.push_back(n_problem((std::int64_t(3) << (k - 1)) + 1));  // odd, between
        }
        return shapes;
    }
    for (int k = 5; k <= 22; ++k) {  // rows of 32 to 4194304 elements, 2^26 elements in all, and 16 rows
        const std::int64_t reduce = std::int64_t(1) << k, outer = std::max<std::int64_t>(1, (1 << 26) / reduce);
        for (std::int64_t rows : {outer, std::int64_t(16)}) {
            shapes.push_back(make_problem(spec.axes, std::vector<std::int64_t>{rows, reduce, 1}));
            shapes.push_back(make_problem(spec.axes, std::vector<std::int64_t>{rows, reduce + 3, 1}));
        }
    }
    for (std::int64_t reduce : {2, 64, 4096})
        for (std::int64_t inner : {2, 4096}) shapes.push_back(make_problem(spec.axes, std::vector<std::int64_t>{64, reduce, inner}));
    return shapes;
}

TEST(BuiltinLadders, PutATunedShapeInEveryRegimeOfEveryOpDtypeAndDataCenterGpu) {
    const catalog templates;
    int checked = 0;
    for (const auto& spec : templates.specs()) {
        ASSERT_FALSE(spec->regimes.empty()) << spec->name << " declares no regimes";
        std::vector<problem> ladder;
        for (const tensor_shape& shape : spec->default_shapes) ladder.push_back(make_problem(spec->axes, shape));
        const std::vector<problem> sweep = sweep_of(*spec);
        for (dtype type : spec->dtypes)
            for (const regime_device* device : {&h200, &h100, &a100}) {
                const std::set<std::int64_t> tuned = regimes_of(*spec, type, ladder, *device);
                const std::set<std::int64_t> swept = regimes_of(*spec, type, sweep, *device);
                EXPECT_GE(swept.size(), 3u) << spec->name << ": the sweep should cross its regimes";
                for (std::int64_t r : swept)
                    EXPECT_TRUE(tuned.count(r)) << spec->name << " " << to_string(type) << " on the device with "
                                                << device->l2_bytes << " bytes of L2: regime " << r
                                                << " has no default shape";
                ++checked;
            }
    }
    EXPECT_GE(checked, 7 * 3 * 3);  // leaky_relu, softmax, log_softmax, sum, mean, layer_norm, rms_norm
}

TEST(BuiltinLadders, LeakyReluGetsTheOneAxisDefaultsFromTheLoaderNotFromItsText) {
    const catalog templates;
    const kernel_spec& spec = *templates.at("leaky_relu");
    EXPECT_EQ(spec.regimes.text(), default_one_axis_regimes());
    ASSERT_EQ(spec.default_shapes.size(), default_one_axis_shapes().size());
    for (std::size_t i = 0; i < spec.default_shapes.size(); ++i)
        EXPECT_EQ(spec.default_shapes[i].to_string(), default_one_axis_shapes()[i].to_string());
    // The ladder's H200 regimes, as the comments of core/regime.hpp say: 2^12 to 2^20 launch-bound,
    // 2^22 in L2, the rest from DRAM, for f32 and for f16 alike.
    for (dtype type : {dtype::f32, dtype::f16}) {
        std::vector<std::int64_t> regimes;
        for (const tensor_shape& shape : spec.default_shapes)
            regimes.push_back(regime_of(spec, type, make_problem(spec.axes, shape), h200).value_or(-1));
        EXPECT_EQ(regimes, (std::vector<std::int64_t>{0, 0, 0, 1, 2, 2, 2})) << to_string(type);
    }
}

TEST(BuiltinLadders, ReductionRegimesSwitchWhereTheirCodePathsDo) {
    const catalog templates;
    auto regime = [&](const kernel_spec& spec, dtype type, std::int64_t outer, std::int64_t reduce, std::int64_t inner,
                      const regime_device& device = h200) {
        return regime_of(spec, type, make_problem(spec.axes, std::vector<std::int64_t>{outer, reduce, inner}), device);
    };
    const kernel_spec& softmax = *templates.at("softmax");
    EXPECT_EQ(softmax.regimes.text(), row_reduction_regimes());
    EXPECT_EQ(regime(softmax, dtype::f32, 65536, 64, 1), 0);    // 256 bytes: several rows a warp
    EXPECT_EQ(regime(softmax, dtype::f32, 65536, 65, 1), 1);
    EXPECT_EQ(regime(softmax, dtype::f32, 65536, 128, 1), 1);   // 512 bytes
    EXPECT_EQ(regime(softmax, dtype::f32, 65536, 129, 1), 2);
    EXPECT_EQ(regime(softmax, dtype::f32, 65536, 300, 1), 3);   // 1200 bytes
    EXPECT_EQ(regime(softmax, dtype::f32, 65536, 512, 1), 3);   // 2 KiB
    EXPECT_EQ(regime(softmax, dtype::f32, 65536, 1024, 1), 4);  // 4 KiB: a warp's
    EXPECT_EQ(regime(softmax, dtype::f32, 65536, 1028, 1), 6);
    EXPECT_EQ(regime(softmax, dtype::bf16, 65536, 2048, 1), 4);  // the element size counts
    EXPECT_EQ(regime(softmax, dtype::bf16, 65536, 300, 1), 2);
    EXPECT_EQ(regime(softmax, dtype::f32, 4096, 2048, 1), 6);    // 8 KiB
    EXPECT_EQ(regime(softmax, dtype::f32, 4096, 2052, 1), 8);
    EXPECT_EQ(regime(softmax, dtype::f32, 4096, 4096, 1), 8);    // 16 KiB
    EXPECT_EQ(regime(softmax, dtype::f32, 4096, 4100, 1), 10);
    EXPECT_EQ(regime(softmax, dtype::f32, 4096, 16384, 1), 10);  // 64 KiB
    EXPECT_EQ(regime(softmax, dtype::f32, 4096, 16388, 1), 12);
    // The row cache: 232448 - 4096 bytes of shared memory hold 57088 floats.
    EXPECT_EQ(regime(softmax, dtype::f32, 528, 57088, 1), 12);
    EXPECT_EQ(regime(softmax, dtype::f32, 528, 57092, 1), 14);
    // Past 4 KiB, fewer than 4 rows an SM of the H200's 132 is a regime of its own.
    EXPECT_EQ(regime(softmax, dtype::f32, 527, 2048, 1), 7);
    EXPECT_EQ(regime(softmax, dtype::f32, 527, 4096, 1), 9);
    EXPECT_EQ(regime(softmax, dtype::f32, 527, 16384, 1), 11);
    EXPECT_EQ(regime(softmax, dtype::f32, 527, 57088, 1), 13);
    EXPECT_EQ(regime(softmax, dtype::f32, 527, 57092, 1), 15);
    EXPECT_EQ(regime(softmax, dtype::f32, 16, 16, 1), 0);  // few short rows: by the bytes alone
    EXPECT_EQ(regime(softmax, dtype::f32, 16, 1024, 1), 4);
    // Rows past 4 KiB of no whole 16-byte vectors, whatever their count; shorter ones by bytes.
    EXPECT_EQ(regime(softmax, dtype::f32, 4095, 4097, 1), 5);
    EXPECT_EQ(regime(softmax, dtype::f32, 16, 1048577, 1), 5);
    EXPECT_EQ(regime(softmax, dtype::bf16, 4096, 8196, 1), 5);  // 16392 bytes: 8 past a vector
    EXPECT_EQ(regime(softmax, dtype::f32, 4096, 1023, 1), 4);
    EXPECT_EQ(regime(softmax, dtype::f32, 64, 64, 2), 16);  // columns, whatever their length
    EXPECT_EQ(regime(softmax, dtype::f32, 1, 1 << 22, 2), 16);
    // A GPU without the opt-in to 227 KiB (48 KiB a block) caches shorter rows; an A100 has fewer SMs.
    const regime_device small_shared{{132, 2048, 233472, 49152, 16}, 62914560};
    EXPECT_EQ(regime(softmax, dtype::f32, 4096, 32768, 1, small_shared), 14);
    EXPECT_EQ(regime(softmax, dtype::f32, 4096, 32768, 1), 12);
    EXPECT_EQ(regime(softmax, dtype::f32, 431, 16384, 1, a100), 11);
    EXPECT_EQ(regime(softmax, dtype::f32, 432, 16384, 1, a100), 10);
    // Every row reduction shares them (one kernel structure): sum and the norms too.
    for (const char* name : {"sum", "mean", "log_softmax", "layer_norm", "rms_norm"})
        EXPECT_EQ(templates.at(name)->regimes.text(), row_reduction_regimes()) << name;
}

TEST(BuiltinLadders, RowReductionsTuneTheSharedLadderThenTheirOwnShapes) {
    const catalog templates;
    const kernel_spec& layer_norm = *templates.at("layer_norm");
    std::vector<std::string> expected = test::shape_texts(row_reduction_shapes());
    expected.push_back("16x4194304");  // its own
    EXPECT_EQ(test::shape_texts(layer_norm.default_shapes), expected);
    const kernel_spec& softmax = *templates.at("softmax");
    // Its own after the ladder: a benchmark shape, then one in each held class the ladder lacks.
    const std::vector<std::string> softmax_shapes = test::shape_texts(softmax.default_shapes);
    EXPECT_EQ(std::vector<std::string>(softmax_shapes.end() - 5, softmax_shapes.end()),
              (std::vector<std::string>{"4096x16384", "524288x32", "131072x110", "32768x450", "8192x1900"}));
    // With the ladder, every held class has a shape in f32 and bf16: PATH held32 (4) to held1024
    // (9) for floats, whose rows of 2048 are past 4 KiB, to held2048 (10) for 16-bit elements.
    for (dtype type : {dtype::f32, dtype::bf16}) {
        std::set<std::int64_t> paths;
        for (const tensor_shape& shape : softmax.default_shapes)
            paths.insert(derive(softmax, type, make_problem(softmax.axes, shape))[0]);
        for (std::int64_t held = 4; held <= (type == dtype::f32 ? 9 : 10); ++held)
            EXPECT_EQ(paths.count(held), 1u) << "held class " << held << " in " << to_string(type);
    }
    // The ladder's regimes, as core/regime.hpp says, for 4- and 2-byte elements, on the H200
    // and on the A100 (fewer SMs, less shared memory a block).
    for (const regime_device* device : {&h200, &a100})
        for (dtype type : {dtype::f32, dtype::bf16}) {
            std::vector<std::int64_t> regimes;
            for (const tensor_shape& shape : row_reduction_shapes())
                regimes.push_back(regime_of(softmax, type, make_problem(softmax.axes, shape), *device).value_or(-1));
            const std::vector<std::int64_t> expected =
                type == dtype::f32
                    ? std::vector<std::int64_t>{0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 6, 5, 7, 8, 9, 10, 11, 10, 11, 12, 13, 14, 15, 5, 5, 16}
                    : std::vector<std::int64_t>{0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 4, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 5, 5, 16};
            EXPECT_EQ(regimes, expected) << to_string(type) << " with " << device->limits.sm_count << " SMs";
            EXPECT_EQ(std::set<std::int64_t>(regimes.begin(), regimes.end()).size(), 17u)  // every regime, 0 to 16
                << to_string(type) << " with " << device->limits.sm_count << " SMs";
        }
}

TEST(BuiltinLadders, EveryShortRowRegimeHasARungOfWholeVectorsAndAPeeledOne) {
    // The lookup takes a tuned shape of the wanted one's code first (select_config), and the
    // peeled code's winners hold more threads a row than the vectors' (on the H200, rows of 127
    // and 500 took 1.5 to 2.3 times their optimum with a vectors rung's config).
    const catalog templates;
    const kernel_spec& sum = *templates.at("sum");  // the norms' PATH is the same expression
    for (const char* name : {"layer_norm", "rms_norm"})
        EXPECT_EQ(templates.at(name)->derived.at(0).rule.text(), sum.derived.at(0).rule.text()) << name;
    for (const regime_device* device : {&h200, &a100})
        for (dtype type : {dtype::f32, dtype::bf16}) {
            std::set<std::pair<std::int64_t, std::int64_t>> covered;  // (regime, PATH)
            for (const tensor_shape& shape : row_reduction_shapes()) {
                const problem p = make_problem(sum.axes, shape);
                covered.insert({regime_of(sum, type, p, *device).value_or(-1), derive(sum, type, p)[0]});
            }
            for (std::int64_t regime = 0; regime <= 4; ++regime)
                for (std::int64_t path : {0, 3})  // vectors_path, peeled_path (kt_reduce.cuh)
                    EXPECT_EQ(covered.count({regime, path}), 1u)
                        << "regime " << regime << " PATH " << path << " in " << to_string(type);
        }
}

} // namespace
} // namespace kerntune
