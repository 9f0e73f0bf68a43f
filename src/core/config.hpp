#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/expression.hpp"
#include "core/kernel_spec.hpp"
#include "core/problem.hpp"

namespace kerntune {

/// One point of a template's space: a value per parameter, in declaration order.
struct config {
    std::vector<std::int64_t> values;
    /// Same values in the same order.
    bool operator==(const config& other) const { return values == other.values; }
};

/// The most configs a space may have before constraints. A tune validates and times every
/// config of the space on the GPU, about 1 ms each (174 leaky_relu candidates in 0.17 s on the
/// H200), so a million is over a quarter of an hour per shape; enumerating a million took 0.34 s
/// and 56 MB on the 2-core build machine (3 parameters, 2 constraints). A spec of two 400-value
/// launch parameters (27.8 M configs) kept `kerntune list` busy for over 90 s at 2.8 GB before
/// the cap.
constexpr std::uint64_t max_space_configs = 1'000'000;

/// The number of configs before constraints: the product of the domains' sizes, counted without
/// enumerating; saturates at UINT64_MAX.
std::uint64_t space_size(const kernel_spec& spec);

/// Throws kerntune::error naming the space's size and each domain's when space_size(spec) is
/// over max_space_configs.
void check_space_size(const kernel_spec& spec);

/// Every config of the cartesian product of the domains that satisfies every constraint for
/// `type`, in a deterministic order (the declaration order, last parameter fastest). Throws
/// (check_space_size) for a space over max_space_configs, before enumerating anything.
std::vector<config> enumerate_space(const kernel_spec& spec, dtype type);

/// Whether some config satisfies every constraint for `type`: enumerate_space(spec, type) is
/// not empty, found without keeping the configs and stopping at the first. Same limit.
bool has_config(const kernel_spec& spec, dtype type);

/// Whether every value is in its parameter's declared domain.
bool in_domain(const kernel_spec& spec, const config& c);

/// Whether c is in the domain and satisfies every constraint for `type`.
bool satisfies_constraints(const kernel_spec& spec, const config& c, dtype type);

/// The spec's default config for `type` (throws if it is outside the domain or constraints).
config default_config(const kernel_spec& spec, dtype type);

/// The canonical label, e.g. "blk256.vec4.unr2.plain.tile.w0": integer parameters as short name and
/// value, enum parameters as the value's name, joined by '.' in declaration order. Throws
/// unless c is in the domain.
std::string label(const kernel_spec& spec, const config& c);

/// The strict inverse of label(): anything that is not exactly the label of a config in the
/// declared domain is an error (labels come back from databases, which may be tampered with).
config parse_label(const kernel_spec& spec, std::string_view text);

/// The values of a spec's derived parameters (kernel_spec::derived, in order) for one problem:
/// with a config, what a compiled kernel is instantiated with.
using derived_values = std::vector<std::int64_t>;

/// Each derived parameter's rule for the problem; throws kerntune::error naming the parameter
/// when a rule gives a value outside its domain. Empty for a spec without derived parameters.
derived_values derive(const kernel_spec& spec, dtype type, const problem& shape);

/// Every combination of the derived parameters' domains, the first parameter slowest (one empty
/// combination for a spec without any): what a dry run compiles each config with.
std::vector<derived_values> every_derived(const kernel_spec& spec);

/// The label of a config's kernel: label(spec, c), then each derived value as labels spell
/// values ("t128.r1.c1.s1.g0.vectors"); what compiled kernels are cached and named by. Throws
/// unless c and `derived` are in their domains.
std::string kernel_label(const kernel_spec& spec, const config& c, const derived_values& derived);

/// The NVRTC name expression, e.g. "kt::leaky_relu<float, 256, 4, 2>": T, then the tuned
/// template parameters, then the derived ones, as integers. Throws unless c and `derived` are
/// in their domains: values never come from anywhere else.
std::string name_expression(const kernel_spec& spec, const config& c, const derived_values& derived, dtype type);

/// The reference kernel's NVRTC name expression, e.g. "kt::leaky_relu_reference<__half>".
std::string reference_name_expression(const kernel_spec& spec, dtype type);

/// The device facts launch rules may use.
struct device_limits {
    std::int64_t sm_count = 0;
    std::int64_t max_threads_per_sm = 0;
    std::int64_t shared_memory_per_sm = 0;  ///< bytes, for rules that size grids by shared memory
    /// The most dynamic shared memory one block may ask for (the opt-in maximum, bytes).
    std::int64_t max_shared_memory_per_block = 48 * 1024;
    /// The most blocks a thread-block cluster may have (1: no clusters, before sm_90).
    std::int64_t max_cluster_size = 1;
};

/// The most workspace one launch may ask for: 64 MiB (a grid's exchanged partial results need
/// kilobytes; the cap keeps a rule's mistake from allocating the device's memory).
inline constexpr std::int64_t max_workspace_bytes = std::int64_t{64} << 20;

/// A 3-D launch: blocks in the grid, threads per block and dynamic shared memory bytes.
struct launch_geometry {
    std::int64_t grid[3] = {1, 1, 1};
    std::int64_t block[3] = {1, 1, 1};
    std::int64_t shared_bytes = 0;
    /// Blocks per thread-block cluster along x (1: no cluster); grid[0] is a multiple of it.
    std::int64_t cluster = 1;
    /// Bytes of zeroed workspace the launch allocates for the workspace argument (0: none, and
    /// the argument is null); more than 0 makes the launch cooperative.
    std::int64_t workspace_bytes = 0;
};

/// The one text form of a geometry: "GXxGYxGZ/BXxBYxBZ/SHARED", e.g. "4096x1x1/256x1x1/0", with
/// "/cN" appended for clusters of N blocks, then "/wBYTES" for a workspace.
std::string to_string(const launch_geometry& geometry);
/// The strict inverse of to_string; every value must be in CUDA's ranges.
launch_geometry parse_launch_geometry(std::string_view text);

/// What launch rules read: parameters, enum names, sizeof(T), the problem's axes, sm_count,
/// max_threads_per_sm, shared_memory_per_sm and max_shared_memory_per_block. Throws unless c is
/// in the domain.
variables launch_variables(const kernel_spec& spec, const config& c, dtype type, const problem& shape,
                           const device_limits& limits);

/// Whether c (in the space) is a candidate at this problem: every one of the spec's
/// problem_constraints holds there (a spec without any: always).
bool candidate_at(const kernel_spec& spec, const config& c, dtype type, const problem& shape, const device_limits& limits);

/// The candidate's launch geometry; throws when the rule gives a block outside 1..1024 threads
/// in all, a grid outside 1..2^31-1 (x) or 1..65535 (y, z), or more shared memory than the
/// device allows a block.
launch_geometry candidate_launch(const kernel_spec& spec, const config& c, dtype type, const problem& shape,
                                 const device_limits& limits);

/// The reference kernel's launch geometry, with the same checks.
launch_geometry reference_launch(const kernel_spec& spec, dtype type, const problem& shape,
                                 const device_limits& limits);

/// Bytes read + written for the problem.
std::int64_t bytes_moved(const kernel_spec& spec, dtype type, const problem& shape);

} // namespace kerntune
