#include "core/config.hpp"

#include <algorithm>
#include <limits>

#include "core/error.hpp"
#include "core/text.hpp"

namespace kerntune {
namespace {

// Enum value names and sizeof(T): what constraints and defaults may read besides parameters.
variables base_variables(const kernel_spec& spec, dtype type) {
    variables vars;
    for (const param_spec& p : spec.params)
        for (std::size_t i = 0; i < p.enum_names.size(); ++i)
            vars[p.enum_names[i]] = static_cast<std::int64_t>(i);
    vars["sizeof(T)"] = static_cast<std::int64_t>(dtype_size(type));
    return vars;
}

void bind(variables& vars, const kernel_spec& spec, const config& c) {
    for (std::size_t i = 0; i < spec.params.size(); ++i) vars[spec.params[i].name] = c.values[i];
}

// The first constraint c violates (vars already hold sizeof(T) and the enum names), or null.
const named_constraint* violated_constraint(const kernel_spec& spec, variables& vars, const config& c) {
    bind(vars, spec, c);
    const auto found =
        std::find_if(spec.constraints.begin(), spec.constraints.end(),
                     [&](const named_constraint& constraint) { return constraint.expr.evaluate(vars) == 0; });
    return found == spec.constraints.end() ? nullptr : &*found;
}

// CUDA's grid limits: 2^31-1 blocks in x, 65535 in y and z.
constexpr std::int64_t grid_limit[3] = {2147483647, 65535, 65535};

void bind_problem(variables& vars, const problem& shape, const device_limits& limits) {
    shape.bind(vars);
    vars["sm_count"] = limits.sm_count;
    vars["max_threads_per_sm"] = limits.max_threads_per_sm;
    vars["shared_memory_per_sm"] = limits.shared_memory_per_sm;
    vars["max_shared_memory_per_block"] = limits.max_shared_memory_per_block;
    vars["max_cluster_size"] = limits.max_cluster_size;
}

std::int64_t dimension(const expression& e, const variables& vars, std::int64_t empty) {
    return e.empty() ? empty : e.evaluate(vars);
}

launch_geometry checked_geometry(const launch_rule& rule, const variables& vars, const device_limits& limits,
                                 const std::string& what) {
    launch_geometry geometry;
    for (int d = 0; d < 3; ++d) {
        geometry.grid[d] = dimension(rule.grid[d], vars, 1);
        geometry.block[d] = dimension(rule.block[d], vars, 1);
    }
    geometry.shared_bytes = dimension(rule.shared_bytes, vars, 0);
    geometry.cluster = dimension(rule.cluster, vars, 1);
    geometry.workspace_bytes = dimension(rule.workspace_bytes, vars, 0);
    const std::int64_t threads = geometry.block[0] * geometry.block[1] * geometry.block[2];
    for (int d = 0; d < 3; ++d)
        if (geometry.block[d] < 1 || geometry.block[d] > 1024 || threads > 1024)
            throw error(what + ": block of " + std::to_string(geometry.block[0]) + "x" + std::to_string(geometry.block[1]) +
                        "x" + std::to_string(geometry.block[2]) + " threads is outside 1..1024 threads");
    for (int d = 0; d < 3; ++d)
        if (geometry.grid[d] < 1 || geometry.grid[d] > grid_limit[d])
            throw error(what + ": grid dimension " + "xyz"[d] + " of " + std::to_string(geometry.grid[d]) +
                        " blocks is outside 1.." + std::to_string(grid_limit[d]));
    if (geometry.shared_bytes < 0 || geometry.shared_bytes > limits.max_shared_memory_per_block)
        throw error(what + ": " + std::to_string(geometry.shared_bytes) + " bytes of dynamic shared memory is outside 0.." +
                    std::to_string(limits.max_shared_memory_per_block) + " (this device's limit per block)");
    if (geometry.cluster < 1 || geometry.cluster > limits.max_cluster_size)
        throw error(what + ": a cluster of " + std::to_string(geometry.cluster) + " blocks is outside 1.." +
                    std::to_string(limits.max_cluster_size) + " (this device's limit)");
    if (geometry.grid[0] % geometry.cluster != 0)
        throw error(what + ": grid dimension x of " + std::to_string(geometry.grid[0]) +
                    " blocks is not a multiple of the cluster size " + std::to_string(geometry.cluster));
    if (geometry.workspace_bytes < 0 || geometry.workspace_bytes > max_workspace_bytes)
        throw error(what + ": " + std::to_string(geometry.workspace_bytes) + " bytes of workspace is outside 0.." +
                    std::to_string(max_workspace_bytes));
    if (geometry.workspace_bytes > 0 && geometry.cluster > 1)
        throw error(what + ": a launch with a workspace (a cooperative launch) cannot also have clusters");
    return geometry;
}

// A non-negative decimal integer that fits in int64.
bool parse_decimal(std::string_view text, std::int64_t& value) {
    if (text.empty() || text.size() > 18) return false;
    value = 0;
    for (char c : text) {
        if (c < '0' || c > '9') return false;
        value = value * 10 + (c - '0');
    }
    return true;
}

// How the index-th value of p appears in labels: "blk256" or "tile".
std::string spelled_value(const param_spec& p, std::size_t index) {
    return p.is_enum() ? p.enum_names[index] : p.short_name + std::to_string(p.values[index]);
}

void require_in_domain(const kernel_spec& spec, const config& c, const std::string& what) {
    if (!in_domain(spec, c)) throw error(what + ": config outside the declared domain of " + spec.name);
}

// Where value is in p's domain; p.values.size() when it is not.
std::size_t index_in(const param_spec& p, std::int64_t value) {
    return static_cast<std::size_t>(std::find(p.values.begin(), p.values.end(), value) - p.values.begin());
}

// Whether there is a value per parameter, each in its parameter's domain.
bool in_domains(const std::vector<param_spec>& params, const std::vector<std::int64_t>& values) {
    if (values.size() != params.size()) return false;
    for (std::size_t i = 0; i < params.size(); ++i)
        if (index_in(params[i], values[i]) == params[i].values.size()) return false;
    return true;
}

void require_derived_in_domain(const kernel_spec& spec, const derived_values& derived, const std::string& what) {
    if (!in_domains(spec.derived, derived)) throw error(what + ": derived values outside the declared domains of " + spec.name);
}

// The derived parameters' value names, which their rules may read.
variables derived_names(const kernel_spec& spec) {
    variables vars;
    for (const param_spec& p : spec.derived)
        for (std::size_t i = 0; i < p.enum_names.size(); ++i) vars[p.enum_names[i]] = static_cast<std::int64_t>(i);
    return vars;
}

} // namespace

bool in_domain(const kernel_spec& spec, const config& c) { return in_domains(spec.params, c.values); }

std::uint64_t space_size(const kernel_spec& spec) {
    std::uint64_t size = 1;
    for (const param_spec& p : spec.params)
        if (__builtin_mul_overflow(size, static_cast<std::uint64_t>(p.values.size()), &size))
            return std::numeric_limits<std::uint64_t>::max();
    return size;
}

void check_space_size(const kernel_spec& spec) {
    const std::uint64_t size = space_size(spec);
    if (size <= max_space_configs) return;
    std::string domains;
    for (const param_spec& p : spec.params) domains += (domains.empty() ? "" : " x ") + p.name + " " + std::to_string(p.values.size());
    throw error("the space of " + spec.name + " has " +
                (size == std::numeric_limits<std::uint64_t>::max() ? "over 2^64" : std::to_string(size)) +
                " configs before constraints (" + domains + "), more than the limit of " +
                std::to_string(max_space_configs));
}

namespace {

/// Calls visit(c) for every config of the space that satisfies the constraints, in
/// enumerate_space's order, until visit returns false.
template <typename Visit>
void visit_space(const kernel_spec& spec, dtype type, Visit visit) {
    check_space_size(spec);
    if (std::any_of(spec.params.begin(), spec.params.end(), [](const param_spec& p) { return p.values.empty(); }))
        return;
    variables vars = base_variables(spec, type);
    std::vector<std::size_t> index(spec.params.size(), 0);
    config c;
    c.values.resize(spec.params.size());
    while (true) {
        for (std::size_t i = 0; i < spec.params.size(); ++i) c.values[i] = spec.params[i].values[index[i]];
        if (violated_constraint(spec, vars, c) == nullptr && !visit(c)) return;
        // Odometer: advance the last parameter fastest.
        std::size_t p = spec.params.size();
        while (p > 0 && ++index[p - 1] == spec.params[p - 1].values.size()) index[--p] = 0;
        if (p == 0) return;
    }
}

} // namespace

std::vector<config> enumerate_space(const kernel_spec& spec, dtype type) {
    std::vector<config> space;
    visit_space(spec, type, [&](const config& c) {
        space.push_back(c);
        return true;
    });
    return space;
}

bool has_config(const kernel_spec& spec, dtype type) {
    bool found = false;
    visit_space(spec, type, [&](const config&) {
        found = true;
        return false;
    });
    return found;
}

bool satisfies_constraints(const kernel_spec& spec, const config& c, dtype type) {
    if (!in_domain(spec, c)) return false;
    variables vars = base_variables(spec, type);
    return violated_constraint(spec, vars, c) == nullptr;
}

config default_config(const kernel_spec& spec, dtype type) {
    variables vars = base_variables(spec, type);
    config c;
    for (const param_spec& p : spec.params) {
        const auto found = std::find_if(spec.default_values.begin(), spec.default_values.end(),
                                        [&](const auto& entry) { return entry.first == p.name; });
        if (found == spec.default_values.end()) throw error(spec.name + " has no default for " + p.name);
        const std::int64_t value = found->second.evaluate(vars);
        if (index_in(p, value) == p.values.size())
            throw error("default " + p.name + " = " + std::to_string(value) + " is not one of " +
                        p.domain_text() + " for " + std::string(to_string(type)));
        c.values.push_back(value);
    }
    if (const named_constraint* broken = violated_constraint(spec, vars, c))
        throw error("default config " + label(spec, c) + " violates constraint '" + broken->expr.text() +
                    "' for " + std::string(to_string(type)));
    return c;
}

std::string label(const kernel_spec& spec, const config& c) {
    require_in_domain(spec, c, "label");
    std::string text;
    for (std::size_t i = 0; i < spec.params.size(); ++i)
        text += (i ? "." : "") + spelled_value(spec.params[i], index_in(spec.params[i], c.values[i]));
    return text;
}

config parse_label(const kernel_spec& spec, std::string_view text) {
    const std::vector<std::string_view> parts = split(text, '.');
    if (parts.size() != spec.params.size())
        throw error("'" + std::string(text) + "' is not a config of " + spec.name + ": expected " +
                    std::to_string(spec.params.size()) + " parts separated by '.'");
    config c;
    for (std::size_t i = 0; i < parts.size(); ++i) {
        const param_spec& p = spec.params[i];
        // Compare with the spelled-out domain instead of parsing numbers: nothing outside the
        // domain, no other spelling of a value and no partial match can get through.
        std::size_t v = 0;
        while (v < p.values.size() && parts[i] != spelled_value(p, v)) ++v;
        if (v == p.values.size())
            throw error("'" + std::string(text) + "' is not a config of " + spec.name + ": " + p.name +
                        " must be one of " + p.domain_text());
        c.values.push_back(p.values[v]);
    }
    return c;
}

derived_values derive(const kernel_spec& spec, dtype type, const problem& shape) {
    variables vars = derived_names(spec);
    vars["sizeof(T)"] = static_cast<std::int64_t>(dtype_size(type));
    shape.bind(vars);
    derived_values values;
    for (const param_spec& p : spec.derived) {
        const std::int64_t value = p.rule.evaluate(vars);
        if (index_in(p, value) == p.values.size())
            throw error(spec.name + ": derived parameter " + p.name + " = " + std::to_string(value) + " for " +
                        shape.to_string() + " is not one of " + p.domain_text());
        values.push_back(value);
    }
    return values;
}

std::vector<derived_values> every_derived(const kernel_spec& spec) {
    std::vector<derived_values> combinations = {{}};
    for (const param_spec& p : spec.derived) {
        std::vector<derived_values> longer;
        for (const derived_values& start : combinations)
            for (std::int64_t value : p.values) {
                longer.push_back(start);
                longer.back().push_back(value);
            }
        combinations = std::move(longer);
    }
    return combinations;
}

std::string kernel_label(const kernel_spec& spec, const config& c, const derived_values& derived) {
    require_derived_in_domain(spec, derived, "label");
    std::string text = label(spec, c);
    for (std::size_t i = 0; i < spec.derived.size(); ++i)
        text += "." + spelled_value(spec.derived[i], index_in(spec.derived[i], derived[i]));
    return text;
}

std::string name_expression(const kernel_spec& spec, const config& c, const derived_values& derived, dtype type) {
    require_in_domain(spec, c, "refusing to instantiate " + spec.kernel);
    require_derived_in_domain(spec, derived, "refusing to instantiate " + spec.kernel);
    std::string expression = spec.kernel + "<" + std::string(cuda_type_name(type));
    for (std::size_t i = 0; i < spec.params.size(); ++i)
        if (spec.params[i].kind == param_kind::template_arg) expression += ", " + std::to_string(c.values[i]);
    for (std::int64_t value : derived) expression += ", " + std::to_string(value);
    return expression + ">";
}

std::string reference_name_expression(const kernel_spec& spec, dtype type) {
    return spec.reference_kernel + "<" + std::string(cuda_type_name(type)) + ">";
}

std::string to_string(const launch_geometry& geometry) {
    return std::to_string(geometry.grid[0]) + "x" + std::to_string(geometry.grid[1]) + "x" + std::to_string(geometry.grid[2]) +
           "/" + std::to_string(geometry.block[0]) + "x" + std::to_string(geometry.block[1]) + "x" +
           std::to_string(geometry.block[2]) + "/" + std::to_string(geometry.shared_bytes) +
           (geometry.cluster > 1 ? "/c" + std::to_string(geometry.cluster) : "") +
           (geometry.workspace_bytes > 0 ? "/w" + std::to_string(geometry.workspace_bytes) : "");
}

launch_geometry parse_launch_geometry(std::string_view text) {
    const std::vector<std::string_view> parts = split(text, '/');
    auto fail = [&]() -> launch_geometry { throw error("bad launch geometry '" + std::string(text) + "'"); };
    if (parts.size() < 3 || parts.size() > 5) return fail();
    launch_geometry geometry;
    for (int which = 0; which < 2; ++which) {
        const std::vector<std::string_view> dims = split(parts[static_cast<std::size_t>(which)], 'x');
        if (dims.size() != 3) return fail();
        for (int d = 0; d < 3; ++d) {
            std::int64_t value = 0;
            if (!parse_decimal(dims[static_cast<std::size_t>(d)], value)) return fail();
            (which == 0 ? geometry.grid : geometry.block)[d] = value;
        }
    }
    if (!parse_decimal(parts[2], geometry.shared_bytes)) return fail();
    for (int d = 0; d < 3; ++d)
        if (geometry.grid[d] < 1 || geometry.grid[d] > grid_limit[d] || geometry.block[d] < 1 || geometry.block[d] > 1024)
            return fail();
    if (geometry.block[0] * geometry.block[1] * geometry.block[2] > 1024 || geometry.shared_bytes > (1 << 30)) return fail();
    // The optional parts in order: "cN" (N in 2..16, dividing the grid's x), then "wBYTES".
    std::size_t next = 3;
    if (next < parts.size() && !parts[next].empty() && parts[next][0] == 'c') {
        if (!parse_decimal(parts[next].substr(1), geometry.cluster) || geometry.cluster < 2 || geometry.cluster > 16 ||
            geometry.grid[0] % geometry.cluster != 0)
            return fail();
        ++next;
    }
    if (next < parts.size() && !parts[next].empty() && parts[next][0] == 'w') {
        if (!parse_decimal(parts[next].substr(1), geometry.workspace_bytes) || geometry.workspace_bytes < 1 ||
            geometry.workspace_bytes > max_workspace_bytes || geometry.cluster > 1)
            return fail();
        ++next;
    }
    if (next != parts.size()) return fail();
    return geometry;
}

variables launch_variables(const kernel_spec& spec, const config& c, dtype type, const problem& shape,
                           const device_limits& limits) {
    require_in_domain(spec, c, "launch of " + spec.name);
    variables vars = base_variables(spec, type);
    bind(vars, spec, c);
    bind_problem(vars, shape, limits);
    return vars;
}

bool candidate_at(const kernel_spec& spec, const config& c, dtype type, const problem& shape, const device_limits& limits) {
    if (spec.problem_constraints.empty()) return true;
    const variables vars = launch_variables(spec, c, type, shape, limits);
    return std::all_of(spec.problem_constraints.begin(), spec.problem_constraints.end(),
                       [&](const named_constraint& constraint) { return constraint.expr.evaluate(vars) != 0; });
}

launch_geometry candidate_launch(const kernel_spec& spec, const config& c, dtype type, const problem& shape,
                                 const device_limits& limits) {
    const variables vars = launch_variables(spec, c, type, shape, limits);
    return checked_geometry(spec.launch, vars, limits, spec.name + " " + label(spec, c));
}

launch_geometry reference_launch(const kernel_spec& spec, dtype type, const problem& shape,
                                 const device_limits& limits) {
    variables vars = base_variables(spec, type);
    bind_problem(vars, shape, limits);
    return checked_geometry(spec.reference_launch, vars, limits, spec.name + " reference");
}

std::int64_t bytes_moved(const kernel_spec& spec, dtype type, const problem& shape) {
    variables vars = base_variables(spec, type);
    shape.bind(vars);
    return spec.bytes_moved.evaluate(vars);
}

} // namespace kerntune
