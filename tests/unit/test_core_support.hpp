// Helpers shared by the tests of src/core.
#pragma once
#include <gtest/gtest.h>

#include <string>

#include "core/error.hpp"

namespace kerntune::test {

/// The message of the kerntune::error that `action` throws; records a test failure and returns
/// "" when it throws nothing.
template <typename Action>
std::string error_of(Action action) {
    try {
        action();
    } catch (const error& failure) {
        return failure.what();
    }
    ADD_FAILURE() << "no kerntune::error thrown";
    return "";
}

/// Whether `text` contains `part`.
inline bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

} // namespace kerntune::test
