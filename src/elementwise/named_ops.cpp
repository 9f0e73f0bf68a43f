#include "elementwise/named_ops.hpp"

#include <algorithm>

namespace kerntune {

// Each formula is the one torch's CUDA kernel computes (torch 2.11, aten/src/ATen/native/cuda/
// Activation*Kernel.cu, UnarySpecialOpsKernel.cu, UnaryGeometricTanhKernel.cu, TensorCompare.cu's
// clamp for relu and hardtanh), in its operation order: torch computes half types in float
// ("opmath") and rounds once, as kerntune does. Constants torch writes as float expressions are
// the floats they round to, spelt as the shortest decimal that reads back as that float:
//   0.70710677  float(M_SQRT1_2)                         gelu's kAlpha
//   0.7978846   float(M_SQRT2 * M_2_SQRTPI * 0.5)       gelu tanh's kBeta, also float(sqrt(2 / pi))
//   0.044715    float(0.044715)                          gelu tanh's kKappa
//   0.16666667  1.0f / 6.0f                              hardsigmoid's and hardswish's one_sixth
//   1.050701    float(SELU_SCALE)                        selu's poscoef
//   1.7580993   float(SELU_ALPHA) * float(SELU_SCALE)    selu's negcoef, a float product on the host
// docs/EXPRESSIONS.md ("Named ops") says per op whether the result is torch's bit for bit and why.
const std::vector<named_op>& named_ops() {
    static const std::vector<named_op> table = {
        // clamp_min(x, 0): NaN passes, else fmaxf(x, 0), which kt_math::max is.
        {"relu", "max(x, 0)", {}, "torch.nn.functional.relu(x)"},
        // 1 / (1 + expf(-x)): the language's sigmoid is torch's formula.
        {"sigmoid", "sigmoid(x)", {}, "torch.sigmoid(x)"},
        {"tanh", "tanh(x)", {}, "torch.tanh(x)"},
        // x / (1 + exp(-x)), not x * sigmoid(x): one rounding fewer, as torch's kernel.
        {"silu", "x / (1 + exp(-x))", {}, "torch.nn.functional.silu(x)"},
        // x * 0.5 * (1 + erf(x * kAlpha)), left to right.
        {"gelu", "x * 0.5 * (1 + erf(x * 0.70710677))", {}, "torch.nn.functional.gelu(x)"},
        // 0.5 * x * (1 + tanh(kBeta * (x + kKappa * x_cube))), x_cube = x * x * x. nvcc contracts
        // torch's x + kKappa * x_cube into one fma (its default -fmad=true), so fma it is here.
        {"gelu_tanh", "0.5 * x * (1 + tanh(0.7978846 * fma(0.044715, x * x * x, x)))", {},
         "torch.nn.functional.gelu(x, approximate='tanh')"},
        // elu with torch's fixed alpha and scale: x > 0 ? x * scale : expm1(x) * alpha * scale.
        {"selu", "where(x > 0, x * 1.050701, expm1(x) * 1.7580993)", {}, "torch.nn.functional.selu(x)"},
        // x > 0 ? x * scale : expm1(x * input_scale) * alpha * scale with scale and input_scale 1,
        // whose products are exact: torch multiplies by 1 at run time, which changes no value.
        {"elu", "where(x > 0, x, expm1(x) * alpha)", {{"alpha", 1.0f}}, "torch.nn.functional.elu(x, alpha=1.0)"},
        // elu with input_scale 1 / alpha: torch divides in double and rounds to float; the
        // language divides in float, which can differ by an ulp for an alpha that is not a
        // power of two (never for the default, 1).
        {"celu", "where(x > 0, x, expm1(x * (1 / alpha)) * alpha)", {{"alpha", 1.0f}},
         "torch.nn.functional.celu(x, alpha=1.0)"},
        // min(max(x + 3, 0), 6) * one_sixth with std::min and std::max, whose NaN and zero
        // choices clamp matches here (x + 3 is never -0).
        {"hardsigmoid", "clamp(x + 3, 0, 6) * 0.16666667", {}, "torch.nn.functional.hardsigmoid(x)"},
        {"hardswish", "x * clamp(x + 3, 0, 6) * 0.16666667", {}, "torch.nn.functional.hardswish(x)"},
        // clamp(x, min_val, max_val): NaN passes, else fminf(fmaxf(x, lo), hi).
        {"hardtanh", "clamp(x, min_val, max_val)", {{"min_val", -1.0f}, {"max_val", 1.0f}},
         "torch.nn.functional.hardtanh(x, min_val=-1.0, max_val=1.0)"},
        {"relu6", "clamp(x, 0, 6)", {}, "torch.nn.functional.relu6(x)"},
        // x * beta > threshold ? x : log1p(exp(x * beta)) / beta.
        {"softplus", "where(x * beta > threshold, x, log1p(exp(x * beta)) / beta)",
         {{"beta", 1.0f}, {"threshold", 20.0f}}, "torch.nn.functional.softplus(x, beta=1.0, threshold=20.0)"},
        // torch.nn.functional.softsign is Python: input / (input.abs() + 1), two kernels, so
        // half types round abs(x) + 1 to their dtype there; kerntune rounds once.
        {"softsign", "x / (abs(x) + 1)", {}, "torch.nn.functional.softsign(x)"},
        {"mish", "x * tanh(log1p(exp(x)))", {}, "torch.nn.functional.mish(x)"},
        // The tanh GELU of GPT-2 and BERT as users write it with torch ops:
        //   0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))
        // torch.pow(x, 3.0) on CUDA is x * x * x, and each op is its own kernel (no fma): in
        // float32 this is that composite bit for bit.
        {"new_gelu", "0.5 * x * (1 + tanh(0.7978845608028654 * (x + 0.044715 * (x * x * x))))", {},
         "0.5 * x * (1 + torch.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * torch.pow(x, 3))))"},
    };
    return table;
}

const named_op* find_named_op(std::string_view name) {
    const std::vector<named_op>& table = named_ops();
    const auto found = std::find_if(table.begin(), table.end(), [&](const named_op& op) { return op.name == name; });
    return found == table.end() ? nullptr : &*found;
}

} // namespace kerntune
