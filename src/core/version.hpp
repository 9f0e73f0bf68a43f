#pragma once
#include <string_view>

namespace kerntune {

/// kerntune's version, "MAJOR.MINOR.PATCH" (e.g. "0.2.0"): the CMake project version, the same
/// that include/kerntune/version.h is generated from. A view of a string literal, so data() is
/// NUL-terminated (kt_get_version returns it).
std::string_view kerntune_version();

} // namespace kerntune
