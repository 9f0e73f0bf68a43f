// Helpers shared by the tests of src/core.
#pragma once
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/expression.hpp"
#include "core/kernel_spec.hpp"
#include "../support/expectations.hpp"

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

using testing::contains;  // tests/support/expectations.hpp

/// "65536x768" and so on, one per shape: a ladder compared whole, with its order.
inline std::vector<std::string> shape_texts(const std::vector<tensor_shape>& shapes) {
    std::vector<std::string> texts;
    for (const tensor_shape& shape : shapes) texts.push_back(shape.to_string());
    return texts;
}

/// A parameter of integer values, for specs built by hand.
inline param_spec int_param(std::string name, std::string short_name, std::vector<std::int64_t> values) {
    param_spec p;
    p.name = std::move(name);
    p.short_name = std::move(short_name);
    p.values = std::move(values);
    return p;
}

/// The common start of the toy templates built by hand: toy_copy (kernel kt::toy_copy), f32 and
/// f16, BLOCK 128, 256 or 512 (default 256). Each test adds the parameters and rules it needs.
inline kernel_spec toy_copy_spec(const std::string& source_hash) {
    kernel_spec s;
    s.name = "toy_copy";
    s.source_hash = source_hash;
    s.kernel = "kt::toy_copy";
    s.dtypes = {dtype::f32, dtype::f16};
    s.params.push_back(int_param("BLOCK", "blk", {128, 256, 512}));
    s.default_values = {{"BLOCK", expression::parse("256")}};
    return s;
}

} // namespace kerntune::test
