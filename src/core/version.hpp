#pragma once
#include <string_view>

namespace kerntune {

/// kerntune's version, "MAJOR.MINOR.PATCH" (e.g. "0.2.0"): the CMake project version, the same
/// that include/kerntune/version.h is generated from. A view of a string literal, so data() is
/// NUL-terminated (kt_get_version returns it).
std::string_view kerntune_version();

/// The version and the commit of the source it was built from, as semantic versioning's build
/// metadata: "0.2.0+9b19fe2a1c3d", with ".dirty" after the commit when tracked files had
/// uncommitted changes; the bare version when the source was not the top of a git checkout
/// (cmake/write_build_id.cmake). The database records it with every measurement and winner
/// (their kerntune_version).
std::string_view kerntune_build();

} // namespace kerntune
