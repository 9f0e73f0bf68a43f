#include "elementwise/elementwise_expression.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <initializer_list>
#include <system_error>

#include "core/text.hpp"
#include "core/text_cursor.hpp"

namespace kerntune {
namespace {

using op = elementwise_op;

enum class form : std::uint8_t { leaf, prefix, infix, call };
enum class type : std::uint8_t { real, boolean };

/// How an operation is written and typed. ops holds one in the order of elementwise_op.
struct op_info {
    op kind;
    std::string_view spelling;
    form shape;
    int precedence;  // how tightly it binds, as in C: infix 1 (||) to 6 (* /), prefix 7, the others 8
    int arity;
    std::array<type, 3> operands;
    type result;
};

constexpr type R = type::real;
constexpr type B = type::boolean;
constexpr int prefix_precedence = 7;
constexpr int atom_precedence = 8;

constexpr op_info leaf(op kind) { return {kind, "", form::leaf, atom_precedence, 0, {R, R, R}, R}; }
constexpr op_info infix(op kind, std::string_view token, int precedence, type operands, type result) {
    return {kind, token, form::infix, precedence, 2, {operands, operands, R}, result};
}
constexpr op_info function(op kind, std::string_view name, int arity) {
    return {kind, name, form::call, atom_precedence, arity, {R, R, R}, R};
}

constexpr std::array<op_info, 40> ops = {{
    leaf(op::literal),
    leaf(op::input),
    leaf(op::scalar),
    {op::negate, "-", form::prefix, prefix_precedence, 1, {R, R, R}, R},
    {op::logical_not, "!", form::prefix, prefix_precedence, 1, {B, R, R}, B},
    infix(op::multiply, "*", 6, R, R),
    infix(op::divide, "/", 6, R, R),
    infix(op::add, "+", 5, R, R),
    infix(op::subtract, "-", 5, R, R),
    infix(op::less, "<", 4, R, B),
    infix(op::less_equal, "<=", 4, R, B),
    infix(op::greater, ">", 4, R, B),
    infix(op::greater_equal, ">=", 4, R, B),
    infix(op::equal, "==", 3, R, B),
    infix(op::not_equal, "!=", 3, R, B),
    infix(op::logical_and, "&&", 2, B, B),
    infix(op::logical_or, "||", 1, B, B),
    {op::where, "where", form::call, atom_precedence, 3, {B, R, R}, R},
    function(op::min, "min", 2),
    function(op::max, "max", 2),
    function(op::clamp, "clamp", 3),
    function(op::fma, "fma", 3),
    function(op::pow, "pow", 2),
    function(op::abs, "abs", 1),
    function(op::exp, "exp", 1),
    function(op::exp2, "exp2", 1),
    function(op::log, "log", 1),
    function(op::log2, "log2", 1),
    function(op::log1p, "log1p", 1),
    function(op::expm1, "expm1", 1),
    function(op::sqrt, "sqrt", 1),
    function(op::rsqrt, "rsqrt", 1),
    function(op::tanh, "tanh", 1),
    function(op::sigmoid, "sigmoid", 1),
    function(op::erf, "erf", 1),
    function(op::sin, "sin", 1),
    function(op::cos, "cos", 1),
    function(op::floor, "floor", 1),
    function(op::ceil, "ceil", 1),
    function(op::round, "round", 1),
}};

constexpr bool ops_in_enum_order() {
    for (std::size_t i = 0; i < ops.size(); ++i)
        if (static_cast<std::size_t>(ops[i].kind) != i) return false;
    return static_cast<op>(ops.size() - 1) == op::round;  // the last enumerator
}
static_assert(ops_in_enum_order(), "ops lists every elementwise_op once, in the enum's order");

const op_info& info(op kind) { return ops[static_cast<std::size_t>(kind)]; }

const char* type_name(type t) { return t == type::boolean ? "bool" : "float"; }

/// A user's name as messages show it: the names of a 4096-character text can be long.
std::string shown_name(std::string_view name) {
    constexpr std::size_t longest = 40;  // keeps the message one readable line
    return "'" + printable(name, longest) + "'";
}

/// The function called `name`, or nullptr.
const op_info* function_named(std::string_view name) {
    for (const op_info& candidate : ops)
        if (candidate.shape == form::call && candidate.spelling == name) return &candidate;
    return nullptr;
}

/// The shortest decimal that reads back as `value` (finite, not negative): the shortest digits
/// (std::to_chars) at their place ("0.5" as ".5", "100") or with an exponent ("15e-8", "1e10"),
/// whichever is shorter, the plain one on a tie.
std::string shortest_decimal(float value) {
    if (value == 0) return "0";
    char buffer[32];  // "d.dddddddde-XX": 9 digits at most for a float
    const std::string_view scientific_form(
        buffer, static_cast<std::size_t>(
                    std::to_chars(buffer, buffer + sizeof(buffer), value, std::chars_format::scientific).ptr - buffer));
    const std::size_t e = scientific_form.find('e');
    std::string digits;
    for (const char c : scientific_form.substr(0, e))
        if (c != '.') digits += c;
    int exponent = 0;  // of the first digit
    std::from_chars(scientific_form.data() + e + 2, scientific_form.data() + scientific_form.size(), exponent);
    if (scientific_form[e + 1] == '-') exponent = -exponent;
    const int count = static_cast<int>(digits.size());
    std::string plain;
    if (exponent >= count - 1) {
        plain = digits + std::string(static_cast<std::size_t>(exponent - count + 1), '0');
    } else if (exponent >= 0) {
        const auto point = static_cast<std::size_t>(exponent + 1);
        plain = digits.substr(0, point) + "." + digits.substr(point);
    } else {
        plain = "." + std::string(static_cast<std::size_t>(-exponent - 1), '0') + digits;
    }
    const std::string scientific = digits + "e" + std::to_string(exponent - count + 1);
    return scientific.size() < plain.size() ? scientific : plain;
}

/// std::fmin / std::fmax behind torch.minimum's and torch.maximum's NaN checks (a NaN operand is
/// the result, the first one when both are).
float minimum(float a, float b) { return std::isnan(a) ? a : std::isnan(b) ? b : std::fmin(a, b); }
float maximum(float a, float b) { return std::isnan(a) ? a : std::isnan(b) ? b : std::fmax(a, b); }

} // namespace

bool gives_bool(elementwise_op kind) { return info(kind).result == type::boolean; }

namespace detail {

/// Recursive descent for unary operators and calls, precedence climbing for the binary ones;
/// types checked as each node is made.
class elementwise_parser {
public:
    elementwise_parser(std::string_view text, elementwise_expression& out)
        : m_cursor(text, elementwise_expression::max_length, elementwise_expression::max_depth), m_out(out) {}

