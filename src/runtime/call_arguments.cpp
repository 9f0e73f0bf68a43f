#include "runtime/call_arguments.hpp"

#include <algorithm>

#include "core/error.hpp"
#include "kerntune/kerntune.hpp"

namespace kerntune::detail {
namespace {

[[noreturn]] void invalid(const std::string& message) { throw runtime_error(KT_ERROR_INVALID_ARGUMENT, message); }

} // namespace

bool check_extents(const std::int64_t* extents, int num_extents) {
    if (extents == nullptr || num_extents < 1 || num_extents > static_cast<int>(max_problem_axes))
        invalid("a problem has 1 to " + std::to_string(max_problem_axes) + " extents (got " + std::to_string(num_extents) +
                (extents == nullptr ? ", extents is NULL" : "") + ")");
    bool empty = false;
    for (int i = 0; i < num_extents; ++i) {
        if (extents[i] < 0) invalid("extent " + std::to_string(i) + " must be >= 0, not " + std::to_string(extents[i]));
        empty = empty || extents[i] == 0;
    }
    return !empty;
}

bound_call bind_call(const kernel_spec& spec, dtype type, const std::int64_t* extents, std::size_t axes) {
    if (std::find(spec.dtypes.begin(), spec.dtypes.end(), type) == spec.dtypes.end())
        invalid(spec.name + " has no " + std::string(to_string(type)) + " kernel");
    bound_call call;
    try {
        call.shape = make_problem(spec.axes, std::vector<std::int64_t>(extents, extents + axes));
    } catch (const error& failure) {
        invalid(spec.name + ": " + failure.what());
    }
    try {
        call.args = bind_arguments(spec, type, call.shape);  // its messages name the op and the problem
    } catch (const error& failure) {
        invalid(failure.what());
    }
    return call;
}

launch_geometry call_geometry(const kernel_spec& spec, const config& chosen, dtype type, const problem& shape,
                              const device_limits& limits) {
    try {
        return candidate_launch(spec, chosen, type, shape, limits);
    } catch (const error& failure) {
        invalid(spec.name + " " + shape.key() + ": no launch for this problem: " + failure.what());
    }
}

void check_buffers(const kernel_spec& spec, void* const* buffers, int num_buffers) {
    const int expected = spec.buffer_count();
    if (buffers == nullptr && num_buffers > 0)
        invalid(spec.name + ": the buffer array is NULL (it takes " + std::to_string(expected) + " buffers)");
    if (num_buffers != expected)
        invalid(spec.name + " takes " + std::to_string(expected) + " buffers, not " + std::to_string(num_buffers));
    int index = 0;
    for (const kernel_arg& argument : spec.arguments) {
        if (argument.kind != arg_kind::buffer) continue;
        if (buffers[index] == nullptr && !argument.optional)
            invalid(spec.name + ": buffer " + std::to_string(index) + " (" + argument.name + ") is NULL");
        ++index;
    }
}

} // namespace kerntune::detail
