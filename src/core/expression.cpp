#include "core/expression.hpp"

#include <algorithm>
#include <cctype>
#include <set>

#include "core/error.hpp"

namespace kerntune {

/// Recursive descent with C precedence: ?: < || < && < == != < < <= > >= < + - < * / % < unary.
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
    expression& m_out;
    const std::string& m_text;
    std::size_t m_pos = 0;

    [[noreturn]] void fail(const std::string& what) const {
        throw error("expression '" + m_text + "': " + what + " at column " + std::to_string(m_pos + 1));
    }

    void skip_space() {
        while (m_pos < m_text.size() && std::isspace(static_cast<unsigned char>(m_text[m_pos]))) ++m_pos;
    }

    bool accept(std::string_view token) {
        skip_space();
        if (m_text.compare(m_pos, token.size(), token) != 0) return false;
        // "<" must not match the start of "<=", "!" not "!=", "=" is never an operator alone.
        const std::size_t after = m_pos + token.size();
        if (token.size() == 1 && after < m_text.size() && m_text[after] == '=' && std::string_view("<>!=").find(token[0]) != std::string_view::npos)
            return false;
        m_pos = after;
        return true;
    }

    void expect(std::string_view token) {
        if (!accept(token)) fail("expected '" + std::string(token) + "'");
    }

    int add(expression::node n) {
        m_out.m_nodes.push_back(std::move(n));
        return static_cast<int>(m_out.m_nodes.size()) - 1;
    }

    int binary(const std::string& op, int left, int right) {
        expression::node n;
        n.type = expression::node::kind::binary;
        n.name = op;
        n.operands[0] = left;
        n.operands[1] = right;
        return add(std::move(n));
    }

    int conditional() {
        const int condition = logical_or();
        if (!accept("?")) return condition;
        const int then = conditional();
        expect(":");
        const int otherwise = conditional();
        expression::node n;
        n.type = expression::node::kind::conditional;
        n.operands[0] = condition;
        n.operands[1] = then;
        n.operands[2] = otherwise;
        return add(std::move(n));
    }

    // One level of left-associative binary operators, tried longest first.
    template <typename Next> int level(std::initializer_list<std::string_view> ops, Next next) {
        int left = (this->*next)();
        while (true) {
            bool matched = false;
            for (std::string_view op : ops) {
                if (accept(op)) {
                    left = binary(std::string(op), left, (this->*next)());
                    matched = true;
                    break;
                }
            }
            if (!matched) return left;
        }
    }

    int logical_or() { return level({"||"}, &expression_parser::logical_and); }
    int logical_and() { return level({"&&"}, &expression_parser::equality); }
    int equality() { return level({"==", "!="}, &expression_parser::relational); }
    int relational() { return level({"<=", ">=", "<", ">"}, &expression_parser::additive); }
    int additive() { return level({"+", "-"}, &expression_parser::multiplicative); }
    int multiplicative() { return level({"*", "/", "%"}, &expression_parser::unary); }

    int unary() {
        for (const char* op : {"-", "!"}) {
            if (accept(op)) {
                expression::node n;
        n.type = expression::node::kind::unary;
                n.name = op;
                n.operands[0] = unary();
                return add(std::move(n));
            }
        }
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
        if (std::isdigit(static_cast<unsigned char>(c))) {
            std::int64_t value = 0;
            while (m_pos < m_text.size() && std::isdigit(static_cast<unsigned char>(m_text[m_pos]))) {
                if (__builtin_mul_overflow(value, 10, &value) || __builtin_add_overflow(value, m_text[m_pos] - '0', &value))
                    fail("number too large");
                ++m_pos;
            }
            if (m_pos < m_text.size() && (std::isalpha(static_cast<unsigned char>(m_text[m_pos])) || m_text[m_pos] == '_' || m_text[m_pos] == '.'))
                fail("malformed number");
            expression::node n;
        n.type = expression::node::kind::literal;
            n.value = value;
            return add(std::move(n));
        }
        if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
            const std::size_t start = m_pos;
            while (m_pos < m_text.size() && (std::isalnum(static_cast<unsigned char>(m_text[m_pos])) || m_text[m_pos] == '_')) ++m_pos;
            std::string identifier = m_text.substr(start, m_pos - start);
            if (identifier == "sizeof") {
                expect("(");
                expect("T");
                expect(")");
                expression::node n;
        n.type = expression::node::kind::name;
                n.name = "sizeof(T)";
                return add(std::move(n));
            }
            if (accept("(")) {
                if (identifier != "min" && identifier != "max" && identifier != "cdiv")
                    fail("unknown function '" + identifier + "' (known: min, max, cdiv)");
                expression::node n;
        n.type = expression::node::kind::call;
                n.name = identifier;
                n.operands[0] = conditional();
                expect(",");
                n.operands[1] = conditional();
                expect(")");
                return add(std::move(n));
            }
            expression::node n;
        n.type = expression::node::kind::name;
            n.name = std::move(identifier);
            return add(std::move(n));
        }
        fail("unexpected '" + std::string(1, c) + "'");
    }
};

