#include "core/expression.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <limits>
#include <set>

#include "core/error.hpp"

namespace kerntune {
namespace detail {

/// Recursive descent for ?: and unary operators, precedence climbing for the binary ones.
class expression_parser {
public:
    explicit expression_parser(expression& out) : m_out(out), m_text(out.m_text) {}

    int parse_all() {
        const int root = conditional();
        skip_space();
        if (m_pos != m_text.size()) fail("unexpected '" + std::string(1, m_text[m_pos]) + "'");
        return root;
    }

private:
    using op = expression::op;

    struct binary_operator {
        std::string_view token;
        int precedence;  // higher binds tighter, as in C
        op kind;
    };
    // Two-character tokens first, so that "<" never matches the start of "<=".
    static constexpr std::array<binary_operator, 13> binary_operators = {{
        {"||", 1, op::logical_or},
        {"&&", 2, op::logical_and},
        {"==", 3, op::equal},
        {"!=", 3, op::not_equal},
        {"<=", 4, op::less_equal},
        {">=", 4, op::greater_equal},
        {"<", 4, op::less},
        {">", 4, op::greater},
        {"+", 5, op::add},
        {"-", 5, op::subtract},
        {"*", 6, op::multiply},
        {"/", 6, op::divide},
        {"%", 6, op::modulo},
    }};

    expression& m_out;
    const std::string& m_text;
    std::size_t m_pos = 0;

    [[noreturn]] void fail(const std::string& what) const {
        throw error("expression '" + m_text + "': " + what + " at column " + std::to_string(m_pos + 1));
    }

    void skip_space() {
        while (m_pos < m_text.size() && std::isspace(static_cast<unsigned char>(m_text[m_pos]))) ++m_pos;
    }

    bool at_identifier_char() const {
        return m_pos < m_text.size() &&
               (std::isalnum(static_cast<unsigned char>(m_text[m_pos])) || m_text[m_pos] == '_');
    }

    bool accept(std::string_view token) {
        skip_space();
        if (m_text.compare(m_pos, token.size(), token) != 0) return false;
        m_pos += token.size();
        return true;
    }

    void expect(std::string_view token) {
        if (!accept(token)) fail("expected '" + std::string(token) + "'");
    }

    int add(op kind, std::initializer_list<int> operands) {
        expression::node n;
        n.kind = kind;
        std::copy(operands.begin(), operands.end(), n.operands);
        m_out.m_nodes.push_back(std::move(n));
        return static_cast<int>(m_out.m_nodes.size()) - 1;
    }

    int add_name(std::string name) {
        const int index = add(op::name, {});
        m_out.m_nodes.back().name = std::move(name);
        return index;
    }

    int conditional() {
        const int condition = binary(1);
        if (!accept("?")) return condition;
        const int then = conditional();
        expect(":");
        const int otherwise = conditional();
        return add(op::conditional, {condition, then, otherwise});
    }

    // The binary operator at the cursor if it binds at least as tightly as min_precedence.
    const binary_operator* peek_binary(int min_precedence) {
        skip_space();
        for (const binary_operator& candidate : binary_operators)
            if (m_text.compare(m_pos, candidate.token.size(), candidate.token) == 0)
                return candidate.precedence >= min_precedence ? &candidate : nullptr;
        return nullptr;
    }

    // Left-associative: the right operand only takes operators that bind tighter.
    int binary(int min_precedence) {
        int left = unary();
        while (const binary_operator* found = peek_binary(min_precedence)) {
            m_pos += found->token.size();
            left = add(found->kind, {left, binary(found->precedence + 1)});
        }
        return left;
    }

    int unary() {
        if (accept("-")) return add(op::negate, {unary()});
        if (accept("!")) return add(op::logical_not, {unary()});
        return primary();
    }

    int primary() {
        skip_space();
        if (m_pos >= m_text.size()) fail("unexpected end");
        const char c = m_text[m_pos];
        if (accept("(")) {
            const int inner = conditional();
            expect(")");
            return inner;
        }
        if (std::isdigit(static_cast<unsigned char>(c))) return literal();
        if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') return identifier();
        fail("unexpected '" + std::string(1, c) + "'");
    }

    int literal() {
        std::int64_t value = 0;
        while (m_pos < m_text.size() && std::isdigit(static_cast<unsigned char>(m_text[m_pos]))) {
            if (__builtin_mul_overflow(value, 10, &value) ||
                __builtin_add_overflow(value, m_text[m_pos] - '0', &value))
                fail("number too large");
            ++m_pos;
        }
        if (at_identifier_char() || (m_pos < m_text.size() && m_text[m_pos] == '.')) fail("malformed number");
        const int index = add(op::literal, {});
        m_out.m_nodes.back().value = value;
        return index;
    }

