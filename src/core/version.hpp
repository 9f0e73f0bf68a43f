#pragma once
#include <string_view>

namespace kerntune {

/// kerntune's version, "0.2.0": the project version CMake builds with (KERNTUNE_VERSION on
/// kerntune_core).
std::string_view kerntune_version();

} // namespace kerntune
