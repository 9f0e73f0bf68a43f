#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace kerntune {

/// A problem shape, e.g. 4096 x 393216.
struct problem {
    std::vector<std::int64_t> shape;

    /// Number of elements.
    std::int64_t numel() const;
    /// "n=<numel>": elementwise ops depend only on the element count, so 4096x393216 and
    /// 1610612736 share their results.
    std::string key() const;
    /// "4096x393216"
    std::string to_string() const;
};

/// Parses "4096x393216" or "1048576". Empty, non-digit, zero and negative dimensions and
/// products past int64 are errors that quote the text.
problem parse_shape(std::string_view text);

/// Parses a comma-separated list of shapes.
std::vector<problem> parse_shape_list(std::string_view csv);

} // namespace kerntune
