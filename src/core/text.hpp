#pragma once
#include <string_view>
#include <vector>

namespace kerntune {

/// Splits at every `separator`, keeping empty pieces ("a,,b" gives "a", "", "b").
std::vector<std::string_view> split(std::string_view text, char separator);

} // namespace kerntune
