// Helpers shared by the tests of src/core.
#pragma once
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/kernel_spec.hpp"

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

/// A parameter of integer values, for specs built by hand.
inline param_spec int_param(std::string name, std::string short_name, std::vector<std::int64_t> values) {
    param_spec p;
    p.name = std::move(name);
    p.short_name = std::move(short_name);
    p.values = std::move(values);
    return p;
}

} // namespace kerntune::test
