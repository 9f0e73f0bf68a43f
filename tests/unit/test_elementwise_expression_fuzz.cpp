// Bad input (issue 14): the parser fed 120,000 random and mutated strings. Each either parses,
// and then its canonical text parses again to the same key and its functor holds only the
// emitter's own characters and names, or throws a one-line kerntune::error. Nothing else: no
// other exception, no crash, no hang. Deterministic (one seed), no GPU.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <random>
#include <set>
#include <string>
#include <typeinfo>
#include <vector>

#include "core/error.hpp"
#include "core/text.hpp"
#include "elementwise/cuda_functor.hpp"
#include "test_elementwise_support.hpp"

namespace kerntune {
namespace {

using test::repeat;

const std::vector<scalar_default> scalars = {{"alpha", 0.5f}, {"beta", -1.0f}};

const std::vector<std::string> functions = {"where", "min",  "max",   "clamp", "fma", "pow",   "abs",     "exp",
                                            "exp2",  "log",  "log2",  "log1p", "expm1", "sqrt",    "rsqrt",
                                            "tanh",  "sigmoid", "erf", "sin",  "cos",   "floor",   "ceil", "round"};
const std::vector<std::string> unary_functions = {"abs",  "exp",   "exp2",    "log", "log2", "log1p", "expm1",
                                                  "sqrt", "rsqrt", "tanh",    "sigmoid", "erf", "sin", "cos",
                                                  "floor", "ceil", "round"};

/// Pieces of source code and other text a hostile user might try to smuggle into a kernel.
const std::vector<std::string> fragments = {
    "x); asm(\"trap\"); //", "#include <cstdio>", "\"", "\\", "\n", "\r\n", "/*", "*/", "//", "__global__",
    "}; struct evil {", "'\\0'", "0x1p3f", "1.0f", "${x}", "%s%n", "#define x y", "\xc3\xa9", "\xff\xfe", "`",
    "x[0]", "x->y", "::", "x ? y : z", "sizeof(x)", "asm volatile(\"exit;\")", "printf(", "std::", "#pragma",
    "\t", "\v", "\f", std::string(1, '\0'), std::string("x\0y", 3), "__device__", "return", "#", "@", "$", "~x", "x^y",
};

const std::vector<std::string> tokens = {
    "x", "y", "z", "u", "v", "w", "alpha", "beta", "foo", "X", "_", "+", "-", "*", "/", "<", "<=", ">", ">=", "==",
    "!=", "&&", "||", "!", "(", ")", ",", " ", "\t", "\n", "=", "&", "|", "?", ":", ".", "e", "E", "1", "0", ".5",
    "1.", "1e5", "2.5E+3", "1e-5", "1e39", "1e-50", "3.4028235e38", "16777217", "00", "9999999999999999999999",
};

/// The characters and names an emitted functor may hold: nothing else is the emitter's.
bool emitted_only_its_own(const std::string& source, std::string& offending) {
    static const std::set<std::string> vocabulary = {
        "struct", "kt_expression", "float", "bool", "__device__", "operator", "const", "return", "kt_math",
        "add", "sub", "mul", "div", "min", "max", "clamp", "fma", "pow", "abs", "exp", "exp2", "log", "log2", "log1p",
        "expm1", "sqrt", "rsqrt", "tanh", "sigmoid", "erf", "sin", "cos", "floor", "ceil", "round"};
    static const std::string punctuation = " \n{}();,=+-*/<>!&|?:.";
    const auto word_char = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; };
    for (std::size_t i = 0; i < source.size();) {
        const char c = source[i];
        std::size_t end = i + 1;
        if (std::isdigit(static_cast<unsigned char>(c))) {
            // A hex float: 0x, hex digits and '.', p, a signed decimal exponent, f.
            while (end < source.size() && (word_char(source[end]) || source[end] == '.' ||
                                           ((source[end] == '+' || source[end] == '-') && source[end - 1] == 'p')))
                ++end;
            const std::string number = source.substr(i, end - i);
            if (number.rfind("0x", 0) != 0 || number.back() != 'f' ||
                number.find_first_not_of("0123456789abcdefxp.+-") != std::string::npos) {
                offending = number;
                return false;
            }
        } else if (word_char(c)) {
            while (end < source.size() && word_char(source[end])) ++end;
            const std::string word = source.substr(i, end - i);
            const bool numbered = (word[0] == 't' || word[0] == 's' || (word.rfind("in", 0) == 0)) &&
                                  word.size() > (word[0] == 'i' ? 2u : 1u) &&
                                  word.find_first_not_of("0123456789", word[0] == 'i' ? 2 : 1) == std::string::npos;
            if (!numbered && !vocabulary.count(word)) {
                offending = word;
                return false;
            }
        } else if (punctuation.find(c) == std::string::npos) {
            offending = std::string(1, c);
            return false;
        }
        i = end;
    }
    return true;
}

class fuzzer {
public:
    std::mt19937_64 random{20240914};  // any fixed seed: the same strings on every run

