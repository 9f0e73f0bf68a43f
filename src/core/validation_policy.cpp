#include "core/validation_policy.hpp"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "core/error.hpp"
#include "core/text.hpp"

namespace kerntune {
namespace {

bool parse_int(std::string_view text, std::int64_t& value) {
    const std::string copy(text);
    if (copy.empty() || copy.size() > 18) return false;
    char* end = nullptr;
    value = std::strtoll(copy.c_str(), &end, 10);
    return *end == '\0';
}

bool parse_real(std::string_view text, double& value) {
    const std::string copy(text);
    if (copy.empty()) return false;
    char* end = nullptr;
    value = std::strtod(copy.c_str(), &end);
    return *end == '\0' && std::isfinite(value) && value >= 0;
}

std::string real_text(double value) {
    char text[32];
    std::snprintf(text, sizeof(text), "%.9g", value);
    return text;
}

} // namespace

std::string to_string(const fill_policy& fill) {
    if (fill.kind == fill_policy::bits) return "bits";
    return "finite:" + std::to_string(fill.min_exponent) + ":" + std::to_string(fill.max_exponent);
}

fill_policy parse_fill_policy(std::string_view text) {
    if (text == "bits") return {};
    const std::vector<std::string_view> parts = split(text, ':');
    std::int64_t low = 0, high = 0;
    // 2^+-126 bounds every float type's normal range; a wider request is a typo.
    if (parts.size() == 3 && parts[0] == "finite" && parse_int(parts[1], low) && parse_int(parts[2], high) &&
        low <= high && low >= -126 && high <= 127)
        return {fill_policy::finite, static_cast<int>(low), static_cast<int>(high)};
    throw error("bad fill policy '" + std::string(text) +
                "': expected bits or finite:MIN:MAX (exponents, -126 <= MIN <= MAX <= 127)");
}

std::string to_string(const compare_policy& compare) {
    switch (compare.kind) {
    case compare_policy::bits: return "bits";
    case compare_policy::ulp: return "ulp:" + std::to_string(compare.max_ulp);
    case compare_policy::tolerance: return "tolerance:" + real_text(compare.atol) + ":" + real_text(compare.rtol);
    }
    return "bits";
}

compare_policy parse_compare_policy(std::string_view text) {
    if (text == "bits") return {};
    const std::vector<std::string_view> parts = split(text, ':');
    compare_policy parsed;
    if (parts.size() == 2 && parts[0] == "ulp" && parse_int(parts[1], parsed.max_ulp) && parsed.max_ulp >= 0) {
        parsed.kind = compare_policy::ulp;
        return parsed;
    }
    if (parts.size() == 3 && parts[0] == "tolerance" && parse_real(parts[1], parsed.atol) &&
        parse_real(parts[2], parsed.rtol)) {
        parsed.kind = compare_policy::tolerance;
        return parsed;
    }
    throw error("bad compare policy '" + std::string(text) +
                "': expected bits, ulp:N or tolerance:ATOL:RTOL (non-negative numbers)");
}

} // namespace kerntune
