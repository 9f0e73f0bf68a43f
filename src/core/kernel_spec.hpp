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
    std::string name;        ///< "BLOCK": a C++ identifier
    std::string short_name;  ///< "blk": its prefix in labels (integer parameters)
    param_kind kind = param_kind::template_arg;
    std::vector<std::int64_t> values;     ///< the domain; for enum parameters 0..k-1
    std::vector<std::string> enum_names;  ///< non-empty for enum parameters ("tile", "stride")
    std::string doc;                      ///< one line for humans
    /// Whether the values were declared as names, which expressions read as their index.
    bool is_enum() const { return !enum_names.empty(); }
};

/// input/output: device buffers of n elements of T; count: n as a 64-bit integer; f32: a float.
enum class arg_kind { input, output, count, f32 };

/// One argument of the tuned kernel, in call order.
struct kernel_arg {
    std::string name;  ///< a C++ identifier
    arg_kind kind = arg_kind::input;
    float default_value = 0;  ///< f32 only
};

/// Launch geometry (1-D) as expressions of parameters and problem/device variables.
struct launch_rule {
    expression block;  ///< threads per block, 1..1024
    expression grid;   ///< blocks, 1..2^31-1
};

/// A constraint on the parameters (and sizeof(T)): configs where it is 0 are not in the space.
struct named_constraint {
    expression expr;
    int line = 0;  ///< 1-based line in the YAML, for messages
};

/// A kernel template and its tuning space, as loaded from templates/X.yaml and X.cu.
struct kernel_spec {
    std::string name;         ///< "leaky_relu": the op name
    std::string description;  ///< one line for humans
    std::filesystem::path yaml_path;
    std::filesystem::path source_path;  ///< the .cu file, beside the YAML
    std::string source;                 ///< the .cu text
    std::string source_hash;       ///< sha256_hex(YAML text + "\n--\n" + .cu text): both define the kernel
    std::string kernel;            ///< "kt::leaky_relu": template over T then the template parameters
    std::string reference_kernel;  ///< "kt::leaky_relu_reference": template over T only
    launch_rule reference_launch;  ///< may read n, the device limits, sizeof(T)
    std::vector<dtype> dtypes;     ///< the element types it can be instantiated for
    std::vector<kernel_arg> arguments;
    expression bytes_moved;                     ///< bytes read + written, for GB/s
    std::vector<param_spec> params;             ///< in declaration order: the order of config values
    std::vector<named_constraint> constraints;  ///< all must hold (non-zero) for a config to be in the space
    launch_rule launch;                         ///< the candidate's geometry
    std::vector<std::pair<std::string, expression>> default_values;  ///< per parameter, may use sizeof(T)
};

/// $KERNTUNE_TEMPLATES if set, else share/kerntune/templates beside an installed kerntune,
/// else the source tree's templates/ (compiled in).
std::filesystem::path default_template_dir();

} // namespace kerntune