    /// Refuses what the declarations get wrong: each a one-line error naming the scalar.
    void declare(const std::vector<scalar_default>& scalars) {
        const auto refuse = [&](std::size_t i, const std::string& what) {
            throw_expression_error(m_cursor.text(), "scalar " + std::to_string(i + 1) + " " +
                                                        shown_name(scalars[i].name) + " " + what);
        };
        if (scalars.size() > elementwise_expression::max_scalars)
            throw_expression_error(m_cursor.text(), std::to_string(scalars.size()) +
                                                        " scalars, more than the limit of " +
                                                        std::to_string(elementwise_expression::max_scalars));
        for (std::size_t i = 0; i < scalars.size(); ++i) {
            const std::string& name = scalars[i].name;
            if (!is_identifier(name)) refuse(i, "is not a name (letters, digits and '_', not starting with a digit)");
            if (name.size() > elementwise_expression::max_scalar_name)
                refuse(i, "is longer than the limit of " +
                              std::to_string(elementwise_expression::max_scalar_name) + " characters");
            if (name.size() == 1 && elementwise_expression::input_letters.find(name[0]) != std::string_view::npos)
                refuse(i, "is the name of an input");
            if (function_named(name)) refuse(i, "is the name of a function");
            for (std::size_t j = 0; j < i; ++j)
                if (scalars[j].name == name) refuse(i, "is declared twice (also scalar " + std::to_string(j + 1) + ")");
            if (!std::isfinite(scalars[i].value)) refuse(i, "has a default that is not finite");
        }
        m_out.m_scalars = scalars;
    }

    void parse_all() {
        binary(1);
        m_cursor.skip_space();
        if (!m_cursor.at_end()) m_cursor.fail_unexpected();
    }

private:
    using nested = text_cursor::nested;

