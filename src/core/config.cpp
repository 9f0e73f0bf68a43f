#include "core/config.hpp"

#include <algorithm>

#include "core/error.hpp"
#include "core/text.hpp"

namespace kerntune {
namespace {

// Enum value names and sizeof(T): what constraints and defaults may read besides parameters.
variables base_variables(const kernel_spec& spec, dtype type) {
    variables vars;
    for (const param_spec& p : spec.params)
        for (std::size_t i = 0; i < p.enum_names.size(); ++i) vars[p.enum_names[i]] = static_cast<std::int64_t>(i);
    vars["sizeof(T)"] = static_cast<std::int64_t>(dtype_size(type));
    return vars;
}

void bind(variables& vars, const kernel_spec& spec, const config& c) {
    for (std::size_t i = 0; i < spec.params.size(); ++i) vars[spec.params[i].name] = c.values[i];
}

bool satisfies(const kernel_spec& spec, variables& vars, const config& c) {
    bind(vars, spec, c);
    return std::all_of(spec.constraints.begin(), spec.constraints.end(),
                       [&](const named_constraint& constraint) { return constraint.expr.evaluate(vars) != 0; });
}

void bind_problem(variables& vars, std::int64_t n, const device_limits& limits) {
    vars["n"] = n;
    vars["sm_count"] = limits.sm_count;
    vars["max_threads_per_sm"] = limits.max_threads_per_sm;
}

launch_geometry checked_geometry(const launch_rule& rule, const variables& vars, const std::string& what) {
    const launch_geometry geometry{rule.grid.evaluate(vars), rule.block.evaluate(vars)};
    if (geometry.block_x < 1 || geometry.block_x > 1024)
        throw error(what + ": block of " + std::to_string(geometry.block_x) + " threads is outside 1..1024");
    if (geometry.grid_x < 1 || geometry.grid_x > 2147483647)
        throw error(what + ": grid of " + std::to_string(geometry.grid_x) + " blocks is outside 1..2^31-1");
    return geometry;
}

} // namespace

bool in_domain(const kernel_spec& spec, const config& c) {
    if (c.values.size() != spec.params.size()) return false;
    for (std::size_t i = 0; i < spec.params.size(); ++i) {
        const std::vector<std::int64_t>& domain = spec.params[i].values;
        if (std::find(domain.begin(), domain.end(), c.values[i]) == domain.end()) return false;
    }
    return true;
}

std::vector<config> enumerate_space(const kernel_spec& spec, dtype type) {
    std::vector<config> space;
    variables vars = base_variables(spec, type);
    std::vector<std::size_t> index(spec.params.size(), 0);
    while (true) {
        config c;
        for (std::size_t i = 0; i < spec.params.size(); ++i) c.values.push_back(spec.params[i].values[index[i]]);
        if (satisfies(spec, vars, c)) space.push_back(std::move(c));
        // Odometer: advance the last parameter fastest.
        std::size_t p = spec.params.size();
        while (p > 0 && ++index[p - 1] == spec.params[p - 1].values.size()) index[--p] = 0;
        if (p == 0) return space;
    }
}

bool satisfies_constraints(const kernel_spec& spec, const config& c, dtype type) {
    if (!in_domain(spec, c)) return false;
    variables vars = base_variables(spec, type);
    return satisfies(spec, vars, c);
}

config default_config(const kernel_spec& spec, dtype type) {
    const variables vars = base_variables(spec, type);
    config c;
    for (const auto& [name, value] : spec.default_values) c.values.push_back(value.evaluate(vars));
    if (!in_domain(spec, c)) throw error("default config is outside the declared domain");
    if (!satisfies_constraints(spec, c, type))
        throw error("default config " + label(spec, c) + " violates a constraint for " + std::string(to_string(type)));
    return c;
}

std::string label(const kernel_spec& spec, const config& c) {
    if (!in_domain(spec, c)) throw error("config outside the declared domain of " + spec.name);
    std::string text;
    for (std::size_t i = 0; i < spec.params.size(); ++i) {
        const param_spec& p = spec.params[i];
        text += (i ? "." : "") + (p.is_enum() ? p.enum_names[static_cast<std::size_t>(c.values[i])]
                                               : p.short_name + std::to_string(c.values[i]));
    }
    return text;
}

config parse_label(const kernel_spec& spec, std::string_view text) {
    const std::vector<std::string_view> parts = split(text, '.');
    auto fail = [&]() -> config {
        throw error("'" + std::string(text) + "' is not a config of " + spec.name + " (outside its declared domain)");
    };
    if (parts.size() != spec.params.size()) return fail();
    config c;
    for (std::size_t i = 0; i < parts.size(); ++i) {
        const param_spec& p = spec.params[i];
        // Match against the spelled-out domain: nothing else can be accepted.
        bool found = false;
        for (std::size_t v = 0; v < p.values.size() && !found; ++v) {
            const std::string spelled = p.is_enum() ? p.enum_names[v] : p.short_name + std::to_string(p.values[v]);
            if (parts[i] == spelled) {
                c.values.push_back(p.values[v]);
                found = true;
            }
        }
        if (!found) return fail();
    }
    return c;
}

std::string name_expression(const kernel_spec& spec, const config& c, dtype type) {
    if (!in_domain(spec, c)) throw error("refusing to instantiate " + spec.name + " with a config outside its domain");
    std::string expression = spec.kernel + "<" + std::string(cuda_type_name(type));
    for (std::size_t i = 0; i < spec.params.size(); ++i)
        if (spec.params[i].kind == param_kind::template_arg) expression += ", " + std::to_string(c.values[i]);
    return expression + ">";
}

std::string reference_name_expression(const kernel_spec& spec, dtype type) {
    return spec.reference_kernel + "<" + std::string(cuda_type_name(type)) + ">";
}

variables launch_variables(const kernel_spec& spec, const config& c, dtype type, std::int64_t n,
                           const device_limits& limits) {
    variables vars = base_variables(spec, type);
    bind(vars, spec, c);
    bind_problem(vars, n, limits);
    return vars;
}

launch_geometry candidate_launch(const kernel_spec& spec, const config& c, dtype type, std::int64_t n,
                                 const device_limits& limits) {
    return checked_geometry(spec.launch, launch_variables(spec, c, type, n, limits), spec.name + " " + label(spec, c));
}

launch_geometry reference_launch(const kernel_spec& spec, dtype type, std::int64_t n, const device_limits& limits) {
    variables vars = base_variables(spec, type);
    bind_problem(vars, n, limits);
    return checked_geometry(spec.reference_launch, vars, spec.name + " reference");
}

std::int64_t bytes_moved(const kernel_spec& spec, dtype type, std::int64_t n) {
    variables vars = base_variables(spec, type);
    vars["n"] = n;
    return spec.bytes_moved.evaluate(vars);
}

} // namespace kerntune
