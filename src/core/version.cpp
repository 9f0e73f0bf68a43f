#include "core/version.hpp"

#include "build_id.h"  // KERNTUNE_COMMIT, generated at every build (src/core/CMakeLists.txt)

// KERNTUNE_PROJECT_VERSION is defined for this file only (src/core/CMakeLists.txt), from the
// CMake project version, so that a new version recompiles this file and nothing else.
namespace kerntune {

namespace {
constexpr char version_text[] = KERNTUNE_PROJECT_VERSION;
constexpr char commit_text[] = KERNTUNE_COMMIT;
constexpr char build_text[] = KERNTUNE_PROJECT_VERSION "+" KERNTUNE_COMMIT;
} // namespace

std::string_view kerntune_version() { return version_text; }

std::string_view kerntune_build() { return sizeof(commit_text) > 1 ? build_text : version_text; }

} // namespace kerntune