    std::size_t below(std::size_t n) { return std::uniform_int_distribution<std::size_t>(0, n - 1)(random); }
    template <typename T>
    const T& pick(const std::vector<T>& from) { return from[below(from.size())]; }

    std::string random_bytes() {
        std::string text(below(4) == 0 ? below(5000) : below(40), '\0');
        for (char& c : text) c = static_cast<char>(below(256));
        return text;
    }

    std::string token_soup() {
        std::string text;
        for (std::size_t n = below(30); n > 0; --n) text += below(8) == 0 ? pick(functions) : pick(tokens);
        return text;
    }

    std::string literal() {
        switch (below(6)) {
            case 0: return std::to_string(below(1000));
            case 1: return "." + std::to_string(below(100000));
            case 2: return std::to_string(below(100)) + "." + std::to_string(below(100)) + "e" +
                           (below(2) ? "-" : "+") + std::to_string(below(40));
            case 3: return std::to_string(below(10)) + "E" + std::to_string(below(38));
            case 4: return std::to_string(below(10)) + ".";
            default: return "0.0000" + std::to_string(below(10));
        }
    }

    /// A random well-typed expression (a bool one when `boolean`), about `depth` levels deep.
    std::string valid(int depth, bool boolean = false) {
        if (boolean) {
            switch (depth <= 0 ? 0 : below(4)) {
                case 0: return valid(depth - 1) + pick<std::string>({"<", "<=", ">", ">=", "==", "!="}) + valid(depth - 1);
                case 1: return "!(" + valid(depth - 1, true) + ")";
                default: return valid(depth - 1, true) + (below(2) ? " && " : " || ") + valid(depth - 1, true);
            }
        }
        switch (depth <= 0 ? below(3) : below(10)) {
            case 0: return std::string(1, "xyzuvw"[below(6)]);
            case 1: return literal();
            case 2: return below(2) ? "alpha" : "beta";
            case 3: return "-" + valid(depth - 1);
            case 4: return "(" + valid(depth - 1) + ")";
            case 5: return pick(unary_functions) + "(" + valid(depth - 1) + ")";
            case 6: return pick<std::string>({"min", "max", "pow"}) + "(" + valid(depth - 1) + ", " + valid(depth - 1) + ")";
            case 7: return "clamp(" + valid(depth - 1) + "," + valid(depth - 1) + "," + valid(depth - 1) + ")";
            case 8: return "where(" + valid(depth - 1, true) + ", " + valid(depth - 1) + ", " + valid(depth - 1) + ")";
            default: return valid(depth - 1) + pick<std::string>({" + ", "-", " * ", "/"}) + valid(depth - 1);
        }
    }

    /// `text` with 0 to 3 insertions, deletions, replacements or duplications.
    std::string mutated(std::string text) {
        for (std::size_t n = below(4); n > 0; --n) {
            const std::size_t at = below(text.size() + 1);
            const std::size_t length = std::min(text.size() - at, below(6));
            switch (below(5)) {
                case 0: text.insert(at, 1, static_cast<char>(below(256))); break;
                case 1: text.insert(at, below(2) ? pick(tokens) : pick(fragments)); break;
                case 2: text.erase(at, length); break;
                case 3: if (at < text.size()) text[at] = static_cast<char>(below(256)); break;
                default: text.insert(at, text.substr(at, length)); break;
            }
        }
        return text;
    }