expression expression::parse(std::string_view text) {
    expression parsed;
    parsed.m_text = std::string(text);
    expression_parser parser(parsed);
    parsed.m_root = parser.parse_all();
    return parsed;
}

std::int64_t expression::evaluate(const variables& vars) const {
    if (m_root < 0) throw error("evaluating an empty expression");
    return evaluate(m_root, vars);
}

std::int64_t expression::evaluate(int index, const variables& vars) const {
    const node& n = m_nodes[static_cast<std::size_t>(index)];
    auto fail = [&](const std::string& what) -> std::int64_t { throw error("expression '" + m_text + "': " + what); };
    auto operand = [&](int i) { return evaluate(n.operands[i], vars); };
    switch (n.type) {
    case node::kind::literal: return n.value;
    case node::kind::name: {
        const auto found = vars.find(n.name);
        return found != vars.end() ? found->second : fail("unknown name '" + n.name + "'");
    }
    case node::kind::unary: {
        const std::int64_t value = operand(0);
        if (n.name == "!") return value == 0;
        std::int64_t negated = 0;
        return __builtin_sub_overflow(std::int64_t{0}, value, &negated) ? fail("overflow") : negated;
    }
    case node::kind::conditional: return operand(0) != 0 ? operand(1) : operand(2);
    case node::kind::call: {
        const std::int64_t a = operand(0), b = operand(1);
        if (n.name == "min") return std::min(a, b);
        if (n.name == "max") return std::max(a, b);
        if (b <= 0 || a < 0) return fail("cdiv needs a >= 0 and b > 0");
        return a / b + (a % b != 0);
    }
    case node::kind::binary: break;
    }
    const std::string& op = n.name;
    // && and || short-circuit, like C: the right side may be invalid when it is not needed.
    if (op == "&&") return operand(0) != 0 && operand(1) != 0;
    if (op == "||") return operand(0) != 0 || operand(1) != 0;
    const std::int64_t a = operand(0), b = operand(1);
    std::int64_t result = 0;
    if (op == "+") return __builtin_add_overflow(a, b, &result) ? fail("overflow") : result;
    if (op == "-") return __builtin_sub_overflow(a, b, &result) ? fail("overflow") : result;
    if (op == "*") return __builtin_mul_overflow(a, b, &result) ? fail("overflow") : result;
    if (op == "/" || op == "%") {
        if (b == 0) return fail("division by zero");
        if (a == INT64_MIN && b == -1) return fail("overflow");
        return op == "/" ? a / b : a % b;
    }
    if (op == "<") return a < b;
    if (op == "<=") return a <= b;
    if (op == ">") return a > b;
    if (op == ">=") return a >= b;
    if (op == "==") return a == b;
    return a != b;  // "!="
}

std::vector<std::string> expression::names() const {
    std::set<std::string> found;
    for (const node& n : m_nodes)
        if (n.type == node::kind::name) found.insert(n.name);
    return {found.begin(), found.end()};
}

} // namespace kerntune