    text_cursor m_cursor;
    elementwise_expression& m_out;
    std::vector<std::size_t> m_starts;  // where each node's text starts: type errors point there

    /// Appends a node of `kind` over `operands`, checking their types; `start` is where its text starts.
    int make(op kind, std::initializer_list<int> operands, std::size_t start) {
        const op_info& made = info(kind);
        elementwise_node node;
        node.op = kind;
        std::size_t k = 0;
        for (const int operand : operands) {
            const type given = info(m_out.m_nodes[static_cast<std::size_t>(operand)].op).result;
            if (given != made.operands[k])
                m_cursor.fail_at(m_starts[static_cast<std::size_t>(operand)],
                                 std::string("a ") + type_name(given) + " where '" + std::string(made.spelling) +
                                     "' takes a " + type_name(made.operands[k]));
            node.operands[k++] = operand;
        }
        return append(node, start);
    }

    int append(const elementwise_node& node, std::size_t start) {
        m_out.m_nodes.push_back(node);
        m_starts.push_back(start);
        return static_cast<int>(m_out.m_nodes.size()) - 1;
    }

    /// The binary operator at the cursor (the longest token that matches) if it binds at
    /// least as tightly as min_precedence.
    const op_info* peek_binary(int min_precedence) {
        const op_info* found = nullptr;
        for (const op_info& candidate : ops)
            if (candidate.shape == form::infix && m_cursor.at(candidate.spelling) &&
                (!found || candidate.spelling.size() > found->spelling.size()))
                found = &candidate;
        return found && found->precedence >= min_precedence ? found : nullptr;
    }

    int binary(int min_precedence) {
        return parse_binary(
            m_cursor, min_precedence, [this] { return unary(); },
            [this](int least) { return peek_binary(least); },
            [this](const op_info& found, int left, int right) {
                return make(found.kind, {left, right}, m_starts[static_cast<std::size_t>(left)]);
            });
    }

    int unary() {
        return parse_prefix(m_cursor, {"-", "!"}, [this] { return primary(); },
                            [this](std::size_t which, int inner, std::size_t start) {
                                return make(which == 0 ? op::negate : op::logical_not, {inner}, start);
                            });
    }

    int primary() {
        m_cursor.skip_space();
        const std::size_t start = m_cursor.position();
        if (m_cursor.accept("(")) {
            const nested level(m_cursor, start);
            const int inner = binary(1);
            m_cursor.expect(")");
            return inner;
        }
        if (m_cursor.at_digit() || m_cursor.next_is('.')) return literal();
        if (m_cursor.at_identifier_start()) return name();
        m_cursor.fail_unexpected();
    }

    /// Decimal digits from the cursor on; how many.
    std::size_t digits() {
        std::size_t count = 0;
        for (; m_cursor.at_digit(); ++count) m_cursor.advance();
        return count;
    }

    /// Moves past the character at the cursor when it is `c`: within a literal, which white
    /// space ends.
    bool accept_char(char c) {
        if (!m_cursor.next_is(c)) return false;
        m_cursor.advance();
        return true;
    }

    // digits [. digits] or . digits, then [e|E [+|-] digits]; rounded to float32 once.
    int literal() {
        const std::size_t start = m_cursor.position();
        std::size_t mantissa = digits();
        if (accept_char('.')) mantissa += digits();
        if (mantissa == 0) {
            m_cursor.move_to(start);
            m_cursor.fail_unexpected();  // a lone '.'
        }
        if (accept_char('e') || accept_char('E')) {
            if (!accept_char('+')) accept_char('-');
            if (digits() == 0) m_cursor.fail("malformed number");
        }
        if (m_cursor.at_identifier_char() || m_cursor.next_is('.')) m_cursor.fail("malformed number");
        const std::string_view text = m_cursor.text().substr(start, m_cursor.position() - start);
        elementwise_node node;
        const std::from_chars_result read = std::from_chars(text.data(), text.data() + text.size(), node.value);
        // std::from_chars rounds to nearest; out of range is a value that would round to
        // infinity, or to zero from a number that is not zero.
        if (read.ec == std::errc::result_out_of_range)
            m_cursor.fail_at(start, "literal outside the range of float32 (it would round to infinity or to zero)");
        if (read.ec != std::errc() || read.ptr != text.data() + text.size()) m_cursor.fail_at(start, "malformed number");
        return append(node, start);
    }

