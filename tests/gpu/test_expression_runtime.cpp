// gpu label: elementwise expressions as an application uses them (kerntune::elementwise and the
// kt_expression_* C ABI): results bit for bit against the host evaluation, any placement and in
// place, scalars given and defaulted, bad input as statuses, and the family lookup.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>

#include "catalog/catalog.hpp"
#include "core/config.hpp"
#include "elementwise/elementwise_expression.hpp"
#include "kernel_harness.hpp"
#include "kerntune/kerntune.h"
#include "kerntune/kerntune.hpp"
#include "tune/tuner.hpp"
#include "../unit/test_core_support.hpp"

namespace kerntune::testing {
namespace {

kt_dtype to_kt(dtype type) { return type == dtype::f32 ? KT_F32 : type == dtype::f16 ? KT_F16 : KT_BF16; }

float widened(dtype type, std::uint32_t bits) {
    return type == dtype::f32   ? float_of(bits)
           : type == dtype::f16 ? half_to_float(static_cast<std::uint16_t>(bits))
                                : bf16_to_float(static_cast<std::uint16_t>(bits));
}

std::uint32_t rounded(dtype type, float value) {
    return type == dtype::f32 ? bits_of(value) : type == dtype::f16 ? float_to_half(value) : float_to_bf16(value);
}

// Only operations that are correctly rounded on both sides (+ - * / sqrt, min, max, abs, where,
// comparisons), so that the host's evaluation is the device's bit for bit.
constexpr const char* exact_text = "where(x > y, x * alpha - y, min(abs(x), sqrt(abs(y))) / (1 + x))";

/// Launches `e` over two random inputs of n elements placed at the given element offsets (the
/// output in place over x when asked), and counts the elements that differ from the host.
std::size_t wrong_elements(const elementwise& e, const elementwise_expression& host, dtype type, std::size_t n,
                           int x_offset, int y_offset, int out_offset, bool in_place, const float* scalars,
                           int num_scalars, std::mt19937& rng) {
    const std::size_t size = dtype_size(type);
    const std::vector<std::uint32_t> xs = random_bits(type, n, rng), ys = random_bits(type, n, rng);
    std::vector<unsigned char> x_host(n * size), y_host(n * size);
    for (std::size_t i = 0; i < n; ++i) {
        std::memcpy(&x_host[i * size], &xs[i], size);
        std::memcpy(&y_host[i * size], &ys[i], size);
    }
    device_buffer x_buffer(x_host.size() + 64), y_buffer(y_host.size() + 64), out_buffer(x_host.size() + 64);
    const CUdeviceptr x = x_buffer.get() + static_cast<CUdeviceptr>(x_offset) * size;
    const CUdeviceptr y = y_buffer.get() + static_cast<CUdeviceptr>(y_offset) * size;
    const CUdeviceptr out = in_place ? x : out_buffer.get() + static_cast<CUdeviceptr>(out_offset) * size;
    KERNTUNE_CU(cuMemcpyHtoD(x, x_host.data(), x_host.size()));
    KERNTUNE_CU(cuMemcpyHtoD(y, y_host.data(), y_host.size()));
    const void* inputs[] = {reinterpret_cast<const void*>(x), reinterpret_cast<const void*>(y)};
    e.launch(to_kt(type), static_cast<std::int64_t>(n), inputs, 2, reinterpret_cast<void*>(out), scalars, num_scalars);
    std::vector<unsigned char> got(n * size);
    KERNTUNE_CU(cuMemcpyDtoH(got.data(), out, got.size()));
    std::vector<float> values;
    for (const scalar_default& s : host.scalars()) values.push_back(s.value);
    for (int i = 0; i < num_scalars; ++i) values[static_cast<std::size_t>(i)] = scalars[i];
    std::size_t wrong = 0;
    for (std::size_t i = 0; i < n; ++i) {
        const float in[] = {widened(type, xs[i]), widened(type, ys[i])};
        const std::uint32_t want = rounded(type, host.evaluate(in, values.data()));
        std::uint32_t have = 0;
        std::memcpy(&have, &got[i * size], size);
        wrong += is_nan(type, want) ? !is_nan(type, have) : have != want;
    }
    return wrong;
}

class ExpressionRuntime : public testing::gpu_context_test {};

TEST_F(ExpressionRuntime, LaunchesAreBitExactForAnyPlacementInPlaceAndWithScalarsGivenOrNot) {
    runtime rt(scratch_path("expression-missing.db").string());
    const elementwise e = rt.elementwise(exact_text, {{"alpha", 0.75f}});
    const elementwise_expression host = elementwise_expression::parse(exact_text, {{"alpha", 0.75f}});
    EXPECT_EQ(e.input_count(), 2);
    EXPECT_EQ(e.scalar_count(), 1);
    std::mt19937 rng(3);
    const float alpha = -1.5f;
    for (dtype type : {dtype::f32, dtype::f16, dtype::bf16}) {
        for (std::size_t n : {std::size_t{1}, std::size_t{7}, std::size_t{4099}, std::size_t{1000003}}) {
            SCOPED_TRACE(std::string(to_string(type)) + " n=" + std::to_string(n));
            EXPECT_EQ(wrong_elements(e, host, type, n, 0, 0, 0, false, nullptr, 0, rng), 0u);
            EXPECT_EQ(wrong_elements(e, host, type, n, 1, 1, 1, false, &alpha, 1, rng), 0u);
            EXPECT_EQ(wrong_elements(e, host, type, n, 1, 2, 3, false, &alpha, 1, rng), 0u);  // scalar path
            EXPECT_EQ(wrong_elements(e, host, type, n, 5, 5, 0, true, nullptr, 0, rng), 0u);
        }
        EXPECT_EQ(e.query(to_kt(type), 1000003).match, KT_MATCH_DEFAULT);
    }
    // The same expression, spelt otherwise, is the same op.
    EXPECT_EQ(rt.elementwise("where( x>y , x*alpha-y , min(abs(x),sqrt(abs(y)))/(1.0+x) )", {{"alpha", 0.75f}}).op(),
              e.op());
}

TEST_F(ExpressionRuntime, TheCApiCreatesOnceLaunchesManyAndReportsBadInputAsStatuses) {
    kt_runtime* rt = nullptr;
    ASSERT_EQ(kt_runtime_create(scratch_path("expression-c.db").c_str(), &rt), KT_OK) << kt_last_error();
    kt_expression* e = nullptr;
    EXPECT_EQ(kt_expression_create(rt, "x * sigmoid(", nullptr, nullptr, 0, &e), KT_ERROR_INVALID_ARGUMENT);
    EXPECT_TRUE(test::contains(kt_last_error(), "column 13")) << kt_last_error();
    EXPECT_EQ(e, nullptr);
    EXPECT_EQ(kt_expression_create(rt, "x * beta", nullptr, nullptr, 0, &e), KT_ERROR_INVALID_ARGUMENT);
    EXPECT_TRUE(test::contains(kt_last_error(), "beta")) << kt_last_error();
    const char* names[] = {"n"};
    const float defaults[] = {1};
    EXPECT_EQ(kt_expression_create(rt, "x * n", names, defaults, 1, &e), KT_ERROR_INVALID_ARGUMENT);
    EXPECT_EQ(kt_expression_create(nullptr, "x", nullptr, nullptr, 0, &e), KT_ERROR_INVALID_ARGUMENT);
    EXPECT_EQ(kt_expression_create(rt, nullptr, nullptr, nullptr, 0, &e), KT_ERROR_INVALID_ARGUMENT);
    EXPECT_EQ(kt_expression_create(rt, "x", nullptr, nullptr, 2, &e), KT_ERROR_INVALID_ARGUMENT);

    const char* gain[] = {"gain"};
    const float gain_default[] = {2};
    ASSERT_EQ(kt_expression_create(rt, "x * gain + y", gain, gain_default, 1, &e), KT_OK) << kt_last_error();
    EXPECT_EQ(kt_expression_num_inputs(e), 2);
    EXPECT_EQ(kt_expression_num_scalars(e), 1);
    EXPECT_EQ(std::string(kt_expression_op(e)).substr(0, 4), "ew2_");
    const std::size_t n = 1000;
    std::vector<float> x(n), y(n), out(n);
    for (std::size_t i = 0; i < n; ++i) x[i] = static_cast<float>(i), y[i] = 0.5f;
    device_buffer xd(n * 4), yd(n * 4), outd(n * 4);
    KERNTUNE_CU(cuMemcpyHtoD(xd.get(), x.data(), n * 4));
    KERNTUNE_CU(cuMemcpyHtoD(yd.get(), y.data(), n * 4));
    const void* inputs[] = {reinterpret_cast<const void*>(xd.get()), reinterpret_cast<const void*>(yd.get())};
    void* output = reinterpret_cast<void*>(outd.get());
    for (float g : {2.0f, 3.0f}) {  // launched many times, with the default and a given scalar
        ASSERT_EQ(kt_expression_launch(e, KT_F32, n, inputs, 2, output, g == 2 ? nullptr : &g, g == 2 ? 0 : 1, nullptr),
                  KT_OK)
            << kt_last_error();
        KERNTUNE_CU(cuMemcpyDtoH(out.data(), outd.get(), n * 4));
        for (std::size_t i = 0; i < n; ++i) ASSERT_EQ(out[i], x[i] * g + 0.5f) << i;
    }
    EXPECT_EQ(kt_expression_launch(e, KT_F32, n, inputs, 1, output, nullptr, 0, nullptr), KT_ERROR_INVALID_ARGUMENT);
    EXPECT_TRUE(test::contains(kt_last_error(), "takes 2 inputs")) << kt_last_error();
    const float two[] = {1, 2};
    EXPECT_EQ(kt_expression_launch(e, KT_F32, n, inputs, 2, output, two, 2, nullptr), KT_ERROR_INVALID_ARGUMENT);
    EXPECT_EQ(kt_expression_launch(e, KT_I32, n, inputs, 2, output, nullptr, 0, nullptr), KT_ERROR_INVALID_ARGUMENT);
    EXPECT_EQ(kt_expression_launch(nullptr, KT_F32, n, inputs, 2, output, nullptr, 0, nullptr),
              KT_ERROR_INVALID_ARGUMENT);
    kt_match match = KT_MATCH_EXACT;
    char label_text[64] = {};
    EXPECT_EQ(kt_expression_query(e, KT_F16, 4096, &match, label_text, sizeof(label_text)), KT_OK) << kt_last_error();
    EXPECT_EQ(match, KT_MATCH_DEFAULT);
    EXPECT_STREQ(label_text, "blk256.vec8.unr2.plain.tile.w0");
    // The op is a template like any other: kt_query and kt_launch take its name.
    EXPECT_EQ(kt_query(rt, kt_expression_op(e), KT_F32, 4096, &match, label_text, sizeof(label_text)), KT_OK);
    kt_expression_destroy(e);
    kt_runtime_destroy(rt);
}

TEST_F(ExpressionRuntime, AnUntunedExpressionBorrowsItsFamilysTunedConfig) {
    const std::filesystem::path path = scratch_path("expression-family.db");
    std::filesystem::remove(path);
    catalog templates;
    const kernel_spec tuned_spec = *templates.add_expression(elementwise_expression::parse("x * 2"));
    tune_options options;
    options.dtypes = {dtype::f32};
    options.problems = {make_problem({"n"}, parse_shape("1048576"))};
    options.max_samples = 10;
    std::string tuned_label;
    {
        database db = database::open(path, open_mode::read_write);
        const std::vector<tune_outcome> outcomes = tune(tuned_spec, options, db, nullptr);
        ASSERT_TRUE(outcomes.at(0).best);
        tuned_label = outcomes[0].best->config;
    }
    runtime rt(path.string());
    const launch_choice own = rt.elementwise("x*2.0").query(KT_F32, 1048576);
    EXPECT_EQ(own.match, KT_MATCH_EXACT);
    EXPECT_EQ(own.label, tuned_label);
    const elementwise other = rt.elementwise("x * 3");
    // 1000000 is in 1048576's regime (launch-bound: under 8.6 MB moved on an H200).
    const launch_choice borrowed = other.query(KT_F32, 1000000);
    EXPECT_EQ(borrowed.match, KT_MATCH_FAMILY);
    EXPECT_EQ(borrowed.label, tuned_label);
    EXPECT_EQ(other.query(KT_F16, 1000000).match, KT_MATCH_DEFAULT) << "another dtype is another family";
    EXPECT_EQ(rt.elementwise("x * y").query(KT_F32, 1000000).match, KT_MATCH_DEFAULT) << "two inputs: another family";
    EXPECT_EQ(other.query(KT_F32, 100000000).match, KT_MATCH_DEFAULT) << "another regime borrows nothing";
    // The borrowed config computes the right thing.
    const elementwise_expression host = elementwise_expression::parse("x * 3");
    std::mt19937 rng(5);
    const std::size_t n = 1000000;
    const std::vector<std::uint32_t> xs = random_bits(dtype::f32, n, rng);
    device_buffer x(n * 4), out(n * 4);
    KERNTUNE_CU(cuMemcpyHtoD(x.get(), xs.data(), n * 4));
    const void* inputs[] = {reinterpret_cast<const void*>(x.get())};
    other.launch(KT_F32, static_cast<std::int64_t>(n), inputs, 1, reinterpret_cast<void*>(out.get()));
    std::vector<std::uint32_t> got(n);
    KERNTUNE_CU(cuMemcpyDtoH(got.data(), out.get(), n * 4));
    std::size_t wrong = 0;
    for (std::size_t i = 0; i < n; ++i) {
        const float in = float_of(xs[i]);
        const std::uint32_t want = bits_of(host.evaluate(&in, nullptr));
        wrong += is_nan(dtype::f32, want) ? !is_nan(dtype::f32, got[i]) : got[i] != want;
    }
    EXPECT_EQ(wrong, 0u);
}

} // namespace
} // namespace kerntune::testing
