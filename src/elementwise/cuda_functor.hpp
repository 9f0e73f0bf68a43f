#pragma once
#include <string>

#include "elementwise/elementwise_expression.hpp"

namespace kerntune {

/// The CUDA source of a device functor that computes `expression`, for a kernel that includes
/// templates/support/kt_expression_math.cuh first:
///
///     struct kt_expression {
///         float s0;  // one member per declared scalar, in order
///         __device__ float operator()(float in0, float in1) const {  // one parameter per input
///             const float t0 = kt_math::mul(in0, s0);
///             return kt_math::add(t0, in1) ...
///
/// It returns bool when the expression does. Emitted from the tree alone: every name in it is
/// the emitter's own (in0.., s0.., t0.., kt_math's functions, C++'s keywords and operators) and
/// every literal is spelt from its float32 value (a C++17 hex float), so no character of the
/// user's text reaches the source. One line per operation, in the order of nodes(): no
/// recursion.
std::string emit_cuda_functor(const elementwise_expression& expression);

} // namespace kerntune