    int name() {
        const std::size_t start = m_cursor.position();
        const std::string_view word = m_cursor.identifier();
        if (m_cursor.at("(")) return call(word, start);
        elementwise_node node;
        const std::size_t letter = word.size() == 1 ? elementwise_expression::input_letters.find(word[0]) : std::string_view::npos;
        const auto& scalars = m_out.m_scalars;
        const auto scalar = std::find_if(scalars.begin(), scalars.end(),
                                         [&](const scalar_default& declared) { return declared.name == word; });
        if (letter != std::string_view::npos) {
            node.op = op::input;
            node.index = static_cast<int>(letter);
            m_out.m_input_count = std::max(m_out.m_input_count, node.index + 1);
        } else if (scalar != scalars.end()) {
            node.op = op::scalar;
            node.index = static_cast<int>(scalar - scalars.begin());
        } else if (function_named(word)) {
            m_cursor.fail("expected '(' after the function " + shown_name(word));
        } else {
            m_cursor.fail_at(start, "unknown name " + shown_name(word));
        }
        return append(node, start);
    }

    int call(std::string_view word, std::size_t start) {
        const op_info* called = function_named(word);
        if (!called) m_cursor.fail_at(start, "unknown function " + shown_name(word));
        const nested level(m_cursor, start);
        m_cursor.expect("(");
        const auto wrong_arity = [&](int given) {
            m_cursor.fail_at(start, shown_name(word) + " takes " + std::to_string(called->arity) + " argument" +
                                        (called->arity == 1 ? "" : "s") + ", not " + std::to_string(given));
        };
        std::array<int, 3> arguments = {-1, -1, -1};
        int count = 0;
        if (!m_cursor.accept(")")) {
            while (true) {
                if (count == called->arity) wrong_arity(count + 1);  // before parsing what cannot be used
                arguments[static_cast<std::size_t>(count++)] = binary(1);
                if (m_cursor.accept(")")) break;
                if (!m_cursor.accept(",")) m_cursor.fail("expected ',' or ')'");
            }
        }
        if (count != called->arity) wrong_arity(count);
        switch (count) {
            case 1: return make(called->kind, {arguments[0]}, start);
            case 2: return make(called->kind, {arguments[0], arguments[1]}, start);
            default: return make(called->kind, {arguments[0], arguments[1], arguments[2]}, start);
        }
    }
};

} // namespace detail

elementwise_expression elementwise_expression::parse(std::string_view text, const std::vector<scalar_default>& scalars) {
    elementwise_expression parsed;
    detail::elementwise_parser parser(text, parsed);
    parser.declare(scalars);
    parser.parse_all();
    return parsed;
}

std::string elementwise_expression::canonical_text() const {
    // An explicit stack as high as the tree (a flat sum of 2,000 terms is 2,000 nodes high):
    // no recursion depends on the text. A node's frame writes its operands one by one: before
    // operand k the separator k (an opening parenthesis, the operator, a comma), after the last
    // the closing text.
    struct frame {
        int node;
        int stage;  // operands written so far
        bool parenthesized;
    };
    std::string out;
    std::vector<frame> stack = {{static_cast<int>(m_nodes.size()) - 1, 0, false}};
    while (!stack.empty()) {
        frame& f = stack.back();
        const elementwise_node& n = m_nodes[static_cast<std::size_t>(f.node)];
        const op_info& written = info(n.op);
        if (written.shape == form::leaf) {
            out += n.op == op::literal  ? shortest_decimal(n.value)
                   : n.op == op::input ? std::string(1, elementwise_expression::input_letters[static_cast<std::size_t>(n.index)])
                                       : m_scalars[static_cast<std::size_t>(n.index)].name;
            stack.pop_back();
            continue;
        }
        if (f.stage == written.arity) {
            out += written.shape == form::call ? ")" : f.parenthesized ? ")" : "";
            stack.pop_back();
            continue;
        }
        const bool open = f.stage == 0 && f.parenthesized;
        if (open) out += '(';
        if (written.shape == form::call) out += f.stage == 0 ? std::string(written.spelling) + "(" : ",";
        if (written.shape == form::prefix || (written.shape == form::infix && f.stage == 1)) out += written.spelling;
        // Parentheses where the tree needs them: an operand that binds more loosely, or as
        // loosely on the right (left-associative: a-(b-c) keeps its parentheses).
        const int operand = n.operands[static_cast<std::size_t>(f.stage)];
        const int binding = info(m_nodes[static_cast<std::size_t>(operand)].op).precedence;
        const bool parenthesize = written.shape != form::call &&
                                  (binding < written.precedence || (f.stage == 1 && binding == written.precedence));
        ++f.stage;
        stack.push_back({operand, 0, parenthesize});  // invalidates f
    }
    return out;
}

std::string elementwise_expression::canonical() const {
    std::string key = canonical_text();
    for (const scalar_default& scalar : m_scalars)
        key += ";" + scalar.name + "=" + (std::signbit(scalar.value) ? "-" : "") + shortest_decimal(std::fabs(scalar.value));
    return key;
}

float elementwise_expression::evaluate(const float* inputs, const float* scalar_values) const {
    // Operands come before the nodes that use them: one pass in order. Bools are 1 and 0.
    // Each operation rounds to float32 on its own (ISO C++ does not contract a * b + c).
    std::vector<float> values(m_nodes.size());
    for (std::size_t i = 0; i < m_nodes.size(); ++i) {
        const elementwise_node& n = m_nodes[i];
        const auto operand = [&](std::size_t k) { return values[static_cast<std::size_t>(n.operands[k])]; };
        float& value = values[i];
        switch (n.op) {
            case op::literal: value = n.value; break;
            case op::input: value = inputs[n.index]; break;
            case op::scalar: value = scalar_values[n.index]; break;
            case op::negate: value = -operand(0); break;
            case op::logical_not: value = operand(0) == 0; break;
            case op::multiply: value = operand(0) * operand(1); break;
            case op::divide: value = operand(0) / operand(1); break;
            case op::add: value = operand(0) + operand(1); break;
            case op::subtract: value = operand(0) - operand(1); break;
            case op::less: value = operand(0) < operand(1); break;
            case op::less_equal: value = operand(0) <= operand(1); break;
            case op::greater: value = operand(0) > operand(1); break;
            case op::greater_equal: value = operand(0) >= operand(1); break;
            case op::equal: value = operand(0) == operand(1); break;
            case op::not_equal: value = operand(0) != operand(1); break;
            case op::logical_and: value = operand(0) != 0 && operand(1) != 0; break;
            case op::logical_or: value = operand(0) != 0 || operand(1) != 0; break;
            case op::where: value = operand(0) != 0 ? operand(1) : operand(2); break;
            case op::min: value = minimum(operand(0), operand(1)); break;
            case op::max: value = maximum(operand(0), operand(1)); break;
            case op::clamp: value = minimum(maximum(operand(0), operand(1)), operand(2)); break;
            case op::fma: value = std::fma(operand(0), operand(1), operand(2)); break;
            case op::pow: value = std::pow(operand(0), operand(1)); break;
            case op::abs: value = std::fabs(operand(0)); break;
            case op::exp: value = std::exp(operand(0)); break;
            case op::exp2: value = std::exp2(operand(0)); break;
            case op::log: value = std::log(operand(0)); break;
            case op::log2: value = std::log2(operand(0)); break;
            case op::log1p: value = std::log1p(operand(0)); break;
            case op::expm1: value = std::expm1(operand(0)); break;
            case op::sqrt: value = std::sqrt(operand(0)); break;
            case op::rsqrt: value = 1.0f / std::sqrt(operand(0)); break;
            case op::tanh: value = std::tanh(operand(0)); break;
            case op::sigmoid: value = 1.0f / (1.0f + std::exp(-operand(0))); break;
            case op::erf: value = std::erf(operand(0)); break;
            case op::sin: value = std::sin(operand(0)); break;
            case op::cos: value = std::cos(operand(0)); break;
            case op::floor: value = std::floor(operand(0)); break;
            case op::ceil: value = std::ceil(operand(0)); break;
            case op::round: value = std::nearbyint(operand(0)); break;
        }
    }
    return values.back();
}

} // namespace kerntune
