#pragma once
#include <string_view>
#include <vector>

#include "elementwise/elementwise_expression.hpp"

namespace kerntune {

/// A built-in elementwise op written in the expression language (docs/EXPRESSIONS.md), under
/// torch.nn.functional's name, with its keyword arguments as scalars (their torch defaults).
/// The catalogue registers each as an op of that name; kerntune.torch exposes each under the
/// same name and signature.
struct named_op {
    std::string_view name;        ///< torch.nn.functional's: "silu", "gelu_tanh" for gelu(approximate='tanh')
    std::string_view expression;  ///< the formula, in the language, as torch's CUDA kernel computes it
    std::vector<scalar_default> scalars;  ///< torch's keyword arguments, in its order, with its defaults
    std::string_view torch_call;  ///< the torch call it matches, e.g. "torch.nn.functional.elu(x, alpha=1.0)"
};

/// Every built-in named op, in a fixed order.
const std::vector<named_op>& named_ops();

/// The named op called `name`, or null.
const named_op* find_named_op(std::string_view name);

} // namespace kerntune
