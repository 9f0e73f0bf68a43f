#pragma once
#include <filesystem>
#include <string_view>
#include <vector>

#include "core/kernel_spec.hpp"

namespace kerntune {

/// Loads templates/X.yaml and the kernel source it names (relative to the YAML's folder),
/// checking every field, name and expression; every error message starts with
/// "<yaml path>:<line>:". The only code that reads YAML: libkerntune gets its specs compiled
/// in (tools/kerntune_embed.cpp) and needs no YAML parser.
kernel_spec load_spec(const std::filesystem::path& yaml_file);

/// Every *.yaml in `dir`, sorted by name.
std::vector<kernel_spec> load_specs(const std::filesystem::path& dir);

/// The spec named `op` in `dir`; the error lists the known ops.
kernel_spec find_spec(const std::filesystem::path& dir, std::string_view op);

} // namespace kerntune
