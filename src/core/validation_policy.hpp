#pragma once
#include <cstdint>
#include <string>
#include <string_view>

namespace kerntune {

/// How the tuner fills a candidate's input buffers of floating-point type (integer buffers
/// always get random bits).
struct fill_policy {
    enum kind_t { bits, finite } kind = bits;
    /// finite: +-m * 2^e, m uniform in [1, 2), e uniform in [min_exponent, max_exponent].
    int min_exponent = 0, max_exponent = 0;
};

/// How a candidate's outputs are compared with the reference's.
struct compare_policy {
    enum kind_t { bits, ulp, tolerance } kind = bits;
    std::int64_t max_ulp = 0;      ///< ulp: at most this many units in the last place apart
    double atol = 0, rtol = 0;     ///< tolerance: |a - e| <= atol + rtol * |e|
};

/// A spec's validation policy. Both NaN match under ulp and tolerance; bits is bit for bit.
struct validation_policy {
    fill_policy fill;
    compare_policy compare;
};

/// "bits" or "finite:MIN:MAX" (e.g. "finite:-8:8").
std::string to_string(const fill_policy& fill);
fill_policy parse_fill_policy(std::string_view text);

/// "bits", "ulp:N" or "tolerance:ATOL:RTOL" (e.g. "tolerance:1e-06:1e-05").
std::string to_string(const compare_policy& compare);
compare_policy parse_compare_policy(std::string_view text);

} // namespace kerntune
