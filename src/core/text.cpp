#include "core/text.hpp"

#include <cstdio>
#include <cstdint>
#include <utility>

namespace kerntune {

std::vector<std::string_view> split(std::string_view text, char separator) {
    std::vector<std::string_view> pieces;
    std::size_t start = 0;
    while (true) {
        const std::size_t end = text.find(separator, start);
        if (end == std::string_view::npos) {
            pieces.push_back(text.substr(start));
            return pieces;
        }
        pieces.push_back(text.substr(start, end - start));
        start = end + 1;
    }
}

std::string json_string(std::string_view value) {
    std::string out = "\"";
    for (const char c : value) {
        switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\t': out += "\\t"; break;
        default:
            if (static_cast<unsigned char>(c) < 0x20) {
                char escaped[8];
                std::snprintf(escaped, sizeof(escaped), "\\u%04x", static_cast<unsigned>(static_cast<unsigned char>(c)));
                out += escaped;
            } else {
                out += c;
            }
        }
    }
    return out + "\"";
}

namespace {

/// The length of the UTF-8 sequence at the start of `text`, or 0 when it is not one (a stray
/// continuation byte, an overlong form, a surrogate, past U+10FFFF, or cut short).
std::size_t utf8_sequence_length(std::string_view text) {
    const auto byte = [&text](std::size_t i) { return static_cast<std::uint8_t>(text[i]); };
    const std::uint8_t lead = byte(0);
    if (lead < 0x80) return 1;
    std::size_t length = 0;
    std::uint8_t low = 0x80, high = 0xbf;  // the range of the second byte
    if (lead >= 0xc2 && lead <= 0xdf) length = 2;
    else if (lead >= 0xe0 && lead <= 0xef) length = 3, low = lead == 0xe0 ? 0xa0 : 0x80, high = lead == 0xed ? 0x9f : 0xbf;
    else if (lead >= 0xf0 && lead <= 0xf4) length = 4, low = lead == 0xf0 ? 0x90 : 0x80, high = lead == 0xf4 ? 0x8f : 0xbf;
    else return 0;
    if (text.size() < length || byte(1) < low || byte(1) > high) return 0;
    for (std::size_t i = 2; i < length; ++i)
        if (byte(i) < 0x80 || byte(i) > 0xbf) return 0;
    return length;
}

/// What printable() shows for the character or bad byte at the start of `text`, and how many
/// bytes of `text` that is.
std::pair<std::string, std::size_t> shown_piece(std::string_view text) {
    static const char digits[] = "0123456789abcdef";
    const auto escaped = [](std::string_view bytes) {
        std::string out;
        for (const char c : bytes) {
            const auto b = static_cast<std::uint8_t>(c);
            out += {'\\', 'x', digits[b >> 4], digits[b & 15]};
        }
        return out;
    };
    if (text[0] == '\n') return {"\\n", 1};
    const std::size_t length = utf8_sequence_length(text);
    if (length == 0) return {escaped(text.substr(0, 1)), 1};
    const auto lead = static_cast<std::uint8_t>(text[0]);
    // C0 and DEL are one byte; C1 controls are U+0080 to U+009F, encoded 0xc2 0x80 to 0xc2 0x9f.
    const bool control = lead < 0x20 || lead == 0x7f || (lead == 0xc2 && static_cast<std::uint8_t>(text[1]) < 0xa0);
    return {control ? escaped(text.substr(0, length)) : std::string(text.substr(0, length)), length};
}

} // namespace

std::string printable(std::string_view text, std::size_t limit) {
    static constexpr std::string_view ellipsis = "...";
    std::string shown;
    std::size_t width = 0, cut = std::string::npos;  // cut: where "..." goes if the text is too long
    for (std::size_t at = 0; at < text.size();) {
        const auto [piece, length] = shown_piece(text.substr(at));
        const std::size_t piece_width = display_width(piece);
        if (cut == std::string::npos && limit >= ellipsis.size() && width + piece_width > limit - ellipsis.size())
            cut = shown.size();
        if (width + piece_width > limit)
            return shown.substr(0, cut == std::string::npos ? 0 : cut) + std::string(ellipsis.substr(0, limit));
        shown += piece;
        width += piece_width;
        at += length;
    }
    return shown;
}

std::size_t display_width(std::string_view text) {
    std::size_t width = 0;
    for (const char c : text) width += (static_cast<std::uint8_t>(c) & 0xc0) != 0x80;  // continuation bytes add none
    return width;
}

} // namespace kerntune
