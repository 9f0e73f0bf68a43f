#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace kerntune {

/// Values of the names an expression may read.
using variables = std::map<std::string, std::int64_t, std::less<>>;

/// A small integer expression language for constraints, launch geometry, byte counts and
/// defaults in template specs: 64-bit integers, names, `sizeof(T)`, + - * / %, comparisons,
/// && || !, ?: and min(a, b), max(a, b), cdiv(a, b) (ceiling division). Booleans are 0 and 1.
/// Every overflow, division by zero and unknown name is an error, never a wrong number.
class expression {
public:
    expression() = default;

    /// Parses `text`; throws kerntune::error naming the text and the column of the problem.
    static expression parse(std::string_view text);

    /// Evaluates with `vars`; throws kerntune::error on an unknown name, a division or modulo
    /// by zero, or an overflow.
    std::int64_t evaluate(const variables& vars) const;

    const std::string& text() const { return m_text; }

    /// The names it reads (`sizeof(T)` included as that string), sorted and unique.
    std::vector<std::string> names() const;

private:
    struct node {
        enum class kind { literal, name, unary, binary, conditional, call } type = kind::literal;
        std::int64_t value = 0;
        std::string name;  // variable, operator or function name
        int operands[3] = {-1, -1, -1};
    };
    std::string m_text;
    std::vector<node> m_nodes;
    int m_root = -1;

    friend class expression_parser;
    std::int64_t evaluate(int index, const variables& vars) const;
};

} // namespace kerntune