    int identifier() {
        const std::size_t start = m_pos;
        while (at_identifier_char()) ++m_pos;
        std::string word = m_text.substr(start, m_pos - start);
        if (word == "sizeof") {
            // The one type expression: the element size, bound like a variable.
            expect("(");
            expect("T");
            if (at_identifier_char()) fail("only sizeof(T) is known");
            expect(")");
            return add_name("sizeof(T)");
        }
        if (!accept("(")) return add_name(std::move(word));
        op kind = op::min;
        if (word == "max") {
            kind = op::max;
        } else if (word == "cdiv") {
            kind = op::cdiv;
        } else if (word != "min") {
            m_pos = start;  // point at the name, not past the parenthesis
            fail("unknown function '" + word + "' (known: min, max, cdiv)");
        }
        const int a = conditional();
        expect(",");
        const int b = conditional();
        expect(")");
        return add(kind, {a, b});
    }
};

} // namespace detail

expression expression::parse(std::string_view text) {
    expression parsed;
    parsed.m_text = std::string(text);
    parsed.m_root = detail::expression_parser(parsed).parse_all();
    return parsed;
}

std::int64_t expression::evaluate(const variables& vars) const {
    if (m_root < 0) fail("empty expression");
    return evaluate(m_root, vars);
}

void expression::fail(const std::string& what) const { throw error("expression '" + m_text + "': " + what); }

std::int64_t expression::evaluate(int index, const variables& vars) const {
    const node& n = m_nodes[static_cast<std::size_t>(index)];
    auto operand = [&](int i) { return evaluate(n.operands[i], vars); };
    switch (n.kind) {
        case op::literal:
            return n.value;
        case op::name: {
            const auto found = vars.find(n.name);
            if (found == vars.end()) fail("unknown name '" + n.name + "'");
            return found->second;
        }
        case op::negate: {
            const std::int64_t a = operand(0);
            std::int64_t negated = 0;
            if (__builtin_sub_overflow(std::int64_t{0}, a, &negated))
                fail("overflow in -(" + std::to_string(a) + ")");
            return negated;
        }
        case op::logical_not:
            return operand(0) == 0;
        case op::logical_and:
            return operand(0) != 0 && operand(1) != 0;
        case op::logical_or:
            return operand(0) != 0 || operand(1) != 0;
        case op::conditional:
            return operand(0) != 0 ? operand(1) : operand(2);
        case op::multiply:
        case op::divide:
        case op::modulo:
        case op::add:
        case op::subtract:
        case op::less:
        case op::less_equal:
        case op::greater:
        case op::greater_equal:
        case op::equal:
        case op::not_equal:
        case op::min:
        case op::max:
        case op::cdiv:
            return apply(n.kind, operand(0), operand(1));
    }
    fail("corrupt expression");
}

std::int64_t expression::apply(op kind, std::int64_t a, std::int64_t b) const {
    std::int64_t result = 0;
    auto overflow = [&](const char* symbol) {
        fail("overflow in " + std::to_string(a) + " " + symbol + " " + std::to_string(b));
    };
    switch (kind) {
        case op::add:
            if (__builtin_add_overflow(a, b, &result)) overflow("+");
            return result;
        case op::subtract:
            if (__builtin_sub_overflow(a, b, &result)) overflow("-");
            return result;
        case op::multiply:
            if (__builtin_mul_overflow(a, b, &result)) overflow("*");
            return result;
        case op::divide:
        case op::modulo:
            if (b == 0) fail("division by zero");
            // The one quotient that does not fit; C++ leaves its remainder undefined too.
            if (a == std::numeric_limits<std::int64_t>::min() && b == -1)
                overflow(kind == op::divide ? "/" : "%");
            return kind == op::divide ? a / b : a % b;
        case op::less:
            return a < b;
        case op::less_equal:
            return a <= b;
        case op::greater:
            return a > b;
        case op::greater_equal:
            return a >= b;
        case op::equal:
            return a == b;
        case op::not_equal:
            return a != b;
        case op::min:
            return std::min(a, b);
        case op::max:
            return std::max(a, b);
        case op::cdiv:
            if (a < 0 || b <= 0)
                fail("cdiv(" + std::to_string(a) + ", " + std::to_string(b) + ") needs a >= 0 and b > 0");
            return a / b + (a % b != 0);  // cannot overflow for a >= 0, b > 0
        default:
            fail("corrupt expression");  // evaluate() handles the other kinds
    }
}

std::vector<std::string> expression::names() const {
    std::set<std::string> found;
    for (const node& n : m_nodes)
        if (n.kind == op::name) found.insert(n.name);
    return {found.begin(), found.end()};
}

} // namespace kerntune
