#include "core/version.hpp"

// KERNTUNE_PROJECT_VERSION is defined for this file only (src/core/CMakeLists.txt), from the
// CMake project version, so that a new version recompiles this file and nothing else.
namespace kerntune {

namespace {
constexpr char version_text[] = KERNTUNE_PROJECT_VERSION;
}

std::string_view kerntune_version() { return version_text; }

} // namespace kerntune
