#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/kernel_spec.hpp"
#include "core/problem.hpp"

namespace kerntune {

/// The most bytes one buffer may have: 2^49 (512 TiB), the virtual address space of every GPU
/// since Pascal (49 bits, which CUDA's unified addressing shares with the host's 48). No larger
/// buffer can exist, and the cap keeps every byte count (at most 32 buffers, each counted
/// twice when written) far within int64.
inline constexpr std::int64_t max_buffer_bytes = std::int64_t{1} << 49;

/// One kernel argument bound to a problem: what the tuner's worker allocates and fills, and
/// what a launch passes. The same for the tuned kernel and its reference.
struct bound_arg {
    arg_kind kind = arg_kind::buffer;
    buffer_access access = buffer_access::in;  ///< buffers
    dtype element = dtype::f32;                ///< buffers
    std::int64_t count = 0;                    ///< buffers: elements (a workspace's bytes are the geometry's)
    scalar_type type = scalar_type::f32;       ///< scalars
    bool from_caller = false;                  ///< scalars given at call time (bits holds the default)
    std::uint64_t bits = 0;                    ///< scalars: the value as passed, i32 and f32 in the low 4 bytes

    bool operator==(const bound_arg& other) const;
    /// Buffers: count * element size (at most max_buffer_bytes from bind_arguments).
    std::int64_t bytes() const;
};

/// The spec's arguments for T = `type` and `shape`: buffer extents and axis scalars evaluated,
/// caller scalars at their defaults. Throws, naming the op and the problem, when an extent is
/// negative, a buffer would be over max_buffer_bytes, or a value does not fit its type.
std::vector<bound_arg> bind_arguments(const kernel_spec& spec, dtype type, const problem& shape);

/// A scalar's bits as the kernel receives them; throws when `value` is not representable in
/// `type` (integers must be whole and in range).
std::uint64_t scalar_bits(scalar_type type, double value);

/// The one text form of bound arguments (the worker protocol carries it): comma-separated
/// "buffer:ACCESS:DTYPE:COUNT" and "scalar:TYPE:HEXBITS" (caller scalars "caller:TYPE:HEXBITS"),
/// and "workspace".
std::string to_string(const std::vector<bound_arg>& args);
std::vector<bound_arg> parse_bound_args(std::string_view text);

/// The parameter array cuLaunchKernel takes, built in place: buffer pointers in order, then the
/// scalars (caller scalars from `caller_scalars` in order, or their defaults when it is null);
/// a workspace argument is null until set_workspace (launch_kernel sets it). Used by the
/// runtime, the tuner's worker and the tests alike.
class packed_args {
public:
    /// The most arguments a kernel signature may have.
    static constexpr std::size_t max_args = 32;

    packed_args(const std::vector<bound_arg>& args, const std::uint64_t* buffers, const double* caller_scalars);
    packed_args(const packed_args&) = delete;
    packed_args& operator=(const packed_args&) = delete;

    /// The kernelParams argument of cuLaunchKernel.
    void** slots() { return m_slots.data(); }
    /// Points the workspace argument (if any) at `pointer`.
    void set_workspace(std::uint64_t pointer);

private:
    std::array<std::uint64_t, max_args> m_storage{};
    std::array<void*, max_args> m_slots{};
    std::size_t m_workspace_slot = max_args;  ///< the workspace argument's (a spec has at most one); max_args: none
};

} // namespace kerntune
