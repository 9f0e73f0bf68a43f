#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace kerntune {

namespace detail {
class elementwise_parser;
}

/// A scalar an elementwise expression reads by name: given at call time, `value` when not.
struct scalar_default {
    std::string name;
    float value = 0;
};

/// What a node of an elementwise expression computes. Every operation takes and gives float32
/// except where noted (docs/EXPRESSIONS.md has the exact semantics of each).
enum class elementwise_op : std::uint8_t {
    literal,  ///< a float32 constant
    input,    ///< an input tensor's element: x, y, z, u, v, w
    scalar,   ///< a declared scalar
    negate,
    logical_not,  ///< bool to bool
    multiply,
    divide,
    add,
    subtract,
    less,  ///< the six comparisons: two floats to a bool
    less_equal,
    greater,
    greater_equal,
    equal,
    not_equal,
    logical_and,  ///< two bools to a bool
    logical_or,   ///< two bools to a bool
    where,        ///< a bool and two floats
    min,
    max,
    clamp,
    fma,  ///< fma(a, b, c): a * b + c rounded once (what nvcc makes of torch's a * b + c)
    pow,
    abs,
    exp,
    exp2,
    log,
    log2,
    log1p,
    expm1,
    sqrt,
    rsqrt,
    tanh,
    sigmoid,
    erf,
    sin,
    cos,
    floor,
    ceil,
    round,
};

/// Whether `op` gives a bool (comparisons, && || !) rather than a float.
bool gives_bool(elementwise_op op);

/// One node of a parsed elementwise expression.
struct elementwise_node {
    elementwise_op op = elementwise_op::literal;
    float value = 0;  ///< literal: finite, not negative
    int index = 0;    ///< input or scalar: its index (x is input 0, the first declared scalar is 0)
    std::array<int, 3> operands = {-1, -1, -1};  ///< nodes() indexes, each below this node's; -1 when unused
};

/// The user expression language of elementwise ops (docs/EXPRESSIONS.md): inputs x, y, z, u,
/// v, w (elements of tensors of one element count), declared scalars, float literals, + - * /,
/// unary minus, comparisons, && || !, where(c, a, b) and a fixed set of math functions,
/// computed in float32. Parsed strictly: every unknown name, syntax error, wrong arity, type
/// error and out-of-range literal is a one-line kerntune::error naming its column.
class elementwise_expression {
public:
    /// The longest text parse accepts, in characters, as for the integer language
    /// (core/expression.hpp): GELU's tanh form is 63 characters, so any formula a person writes
    /// fits many times over, and the functor stays under ~2,000 lines (one an operation): the
    /// longest compiles with NVRTC in 0.25 s on an idle 2-core machine
    /// (tests/nvrtc/test_elementwise_functor_compile.cpp).
    static constexpr std::size_t max_length = 4096;
    /// The deepest nesting parse accepts: parentheses, function calls and unary operators each
    /// add a level. Hand-written formulas nest under 10 deep; 64 bounds the parser's recursion
    /// (about a dozen small frames a level) far below any thread's stack.
    static constexpr int max_depth = 64;
    /// The most scalars one expression may declare: each is a kernel argument, and the ops of
    /// issue 14 need 3 at most.
    static constexpr std::size_t max_scalars = 16;
    /// The longest scalar name, in characters: names are part of the canonical form, the key of
    /// every tuned row, so they stay short.
    static constexpr std::size_t max_scalar_name = 64;
    /// The input letters in input order: x is input 0, w input 5.
    static constexpr std::string_view input_letters = "xyzuvw";

    /// Parses `text` with `scalars` declared (identifiers, none an input letter or a function
    /// name, no two alike, finite defaults). Throws kerntune::error, one line naming the column.
    /// The inputs it takes are x up to the highest input letter it uses ("y + 1" takes x and y).
    static elementwise_expression parse(std::string_view text, const std::vector<scalar_default>& scalars = {});

    /// How many inputs it takes: 1 + the index of its highest input letter (x 0 ... w 5), 0 when
    /// it uses none.
    int input_count() const { return m_input_count; }
    /// The scalars it was declared with, in their order (used or not).
    const std::vector<scalar_default>& scalars() const { return m_scalars; }
    /// Whether it gives a float; else a bool (a comparison, && || !).
    bool result_is_float() const { return !gives_bool(m_nodes.back().op); }
    /// Its tree: every node after its operands, the root last.
    const std::vector<elementwise_node>& nodes() const { return m_nodes; }

    /// The expression alone in one spelling: no white space, only the parentheses the tree
    /// needs (C precedence, left-associative), each literal the shortest decimal that reads
    /// back as its float32 value. Never longer than the text parsed, so it parses again (with
    /// the same scalars) to the same text.
    std::string canonical_text() const;
    /// The key of the kernel it makes: canonical_text(), then ";name=default" for each declared
    /// scalar in order (defaults spelt like literals, "-" for negative ones). Equal keys mean
    /// the same inputs, scalars and computation.
    std::string canonical() const;

    /// Computes it on the host in float32 as the device functor does (kt_expression_math.cuh):
    /// inputs[i] is input i's element, scalar_values[i] scalar i's value. A bool result is 1 or
    /// 0. The host's libm and CUDA's can differ by an ulp in some functions (docs/EXPRESSIONS.md).
    /// One pass over nodes() in order: no recursion.
    float evaluate(const float* inputs, const float* scalar_values) const;

private:
    elementwise_expression() = default;  // only parse makes one: there is no empty expression

    std::vector<elementwise_node> m_nodes;
    std::vector<scalar_default> m_scalars;
    int m_input_count = 0;

    friend class detail::elementwise_parser;
};

} // namespace kerntune
