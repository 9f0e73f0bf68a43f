#pragma once
// The checks of an API call's arguments (kt_launch, kt_query and their C++ forms), each failure
// a runtime_error with KT_ERROR_INVALID_ARGUMENT naming what is wrong. Pure functions of the
// spec and the call, so that they are tested without a GPU (a runtime needs one to exist).
#include <cstdint>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "core/kernel_arguments.hpp"
#include "core/kernel_spec.hpp"
#include "core/problem.hpp"

namespace kerntune::detail {

/// Extents as the C ABI takes them: 1 to max_problem_axes of them, none negative. False when
/// one is 0 (a call with nothing to launch).
bool check_extents(const std::int64_t* extents, int num_extents);

/// A call's problem and arguments.
struct bound_call {
    problem shape;
    std::vector<bound_arg> args;
};

/// The call of `spec` in `type` for `extents` (checked by check_extents): the spec must have
/// the dtype, the extents must fit its axes, and no buffer may be over max_buffer_bytes (the
/// message names the problem, e.g. n=4611686018427387904).
bound_call bind_call(const kernel_spec& spec, dtype type, const std::int64_t* extents, std::size_t axes);

/// The launch of `chosen` for the call's problem on a device with `limits`. A launch rule that
/// gives no valid launch (a grid past 2^31 - 1 blocks) fails for the problem's size: an invalid
/// argument too, naming the problem.
launch_geometry call_geometry(const kernel_spec& spec, const config& chosen, dtype type, const problem& shape,
                              const device_limits& limits);

/// The buffer pointers of a call to `spec`'s op: the array is not NULL, holds one per buffer
/// argument (`num_buffers`), and none is NULL but an optional one.
void check_buffers(const kernel_spec& spec, void* const* buffers, int num_buffers);

} // namespace kerntune::detail
