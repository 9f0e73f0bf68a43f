// nvrtc label: the functors emit_cuda_functor makes compile with NVRTC, together with
// templates/support/kt_expression_math.cuh (as built in), inside a small kernel, for an explicit
// arch without a GPU. Between them the expressions use every operation of the language.
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "catalog/template_folder.hpp"
#include "cuda/nvrtc.hpp"
#include "elementwise/cuda_functor.hpp"

namespace kerntune {
namespace {

const std::vector<scalar_default> scalars = {{"alpha", 0.5f}, {"beta", -1.0f}};

const std::vector<std::string> expressions = {
    "x * alpha + beta",
    "where(x > 0, x, alpha * x)",
    "x * sigmoid(x) - y / (1 + exp(-y))",
    "clamp(x, -1, 1) + min(x, y) * max(x, 2.5e-3) + pow(abs(x), 1.5) + fma(x, y, z)",
    "exp2(x) + log(y) + log2(z) + log1p(x) + expm1(y) + sqrt(z) + rsqrt(x) + tanh(y) + erf(z)",
    "sin(x) * cos(y) + floor(x) - ceil(y) + round(x * 1e-45) / 3.4028235e38",
    "x < y && !(y <= z) || x >= z && x == y || x != z",  // a bool result
    "where(x < 1 || x > 2, -u, v - w)",                  // six inputs
    "42",                                                // none
};

/// One program: each expression's functor in a namespace of its own, called by a kernel that
/// reads its inputs and writes its result as float.
std::string program_text() {
    std::string text = "#include \"kt_expression_math.cuh\"\n";
    for (std::size_t i = 0; i < expressions.size(); ++i) {
        const elementwise_expression e = elementwise_expression::parse(expressions[i], scalars);
        std::string arguments;
        for (int k = 0; k < e.input_count(); ++k) arguments += (k ? ", in[" : "in[") + std::to_string(k) + "][i]";
        text += "namespace e" + std::to_string(i) + " {\n" + emit_cuda_functor(e) +
                "__global__ void run(const float* const* in, float* out, float alpha, float beta, int n) {\n"
                "    const int i = blockIdx.x * blockDim.x + threadIdx.x;\n"
                "    if (i >= n) return;\n"
                "    kt_expression f{alpha, beta};\n"
                "    out[i] = f(" + arguments + ");\n"
                "}\n}\n";
    }
    return text;
}

TEST(ElementwiseFunctorCompile, TheTestExpressionsUseEveryOperation) {
    std::set<elementwise_op> used;
    for (const std::string& text : expressions) {
        const elementwise_expression e = elementwise_expression::parse(text, scalars);
        for (const elementwise_node& node : e.nodes()) used.insert(node.op);
    }
    EXPECT_EQ(used.size(), static_cast<std::size_t>(elementwise_op::round) + 1);
}

class ElementwiseFunctorCompiles : public ::testing::TestWithParam<std::string> {};

TEST_P(ElementwiseFunctorCompiles, WithTheSupportHeaderForTheArch) {
    const std::optional<std::string> header = template_folder::support().read("kt_expression_math.cuh");
    ASSERT_TRUE(header) << "kt_expression_math.cuh is built in";
    std::vector<std::string> kernels;
    for (std::size_t i = 0; i < expressions.size(); ++i) kernels.push_back("e" + std::to_string(i) + "::run");
    const compiled_program program =
        compile({{"expressions.cu", program_text(), {{"kt_expression_math.cuh", *header}}}, kernels, GetParam()});
    ASSERT_TRUE(program.ok) << program.log;
    EXPECT_EQ(program.lowered_names.size(), expressions.size());
}

// The longest functor the length limit allows: 0.25 s here alone (recorded as "seconds"; not
// asserted, since a loaded 2-core machine takes several times as long).
TEST_P(ElementwiseFunctorCompiles, AtTheLengthLimit) {
    std::string sum = "x";
    while (sum.size() + 2 <= elementwise_expression::max_length) sum += "+x";  // 2,047 additions
    const std::optional<std::string> header = template_folder::support().read("kt_expression_math.cuh");
    ASSERT_TRUE(header);
    const std::string text = "#include \"kt_expression_math.cuh\"\n" +
                             emit_cuda_functor(elementwise_expression::parse(sum)) +
                             "__global__ void run(const float* in, float* out) { out[threadIdx.x] = "
                             "kt_expression{}(in[threadIdx.x]); }\n";
    const compiled_program program =
        compile({{"sum.cu", text, {{"kt_expression_math.cuh", *header}}}, {"run"}, GetParam()});
    ASSERT_TRUE(program.ok) << program.log;
    EXPECT_EQ(program.lowered_names.size(), 1u);
    RecordProperty("seconds", std::to_string(program.seconds));
}

INSTANTIATE_TEST_SUITE_P(Arches, ElementwiseFunctorCompiles, ::testing::Values("sm_80", "sm_90"));

} // namespace
} // namespace kerntune
