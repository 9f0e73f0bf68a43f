#pragma once
#include <cstddef>
#include <initializer_list>
#include <string>
#include <string_view>

namespace kerntune::detail {

/// An expression's text as messages quote it, quotes included: one line (printable()), whole,
/// or its first 80 characters and "..." when it is longer (a text may have thousands).
std::string quoted_expression(std::string_view text);

/// Throws kerntune::error "expression 'TEXT': WHAT", one line whatever `what` holds.
[[noreturn]] void throw_expression_error(std::string_view text, const std::string& what);

/// Whether `text` is one identifier as text_cursor scans them: letters, digits and '_', not
/// starting with a digit.
bool is_identifier(std::string_view text);

/// A parser's position in the text of an expression: what the parsers of kerntune's expression
/// languages (core/expression, elementwise/elementwise_expression) share. It skips white space,
/// accepts tokens, scans identifiers, guards the nesting depth and throws the one-line error
/// "expression 'TEXT': WHAT at column N" (N counts bytes from 1).
class text_cursor {
public:
    /// A cursor at the start of `text`, which must outlive it. Throws when `text` is longer
    /// than `max_length` ("N characters, longer than the limit of L at column L+1"), so that no
    /// parser ever works on more; nesting deeper than `max_depth` levels is refused by nested.
    text_cursor(std::string_view text, std::size_t max_length, int max_depth);

    std::string_view text() const { return m_text; }
    std::size_t position() const { return m_position; }
    /// Moves to `position` (at most the text's size): back to a token's start for an error.
    void move_to(std::size_t position) { m_position = position; }

    /// Skips white space (C's isspace).
    void skip_space();
    /// Whether the cursor has passed the last character (white space is not skipped).
    bool at_end() const { return m_position >= m_text.size(); }
    /// The character at the cursor; the text must not be at its end.
    char current() const { return m_text[m_position]; }
    /// Whether the character at the cursor is `c` (white space is not skipped).
    bool next_is(char c) const { return !at_end() && current() == c; }
    /// Moves past the character at the cursor.
    void advance() { ++m_position; }
    /// Whether the character at the cursor is a decimal digit.
    bool at_digit() const;
    /// Whether the character at the cursor may start an identifier: a letter or '_'.
    bool at_identifier_start() const;
    /// Whether the character at the cursor may continue an identifier: a letter, digit or '_'.
    bool at_identifier_char() const;
    /// The identifier characters from the cursor on, moving past them (empty when there are none).
    std::string_view identifier();

    /// After white space: whether the text continues with `token` (not moving past it).
    bool at(std::string_view token);
    /// After white space: moves past `token` and returns true when the text continues with it.
    bool accept(std::string_view token);
    /// accept(token), or the error "expected 'TOKEN'".
    void expect(std::string_view token);

    /// Throws "expression 'TEXT': WHAT at column N" for the cursor's position.
    [[noreturn]] void fail(const std::string& what) const;
    /// fail(what) for `position`.
    [[noreturn]] void fail_at(std::size_t position, const std::string& what) const;
    /// After white space: "unexpected end", or "unexpected 'C'" with the character shown
    /// escaped where it is not printable.
    [[noreturn]] void fail_unexpected();

    /// One level of nesting, from the construct at `start` to the guard's end: throws "nested
    /// deeper than the limit of L levels" at `start` when it is one level too many.
    class nested {
    public:
        nested(text_cursor& cursor, std::size_t start);
        ~nested() { --m_cursor.m_depth; }
        nested(const nested&) = delete;
        nested& operator=(const nested&) = delete;

    private:
        text_cursor& m_cursor;
    };

private:
    std::string_view m_text;
    std::size_t m_position = 0;
    int m_max_depth;
    int m_depth = 0;  // levels of nesting at the cursor
};

/// Left-associative binary operators by precedence climbing, for the parsers of C-like
/// expressions: `operand()` parses what the operators join and returns its node; `peek(least)`
/// returns the operator at the cursor (a pointer to anything with a `spelling` and a
/// `precedence`, higher binding tighter) when it binds at least `least` tightly, else nullptr;
/// `join(found, left, right)` makes its node. The right operand only takes operators that bind
/// tighter. Recurses as deep as the precedence levels, whatever the text.
template <typename Operand, typename Peek, typename Join>
int parse_binary(text_cursor& cursor, int least, const Operand& operand, const Peek& peek, const Join& join) {
    int left = operand();
    while (const auto* found = peek(least)) {
        cursor.accept(found->spelling);
        const int right = parse_binary(cursor, found->precedence + 1, operand, peek, join);
        left = join(*found, left, right);
    }
    return left;
}

/// Prefix operators ("-x", "!c", "- -x"), each a level of nesting: after white space, one of
/// `tokens` or `operand()`; `join(i, inner, start)` makes the node of tokens[i] written at
/// `start` over the node that follows it.
template <typename Operand, typename Join>
int parse_prefix(text_cursor& cursor, std::initializer_list<std::string_view> tokens, const Operand& operand,
                 const Join& join) {
    cursor.skip_space();
    const std::size_t start = cursor.position();
    std::size_t which = 0;
    while (which < tokens.size() && !cursor.accept(tokens.begin()[which])) ++which;
    if (which == tokens.size()) return operand();
    const text_cursor::nested level(cursor, start);
    const int inner = parse_prefix(cursor, tokens, operand, join);
    return join(which, inner, start);
}

} // namespace kerntune::detail
