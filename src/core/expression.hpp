#pragma once
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
    /// An empty expression: evaluating it is an error. Exists so that specs can be filled in
    /// field by field.
    expression() = default;

    /// Parses `text`; throws kerntune::error naming the text and the column of the problem.
    static expression parse(std::string_view text);

    /// Evaluates with `vars`; throws kerntune::error on an unknown name, a division or modulo
    /// by zero, or an overflow. && || and ?: evaluate only the operands they need, like C.
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

    friend class detail::expression_parser;
    std::int64_t evaluate(int index, const variables& vars) const;
    std::int64_t apply(op kind, std::int64_t a, std::int64_t b) const;  // strict binary operators
    [[noreturn]] void fail(const std::string& what) const;
};

} // namespace kerntune
