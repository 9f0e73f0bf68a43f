#include "elementwise/cuda_functor.hpp"

#include <cstdint>
#include <cstring>
#include <vector>

#include "core/error.hpp"

namespace kerntune {
namespace {

using op = elementwise_op;

/// `value` (finite, not negative) as an exact C++17 hex float literal, "0x1.8p+0f", spelt from
/// its bits rather than by the host's printf.
std::string hex_float(float value) {
    std::uint32_t bits = 0;
    std::memcpy(&bits, &value, sizeof(bits));
    const int biased = static_cast<int>(bits >> 23);    // the sign bit is 0
    const std::uint32_t fraction = (bits & 0x7fffff) << 1;  // 23 bits made 24: six hex digits
    if (biased == 0 && fraction == 0) return "0x0p+0f";
    std::string hex;
    for (int shift = 20; shift >= 0; shift -= 4) hex += "0123456789abcdef"[(fraction >> shift) & 15];
    hex.erase(hex.find_last_not_of('0') + 1);
    const int exponent = biased == 0 ? -126 : biased - 127;  // subnormals are 0x0.xxxxxxp-126
    return std::string(biased == 0 ? "0x0" : "0x1") + (hex.empty() ? "" : "." + hex) + "p" +
           (exponent < 0 ? "-" : "+") + std::to_string(exponent < 0 ? -exponent : exponent) + "f";
}

/// The right-hand side of node `n`, over the names of its operands: a kt_math function or one
/// of C's exact operators, from this list and nothing else.
std::string operation(const elementwise_node& n, const std::vector<std::string>& names) {
    const auto arg = [&](std::size_t k) { return names[static_cast<std::size_t>(n.operands[k])]; };
    const auto infix = [&](const char* symbol) { return arg(0) + " " + symbol + " " + arg(1); };
    const auto call = [&](const char* function) {
        std::string text = std::string("kt_math::") + function + "(" + arg(0);
        for (std::size_t k = 1; k < n.operands.size() && n.operands[k] >= 0; ++k) text += ", " + arg(k);
        return text + ")";
    };
    switch (n.op) {
        case op::literal: return hex_float(n.value);
        case op::input: return "in" + std::to_string(n.index);
        case op::scalar: return "s" + std::to_string(n.index);
        case op::negate: return "-" + arg(0);
        case op::logical_not: return "!" + arg(0);
        case op::multiply: return call("mul");
        case op::divide: return call("div");
        case op::add: return call("add");
        case op::subtract: return call("sub");
        case op::less: return infix("<");
        case op::less_equal: return infix("<=");
        case op::greater: return infix(">");
        case op::greater_equal: return infix(">=");
        case op::equal: return infix("==");
        case op::not_equal: return infix("!=");
        case op::logical_and: return infix("&&");
        case op::logical_or: return infix("||");
        case op::where: return arg(0) + " ? " + arg(1) + " : " + arg(2);
        case op::min: return call("min");
        case op::max: return call("max");
        case op::clamp: return call("clamp");
        case op::fma: return call("fma");
        case op::pow: return call("pow");
        case op::abs: return call("abs");
        case op::exp: return call("exp");
        case op::exp2: return call("exp2");
        case op::log: return call("log");
        case op::log2: return call("log2");
        case op::log1p: return call("log1p");
        case op::expm1: return call("expm1");
        case op::sqrt: return call("sqrt");
        case op::rsqrt: return call("rsqrt");
        case op::tanh: return call("tanh");
        case op::sigmoid: return call("sigmoid");
        case op::erf: return call("erf");
        case op::sin: return call("sin");
        case op::cos: return call("cos");
        case op::floor: return call("floor");
        case op::ceil: return call("ceil");
        case op::round: return call("round");
    }
    throw error("corrupt elementwise expression: node kind " + std::to_string(static_cast<int>(n.op)));
}

const char* cuda_type(op kind) { return gives_bool(kind) ? "bool" : "float"; }

} // namespace

std::string emit_cuda_functor(const elementwise_expression& expression) {
    const std::vector<elementwise_node>& nodes = expression.nodes();
    std::string out = "struct kt_expression {\n";
    for (std::size_t i = 0; i < expression.scalars().size(); ++i) out += "    float s" + std::to_string(i) + ";\n";
    out += std::string("    __device__ ") + cuda_type(nodes.back().op) + " operator()(";
    for (int i = 0; i < expression.input_count(); ++i) out += (i ? ", float in" : "float in") + std::to_string(i);
    out += ") const {\n";
    // Leaves are spelt where they are used; every other node is a temporary of its own.
    std::vector<std::string> names(nodes.size());
    int temporaries = 0;
    for (std::size_t i = 0; i < nodes.size(); ++i) {
        const std::string spelt = operation(nodes[i], names);
        if (nodes[i].operands[0] < 0) {
            names[i] = spelt;
            continue;
        }
        names[i] = "t" + std::to_string(temporaries++);
        out += std::string("        const ") + cuda_type(nodes[i].op) + " " + names[i] + " = " + spelt + ";\n";
    }
    return out + "        return " + names.back() + ";\n    }\n};\n";
}

} // namespace kerntune
