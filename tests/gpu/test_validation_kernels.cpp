// gpu label: what the validation kernels (templates/support/validation.cu) compute, on small
// arrays whose answers are known: the fills' value sets and the comparisons' verdicts.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "cuda/nvrtc.hpp"
#include "kernel_harness.hpp"
#include "catalog/template_folder.hpp"

namespace kerntune::testing {
namespace {

/// The validation kernels named by their expressions, compiled for GPU 0 and loaded.
class validation_kernels {
public:
    explicit validation_kernels(const std::vector<std::string>& expressions) : m_context(0) {
        const compiled_program program =
            compile({{"validation.cu", *template_folder::support().read("validation.cu")}, expressions, query_device(0).arch()});
        if (!program.ok) throw error("validation kernels failed to compile: " + program.log);
        m_module = loaded_module(program.cubin);
        for (std::size_t i = 0; i < expressions.size(); ++i)
            m_functions[expressions[i]] = m_module.function(program.lowered_names[i]);
    }

    /// Runs `expression` over a grid of 4 blocks of 64 threads (fewer threads than the tests'
    /// larger arrays, so the grid-stride loops and the atomics across blocks are exercised).
    void launch(const std::string& expression, void** args) const {
        KERNTUNE_CU(cuLaunchKernel(m_functions.at(expression), 4, 1, 1, 64, 1, 1, 0, nullptr, args, nullptr));
        KERNTUNE_CU(cuCtxSynchronize());
    }

private:
    primary_context m_context;
    loaded_module m_module;
    std::map<std::string, CUfunction> m_functions;
};

std::string kernel_name(const std::string& kernel, const std::string& type) {
    return "kt_validation::" + kernel + "<" + type + ">";
}

/// Elements of `bytes` bytes each, from the low bytes of `values`, copied to the device.
device_buffer upload(const std::vector<std::uint64_t>& values, std::size_t bytes) {
    std::vector<unsigned char> host(values.size() * bytes);
    for (std::size_t i = 0; i < values.size(); ++i) std::memcpy(&host[i * bytes], &values[i], bytes);
    device_buffer buffer(std::max<std::size_t>(host.size(), 1));
    if (!host.empty()) KERNTUNE_CU(cuMemcpyHtoD(buffer.get(), host.data(), host.size()));
    return buffer;
}

/// n elements of `bytes` bytes each from the device, zero-extended.
std::vector<std::uint64_t> download(const device_buffer& buffer, std::size_t n, std::size_t bytes) {
    std::vector<unsigned char> host(n * bytes);
    KERNTUNE_CU(cuMemcpyDtoH(host.data(), buffer.get(), host.size()));
    std::vector<std::uint64_t> values(n, 0);
    for (std::size_t i = 0; i < n; ++i) std::memcpy(&values[i], &host[i * bytes], bytes);
    return values;
}

/// The layout of one floating-point dtype, written out for the host.
struct float_layout {
    dtype type;
    int mantissa_bits;
    int bias;
    std::uint32_t sign() const { return dtype_size(type) == 4 ? 0x80000000u : 0x8000u; }
    std::uint32_t infinity() const { return static_cast<std::uint32_t>(2 * bias + 1) << mantissa_bits; }
    std::uint32_t max_finite() const { return infinity() - 1; }
    std::uint32_t one() const { return static_cast<std::uint32_t>(bias) << mantissa_bits; }
    std::uint32_t quiet_nan() const { return infinity() | (1u << (mantissa_bits - 1)); }
    std::uint32_t biased_exponent(std::uint32_t bits) const { return (bits & (sign() - 1)) >> mantissa_bits; }
    std::uint32_t mantissa(std::uint32_t bits) const { return bits & ((1u << mantissa_bits) - 1); }
    /// The bits of `value`, which the tests choose exact in every dtype.
    std::uint32_t bits(float value) const {
        switch (type) {
            case dtype::f32:
                return bits_of(value);
            case dtype::f16:
                return float_to_half(value);
            case dtype::bf16:
                return float_to_bf16(value);
            case dtype::i32:
            case dtype::i64:
                break;  // float layouts only
        }
        return 0;
    }
    /// The value of `bits`.
    double value(std::uint32_t bits) const {
        switch (type) {
            case dtype::f32:
                return float_of(bits);
            case dtype::f16:
                return half_to_float(static_cast<std::uint16_t>(bits));
            case dtype::bf16:
                return bf16_to_float(static_cast<std::uint16_t>(bits));
            case dtype::i32:
            case dtype::i64:
                break;  // float layouts only
        }
        return 0;
    }
};

float_layout layout_of(dtype type) {
    switch (type) {
        case dtype::f32:
            return {type, 23, 127};
        case dtype::f16:
            return {type, 10, 15};
        case dtype::bf16:
            return {type, 7, 127};
        case dtype::i32:
        case dtype::i64:
            break;  // integers have no float layout
    }
    throw error("no layout");
}

class ValidationFloatKernels : public ::testing::TestWithParam<dtype> {
protected:
    void SetUp() override { KERNTUNE_REQUIRE_GPU(); }
    dtype type() const { return GetParam(); }
    std::string cuda_type() const { return std::string(cuda_type_name(type())); }
    std::size_t bytes() const { return dtype_size(type()); }
};

// ---- fill_finite ----------------------------------------------------------------------------

std::vector<std::uint64_t> fill_finite(const validation_kernels& kernels, const std::string& type,
                                       std::size_t bytes, std::size_t n, unsigned long long seed,
                                       int min_exponent, int max_exponent) {
    device_buffer data(n * bytes);
    CUdeviceptr pointer = data.get();
    long long count = static_cast<long long>(n);
    void* args[] = {&pointer, &count, &seed, &min_exponent, &max_exponent};
    kernels.launch(kernel_name("fill_finite", type), args);
    return download(data, n, bytes);
}

TEST_P(ValidationFloatKernels, FillFiniteGivesFiniteNormalValuesSpanningTheExponentRange) {
    const float_layout layout = layout_of(type());
    const validation_kernels kernels({kernel_name("fill_finite", cuda_type())});
    constexpr std::size_t n = 1 << 16;  // 2^16 values: every exponent of the widest range ~258 times
    // [-20, 20] fits float and bfloat16; half's normal exponents end at -14 and 15.
    const int low = std::max(-20, 1 - layout.bias), high = std::min(20, layout.bias);
    const std::vector<std::uint64_t> values = fill_finite(kernels, cuda_type(), bytes(), n, 42, -20, 20);

    std::map<int, std::size_t> exponents;
    std::set<std::uint32_t> mantissas;
    std::size_t negative = 0;
    double mantissa_sum = 0;
    for (std::uint64_t value : values) {
        const auto bits = static_cast<std::uint32_t>(value);
        const std::uint32_t biased = layout.biased_exponent(bits);
        ASSERT_NE(biased, 0u) << std::hex << bits << ": zero or subnormal";
        ASSERT_NE(biased, static_cast<std::uint32_t>(2 * layout.bias + 1))
            << std::hex << bits << ": inf or NaN";
        ++exponents[static_cast<int>(biased) - layout.bias];
        mantissas.insert(layout.mantissa(bits));
        mantissa_sum += 1.0 + std::ldexp(layout.mantissa(bits), -layout.mantissa_bits);
        negative += (bits & layout.sign()) != 0;
    }
    EXPECT_EQ(exponents.begin()->first, low);
    EXPECT_EQ(exponents.rbegin()->first, high);
    EXPECT_EQ(exponents.size(), static_cast<std::size_t>(high - low + 1))
        << "an exponent in the range is missing";
    for (const auto& [exponent, count] : exponents)  // uniform: each near n / span
        EXPECT_GT(count, n / (high - low + 1) / 2) << "exponent " << exponent;
    // Fair signs and m uniform in [1, 2): bounds of many standard deviations, for a fixed seed.
    EXPECT_NEAR(static_cast<double>(negative) / n, 0.5, 0.02);
    EXPECT_NEAR(mantissa_sum / n, 1.5, 0.02);
    const std::size_t possible = std::min<std::size_t>(std::size_t{1} << layout.mantissa_bits, n);
    EXPECT_GT(mantissas.size(), possible * 9 / 10) << "mantissas must be random bits";
}

TEST_P(ValidationFloatKernels, FillFiniteClampsToTheNormalRangeAndNeverOverflows) {
    const float_layout layout = layout_of(type());
    const validation_kernels kernels({kernel_name("fill_finite", cuda_type())});
    constexpr std::size_t n = 1 << 16;
    std::set<int> exponents;
    std::set<std::uint32_t> largest_exponent_mantissas;
    for (std::uint64_t value : fill_finite(kernels, cuda_type(), bytes(), n, 7, -1000, 1000)) {
        const auto bits = static_cast<std::uint32_t>(value);
        const std::uint32_t biased = layout.biased_exponent(bits);
        ASSERT_GE(biased, 1u) << std::hex << bits;
        ASSERT_LE(biased, static_cast<std::uint32_t>(2 * layout.bias)) << std::hex << bits << ": not finite";
        exponents.insert(static_cast<int>(biased) - layout.bias);
        if (static_cast<int>(biased) == 2 * layout.bias)
            largest_exponent_mantissas.insert(layout.mantissa(bits));
    }
    EXPECT_EQ(*exponents.begin(), 1 - layout.bias) << "the smallest normal exponent";
    EXPECT_EQ(*exponents.rbegin(), layout.bias) << "the largest finite exponent";
    EXPECT_EQ(exponents.size(), static_cast<std::size_t>(2 * layout.bias));
    EXPECT_GT(largest_exponent_mantissas.size(), 1u) << "the top binade is filled, not rounded away";

    // One exponent above the range: every value is +-m * 2^max, finite.
    for (std::uint64_t value : fill_finite(kernels, cuda_type(), bytes(), 4096, 8, 5000, 6000))
        ASSERT_EQ(layout.biased_exponent(static_cast<std::uint32_t>(value)),
                  static_cast<std::uint32_t>(2 * layout.bias));
    // A single exponent in range: every value in +-[8, 16).
    for (std::uint64_t value : fill_finite(kernels, cuda_type(), bytes(), 4096, 9, 3, 3))
        ASSERT_EQ(static_cast<int>(layout.biased_exponent(static_cast<std::uint32_t>(value))),
                  3 + layout.bias);
}

TEST_P(ValidationFloatKernels, FillFiniteDependsOnTheSeedAndNotOnTheOrderOfTheBounds) {
    const validation_kernels kernels({kernel_name("fill_finite", cuda_type())});
    const std::vector<std::uint64_t> first = fill_finite(kernels, cuda_type(), bytes(), 1000, 5, -4, 4);
    EXPECT_EQ(fill_finite(kernels, cuda_type(), bytes(), 1000, 5, -4, 4), first) << "same seed, same values";
    EXPECT_EQ(fill_finite(kernels, cuda_type(), bytes(), 1000, 5, 4, -4), first) << "bounds in either order";
    EXPECT_NE(fill_finite(kernels, cuda_type(), bytes(), 1000, 6, -4, 4), first)
        << "another seed, other values";
}

// ---- compare_ulp and compare_tolerance --------------------------------------------------------

/// One pair of elements and whether the comparison must call them equal.
struct comparison_case {
    std::string what;
    std::uint32_t actual, expected;
    bool equal;
};

/// result[0] and result[1] after running a comparison of n elements, set to {0, n} before.
struct comparison_result {
    std::uint64_t mismatches, first;
};

/// Runs `kernel` on the pairs of `cases` with its trailing scalar arguments `extra`.
comparison_result compare(const validation_kernels& kernels, const std::string& kernel, std::size_t bytes,
                          const std::vector<comparison_case>& cases, std::vector<void*> extra) {
    std::vector<std::uint64_t> actual, expected;
    for (const comparison_case& c : cases) {
        actual.push_back(c.actual);
        expected.push_back(c.expected);
    }
    device_buffer actual_buffer = upload(actual, bytes), expected_buffer = upload(expected, bytes);
    long long n = static_cast<long long>(cases.size());
    device_buffer result_buffer = upload({0, static_cast<std::uint64_t>(n)}, 8);
    CUdeviceptr actual_pointer = actual_buffer.get(), expected_pointer = expected_buffer.get();
    CUdeviceptr result_pointer = result_buffer.get();
    std::vector<void*> args = {&actual_pointer, &expected_pointer, &n, &result_pointer};
    args.insert(args.end(), extra.begin(), extra.end());
    kernels.launch(kernel, args.data());
    const std::vector<std::uint64_t> result = download(result_buffer, 2, 8);
    return {result[0], result[1]};
}

/// Each case on its own (its verdict, so two wrong verdicts cannot cancel out), then all of them
/// repeated to 1000 elements in one launch (the count and the first index across blocks).
void expect_verdicts(const validation_kernels& kernels, const std::string& kernel, std::size_t bytes,
                     const std::vector<comparison_case>& cases, const std::vector<void*>& extra) {
    for (const comparison_case& c : cases) {
        SCOPED_TRACE(c.what);
        const comparison_result result = compare(kernels, kernel, bytes, {c}, extra);
        EXPECT_EQ(result.mismatches, c.equal ? 0u : 1u)
            << std::hex << "actual 0x" << c.actual << ", expected 0x" << c.expected;
        EXPECT_EQ(result.first, c.equal ? 1u : 0u);
    }
    ASSERT_TRUE(cases.front().equal) << "the first case must be equal, so the first mismatch is found later";
    std::vector<comparison_case> repeated;
    std::uint64_t mismatches = 0, first = 0;
    while (repeated.size() < 1000) {
        for (const comparison_case& c : cases) {
            if (!c.equal && mismatches++ == 0) first = repeated.size();
            repeated.push_back(c);
        }
    }
    const comparison_result result = compare(kernels, kernel, bytes, repeated, extra);
    EXPECT_EQ(result.mismatches, mismatches);
    EXPECT_EQ(result.first, first);
}

TEST_P(ValidationFloatKernels, CompareUlpAllowsUpToMaxUlpAndTreatsZerosNansAndInfinitiesAsValues) {
    const float_layout f = layout_of(type());
    const std::string kernel = kernel_name("compare_ulp", cuda_type());
    const validation_kernels kernels({kernel});
    const std::uint32_t one = f.one(), minus = f.sign(), inf = f.infinity(), max = f.max_finite();
    const std::uint32_t nan = f.quiet_nan(), other_nan = minus | inf | 1;  // negative, signalling, payload 1
    const std::vector<comparison_case> cases = {
        {"identical", one, one, true},
        {"1 ulp above", one + 1, one, true},
        {"1 ulp below, in the binade below", one - 1, one, true},
        {"2 ulp: the bound", one + 2, one, true},
        {"3 ulp above", one + 3, one, false},
        {"3 ulp below", one - 3, one, false},
        {"3 ulp, actual below expected", one, one + 3, false},
        {"1 ulp, negative", minus | (one + 1), minus | one, true},
        {"3 ulp, negative", minus | (one + 3), minus | one, false},
        {"+0 vs -0", 0, minus, true},
        {"-0 vs +0", minus, 0, true},
        {"smallest subnormals of either sign: 2 ulp", 1, minus | 1, true},
        {"second subnormals of either sign: 4 ulp", 2, minus | 2, false},
        {"+1 vs -1", one, minus | one, false},
        {"largest finite values of either sign", max, minus | max, false},
        {"NaN vs NaN of another sign and payload", nan, other_nan, true},
        {"NaN vs 1", nan, one, false},
        {"1 vs NaN", one, nan, false},
        {"NaN vs inf", nan, inf, false},
        {"inf vs inf", inf, inf, true},
        {"-inf vs -inf", minus | inf, minus | inf, true},
        {"inf vs -inf", inf, minus | inf, false},
        {"largest finite vs inf: next to each other, yet not equal", max, inf, false},
        {"inf vs largest finite", inf, max, false},
    };
    long long max_ulp = 2;
    expect_verdicts(kernels, kernel, bytes(), cases, {&max_ulp});

    long long exact = 0;
    expect_verdicts(kernels, kernel, bytes(),
                    {{"identical", one, one, true},
                     {"1 ulp with max_ulp 0", one + 1, one, false},
                     {"+0 vs -0 with max_ulp 0", 0, minus, true},
                     {"NaNs with max_ulp 0", nan, other_nan, true}},
                    {&exact});
}

TEST_P(ValidationFloatKernels, CompareToleranceAcceptsWithinAtolPlusRtolTimesExpectedAndRefusesOutside) {
    const float_layout f = layout_of(type());
    const std::string kernel = kernel_name("compare_tolerance", cuda_type());
    const validation_kernels kernels({kernel});
    // Every value below is exact in float, half and bfloat16 (at most 8 significant bits).
    auto v = [&](float value) { return f.bits(value); };
    const std::uint32_t minus = f.sign(), inf = f.infinity(), max = f.max_finite(), nan = f.quiet_nan();
    double atol = 1e-3, rtol = 1e-2;
    expect_verdicts(kernels, kernel, bytes(),
                    {{"identical", v(1), v(1), true},
                     {"2^-11 from 0: within atol", v(0x1p-11f), v(0), true},
                     {"2^-9 from 0: outside atol", v(0x1p-9f), v(0), false},
                     {"64.5 vs 64: within atol + rtol * 64", v(64.5f), v(64), true},
                     {"65 vs 64: outside", v(65), v(64), false},
                     {"-64.5 vs -64: within", v(-64.5f), v(-64), true},
                     {"-65 vs -64: outside", v(-65), v(-64), false},
                     {"64 vs -64", v(64), v(-64), false},
                     {"+0 vs -0", v(0), minus, true},
                     {"NaN vs NaN of another sign and payload", nan, minus | inf | 1, true},
                     {"NaN vs 1", nan, v(1), false},
                     {"1 vs NaN", v(1), nan, false},
                     {"inf vs inf", inf, inf, true},
                     {"-inf vs -inf", minus | inf, minus | inf, true},
                     {"inf vs -inf", inf, minus | inf, false},
                     {"largest finite vs inf", max, inf, false},
                     {"inf vs largest finite", inf, max, false}},
                    {&atol, &rtol});

    // The bound is inclusive and scales |expected|, not |actual|.
    atol = 0;
    rtol = 0.5;
    expect_verdicts(kernels, kernel, bytes(),
                    {{"1 vs 2: |d| = 0.5 * |expected|", v(1), v(2), true},
                     {"2 vs 1: |d| = 2 * 0.5 * |expected|", v(2), v(1), false},
                     {"-3 vs -2: |d| = 0.5 * |expected|", v(-3), v(-2), true}},
                    {&atol, &rtol});

    // In double: largest - (-largest) overflows T but not double.
    atol = 2.5 * f.value(max);
    rtol = 0;
    expect_verdicts(kernels, kernel, bytes(),
                    {{"largest vs -largest, atol 2.5 * largest", max, minus | max, true},
                     {"inf vs largest, atol 2.5 * largest", inf, max, false}},
                    {&atol, &rtol});

    // An infinite atol accepts every finite pair, and still no infinity or NaN with a number.
    atol = std::numeric_limits<double>::infinity();
    expect_verdicts(kernels, kernel, bytes(),
                    {{"largest vs 0, atol inf", max, v(0), true},
                     {"inf vs 0, atol inf", inf, v(0), false},
                     {"0 vs -inf, atol inf", v(0), minus | inf, false},
                     {"NaN vs 0, atol inf", nan, v(0), false}},
                    {&atol, &rtol});
}

INSTANTIATE_TEST_SUITE_P(Dtypes, ValidationFloatKernels,
                         ::testing::Values(dtype::f32, dtype::f16, dtype::bf16),
                         [](const ::testing::TestParamInfo<dtype>& info) {
                             return std::string(to_string(info.param));
                         });

// ---- fill_random on integers -------------------------------------------------------------------

struct integer_type {
    std::string name;
    std::size_t bytes;
    std::vector<std::uint64_t> specials;  // 0, -1, 1, min, max, min + 1, max - 1 in the type's bits
};

void PrintTo(const integer_type& type, std::ostream* out) { *out << type.name; }

class ValidationIntegerFill : public ::testing::TestWithParam<integer_type> {
protected:
    void SetUp() override { KERNTUNE_REQUIRE_GPU(); }
};

TEST_P(ValidationIntegerFill, FillRandomMixesTheEdgesIntoRandomPatternsOfEveryBit) {
    const integer_type& type = GetParam();
    const std::string kernel = kernel_name("fill_random", type.name);
    const validation_kernels kernels({kernel});
    constexpr std::size_t n = 4096;  // each special ~n / 8 / 7 = 73 times
    device_buffer data(n * type.bytes);
    CUdeviceptr pointer = data.get();
    long long count = n;
    unsigned long long seed = 1234;
    void* args[] = {&pointer, &count, &seed};
    kernels.launch(kernel, args);
    const std::vector<std::uint64_t> values = download(data, n, type.bytes);

    const std::set<std::uint64_t> distinct(values.begin(), values.end());
    for (std::uint64_t special : type.specials)
        EXPECT_EQ(distinct.count(special), 1u) << std::hex << "0x" << special << " never appears";
    EXPECT_GT(distinct.size(), n * 8 / 10) << "the rest must be random patterns";
    // Every bit of the element is random: each is set in about half of the values.
    for (std::size_t bit = 0; bit < 8 * type.bytes; ++bit) {
        const auto set =
            std::count_if(values.begin(), values.end(), [&](std::uint64_t x) { return (x >> bit) & 1; });
        EXPECT_NEAR(static_cast<double>(set) / n, 0.5, 0.1) << "bit " << bit;
    }
}

INSTANTIATE_TEST_SUITE_P(
    Types, ValidationIntegerFill,
    ::testing::Values(
        integer_type{"int", 4, {0, 0xffffffffu, 1, 0x80000000u, 0x7fffffffu, 0x80000001u, 0x7ffffffeu}},
        integer_type{"long long",
                     8,
                     {0, ~0ull, 1, 0x8000000000000000ull, 0x7fffffffffffffffull, 0x8000000000000001ull,
                      0x7ffffffffffffffeull}}),
    [](const ::testing::TestParamInfo<integer_type>& info) {
        return std::string(info.param.bytes == 4 ? "int" : "long_long");
    });

}  // namespace
}  // namespace kerntune::testing
