#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace kerntune {

/// Splits at every `separator`, keeping empty pieces ("a,,b" gives "a", "", "b").
std::vector<std::string_view> split(std::string_view text, char separator);

/// `value` as a JSON string literal, quotes included.
std::string json_string(std::string_view value);

} // namespace kerntune
