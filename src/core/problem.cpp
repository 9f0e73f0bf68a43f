#include "core/problem.hpp"

#include "core/error.hpp"
#include "core/text.hpp"

namespace kerntune {

std::int64_t problem::numel() const {
    std::int64_t n = 1;
    for (std::int64_t dim : shape) n *= dim;  // parse_shape proved the product fits
    return n;
}

std::string problem::key() const { return "n=" + std::to_string(numel()); }

std::string problem::to_string() const {
    std::string text;
    for (std::int64_t dim : shape) text += (text.empty() ? "" : "x") + std::to_string(dim);
    return text;
}

problem parse_shape(std::string_view text) {
    auto fail = [&](const std::string& why) -> problem {
        throw error("bad shape '" + std::string(text) + "': " + why + " (expected e.g. 4096x393216 or 1048576)");
    };
    if (text.empty()) return fail("empty");
    problem parsed;
    std::int64_t product = 1;
    for (std::string_view dim : split(text, 'x')) {
        if (dim.empty()) return fail("empty dimension");
        std::int64_t value = 0;
        for (char c : dim) {
            if (c < '0' || c > '9') return fail(c == '-' ? "dimensions must be positive" : "not a number: '" + std::string(dim) + "'");
            if (__builtin_mul_overflow(value, 10, &value) || __builtin_add_overflow(value, c - '0', &value))
                return fail("dimension too large");
        }
        if (value == 0) return fail("dimensions must be positive");
        if (__builtin_mul_overflow(product, value, &product)) return fail("too many elements");
        parsed.shape.push_back(value);
    }
    return parsed;
}

std::vector<problem> parse_shape_list(std::string_view csv) {
    std::vector<problem> problems;
    for (std::string_view item : split(csv, ',')) problems.push_back(parse_shape(item));
    return problems;
}

} // namespace kerntune
