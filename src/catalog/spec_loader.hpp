#pragma once
#include <filesystem>
#include <string>
#include <vector>

#include "catalog/template_folder.hpp"
#include "core/kernel_spec.hpp"

namespace kerntune {

/// Loads the spec `yaml_name` of `folder` and the source it names, resolving the source's
/// includes in the folder, then in the support folder (template_folder::support()), then in
/// CUDA's include folder; checks every field, name and expression. Every error message starts
/// with "<yaml path>:<line>:". The only code that reads YAML.
kernel_spec load_spec(const template_folder& folder, const std::string& yaml_name);

/// The spec and its variants (its `variants` field: the same template under other names,
/// kernels and reference kernels), in the file's order; load_spec is the first of them.
std::vector<kernel_spec> load_specs(const template_folder& folder, const std::string& yaml_name);

/// The same for a YAML file on disk, in its folder.
kernel_spec load_spec(const std::filesystem::path& yaml_file);

} // namespace kerntune
