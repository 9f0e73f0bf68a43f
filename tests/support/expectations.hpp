#pragma once
// What many tests ask of a result: the message of the kerntune::error an action throws,
// whether a text holds a part, and its lines.
#include <sstream>
#include <string>
#include <vector>

#include "core/error.hpp"

namespace kerntune::testing {

/// The message of the kerntune::error that `action` throws, or "" if it throws none.
template <typename Action>
std::string error_of(Action&& action) {
    try {
        action();
    } catch (const error& failure) {
        return failure.what();
    }
    return "";
}

inline bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

/// The lines of `text`, each without its newline (a last line needs none).
inline std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
}

} // namespace kerntune::testing
