#pragma once
#include <string>
#include <string_view>

#include "core/kernel_spec.hpp"
#include "elementwise/elementwise_expression.hpp"

namespace kerntune {

/// The template of an elementwise expression: a spec generated from the parsed tree, loaded by
/// the same loader as every template (so its source hash, space and checks are the usual ones).
/// Its kernel is a functor (emit_cuda_functor) over the elementwise skeleton
/// (templates/support/kt_elementwise.cuh), with the skeleton's parameter space; its arguments are
/// the inputs x, y, ... in order, the output `out`, the count `n`, then the declared scalars
/// under their names and defaults. Its reference runs the same functor one element per thread, so
/// the tuner's bit-for-bit check covers the data movement.
///
/// `name` is the op it is registered as: a built-in named op's ("silu"), or empty for
/// expression_op_name(expression). Throws kerntune::error when a scalar is named `n` or `out`
/// (the generated arguments' names) or the expression gives no float and no bool.
kernel_spec expression_spec(const elementwise_expression& expression, std::string_view name = {});

/// The op name of an expression nobody named: its family, "_", then 16 hex digits of the
/// sha256 of its canonical form, e.g. "ew1_3fa2c1d0_5d2c0e1b9a7f6e21". An identifier, so it works
/// wherever op names do (kt_launch, kt_query, `kerntune tune --op`, the database).
std::string expression_op_name(const elementwise_expression& expression);

/// The tuning family of expressions with `inputs` inputs under today's skeleton: "ew<k>_" and 8
/// hex digits of the sha256 of the skeleton's and the generator's text. Expressions of one family
/// move memory alike (k inputs and one output of one dtype, one parameter space), so one's tuned
/// config is a good start for another (select_config's family step); a change of skeleton makes a
/// new family, so configs are never borrowed across it.
std::string expression_family(int inputs);

/// The family `template_name` belongs to, when its name says (an unnamed expression's op name
/// starts with its family), else empty.
std::string family_in_name(std::string_view template_name);

} // namespace kerntune
