#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace kerntune {

/// Splits at every `separator`, keeping empty pieces ("a,,b" gives "a", "", "b").
std::vector<std::string_view> split(std::string_view text, char separator);

/// `value` as a JSON string literal, quotes included.
std::string json_string(std::string_view value);

/// `text` as messages and tables show it on a terminal: one line, with nothing a terminal would
/// act on. A newline becomes `\n`; every byte of a C0 control, DEL, a C1 control (U+0080 to
/// U+009F) or a sequence that is not UTF-8 becomes `\xNN` (ESC is `\x1b`); everything else is
/// kept. Longer than `limit` characters, it is cut to `limit` with "..." as its last three.
std::string printable(std::string_view text, std::size_t limit = std::string_view::npos);

/// The characters (code points) of UTF-8 text, as a terminal advances over them: what aligns
/// columns of printable() text.
std::size_t display_width(std::string_view text);

} // namespace kerntune
