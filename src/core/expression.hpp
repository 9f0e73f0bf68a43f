#pragma once
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace kerntune {

/// Values of the names an expression may read.
using variables = std::map<std::string, std::int64_t, std::less<>>;

namespace detail {
class expression_parser;
}

/// A small integer expression language for constraints, launch geometry, byte counts and
/// defaults in template specs: 64-bit integers, names, `sizeof(T)`, + - * / %, comparisons,
/// && || !, ?: and min(a, b), max(a, b), cdiv(a, b) (ceiling division). Booleans are 0 and 1.
/// Every overflow, division by zero and unknown name is an error, never a wrong number.
class expression {
public:
    /// The longest text parse accepts, in characters. The longest launch rule shipped (leaky_relu's
    /// grid) has 225; 4096 leaves room for any rule a person writes and bounds what a hostile
    /// spec can make the parser and the evaluator do (`kerntune list` overflowed the stack on
    /// 50,000 terms or 400,000 minus signs before the limit).
    static constexpr std::size_t max_length = 4096;
    /// The deepest nesting parse accepts: parentheses, function arguments, ?: branches and
    /// unary operators each add a level. The shipped rules nest 4 deep; 64 bounds the parser's
    /// recursion (about 9 small frames a level) far below any thread's stack.
    static constexpr int max_depth = 64;

    /// An empty expression: evaluating it is an error. Exists so that specs can be filled in
    /// field by field.
    expression() = default;

    /// Parses `text`; throws kerntune::error naming the text and the column of the problem,
    /// also for a text longer than max_length or nested deeper than max_depth.
    static expression parse(std::string_view text);

    /// Evaluates with `vars`; throws kerntune::error on an unknown name, a division or modulo
    /// by zero, or an overflow. && || and ?: evaluate only the operands they need, like C.
    /// Iterative, with an explicit stack as deep as the tree: the nesting limit does not bound
    /// the tree's height (a flat sum of 2,000 terms is a left-deep tree 2,000 nodes high), so
    /// no recursion depends on the text.
    std::int64_t evaluate(const variables& vars) const;

    /// Whether it was default-constructed rather than parsed.
    bool empty() const { return m_root < 0; }

    /// The text it was parsed from.
    const std::string& text() const { return m_text; }

    /// The names it reads (`sizeof(T)` included as that string), sorted and unique.
    std::vector<std::string> names() const;

private:
    enum class op {
        literal,
        name,
        negate,
        logical_not,
        multiply,
        divide,
        modulo,
        add,
        subtract,
        less,
        less_equal,
        greater,
        greater_equal,
        equal,
        not_equal,
        logical_and,
        logical_or,
        conditional,
        min,
        max,
        cdiv,
    };
    // One AST node. Operands index m_nodes: a flat vector keeps copies cheap and trivially
    // correct, and the parser only ever appends.
    struct node {
        op kind = op::literal;
        std::int64_t value = 0;  // literal
        std::string name;        // name
        int operands[3] = {-1, -1, -1};
    };

    std::string m_text;
    std::vector<node> m_nodes;
    int m_root = -1;
    std::size_t m_height = 0;  // nodes on the longest path from the root: evaluate's stack depth

    friend class detail::expression_parser;
    std::int64_t apply(op kind, std::int64_t a, std::int64_t b) const;  // strict binary operators
    [[noreturn]] void fail(const std::string& what) const;
};

} // namespace kerntune
