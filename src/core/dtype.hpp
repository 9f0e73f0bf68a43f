#pragma once
#include <cstddef>
#include <string_view>
#include <vector>

namespace kerntune {

/// Element types of templates and buffers. Templates are mostly instantiated for the floating
/// types; i32 and i64 serve fixed-type buffers (indices, counts) and integer templates.
enum class dtype { f32, f16, bf16, i32, i64 };

/// "f32", "f16", "bf16", "i32", "i64": the one spelling used in the CLI, the database and logs.
std::string_view to_string(dtype type);

/// Parses the canonical spelling only: "f32", "f16", "bf16", "i32" or "i64" (what specs,
/// databases and the worker protocol hold); throws kerntune::error naming the bad text otherwise.
dtype parse_dtype(std::string_view text);

/// Parses a dtype as a user may write it on a command line: the canonical spelling, torch's
/// ("torch.float32", "torch.float", "torch.half", "torch.bfloat16", "torch.int", "torch.long")
/// or numpy's ("float32", "np.float16", "numpy.int64", "single", "half"), in any case ("F32",
/// "Float32"). Where torch and numpy differ, torch wins: "float" is f32 and "int" is i32.
/// Throws kerntune::error naming the text and the accepted spellings otherwise (f64 included:
/// no template is tuned for it).
dtype parse_dtype_name(std::string_view text);

/// Parses a comma-separated list ("f32,f16,bf16", "float32,torch.half") with parse_dtype_name;
/// empty items and duplicates (after canonicalisation: "f32,float32") are errors.
std::vector<dtype> parse_dtype_list(std::string_view csv);

/// Bytes per element.
std::size_t dtype_size(dtype type);

/// f32, f16 and bf16.
bool is_floating(dtype type);

/// The CUDA C++ type a template is instantiated with: "float", "__half", "__nv_bfloat16", "int", "long long".
std::string_view cuda_type_name(dtype type);

} // namespace kerntune
