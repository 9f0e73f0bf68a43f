#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/dtype.hpp"
#include "core/expression.hpp"
#include "core/problem.hpp"
#include "core/validation_policy.hpp"

namespace kerntune {

/// template_arg parameters become template arguments of the kernel; launch parameters only
/// change the launch geometry, so candidates that differ in them share one compiled kernel.
/// Derived parameters are template arguments too, but the problem gives their value (`rule`),
/// not the tuner: e.g. which of a row kernel's code paths it is compiled with, so that a kernel
/// carries only the registers of the path the problem takes.
enum class param_kind { template_arg, launch, derived };

/// A tuning parameter and its declared domain: the only values that ever reach kernel source.
struct param_spec {
    std::string name;        ///< "BLOCK": a C++ identifier
    std::string short_name;  ///< "blk": its prefix in labels (integer parameters)
    param_kind kind = param_kind::template_arg;
    std::vector<std::int64_t> values;     ///< the domain; for enum parameters 0..k-1
    std::vector<std::string> enum_names;  ///< non-empty for enum parameters ("tile", "stride")
    std::string doc;                      ///< one line for humans
    /// Derived parameters: the value for a problem, over the axes, sizeof(T) and the value
    /// names of every derived parameter; a value outside `values` is an error, never compiled.
    expression rule;
    /// Whether the values were declared as names, which expressions read as their index.
    bool is_enum() const { return !enum_names.empty(); }
    /// The domain as declared: "4, 8, 32" or "tile, stride".
    std::string domain_text() const;
};

/// "template", "launch" or "derived", as specs declare them.
std::string_view to_string(param_kind kind);

/// A kernel argument is a device buffer, a scalar passed by value, or the launch's workspace:
/// zeroed device memory of the bytes the launch rule's `workspace` gives (null when it gives 0),
/// which every launcher allocates on the launch's stream, so that callers never pass it.
enum class arg_kind { buffer, scalar, workspace };

/// How a kernel uses a buffer: the tuner fills in and inout buffers, poisons out buffers, and
/// compares out and inout buffers against the reference.
enum class buffer_access { in, out, inout };

/// The types a scalar argument can have.
enum class scalar_type { i32, i64, f32 };

std::string_view to_string(buffer_access access);
std::string_view to_string(scalar_type type);

/// One argument of the tuned kernel and of its reference, in call order.
struct kernel_arg {
    std::string name;  ///< a C++ identifier
    arg_kind kind = arg_kind::buffer;
    // buffer
    buffer_access access = buffer_access::in;
    std::optional<dtype> element;  ///< a fixed element type; none: the template's T
    expression extent;             ///< elements, over the problem axes
    /// An `in` buffer the caller may leave out (NULL; the kernel checks), as torch's optional
    /// weight and bias. The tuner always passes one, so candidates are timed and checked with it.
    bool optional = false;
    // scalar
    scalar_type type = scalar_type::f32;
    expression value;           ///< computed from the problem axes; empty: given by the caller
    double default_value = 0;   ///< a caller scalar's value when the caller gives none

    bool is_caller_scalar() const { return kind == arg_kind::scalar && value.empty(); }
    /// The element type of a buffer for a template instantiated with T = `type`.
    dtype element_type(dtype type) const { return element.value_or(type); }
};

/// Launch geometry as expressions of parameters, problem axes and device limits. Empty
/// dimensions are 1; empty shared memory is 0 bytes.
struct launch_rule {
    expression grid[3];
    expression block[3];
    expression shared_bytes;  ///< dynamic shared memory per block
    expression cluster;       ///< blocks per thread-block cluster along x (empty: no cluster)
    /// Bytes of zeroed workspace for the spec's workspace argument (empty: 0). A launch with a
    /// workspace is cooperative: its blocks are resident at once, so they may wait for each other.
    expression workspace_bytes;
};

/// A constraint on the parameters (and sizeof(T)): configs where it is 0 are not in the space.
struct named_constraint {
    expression expr;
    int line = 0;  ///< 1-based line in the YAML, for messages
};

/// A file a template's source includes, resolved in the template's folder or the support folder.
struct source_header {
    std::string name;  ///< as written in the #include
    std::string text;
};

/// A kernel template and its tuning space, as loaded from X.yaml and the source it names.
struct kernel_spec {
    std::string name;         ///< "leaky_relu": the op name
    std::string description;  ///< one line for humans
    std::string yaml_path;    ///< where it was loaded from ("<built-in>/leaky_relu.yaml" or a file), for messages
    std::string source_name;  ///< the source file's name, e.g. "leaky_relu.cu"
    std::string source;       ///< its text
    std::vector<source_header> headers;  ///< every header it includes, transitively, besides CUDA's
    /// sha256 of the YAML text, "\n--\n", the source and, for each header, "\n--\n" + name + "\n" +
    /// text: everything that defines the kernel, so an edit to any of it retires tuned rows.
    std::string source_hash;
    std::string kernel;            ///< "kt::leaky_relu": template over T then the template parameters
    std::string reference_kernel;  ///< "kt::leaky_relu_reference": template over T only
    launch_rule reference_launch;  ///< may read the axes, the device limits, sizeof(T)
    std::vector<dtype> dtypes;     ///< the element types it can be instantiated for
    std::vector<std::string> axes = {"n"};  ///< the problem axes, in order
    /// The shapes `kerntune tune --op OP` tunes when no --shape is given (the spec's `shapes`,
    /// after row_reduction_shapes for `regimes: rows`; for a one-axis spec without any,
    /// default_one_axis_shapes in core/regime.hpp), each valid for the axes as make_problem
    /// reads it without a dim; empty for a spec of several axes without any.
    std::vector<tensor_shape> default_shapes;
    /// Which regime a problem is in (the spec's `regimes`, row_reduction_regimes for `rows`;
    /// for a one-axis spec without it, default_one_axis_regimes in core/regime.hpp): an integer
    /// expression over the axes, sizeof(T), bytes_moved and the device facts of regime_names.
    /// The lookup borrows a tuned config from a nearby problem only within the caller's regime
    /// (select_config). Empty: one regime for every problem.
    expression regimes;
    std::vector<kernel_arg> arguments;       ///< the kernel signature, in call order
    validation_policy validation;            ///< how the tuner checks candidates
    expression bytes_moved;                  ///< bytes read + written, for GB/s
    std::vector<param_spec> params;          ///< in declaration order: the order of config values
    /// Derived parameters (param_kind::derived), in declaration order: their template arguments
    /// follow the tuned ones (core/config.hpp's derive and name_expression).
    std::vector<param_spec> derived;
    std::vector<named_constraint> constraints;  ///< all must hold (non-zero) for a config to be in the space
    /// The spec's `problem_constraints`: expressions over what launch rules read (the parameters,
    /// sizeof(T), the problem's axes, the device limits); a config of the space is a candidate at
    /// a problem only where all hold (candidate_at): the tuner does not measure the others there,
    /// and the lookup does not borrow them for it.
    std::vector<named_constraint> problem_constraints;
    launch_rule launch;                         ///< the candidate's geometry
    std::vector<std::pair<std::string, expression>> default_values;  ///< per parameter, may use sizeof(T)
    /// The tuning family (see select_config): set for generated elementwise expressions
    /// (catalog/expression_template.hpp), empty for templates loaded from YAML.
    std::string family;

    /// Buffer arguments, scalar arguments the caller gives, and workspace arguments (at most one).
    int buffer_count() const;
    int caller_scalar_count() const;
    int workspace_count() const;
};

} // namespace kerntune
