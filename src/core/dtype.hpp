#pragma once
#include <cstddef>
#include <string_view>
#include <vector>

namespace kerntune {

/// Element types a template can be instantiated for.
enum class dtype { f32, f16, bf16 };

/// "f32", "f16", "bf16": the one spelling used in the CLI, the database and logs.
std::string_view to_string(dtype type);

/// Parses "f32", "f16" or "bf16"; throws kerntune::error naming the bad text otherwise.
dtype parse_dtype(std::string_view text);

/// Parses a comma-separated list ("f32,f16,bf16"); empty items and duplicates are errors.
std::vector<dtype> parse_dtype_list(std::string_view csv);

/// Bytes per element.
std::size_t dtype_size(dtype type);

/// The CUDA C++ type a template is instantiated with: "float", "__half", "__nv_bfloat16".
std::string_view cuda_type_name(dtype type);

} // namespace kerntune
