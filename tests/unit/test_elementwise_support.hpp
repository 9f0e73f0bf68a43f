// Helpers shared by the tests of src/elementwise.
#pragma once
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>

namespace kerntune::test {

/// The bits of `value`: compares NaNs and signed zeros exactly.
inline std::uint32_t bits_of(float value) {
    std::uint32_t bits = 0;
    std::memcpy(&bits, &value, sizeof(bits));
    return bits;
}

/// `count` copies of `part`.
inline std::string repeat(std::string_view part, std::size_t count) {
    std::string text;
    while (count-- > 0) text += part;
    return text;
}

/// `value` printed with a printf `format` that takes a precision and a double ("%.*e").
inline std::string printed(const char* format, int precision, float value) {
    char buffer[128];  // "%.9f" of FLT_MAX has 49 characters
    std::snprintf(buffer, sizeof(buffer), format, precision, static_cast<double>(value));
    return buffer;
}

} // namespace kerntune::test
