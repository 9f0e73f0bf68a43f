#pragma once
#include <vector>

#include "core/kernel_spec.hpp"

namespace kerntune {

/// Every template of templates/ as it was at build time, compiled into libkerntune by
/// tools/kerntune_embed.cpp: an application needs no template files and no YAML parser.
const std::vector<kernel_spec>& embedded_specs();

} // namespace kerntune
