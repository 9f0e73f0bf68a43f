#include "core/version.hpp"

#ifndef KERNTUNE_VERSION
#error "KERNTUNE_VERSION must be defined (src/core/CMakeLists.txt)"
#endif

namespace kerntune {

std::string_view kerntune_version() { return KERNTUNE_VERSION; }

} // namespace kerntune
