#include "core/kernel_arguments.hpp"

#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>

#include "core/error.hpp"
#include "core/text.hpp"

namespace kerntune {
namespace {

scalar_type parse_scalar_type(std::string_view text) {
    if (text == "i32") return scalar_type::i32;
    if (text == "i64") return scalar_type::i64;
    if (text == "f32") return scalar_type::f32;
    throw error("unknown scalar type '" + std::string(text) + "' (expected i32, i64 or f32)");
}

buffer_access parse_access(std::string_view text) {
    if (text == "in") return buffer_access::in;
    if (text == "out") return buffer_access::out;
    if (text == "inout") return buffer_access::inout;
    throw error("unknown buffer access '" + std::string(text) + "' (expected in, out or inout)");
}

std::uint64_t parse_unsigned(std::string_view text, int base) {
    const std::string copy(text);
    char* end = nullptr;
    const unsigned long long value = std::strtoull(copy.c_str(), &end, base);
    if (copy.empty() || *end != '\0' || copy[0] == '-' || copy[0] == '+')
        throw error("bad number '" + copy + "' in bound arguments");
    return value;
}

} // namespace

bool bound_arg::operator==(const bound_arg& other) const {
    return kind == other.kind && access == other.access && element == other.element && count == other.count &&
           type == other.type && from_caller == other.from_caller && bits == other.bits;
}

std::int64_t bound_arg::bytes() const { return count * static_cast<std::int64_t>(dtype_size(element)); }

std::uint64_t scalar_bits(scalar_type type, double value) {
    switch (type) {
    case scalar_type::f32: {
        const float f = static_cast<float>(value);
        std::uint32_t bits = 0;
        std::memcpy(&bits, &f, sizeof(bits));
        return bits;
    }
    case scalar_type::i32:
        if (value != std::floor(value) || value < std::numeric_limits<std::int32_t>::min() ||
            value > std::numeric_limits<std::int32_t>::max())
            throw error("scalar " + std::to_string(value) + " is not an i32");
        return static_cast<std::uint32_t>(static_cast<std::int32_t>(value));
    case scalar_type::i64:
        // 2^63 is exactly representable as a double; anything from it up is out of range.
        if (value != std::floor(value) || value < -9223372036854775808.0 || value >= 9223372036854775808.0)
            throw error("scalar " + std::to_string(value) + " is not an i64");
        return static_cast<std::uint64_t>(static_cast<std::int64_t>(value));
    }
    return 0;
}

std::vector<bound_arg> bind_arguments(const kernel_spec& spec, dtype type, const problem& shape) {
    variables axes;
    shape.bind(axes);
    std::vector<bound_arg> bound;
    for (const kernel_arg& argument : spec.arguments) {
        bound_arg b;
        b.kind = argument.kind;
        if (argument.kind == arg_kind::workspace) {  // its size comes with the launch geometry
            bound.push_back(b);
            continue;
        }
        // Every failure names the op, the problem and the argument ("leaky_relu n=1024: buffer x").
        const std::string where = spec.name + " " + shape.key() + ": " +
                                  (argument.kind == arg_kind::buffer ? "buffer " : "scalar ") + argument.name;
        const auto evaluated = [&axes, &where](const expression& value) {
            try {
                return value.evaluate(axes);
            } catch (const error& failure) {
                throw error(where + ": " + failure.what());
            }
        };
        if (argument.kind == arg_kind::buffer) {
            b.access = argument.access;
            b.element = argument.element_type(type);
            b.count = evaluated(argument.extent);
            if (b.count < 0) throw error(where + " has " + std::to_string(b.count) + " elements");
            if (b.count > max_buffer_bytes / static_cast<std::int64_t>(dtype_size(b.element)))
                throw error(where + " of " + std::to_string(b.count) + " " + std::string(to_string(b.element)) +
                            " elements is over 2^49 bytes (512 TiB), more than a GPU can address");
        } else {
            b.type = argument.type;
            b.from_caller = argument.is_caller_scalar();
            if (b.from_caller) {
                b.bits = scalar_bits(argument.type, argument.default_value);
            } else {
                const std::int64_t value = evaluated(argument.value);
                if (argument.type == scalar_type::f32) {
                    b.bits = scalar_bits(scalar_type::f32, static_cast<double>(value));
                } else if (argument.type == scalar_type::i32) {
                    if (value < std::numeric_limits<std::int32_t>::min() || value > std::numeric_limits<std::int32_t>::max())
                        throw error(where + " = " + std::to_string(value) + " does not fit an i32");
                    b.bits = static_cast<std::uint32_t>(static_cast<std::int32_t>(value));
                } else {
                    b.bits = static_cast<std::uint64_t>(value);
                }
            }
        }
        bound.push_back(b);
    }
    if (bound.size() > packed_args::max_args)
        throw error(spec.name + " has " + std::to_string(bound.size()) + " arguments, more than " +
                    std::to_string(packed_args::max_args));
    return bound;
}

std::string to_string(const std::vector<bound_arg>& args) {
    std::string text;
    for (const bound_arg& b : args) {
        if (!text.empty()) text += ",";
        if (b.kind == arg_kind::workspace) {
            text += "workspace";
        } else if (b.kind == arg_kind::buffer) {
            text += "buffer:" + std::string(to_string(b.access)) + ":" + std::string(to_string(b.element)) + ":" +
                    std::to_string(b.count);
        } else {
            char bits[24];
            std::snprintf(bits, sizeof(bits), "%llx", static_cast<unsigned long long>(b.bits));
            text += std::string(b.from_caller ? "caller:" : "scalar:") + std::string(to_string(b.type)) + ":" + bits;
        }
    }
    return text;
}

std::vector<bound_arg> parse_bound_args(std::string_view text) {
    std::vector<bound_arg> args;
    if (text.empty()) return args;
    for (std::string_view item : split(text, ',')) {
        const std::vector<std::string_view> parts = split(item, ':');
        bound_arg b;
        if (parts.size() == 1 && parts[0] == "workspace") {
            b.kind = arg_kind::workspace;
        } else if (parts.size() == 4 && parts[0] == "buffer") {
            b.access = parse_access(parts[1]);
            b.element = parse_dtype(parts[2]);
            b.count = static_cast<std::int64_t>(parse_unsigned(parts[3], 10));
            if (b.count < 0 || b.count > std::numeric_limits<std::int64_t>::max() / 8)
                throw error("bad buffer size in bound arguments '" + std::string(item) + "'");
        } else if (parts.size() == 3 && (parts[0] == "scalar" || parts[0] == "caller")) {
            b.kind = arg_kind::scalar;
            b.from_caller = parts[0] == "caller";
            b.type = parse_scalar_type(parts[1]);
            b.bits = parse_unsigned(parts[2], 16);
            if (b.type != scalar_type::i64 && b.bits > 0xffffffffull)
                throw error("bad scalar bits in bound arguments '" + std::string(item) + "'");
        } else {
            throw error("bad bound argument '" + std::string(item) + "'");
        }
        args.push_back(b);
    }
    if (args.size() > packed_args::max_args) throw error("too many bound arguments");
    return args;
}

packed_args::packed_args(const std::vector<bound_arg>& args, const std::uint64_t* buffers, const double* caller_scalars) {
    if (args.size() > max_args) throw error("too many kernel arguments");
    std::size_t buffer = 0, scalar = 0;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const bound_arg& b = args[i];
        if (b.kind == arg_kind::workspace) {
            m_storage[i] = 0;  // set_workspace, once the launch has one
            m_workspace_slot = i;
        } else if (b.kind == arg_kind::buffer) {
            m_storage[i] = buffers[buffer++];
        } else if (b.from_caller && caller_scalars != nullptr) {
            m_storage[i] = scalar_bits(b.type, caller_scalars[scalar++]);
        } else {
            m_storage[i] = b.bits;
        }
        // cuLaunchKernel reads each parameter's size from where its slot points: 4-byte values
        // sit in the low bytes of their 8-byte cell on little-endian hosts.
        m_slots[i] = &m_storage[i];
    }
}

void packed_args::set_workspace(std::uint64_t pointer) {
    if (m_workspace_slot < max_args) m_storage[m_workspace_slot] = pointer;
}

} // namespace kerntune
