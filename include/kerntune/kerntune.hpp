#pragma once
// kerntune C++ API: launch the kernel tuned for this GPU, op, dtype and size.
//
//   kerntune::runtime rt;                                // $KERNTUNE_DB, else the default path
//   rt.leaky_relu(KT_F32, x, y, n, 0.01f, stream);       // device pointers; y == x allowed
//
// Thread-safe. The first call for an (op, dtype, n, context) looks the config up, loads or
// compiles its kernel and caches the launch; later calls are a hash lookup and cuLaunchKernel.
#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "kerntune/kerntune.h"

namespace kerntune {

namespace detail {
class runtime_state;
}

class runtime;

/// A failure of the C++ API; status() is the C ABI's code for it.
class runtime_error : public std::runtime_error {
public:
    runtime_error(kt_status status, const std::string& message) : std::runtime_error(message), m_status(status) {}
    kt_status status() const noexcept { return m_status; }

private:
    kt_status m_status;
};

/// The config a call uses and how it was found.
struct launch_choice {
    kt_match match = KT_MATCH_DEFAULT;
    std::string label;  ///< canonical config label, e.g. "blk256.vec4.unr2.plain.tile.w0"
    std::string binary_source;  ///< where its kernel came from: "memory", "database" or "compiled"
    bool shipped = false;  ///< the config is a shipped row's (tuning_db/, beneath the user's database)
};

/// A scalar an expression reads by name, and its value when a launch gives none.
struct expression_scalar {
    std::string name;
    float default_value = 0;
};

/// An elementwise expression registered with a runtime (see kt_expression_create): cheap to
/// copy, valid while its runtime lives. Thread-safe.
class elementwise {
public:
    /// The op it is registered as: runtime::query and `kerntune tune --op` accept it.
    const std::string& op() const { return m_op; }
    int input_count() const { return m_inputs; }
    int scalar_count() const { return m_scalars; }

    /// output = the expression of inputs (input_count() device pointers of n elements), in
    /// float32, rounded once to `dtype`; scalars: all of them in order, or nullptr and 0.
    void launch(kt_dtype dtype, std::int64_t n, const void* const* inputs, int num_inputs, void* output,
                const float* scalars = nullptr, int num_scalars = 0, CUstream stream = nullptr) const;
    /// Which config a launch with (dtype, n) uses on the current device, and how it was found.
    launch_choice query(kt_dtype dtype, std::int64_t n) const;

private:
    friend class runtime;
    elementwise(runtime& owner, std::string op, int inputs, int scalars)
        : m_runtime(&owner), m_op(std::move(op)), m_inputs(inputs), m_scalars(scalars) {}
    runtime* m_runtime;
    std::string m_op;
    int m_inputs, m_scalars;
};

/// Tuned kernels for the applications's GPU. Throws runtime_error (KT_ERROR_NO_DEVICE) when
/// there is no driver or no GPU; a missing or unusable database only means default configs.
class runtime {
public:
    explicit runtime(const std::string& db_path = {});
    ~runtime();
    runtime(const runtime&) = delete;
    runtime& operator=(const runtime&) = delete;

    /// y = x > 0 ? x : x * negative_slope with PyTorch's exact semantics (see kerntune.h).
    void leaky_relu(kt_dtype dtype, const void* x, void* y, std::int64_t n, float negative_slope,
                    CUstream stream = nullptr);

    /// Adds a folder of templates to the catalogue (see kt_runtime_add_templates).
    void add_templates(const std::string& folder);

    /// A template whose problem is one axis n: buffers for its buffer arguments in order,
    /// scalars for its caller scalars in order (nullptr and 0: their defaults).
    void launch(const std::string& op, kt_dtype dtype, std::int64_t n, void* const* buffers, int num_buffers,
                const float* scalars, int num_scalars, CUstream stream = nullptr);

    /// Any template, on one extent per axis of its problem (see kt_launch_problem).
    void launch_problem(const std::string& op, kt_dtype dtype, const std::int64_t* extents, int num_extents,
                        void* const* buffers, int num_buffers, const double* scalars, int num_scalars,
                        CUstream stream = nullptr);

    /// Parses and registers an elementwise expression (see kt_expression_create); throws
    /// runtime_error (KT_ERROR_INVALID_ARGUMENT) with one line naming the column.
    kerntune::elementwise elementwise(const std::string& text, const std::vector<expression_scalar>& scalars = {});

    /// Which config (op, dtype, n) uses on the current device, and how it was found.
    launch_choice query(const std::string& op, kt_dtype dtype, std::int64_t n);
    /// The same for a problem given by its extents.
    launch_choice query_problem(const std::string& op, kt_dtype dtype, const std::int64_t* extents, int num_extents);

private:
    std::unique_ptr<detail::runtime_state> m_state;
};

/// Where kerntune's log messages go instead of stderr: the level and the message (one line, no
/// prefix, no newline). See kt_set_log_callback for when it is called; an exception it throws
/// is dropped.
using log_callback = std::function<void(kt_log_level level, const std::string& message)>;

/// Process-wide: sends every message the log level admits to `callback`; an empty one
/// restores stderr (kt_set_log_callback). Throws runtime_error (KT_ERROR_INVALID_ARGUMENT) when
/// called from inside a log callback.
void set_log_callback(log_callback callback);

/// Process-wide: the most detailed level logged, overriding $KERNTUNE_LOG_LEVEL
/// (kt_set_log_level). Throws runtime_error (KT_ERROR_INVALID_ARGUMENT) for a level outside
/// KT_LOG_OFF..KT_LOG_DEBUG or when called from inside a log callback.
void set_log_level(kt_log_level level);

} // namespace kerntune
