// The lookup chain (select_config) with fictional devices and a template built by hand: exact,
// nearest in log space on one and two axes, default; stale, foreign, malformed and tampered rows.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <numeric>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "core/error.hpp"
#include "core/select_config.hpp"
#include "core/text.hpp"
#include "test_core_support.hpp"

namespace kerntune {
namespace {

using test::contains;
using test::error_of;

// Two GPUs that differ only in their SM count are two GPUs for tuning: their winners differ.
const std::string gpu_a = "Fictional GPU A|sm_90|132 SMs";
const std::string gpu_a_cut = "Fictional GPU A|sm_90|114 SMs";
const std::string gpu_b = "Fictional GPU B|sm_80|108 SMs";
const std::string nvrtc = "13.0.48";
const std::string hash = "5f1e0c9a7b3d2e4f5f1e0c9a7b3d2e4f5f1e0c9a7b3d2e4f5f1e0c9a7b3d2e4f";
// toy() declares no regimes, so the device facts do not matter to these tests.
const regime_device no_regimes_device{};

using test::int_param;

// Labels "blk256.vec4.plain": 4- to 16-byte vectors; bulk loads take 16-byte vectors only.
// Default: blk256, 16-byte vectors, plain (blk256.vec4.plain for f32, blk256.vec8.plain for f16).
const kernel_spec& toy() {
    static const kernel_spec spec = [] {
        kernel_spec s = test::toy_copy_spec(hash);
        s.params.push_back(int_param("VEC", "vec", {1, 2, 4, 8}));
        param_spec load;
        load.name = "LOAD";
        load.values = {0, 1};
        load.enum_names = {"plain", "bulk"};
        s.params.push_back(load);
        s.constraints.push_back({expression::parse("VEC * sizeof(T) >= 4 && VEC * sizeof(T) <= 16"), 1});
        s.constraints.push_back({expression::parse("LOAD == plain || VEC * sizeof(T) == 16"), 2});
        s.default_values = {{"BLOCK", expression::parse("256")},
                            {"VEC", expression::parse("16 / sizeof(T)")},
                            {"LOAD", expression::parse("plain")}};
        return s;
    }();
    return spec;
}

problem n_problem(std::int64_t n) { return make_problem({"n"}, std::vector<std::int64_t>{n}); }
problem grid_problem(std::int64_t rows, std::int64_t cols) {
    return make_problem({"rows", "cols"}, std::vector<std::int64_t>{rows, cols});
}

// A row that applies to toy() for f32 on GPU A with this NVRTC.
tuned_row row(std::string problem_key, std::string label) {
    return {"toy_copy", hash, "f32", std::move(problem_key), gpu_a, nvrtc, std::move(label)};
}
tuned_row n_row(std::int64_t n, std::string label) { return row("n=" + std::to_string(n), std::move(label)); }

selection choose(const problem& wanted, const std::vector<tuned_row>& rows, dtype type = dtype::f32,
                 const kernel_spec& spec = toy()) {
    selection chosen = select_config(spec, type, wanted, gpu_a, nvrtc, no_regimes_device, rows);
    EXPECT_EQ(chosen.label, label(spec, chosen.chosen));
    EXPECT_TRUE(satisfies_constraints(spec, chosen.chosen, type)) << chosen.label;
    return chosen;
}

std::string joined(const std::vector<std::string>& lines) {
    std::string text;
    for (const std::string& line : lines) text += line + "\n";
    return text;
}

TEST(CoreSelectConfig, MatchKindsHaveOneSpellingEach) {
    EXPECT_EQ(to_string(config_match::exact), "exact");
    EXPECT_EQ(to_string(config_match::nearest), "nearest");
    EXPECT_EQ(to_string(config_match::family), "family");
    EXPECT_EQ(to_string(config_match::default_config), "default");
}

TEST(CoreSelectConfig, NothingTunedGivesTheDefaultForTheDtype) {
    const selection f32 = choose(n_problem(1000), {});
    EXPECT_EQ(f32.match, config_match::default_config);
    EXPECT_EQ(f32.label, "blk256.vec4.plain");
    EXPECT_TRUE(f32.refused.empty());
    const selection f16 = choose(n_problem(1000), {}, dtype::f16);
    EXPECT_EQ(f16.match, config_match::default_config);
    EXPECT_EQ(f16.label, "blk256.vec8.plain");
    EXPECT_EQ(choose(grid_problem(4, 8), {}).label, "blk256.vec4.plain");
}

TEST(CoreSelectConfig, ExactBeatsNearest) {
    const selection found = choose(
        n_problem(1 << 20), {n_row(1 << 10, "blk128.vec1.plain"), n_row((1 << 20) + 1, "blk512.vec2.plain"),
                             n_row(1 << 20, "blk256.vec2.plain"), n_row(1 << 30, "blk512.vec4.bulk")});
    EXPECT_EQ(found.match, config_match::exact);
    EXPECT_EQ(found.label, "blk256.vec2.plain");
    EXPECT_EQ(found.chosen.values, (std::vector<std::int64_t>{256, 2, 0}));
    EXPECT_TRUE(found.refused.empty()) << joined(found.refused);

    const selection two_axes = choose(
        grid_problem(4096, 1024),
        {row("rows=4096.cols=2048", "blk128.vec1.plain"), row("rows=4096.cols=1024", "blk512.vec4.bulk")});
    EXPECT_EQ(two_axes.match, config_match::exact);
    EXPECT_EQ(two_axes.label, "blk512.vec4.bulk");
}

TEST(CoreSelectConfig, ExactIsDecidedByTheExtentsNotByADistanceOfZero) {
    // Past 2^53 neighbours round to the same double, so 2^62 + 1 is at distance 0 from 2^62.
    const std::int64_t big = std::int64_t{1} << 62;
    const selection exact =
        choose(n_problem(big), {n_row(big + 1, "blk128.vec1.plain"), n_row(big, "blk512.vec2.plain")});
    EXPECT_EQ(exact.match, config_match::exact);
    EXPECT_EQ(exact.label, "blk512.vec2.plain");
    const selection near = choose(n_problem(big), {n_row(big + 1, "blk128.vec1.plain")});
    EXPECT_EQ(near.match, config_match::nearest);
    EXPECT_EQ(near.label, "blk128.vec1.plain");
}

TEST(CoreSelectConfig, NearestIsMeasuredInLogSpaceBothWays) {
    // 5e6 is 4.8x above 2^20 and 3.4x below 2^24: nearer to 2^24 by ratio, to 2^20 by difference.
    // 2e6 is 1.9x above 2^20 and 8.4x below 2^24: nearer to 2^20 (either way).
    const std::vector<tuned_row> rows = {n_row(1 << 20, "blk128.vec1.plain"),
                                         n_row(1 << 24, "blk512.vec4.plain")};
    const selection above = choose(n_problem(5'000'000), rows);
    EXPECT_EQ(above.match, config_match::nearest);
    EXPECT_EQ(above.label, "blk512.vec4.plain");
    const selection below = choose(n_problem(2'000'000), rows);
    EXPECT_EQ(below.match, config_match::nearest);
    EXPECT_EQ(below.label, "blk128.vec1.plain");
    // Outside the tuned range on either side: the nearest end.
    EXPECT_EQ(choose(n_problem(7), rows).label, "blk128.vec1.plain");
    EXPECT_EQ(choose(n_problem(std::int64_t{1} << 40), rows).label, "blk512.vec4.plain");
}

TEST(CoreSelectConfig, TiesGoToTheLargerProblem) {
    // 2^18 and 2^22 are both 4x from 2^20; in either row order the larger wins.
    std::vector<tuned_row> rows = {n_row(1 << 18, "blk128.vec1.plain"), n_row(1 << 22, "blk512.vec4.plain")};
    EXPECT_EQ(choose(n_problem(1 << 20), rows).label, "blk512.vec4.plain");
    std::reverse(rows.begin(), rows.end());
    EXPECT_EQ(choose(n_problem(1 << 20), rows).label, "blk512.vec4.plain");
    // Not a power of two: 1000 is 2x from both 500 and 2000.
    EXPECT_EQ(
        choose(n_problem(1000), {n_row(2000, "blk512.vec4.plain"), n_row(500, "blk128.vec1.plain")}).label,
        "blk512.vec4.plain");
}

TEST(CoreSelectConfig, NearestOnTwoAxesIsTheSumOfSquaredLogRatios) {
    // Around 1024 x 1024: 1024 x 8192 is one axis 8x off (ln(8)^2 = 4.32), 4096 x 4096 two axes
    // 4x off (2 ln(4)^2 = 3.84). Squares pick 4096 x 4096; a sum of |ln| ratios (2.08 < 2.77) or the
    // element count (8x < 16x) would pick 1024 x 8192.
    const selection found = choose(
        grid_problem(1024, 1024),
        {row("rows=1024.cols=8192", "blk128.vec1.plain"), row("rows=4096.cols=4096", "blk512.vec4.plain")});
    EXPECT_EQ(found.match, config_match::nearest);
    EXPECT_EQ(found.label, "blk512.vec4.plain");
}

TEST(CoreSelectConfig, NearestOnTwoAxesGoesBothWaysAndAxesAreNotInterchangeable) {
    // 256 x 512 is one axis 2x smaller; 1024 x 1024 two axes 2x bigger: the smaller is nearer.
    EXPECT_EQ(choose(grid_problem(512, 512), {row("rows=1024.cols=1024", "blk512.vec4.plain"),
                                              row("rows=256.cols=512", "blk128.vec1.plain")})
                  .label,
              "blk128.vec1.plain");
    // 4 x 8 is not 8 x 4: the transposed problem is only the nearest.
    const selection transposed = choose(grid_problem(8, 4), {row("rows=4.cols=8", "blk128.vec2.plain")});
    EXPECT_EQ(transposed.match, config_match::nearest);
    EXPECT_EQ(transposed.label, "blk128.vec2.plain");
}

TEST(CoreSelectConfig, TiesAcrossAxesGoToMoreElementsThenToTheLargerExtentsInAxisOrder) {
    // 256 x 512 and 1024 x 512 are both 2x off 512 x 512 on one axis: the larger wins.
    std::vector<tuned_row> rows = {row("rows=256.cols=512", "blk128.vec1.plain"),
                                   row("rows=1024.cols=512", "blk512.vec4.plain")};
    EXPECT_EQ(choose(grid_problem(512, 512), rows).label, "blk512.vec4.plain");
    std::reverse(rows.begin(), rows.end());
    EXPECT_EQ(choose(grid_problem(512, 512), rows).label, "blk512.vec4.plain");
    // 2 x 16 and 16 x 2 around 4 x 4: same distance, same element count; 16 x 2 is larger in axis order.
    std::vector<tuned_row> mirrored = {row("rows=2.cols=16", "blk128.vec1.plain"),
                                       row("rows=16.cols=2", "blk512.vec4.plain")};
    EXPECT_EQ(choose(grid_problem(4, 4), mirrored).label, "blk512.vec4.plain");
    std::reverse(mirrored.begin(), mirrored.end());
    EXPECT_EQ(choose(grid_problem(4, 4), mirrored).label, "blk512.vec4.plain");
    // Three axes: 16 x 16 x 32 and 32 x 16 x 16 around 8 x 8 x 8 are a tie too, although summed in
    // axis order their terms (ln 2, ln 2, ln 4 against ln 4, ln 2, ln 2, squared) round to
    // different doubles: 32 x 16 x 16 wins, like a mirrored tie on two axes.
    const std::vector<std::string> axes = {"outer", "reduce", "inner"};
    for (bool reversed : {false, true}) {
        std::vector<tuned_row> rows = {row("outer=16.reduce=16.inner=32", "blk128.vec1.plain"),
                                       row("outer=32.reduce=16.inner=16", "blk512.vec4.plain")};
        if (reversed) std::reverse(rows.begin(), rows.end());
        EXPECT_EQ(choose(make_problem(axes, std::vector<std::int64_t>{8, 8, 8}), rows).label,
                  "blk512.vec4.plain");
    }
}

TEST(CoreSelectConfig, StaleAndForeignRowsAreNeverUsed) {
    const std::int64_t n = 1 << 20;
    const tuned_row far = n_row(1 << 10, "blk128.vec1.plain");
    const tuned_row exact = n_row(n, "blk512.vec2.plain");
    ASSERT_EQ(choose(n_problem(n), {far, exact}).match, config_match::exact);  // the control: it applies
    struct variant {
        const char* what;
        tuned_row changed;
    };
    std::vector<variant> stale;
    auto add = [&](const char* what, auto change) {
        tuned_row changed = exact;
        change(changed);
        stale.push_back({what, changed});
    };
    add("other template hash", [](tuned_row& r) { r.template_hash[0] = '6'; });
    add("empty template hash", [](tuned_row& r) { r.template_hash.clear(); });
    add("other NVRTC", [](tuned_row& r) { r.nvrtc_version = "12.8.93"; });
    add("other GPU", [](tuned_row& r) { r.gpu_identity = gpu_b; });
    add("other SM count", [](tuned_row& r) { r.gpu_identity = gpu_a_cut; });
    add("GPU identity with a suffix", [](tuned_row& r) { r.gpu_identity += " "; });
    add("other dtype", [](tuned_row& r) { r.dtype = "f16"; });
    add("dtype in capitals", [](tuned_row& r) { r.dtype = "F32"; });
    add("other template name", [](tuned_row& r) { r.template_name = "toy_scale"; });
    for (const variant& v : stale) {
        const selection found = choose(n_problem(n), {far, v.changed});
        EXPECT_EQ(found.match, config_match::nearest) << v.what;
        EXPECT_EQ(found.label, "blk128.vec1.plain") << v.what;
        EXPECT_TRUE(found.refused.empty()) << v.what << ": " << joined(found.refused);
        EXPECT_EQ(choose(n_problem(n), {v.changed}).match, config_match::default_config) << v.what;
    }
    // The f16 row is the one an f16 call uses.
    tuned_row f16 = exact;
    f16.dtype = "f16";
    f16.label = "blk512.vec8.bulk";
    EXPECT_EQ(choose(n_problem(n), {exact, f16}, dtype::f16).label, "blk512.vec8.bulk");
    EXPECT_EQ(choose(n_problem(n), {exact, f16}, dtype::f32).label, "blk512.vec2.plain");
}

TEST(CoreSelectConfig, TamperedLabelsAreRefusedAndReportedAndTheNextNearestIsUsed) {
    const std::int64_t n = 1 << 20;
    struct tampered {
        std::string label;
        std::string why;  // in the refused line
    };
    const std::vector<tampered> cases = {
        {"blk300.vec4.plain", "BLOCK must be one of 128, 256, 512"},  // out of the domain
        {"blk256.vec16.plain", "VEC must be one of 1, 2, 4, 8"},
        {"blk256.vec4.stream", "LOAD must be one of plain, bulk"},
        {"blk256.vec4", "expected 3 parts"},  // wrong part count
        {"blk256.vec4.plain.w0", "expected 3 parts"},
        {"", "expected 3 parts"},
        {"blk256.vec4.plain'; DROP TABLE winners; --", "LOAD must be one of plain, bulk"},  // SQL text
        {"BLK256.vec4.plain", "BLOCK must be one of"},  // other spellings of a valid value
        {"blk0256.vec4.plain", "BLOCK must be one of"},
        {" blk256.vec4.plain", "BLOCK must be one of"},
        {"blk256.vec8.plain", "violates the constraints of toy_copy for f32"},  // 32-byte vectors
        {"blk256.vec2.bulk", "violates the constraints of toy_copy for f32"},   // bulk needs 16 bytes
    };
    for (const tampered& t : cases) {
        const selection found = choose(n_problem(n), {n_row(1 << 10, "blk128.vec1.plain"), n_row(n, t.label),
                                                      n_row(1 << 24, "blk512.vec2.plain")});
        EXPECT_EQ(found.match, config_match::nearest) << t.label;
        EXPECT_EQ(found.label, "blk512.vec2.plain") << t.label;  // 16x off, nearer than 1024x
        ASSERT_EQ(found.refused.size(), 1u) << t.label << ": " << joined(found.refused);
        EXPECT_TRUE(contains(found.refused[0], "n=1048576 " + json_string(t.label) + " refused: "))
            << found.refused[0];
        EXPECT_TRUE(contains(found.refused[0], t.why)) << found.refused[0];
    }
    // The line's exact form, once.
    EXPECT_EQ(choose(n_problem(n), {n_row(n, "blk300.vec4.plain")}).refused,
              (std::vector<std::string>{
                  "n=1048576 \"blk300.vec4.plain\" refused: BLOCK must be one of 128, 256, 512"}));
    // A valid f16 label (8 x 2 bytes) is a violation for f32 and the exact match for f16.
    EXPECT_EQ(choose(n_problem(n), {n_row(n, "blk256.vec8.plain")}).match, config_match::default_config);
    tuned_row f16 = n_row(n, "blk256.vec8.plain");
    f16.dtype = "f16";
    EXPECT_EQ(choose(n_problem(n), {f16}, dtype::f16).match, config_match::exact);
}

TEST(CoreSelectConfig, RefusedLinesEscapeControlCharactersOfTamperedLabels) {
    const selection found = choose(n_problem(64), {n_row(64, "blk256\n.vec4\x1b[2J.plain")});
    ASSERT_EQ(found.refused.size(), 1u);
    EXPECT_EQ(found.refused[0].find('\n'), std::string::npos) << found.refused[0];
    EXPECT_EQ(found.refused[0].find('\x1b'), std::string::npos) << found.refused[0];
    EXPECT_TRUE(contains(found.refused[0], "\\n")) << found.refused[0];
}

TEST(CoreSelectConfig, RefusalsAreTriedInOrderUntilAValidRowOrTheDefault) {
    // Exact, then 2x, then 4x: the first two are tampered, the third is used; the 8x row is
    // never examined (its bad label is not reported).
    const std::vector<tuned_row> rows = {n_row(1 << 23, "junk"), n_row(1 << 22, "blk128.vec4.bulk"),
                                         n_row(1 << 21, "blk999.vec4.plain"),
                                         n_row(1 << 20, "blk256.vec8.plain")};
    const selection found = choose(n_problem(1 << 20), rows);
    EXPECT_EQ(found.match, config_match::nearest);
    EXPECT_EQ(found.label, "blk128.vec4.bulk");
    ASSERT_EQ(found.refused.size(), 2u) << joined(found.refused);
    EXPECT_TRUE(contains(found.refused[0], "n=1048576 \"blk256.vec8.plain\"")) << found.refused[0];
    EXPECT_TRUE(contains(found.refused[1], "n=2097152 \"blk999.vec4.plain\"")) << found.refused[1];
    // Every row tampered: the default, with every row reported, nearest first.
    const selection none = choose(n_problem(1 << 20), {rows[0], rows[2], rows[3]});
    EXPECT_EQ(none.match, config_match::default_config);
    EXPECT_EQ(none.label, "blk256.vec4.plain");
    ASSERT_EQ(none.refused.size(), 3u) << joined(none.refused);
    EXPECT_TRUE(contains(none.refused[2], "n=8388608 \"junk\"")) << none.refused[2];
}

TEST(CoreSelectConfig, MalformedProblemKeysAreIgnored) {
    const tuned_row far = n_row(1 << 10, "blk128.vec1.plain");
    for (const char* key :
         {"n=0", "n=-1", "n=01", "n=1x", "n=+1048576", "n=1048576 ", " n=1048576", "N=1048576",
          "n=1048576.n=1", "n=1048576.", "n==1048576", "n=1.048576", "n=99999999999999999999",
          "n=9223372036854775808", "rows=4", "cols=8.rows=4", "rows=4.cols=8", ""}) {
        const selection found = choose(n_problem(1 << 20), {far, row(key, "blk512.vec2.plain")});
        EXPECT_EQ(found.label, "blk128.vec1.plain") << "used key '" << key << "'";
        EXPECT_TRUE(found.refused.empty()) << key << ": " << joined(found.refused);
    }
    const tuned_row far_grid = row("rows=1.cols=1", "blk128.vec1.plain");
    for (const char* key :
         {"rows=4", "cols=8.rows=4", "rows=4.cols=8.n=1", "rows=4.cols=0", "rows=4.cols=-8", "rows=04.cols=8",
          "rows=4,cols=8", "rows=4.cols=8.", "n=32", "rows=4294967296.cols=4294967296", ""}) {
        const selection found = choose(grid_problem(4, 8), {far_grid, row(key, "blk512.vec2.plain")});
        EXPECT_EQ(found.label, "blk128.vec1.plain") << "used key '" << key << "'";
        EXPECT_TRUE(found.refused.empty()) << key << ": " << joined(found.refused);
    }
    // The largest key that parses is used.
    EXPECT_EQ(choose(n_problem(INT64_MAX), {row("n=9223372036854775807", "blk512.vec2.plain")}).match,
              config_match::exact);
}

TEST(CoreSelectConfig, DuplicateRowsThatAgreeCountAsOne) {
    const selection found =
        choose(n_problem(4096), {n_row(4096, "blk512.vec2.plain"), n_row(8192, "blk128.vec1.plain"),
                                 n_row(4096, "blk512.vec2.plain")});
    EXPECT_EQ(found.match, config_match::exact);
    EXPECT_EQ(found.label, "blk512.vec2.plain");
    EXPECT_TRUE(found.refused.empty()) << joined(found.refused);
}

TEST(CoreSelectConfig, DuplicateRowsThatDisagreeAreAllRefused) {
    // Two valid winners for one key: nothing says which the tuner chose, so neither is used.
    const selection found =
        choose(n_problem(4096), {n_row(4096, "blk512.vec2.plain"), n_row(8192, "blk128.vec1.plain"),
                                 n_row(4096, "blk256.vec4.bulk")});
    EXPECT_EQ(found.match, config_match::nearest);
    EXPECT_EQ(found.label, "blk128.vec1.plain");
    EXPECT_EQ(found.refused,
              (std::vector<std::string>{
                  "n=4096 \"blk256.vec4.bulk\" refused: other rows for n=4096 say \"blk512.vec2.plain\"",
                  "n=4096 \"blk512.vec2.plain\" refused: other rows for n=4096 say \"blk256.vec4.bulk\""}));
}

TEST(CoreSelectConfig, AnInvalidDuplicateDoesNotHideAValidOne) {
    for (bool valid_first : {true, false}) {
        std::vector<tuned_row> rows = {n_row(4096, "blk512.vec2.plain"),
                                       n_row(4096, "blk512.vec2.plain; --")};
        if (!valid_first) std::reverse(rows.begin(), rows.end());
        const selection found = choose(n_problem(4096), rows);
        EXPECT_EQ(found.match, config_match::exact);
        EXPECT_EQ(found.label, "blk512.vec2.plain");
        ASSERT_EQ(found.refused.size(), 1u);
        EXPECT_TRUE(contains(found.refused[0], "\"blk512.vec2.plain; --\"")) << found.refused[0];
    }
}

TEST(CoreSelectConfig, TheResultDoesNotDependOnTheRowOrder) {
    // Exact rows that disagree, one tampered, a tie at 2x, a stale row, a malformed key.
    std::vector<tuned_row> rows = {n_row(4096, "blk512.vec2.plain"),   n_row(4096, "blk256.vec4.bulk"),
                                   n_row(4096, "blk1.vec1.plain"),     n_row(2048, "blk128.vec1.plain"),
                                   n_row(8192, "blk128.vec2.plain"),   n_row(8192, "blk300.vec2.plain"),
                                   row("n=04096", "blk512.vec4.plain")};
    rows.push_back(n_row(4096, "blk512.vec1.plain"));
    rows.back().nvrtc_version = "12.9";
    std::vector<std::size_t> index(rows.size());
    std::iota(index.begin(), index.end(), 0);
    const selection first = choose(n_problem(4096), rows);
    EXPECT_EQ(first.match, config_match::nearest);
    EXPECT_EQ(first.label, "blk128.vec2.plain");  // 8192 beats 2048 at the same distance
    EXPECT_EQ(first.refused.size(), 4u) << joined(first.refused);
    int permutations = 0;
    do {
        std::vector<tuned_row> shuffled;
        for (std::size_t i : index) shuffled.push_back(rows[i]);
        const selection again = select_config(toy(), dtype::f32, n_problem(4096), gpu_a, nvrtc, no_regimes_device, shuffled);
        ASSERT_EQ(again.chosen, first.chosen);
        ASSERT_EQ(again.match, first.match);
        ASSERT_EQ(again.refused, first.refused) << joined(again.refused);
        ++permutations;
    } while (std::next_permutation(index.begin(), index.end()));
    EXPECT_EQ(permutations, 40320);
}

// toy() as a member of a family, as generated expressions are.
kernel_spec family_toy() {
    kernel_spec spec = toy();
    spec.family = "ew1_0badcafe";
    return spec;
}

// A winner of another template of toy()'s family.
tuned_row family_row(std::string template_name, std::int64_t n, std::string label) {
    tuned_row r = n_row(n, std::move(label));
    r.template_name = std::move(template_name);
    r.template_hash = "another hash";
    r.family = "ew1_0badcafe";
    return r;
}

selection choose_in_family(const problem& wanted, const std::vector<tuned_row>& rows, dtype type = dtype::f32) {
    return select_config(family_toy(), type, wanted, gpu_a, nvrtc, no_regimes_device, rows);
}

TEST(CoreSelectConfig, AnUntunedMemberOfAFamilyBorrowsTheNearestConfigOfItsFamily) {
    const selection found = choose_in_family(
        n_problem(1 << 20), {family_row("ew1_0badcafe_a", 1 << 10, "blk128.vec1.plain"),
                             family_row("ew1_0badcafe_b", 1 << 21, "blk512.vec4.bulk")});
    EXPECT_EQ(found.match, config_match::family);
    EXPECT_EQ(found.label, "blk512.vec4.bulk");
    EXPECT_TRUE(found.refused.empty()) << joined(found.refused);
    // Even a family row at the very problem is a borrowed config, not an exact match.
    EXPECT_EQ(choose_in_family(n_problem(1 << 10), {family_row("ew1_0badcafe_a", 1 << 10, "blk128.vec1.plain")}).match,
              config_match::family);
}

TEST(CoreSelectConfig, ItsOwnRowsAtAnyDistanceComeBeforeItsFamily) {
    const selection found = choose_in_family(
        n_problem(1 << 20), {n_row(1 << 10, "blk128.vec1.plain"), family_row("ew1_0badcafe_b", 1 << 20, "blk512.vec4.bulk")});
    EXPECT_EQ(found.match, config_match::nearest);
    EXPECT_EQ(found.label, "blk128.vec1.plain");
}

TEST(CoreSelectConfig, FamilyRowsMustShareTheFamilyDtypeGpuAndNvrtc) {
    std::vector<tuned_row> rows = {family_row("ew1_0badcafe_a", 1 << 20, "blk512.vec4.bulk"),
                                   family_row("ew1_0badcafe_b", 1 << 20, "blk512.vec4.bulk"),
                                   family_row("ew1_0badcafe_c", 1 << 20, "blk512.vec4.bulk"),
                                   family_row("ew1_0badcafe_d", 1 << 20, "blk512.vec4.bulk"),
                                   family_row("ew1_0badcafe_e", 1 << 20, "blk512.vec4.bulk")};
    rows[0].family = "ew1_5ca1ab1e";  // another skeleton
    rows[1].family.clear();           // no family at all
    rows[2].dtype = "f16";
    rows[3].gpu_identity = gpu_a_cut;
    rows[4].nvrtc_version = "12.9";
    const selection found = choose_in_family(n_problem(1 << 20), rows);
    EXPECT_EQ(found.match, config_match::default_config);
    EXPECT_TRUE(found.refused.empty()) << joined(found.refused);
    // A template of no family never borrows, whatever the rows say.
    rows = {family_row("ew1_0badcafe_a", 1 << 20, "blk512.vec4.bulk")};
    EXPECT_EQ(choose(n_problem(1 << 20), rows).match, config_match::default_config);
}

TEST(CoreSelectConfig, FamilyMembersAtOneDistanceAreTriedByNameAndBadLabelsAreRefused) {
    const selection found = choose_in_family(
        n_problem(1 << 20), {family_row("ew1_0badcafe_c", 1 << 21, "blk512.vec2.plain"),
                             family_row("ew1_0badcafe_b", 1 << 19, "blk128.vec3.plain"),
                             family_row("ew1_0badcafe_a", 1 << 21, "blk128.vec2.plain")});
    // 2^21 is tried before 2^19 (more elements); at 2^21, template a before c.
    EXPECT_EQ(found.match, config_match::family);
    EXPECT_EQ(found.label, "blk128.vec2.plain");
    EXPECT_TRUE(found.refused.empty()) << joined(found.refused);
    const selection refused = choose_in_family(
        n_problem(1 << 20), {family_row("ew1_0badcafe_b", 1 << 20, "blk128.vec3.plain"),
                             family_row("ew1_0badcafe_a", 1 << 22, "blk256.vec1.plain")});
    EXPECT_EQ(refused.label, "blk256.vec1.plain");
    ASSERT_EQ(refused.refused.size(), 1u);
    EXPECT_TRUE(contains(refused.refused[0], "ew1_0badcafe_b n=1048576")) << refused.refused[0];
}

// toy() with a kernel of its own for n <= 100 (a derived parameter, as softmax's held classes).
const kernel_spec& two_code_toy() {
    static const kernel_spec spec = [] {
        kernel_spec s = toy();
        param_spec code;
        code.name = "CODE";
        code.kind = param_kind::derived;
        code.values = {0, 1};
        code.rule = expression::parse("n <= 100 ? 0 : 1");
        s.derived.push_back(code);
        return s;
    }();
    return spec;
}

TEST(CoreSelectConfig, ProblemsOfTheWantedCodeAreBorrowedFromFirstThenTheNearestOfAny) {
    const auto choose_coded = [](std::int64_t n, const std::vector<tuned_row>& rows) {
        return choose(n_problem(n), rows, dtype::f32, two_code_toy());
    };
    // 110 is nearer to 90 than to 1000 but takes the kernel of 1000.
    const std::vector<tuned_row> rows = {n_row(90, "blk128.vec1.plain"), n_row(1000, "blk512.vec4.bulk")};
    const selection near_code = choose_coded(110, rows);
    EXPECT_EQ(near_code.match, config_match::nearest);
    EXPECT_EQ(near_code.label, "blk512.vec4.bulk");
    EXPECT_EQ(choose_coded(80, rows).label, "blk128.vec1.plain");
    // Exact still beats the code; without a row of its code, the nearest of the other.
    EXPECT_EQ(choose_coded(90, rows).match, config_match::exact);
    EXPECT_EQ(choose_coded(110, {rows[0]}).label, "blk128.vec1.plain");
    // A refused row of its code gives way to the other code's.
    const selection refused = choose_coded(110, {rows[0], n_row(1000, "blk300.vec4.bulk")});
    EXPECT_EQ(refused.label, "blk128.vec1.plain");
    ASSERT_EQ(refused.refused.size(), 1u);
    EXPECT_TRUE(contains(refused.refused[0], "n=1000")) << refused.refused[0];
}

// toy() with a problem constraint: no more threads than elements, 256 at least.
const kernel_spec& narrow_toy() {
    static const kernel_spec spec = [] {
        kernel_spec s = toy();
        s.problem_constraints.push_back({expression::parse("BLOCK <= max(256, n)"), 1});
        return s;
    }();
    return spec;
}

TEST(CoreSelectConfig, ARowWhoseConfigIsNoCandidateAtTheWantedProblemIsSkippedNotRefused) {
    const auto choose_narrow = [](std::int64_t n, const std::vector<tuned_row>& rows) {
        return choose(n_problem(n), rows, dtype::f32, narrow_toy());
    };
    // 300 is nearest to 1000, whose 512 threads are no candidate for 300 elements: 90's config.
    const std::vector<tuned_row> rows = {n_row(90, "blk128.vec1.plain"), n_row(1000, "blk512.vec4.bulk")};
    const selection skipped = choose_narrow(300, rows);
    EXPECT_EQ(skipped.match, config_match::nearest);
    EXPECT_EQ(skipped.label, "blk128.vec1.plain");
    EXPECT_TRUE(skipped.refused.empty()) << joined(skipped.refused);
    EXPECT_EQ(choose_narrow(600, rows).label, "blk512.vec4.bulk");
    // With nothing else, the default (a candidate or not: it is what runs without a tune).
    const selection fallback = choose_narrow(300, {rows[1]});
    EXPECT_EQ(fallback.match, config_match::default_config);
    EXPECT_TRUE(fallback.refused.empty()) << joined(fallback.refused);
}

TEST(CoreSelectConfig, AnInvalidRequestIsAnError) {
    EXPECT_TRUE(contains(error_of([] {
                             select_config(toy(), dtype::f32, problem{{"n"}, {0}, {}}, gpu_a, nvrtc, no_regimes_device, {});
                         }),
                         "must be >= 1"));
    EXPECT_THROW(select_config(toy(), dtype::f32, problem{{"rows", "cols"}, {4}, {}}, gpu_a, nvrtc, no_regimes_device, {}),
                 error);
    EXPECT_THROW(select_config(toy(), dtype::f32, problem{{}, {}, {}}, gpu_a, nvrtc, no_regimes_device, {}), error);
}

} // namespace
} // namespace kerntune
