#pragma once
// What many tests ask of a result: the message of the kerntune::error an action throws, and
// whether a text holds a part.
#include <string>

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

} // namespace kerntune::testing
