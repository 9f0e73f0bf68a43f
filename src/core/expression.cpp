#include "core/expression.hpp"

#include <algorithm>
#include <array>
#include <limits>
#include <set>

#include "core/text_cursor.hpp"

namespace kerntune {
namespace detail {

/// Recursive descent for ?: and unary operators, precedence climbing for the binary ones.
class expression_parser {
public:
    explicit expression_parser(expression& out)
        : m_out(out), m_cursor(out.m_text, expression::max_length, expression::max_depth) {}

    int parse_all() {
        const int root = conditional();
        m_cursor.skip_space();
        if (!m_cursor.at_end()) m_cursor.fail_unexpected();
        return root;
    }

private:
    using op = expression::op;
    using nested = text_cursor::nested;

    struct binary_operator {
        std::string_view spelling;
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
    text_cursor m_cursor;

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
        m_cursor.skip_space();
        const std::size_t start = m_cursor.position();
        if (!m_cursor.accept("?")) return condition;
        const nested level(m_cursor, start);
        const int then = conditional();
        m_cursor.expect(":");
        const int otherwise = conditional();
        return add(op::conditional, {condition, then, otherwise});
    }

    // The binary operator at the cursor if it binds at least as tightly as min_precedence.
    const binary_operator* peek_binary(int min_precedence) {
        for (const binary_operator& candidate : binary_operators)
            if (m_cursor.at(candidate.spelling))
                return candidate.precedence >= min_precedence ? &candidate : nullptr;
        return nullptr;
    }

    int binary(int min_precedence) {
        return parse_binary(
            m_cursor, min_precedence, [this] { return unary(); },
            [this](int least) { return peek_binary(least); },
            [this](const binary_operator& found, int left, int right) { return add(found.kind, {left, right}); });
    }

    int unary() {
        return parse_prefix(m_cursor, {"-", "!"}, [this] { return primary(); },
                            [this](std::size_t which, int inner, std::size_t) {
                                return add(which == 0 ? op::negate : op::logical_not, {inner});
                            });
    }

    int primary() {
        m_cursor.skip_space();
        const std::size_t start = m_cursor.position();
        if (m_cursor.accept("(")) {
            const nested level(m_cursor, start);
            const int inner = conditional();
            m_cursor.expect(")");
            return inner;
        }
        if (m_cursor.at_digit()) return literal();
        if (m_cursor.at_identifier_start()) return identifier();
        m_cursor.fail_unexpected();
    }

    int literal() {
        std::int64_t value = 0;
        while (m_cursor.at_digit()) {
            if (__builtin_mul_overflow(value, 10, &value) ||
                __builtin_add_overflow(value, m_cursor.current() - '0', &value))
                m_cursor.fail("number too large");
            m_cursor.advance();
        }
        if (m_cursor.at_identifier_char() || m_cursor.next_is('.'))
            m_cursor.fail("malformed number");
        const int index = add(op::literal, {});
        m_out.m_nodes.back().value = value;
        return index;
    }

    int identifier() {
        const std::size_t start = m_cursor.position();
        std::string word(m_cursor.identifier());
        if (word == "sizeof") {
            // The one type expression: the element size, bound like a variable.
            m_cursor.expect("(");
            m_cursor.expect("T");
            if (m_cursor.at_identifier_char()) m_cursor.fail("only sizeof(T) is known");
            m_cursor.expect(")");
            return add_name("sizeof(T)");
        }
        if (!m_cursor.accept("(")) return add_name(std::move(word));
        op kind = op::min;
        if (word == "max") {
            kind = op::max;
        } else if (word == "cdiv") {
            kind = op::cdiv;
        } else if (word != "min") {
            // point at the name, not past the parenthesis
            m_cursor.fail_at(start, "unknown function '" + word + "' (known: min, max, cdiv)");
        }
        const nested level(m_cursor, start);
        const int a = conditional();
        m_cursor.expect(",");
        const int b = conditional();
        m_cursor.expect(")");
        return add(kind, {a, b});
    }
};

} // namespace detail

expression expression::parse(std::string_view text) {
    expression parsed;
    parsed.m_text = std::string(text);
    parsed.m_root = detail::expression_parser(parsed).parse_all();
    // The parser appends operands before the node that uses them, so one pass in order finds
    // every node's height.
    std::vector<std::size_t> height(parsed.m_nodes.size(), 1);
    for (std::size_t i = 0; i < parsed.m_nodes.size(); ++i)
        for (int operand : parsed.m_nodes[i].operands)
            if (operand >= 0) height[i] = std::max(height[i], height[static_cast<std::size_t>(operand)] + 1);
    parsed.m_height = height[static_cast<std::size_t>(parsed.m_root)];
    return parsed;
}

void expression::fail(const std::string& what) const { detail::throw_expression_error(m_text, what); }

std::int64_t expression::evaluate(const variables& vars) const {
    if (m_root < 0) fail("empty expression");
    // One frame per node being evaluated, root first: which operand comes next (stage) and the
    // operands' values so far. Most rules are a few levels high: those need no allocation.
    struct frame {
        int node;
        int stage;
        std::int64_t values[2];
    };
    std::array<frame, 32> small;
    std::vector<frame> large;
    frame* stack = small.data();
    if (m_height > small.size()) {
        large.resize(m_height);
        stack = large.data();
    }
    std::size_t top = 0;
    stack[0] = {m_root, 0, {0, 0}};
    while (true) {
        frame& f = stack[top];
        const node& n = m_nodes[static_cast<std::size_t>(f.node)];
        int next = -1;  // the operand to evaluate now, or -1 once `value` is the node's
        std::int64_t value = 0;
        switch (n.kind) {
            case op::literal:
                value = n.value;
                break;
            case op::name: {
                const auto found = vars.find(n.name);
                if (found == vars.end()) fail("unknown name '" + n.name + "'");
                value = found->second;
                break;
            }
            case op::negate:
                if (f.stage == 0) {
                    next = n.operands[0];
                } else if (__builtin_sub_overflow(std::int64_t{0}, f.values[0], &value)) {
                    fail("overflow in -(" + std::to_string(f.values[0]) + ")");
                }
                break;
            case op::logical_not:
                if (f.stage == 0) next = n.operands[0];
                else value = f.values[0] == 0;
                break;
            case op::logical_and:
            case op::logical_or: {
                // The right operand only when the left one does not decide, like C.
                const bool decided_by = n.kind == op::logical_or;
                if (f.stage == 0) next = n.operands[0];
                else if (f.stage == 1 && (f.values[0] != 0) != decided_by) next = n.operands[1];
                else value = f.stage == 1 ? decided_by : f.values[1] != 0;
                break;
            }
            case op::conditional:
                if (f.stage == 0) next = n.operands[0];
                else if (f.stage == 1) next = n.operands[f.values[0] != 0 ? 1 : 2];
                else value = f.values[1];
                break;
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
                if (f.stage < 2) next = n.operands[f.stage];
                else value = apply(n.kind, f.values[0], f.values[1]);
                break;
            default:
                fail("corrupt expression");
        }
        if (next >= 0) {
            ++f.stage;
            stack[++top] = {next, 0, {0, 0}};
            continue;
        }
        if (top == 0) return value;
        frame& parent = stack[--top];
        parent.values[parent.stage - 1] = value;
    }
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
