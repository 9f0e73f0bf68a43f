#pragma once
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/dtype.hpp"
#include "core/expression.hpp"

namespace kerntune {

/// template_arg parameters become template arguments of the kernel; launch parameters only
/// change the launch geometry, so candidates that differ in them share one compiled kernel.
enum class param_kind { template_arg, launch };

/// A tuning parameter and its declared domain: the only values that ever reach kernel source.
struct param_spec {
    std::string name;                     ///< "BLOCK": a C++ identifier
    std::string short_name;               ///< "blk": its prefix in labels (integer parameters)
    param_kind kind = param_kind::template_arg;
    std::vector<std::int64_t> values;     ///< the domain; for enum parameters 0..k-1
    std::vector<std::string> enum_names;  ///< non-empty for enum parameters ("tile", "stride")
    std::string doc;
    bool is_enum() const { return !enum_names.empty(); }
};

/// input/output: device buffers of n elements of T; count: n as a 64-bit integer; f32: a float.
enum class arg_kind { input, output, count, f32 };

struct kernel_arg {
    std::string name;
    arg_kind kind = arg_kind::input;
    float default_value = 0;  ///< f32 only
};

/// Launch geometry (1-D) as expressions of parameters and problem/device variables.
struct launch_rule {
    expression block;
    expression grid;
};

struct named_constraint {
    expression expr;
    int line = 0;  ///< 1-based line in the YAML, for messages
};

/// A kernel template and its tuning space, as loaded from templates/X.yaml and X.cu.
struct kernel_spec {
    std::string name, description;
    std::filesystem::path yaml_path, source_path;
    std::string source;       ///< the .cu text
    std::string source_hash;  ///< SHA-256 of the YAML and the .cu text: both define the kernel
    std::string kernel;       ///< "kt::leaky_relu": template over T then the template parameters
    std::string reference_kernel;
    launch_rule reference_launch;
    std::vector<dtype> dtypes;
    std::vector<kernel_arg> arguments;
    expression bytes_moved;  ///< bytes read + written, for GB/s
    std::vector<param_spec> params;
    std::vector<named_constraint> constraints;
    launch_rule launch;
    std::vector<std::pair<std::string, expression>> default_values;  ///< per parameter, may use sizeof(T)
};

/// $KERNTUNE_TEMPLATES if set, else share/kerntune/templates beside an installed kerntune,
/// else the source tree's templates/ (compiled in).
std::filesystem::path default_template_dir();

} // namespace kerntune
