#include "core/text_cursor.hpp"

#include <algorithm>
#include <cctype>

#include "core/error.hpp"
#include "core/text.hpp"

namespace kerntune::detail {

std::string quoted_expression(std::string_view text) {
    // 80 characters of text and "..." keep a message that quotes a 4096-character text one
    // readable line.
    constexpr std::size_t shown = 80;
    return "'" + printable(text, shown + 3) + "'";
}

namespace {

bool identifier_start(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
bool identifier_char(char c) { return identifier_start(c) || std::isdigit(static_cast<unsigned char>(c)); }

} // namespace

bool is_identifier(std::string_view text) {
    return !text.empty() && identifier_start(text[0]) && std::all_of(text.begin(), text.end(), identifier_char);
}

void throw_expression_error(std::string_view text, const std::string& what) {
    throw error("expression " + quoted_expression(text) + ": " + printable(what));
}

text_cursor::text_cursor(std::string_view text, std::size_t max_length, int max_depth)
    : m_text(text), m_max_depth(max_depth) {
    if (text.size() > max_length)
        throw_expression_error(text, std::to_string(text.size()) + " characters, longer than the limit of " +
                                         std::to_string(max_length) + " at column " +
                                         std::to_string(max_length + 1));
}

void text_cursor::skip_space() {
    while (!at_end() && std::isspace(static_cast<unsigned char>(current()))) advance();
}

bool text_cursor::at_digit() const {
    return !at_end() && std::isdigit(static_cast<unsigned char>(current()));
}

bool text_cursor::at_identifier_start() const { return !at_end() && identifier_start(current()); }

bool text_cursor::at_identifier_char() const { return !at_end() && identifier_char(current()); }

std::string_view text_cursor::identifier() {
    const std::size_t start = m_position;
    while (at_identifier_char()) advance();
    return m_text.substr(start, m_position - start);
}

bool text_cursor::at(std::string_view token) {
    skip_space();
    return m_text.substr(m_position, token.size()) == token;
}

bool text_cursor::accept(std::string_view token) {
    if (!at(token)) return false;
    m_position += token.size();
    return true;
}

void text_cursor::expect(std::string_view token) {
    if (!accept(token)) fail("expected '" + std::string(token) + "'");
}

void text_cursor::fail(const std::string& what) const { fail_at(m_position, what); }

void text_cursor::fail_at(std::size_t position, const std::string& what) const {
    throw_expression_error(m_text, what + " at column " + std::to_string(position + 1));
}

void text_cursor::fail_unexpected() {
    skip_space();
    if (at_end()) fail("unexpected end");
    fail("unexpected '" + std::string(1, current()) + "'");  // shown escaped by throw_expression_error
}

text_cursor::nested::nested(text_cursor& cursor, std::size_t start) : m_cursor(cursor) {
    if (++m_cursor.m_depth > m_cursor.m_max_depth) {
        --m_cursor.m_depth;  // the destructor does not run when the constructor throws
        m_cursor.fail_at(start, "nested deeper than the limit of " + std::to_string(m_cursor.m_max_depth) +
                                    " levels");
    }
}

} // namespace kerntune::detail