    std::string deep() {
        static const std::vector<std::pair<std::string, std::string>> levels = {
            {"(", ")"}, {"-", ""}, {"exp(", ")"}, {"min(x,", ")"}, {"!(", ")"}, {"where(x<1,", ",y)"}, {"-(", ")"}};
        const auto& [open, close] = pick(levels);
        const std::size_t count = below(4) == 0 ? below(3000) : 60 + below(10);  // around the limit of 64
        return repeat(open, count) + (below(2) ? "x" : "x<1") + repeat(close, below(3) == 0 ? below(count + 1) : count);
    }

    std::string huge_literal() {
        std::string digits(1 + below(below(8) == 0 ? 5000 : 60), '0');
        for (char& c : digits) c = static_cast<char>('0' + below(10));
        if (below(2)) digits.insert(below(digits.size() + 1), ".");
        if (below(2)) digits += (below(2) ? "e-" : "e") + std::to_string(random());
        return below(2) ? digits : "x * " + digits + " + 1";
    }

    std::string smuggled() {
        std::string text = valid(2);
        for (std::size_t n = 1 + below(3); n > 0; --n) text.insert(below(text.size() + 1), pick(fragments));
        return text;
    }

    /// String i: the kinds in turns of 20. Deep nesting has one turn: an error thrown from 64
    /// levels down unwinds ~250 frames (0.3 ms on this machine), the cost of ten other strings.
    std::string next(std::size_t i) {
        const std::size_t turn = i % 20;
        if (turn < 3) return random_bytes();
        if (turn < 6) return token_soup();
        if (turn < 9) return mutated(valid(static_cast<int>(below(7))));
        if (turn < 12) return valid(static_cast<int>(below(7)));  // the success path, mostly
        if (turn < 13) return deep();
        if (turn < 16) return huge_literal();
        return smuggled();
    }
};

TEST(ElementwiseExpressionFuzz, EveryStringParsesCleanlyOrGivesOneErrorLine) {
    constexpr std::size_t strings = 120'000;  // the issue asks for at least 100,000
    const auto started = std::chrono::steady_clock::now();
    fuzzer fuzz;
    std::size_t parsed = 0, refused = 0, failures = 0;
    std::string first_failure;
    const auto failed = [&](const std::string& text, const std::string& why) {
        if (failures++ == 0) first_failure = why + " for input '" + printable(text, 200) + "'";
    };
    for (std::size_t i = 0; i < strings; ++i) {
        const std::string text = fuzz.next(i);
        try {
            const elementwise_expression e = elementwise_expression::parse(text, scalars);
            ++parsed;
            const std::string again = elementwise_expression::parse(e.canonical_text(), scalars).canonical();
            if (again != e.canonical()) failed(text, "canonical '" + e.canonical() + "' parsed again gives '" + again + "'");
            if (e.canonical_text().size() > text.size()) failed(text, "canonical '" + e.canonical() + "' is longer");
            std::string offending;
            if (!emitted_only_its_own(emit_cuda_functor(e), offending))
                failed(text, "the functor holds '" + offending + "'");
        } catch (const error& refusal) {
            ++refused;
            const std::string message = refusal.what();
            const bool one_line = !message.empty() && message.rfind("expression '", 0) == 0 &&
                                  std::none_of(message.begin(), message.end(), [](char c) {
                                      return static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
                                  });
            if (!one_line) failed(text, "the message '" + message + "' is not one line");
        } catch (const std::exception& other) {
            failed(text, std::string("a ") + typeid(other).name() + " (" + other.what() + ")");
        }
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    EXPECT_EQ(failures, 0u) << first_failure;
    EXPECT_EQ(parsed + refused + failures, strings);
    // Both paths taken often: a generator that stopped making valid (or invalid) text would
    // leave half of the checks above unexercised.
    EXPECT_GT(parsed, strings / 8) << parsed << " parsed";
    EXPECT_GT(refused, strings / 2) << refused << " refused";
    RecordProperty("seconds", std::to_string(seconds));
    std::printf("%zu strings in %.2f s: %zu parsed, %zu refused\n", strings, seconds, parsed, refused);
}

} // namespace
} // namespace kerntune
