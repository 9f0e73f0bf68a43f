// The C++ API (kerntune.hpp) and the C ABI (kerntune.h), both thin layers over runtime_state.
#include <cstdio>
#include <cstddef>
#include <cstring>
#include <string>

#include "core/kernel_arguments.hpp"
#include "core/version.hpp"
#include "elementwise/elementwise_expression.hpp"
#include "cuda/driver.hpp"
#include "cuda/launch.hpp"
#include "kerntune/kerntune.h"
#include "kerntune/kerntune.hpp"
#include "runtime/call_arguments.hpp"
#include "runtime/runtime_log.hpp"
#include "runtime/runtime_state.hpp"

namespace kerntune {
namespace {

dtype to_dtype(kt_dtype type) {
    switch (type) {
    case KT_F32: return dtype::f32;
    case KT_F16: return dtype::f16;
    case KT_BF16: return dtype::bf16;
    case KT_I32: return dtype::i32;
    case KT_I64: return dtype::i64;
    }
    throw runtime_error(KT_ERROR_INVALID_ARGUMENT, "unknown dtype " + std::to_string(static_cast<int>(type)));
}

} // namespace

runtime::runtime(const std::string& db_path) {
    try {
        m_state = std::make_unique<detail::runtime_state>(db_path);
    } catch (...) {
        detail::rethrow_as_runtime_error();
    }
}

runtime::~runtime() = default;

void runtime::add_templates(const std::string& folder) {
    try {
        m_state->add_templates(folder);
    } catch (...) {
        detail::rethrow_as_runtime_error();
    }
}

void runtime::leaky_relu(kt_dtype type, const void* x, void* y, std::int64_t n, float negative_slope, CUstream stream) {
    void* buffers[] = {const_cast<void*>(x), y};  // the kernel only reads x
    launch("leaky_relu", type, n, buffers, 2, &negative_slope, 1, stream);
}

void runtime::launch(const std::string& op, kt_dtype type, std::int64_t n, void* const* buffers, int num_buffers,
                     const float* scalars, int num_scalars, CUstream stream) {
    double widened[packed_args::max_args];
    if (num_scalars < 0 || num_scalars > static_cast<int>(packed_args::max_args) || (scalars == nullptr && num_scalars > 0))
        throw runtime_error(KT_ERROR_INVALID_ARGUMENT, op + ": " + std::to_string(num_scalars) + " scalars" +
                                                           (scalars == nullptr ? " but scalars is NULL" : ""));
    for (int i = 0; i < num_scalars; ++i) widened[i] = scalars[i];
    launch_problem(op, type, &n, 1, buffers, num_buffers, num_scalars == 0 ? nullptr : widened, num_scalars, stream);
}

void runtime::launch_problem(const std::string& op, kt_dtype type, const std::int64_t* extents, int num_extents,
                             void* const* buffers, int num_buffers, const double* scalars, int num_scalars,
                             CUstream stream) {
    try {
        const dtype element = to_dtype(type);
        if (!detail::check_extents(extents, num_extents)) return;
        const detail::launch_entry& entry =
            m_state->entry(op, element, extents, static_cast<std::size_t>(num_extents), stream);
        detail::check_buffers(*entry.spec, buffers, num_buffers);
        if (num_scalars != 0 && (num_scalars != entry.caller_scalars || scalars == nullptr))
            throw runtime_error(KT_ERROR_INVALID_ARGUMENT, op + " takes " + std::to_string(entry.caller_scalars) +
                                                               " scalars (or none, for their defaults), not " +
                                                               std::to_string(num_scalars));
        std::uint64_t pointers[packed_args::max_args];
        for (int i = 0; i < num_buffers; ++i) pointers[i] = reinterpret_cast<std::uintptr_t>(buffers[i]);
        packed_args args(entry.args, pointers, num_scalars == 0 ? nullptr : scalars);
        KERNTUNE_CU_RESULT(launch_kernel(entry.function, entry.geometry, stream, args));
    } catch (...) {
        detail::rethrow_as_runtime_error();
    }
}

launch_choice runtime::query(const std::string& op, kt_dtype type, std::int64_t n) { return query_problem(op, type, &n, 1); }

kerntune::elementwise runtime::elementwise(const std::string& text, const std::vector<expression_scalar>& scalars) {
    try {
        std::vector<scalar_default> declared;
        for (const expression_scalar& scalar : scalars) declared.push_back({scalar.name, scalar.default_value});
        const elementwise_expression parsed = [&] {
            try {
                return elementwise_expression::parse(text, declared);
            } catch (const error& failure) {
                throw runtime_error(KT_ERROR_INVALID_ARGUMENT, failure.what());
            }
        }();
        return kerntune::elementwise(*this, m_state->add_expression(parsed), parsed.input_count(),
                                     static_cast<int>(parsed.scalars().size()));
    } catch (...) {
        detail::rethrow_as_runtime_error();
    }
}

void elementwise::launch(kt_dtype dtype, std::int64_t n, const void* const* inputs, int num_inputs, void* output,
                         const float* scalars, int num_scalars, CUstream stream) const {
    if (num_inputs != m_inputs || (inputs == nullptr && num_inputs > 0))
        throw runtime_error(KT_ERROR_INVALID_ARGUMENT, "the expression takes " + std::to_string(m_inputs) +
                                                           " inputs, not " + std::to_string(num_inputs) +
                                                           (inputs == nullptr ? " (inputs is NULL)" : ""));
    void* buffers[packed_args::max_args];
    for (int i = 0; i < num_inputs; ++i) buffers[i] = const_cast<void*>(inputs[i]);  // inputs are only read
    buffers[num_inputs] = output;
    m_runtime->launch(m_op, dtype, n, buffers, num_inputs + 1, scalars, num_scalars, stream);
}

launch_choice elementwise::query(kt_dtype dtype, std::int64_t n) const { return m_runtime->query(m_op, dtype, n); }

launch_choice runtime::query_problem(const std::string& op, kt_dtype type, const std::int64_t* extents, int num_extents) {
    try {
        const dtype element = to_dtype(type);
        detail::check_extents(extents, num_extents);
        // An empty problem launches nothing; it is answered as the smallest problem would be.
        std::int64_t at_least_one[max_problem_axes];
        for (int i = 0; i < num_extents; ++i) at_least_one[i] = extents[i] < 1 ? 1 : extents[i];
        const detail::launch_entry& entry = m_state->entry(op, element, at_least_one, static_cast<std::size_t>(num_extents));
        return {entry.match, entry.label, entry.binary_source, entry.shipped};
    } catch (...) {
        detail::rethrow_as_runtime_error();
    }
}

void set_log_callback(log_callback callback) {
    try {
        detail::set_log_sink(std::move(callback));
    } catch (...) {
        detail::rethrow_as_runtime_error();
    }
}

void set_log_level(kt_log_level level) {
    try {
        detail::set_log_level(level);
    } catch (...) {
        detail::rethrow_as_runtime_error();
    }
}

} // namespace kerntune

// ---- C ABI ----------------------------------------------------------------------------------

struct kt_runtime {
    kerntune::runtime runtime;
};

struct kt_expression {
    kerntune::elementwise handle;
};

namespace {

thread_local std::string last_error;

template <typename F> kt_status guarded(F&& body) noexcept {
    try {
        body();
        return KT_OK;
    } catch (const kerntune::runtime_error& failure) {
        last_error = failure.what();
        return failure.status();
    } catch (const std::exception& failure) {
        last_error = failure.what();
        return KT_ERROR_INTERNAL;
    } catch (...) {
        last_error = "unknown failure";
        return KT_ERROR_INTERNAL;
    }
}

kt_status null_runtime() {
    last_error = "the kt_runtime is NULL (create one with kt_runtime_create)";
    return KT_ERROR_INVALID_ARGUMENT;
}

kt_status null_expression() {
    last_error = "the kt_expression is NULL (create one with kt_expression_create)";
    return KT_ERROR_INVALID_ARGUMENT;
}

/// A query's answer into the C ABI's out-parameters (label truncated to label_size, NUL-terminated).
void copy_choice(const kerntune::launch_choice& choice, kt_match* match, char* label, size_t label_size) {
    *match = choice.match;
    if (label != nullptr && label_size > 0) {
        std::strncpy(label, choice.label.c_str(), label_size - 1);
        label[label_size - 1] = '\0';
    }
}

} // namespace

extern "C" {

kt_status kt_runtime_create(const char* db_path, kt_runtime** out) {
    if (out == nullptr) {
        last_error = "kt_runtime_create: out is NULL";
        return KT_ERROR_INVALID_ARGUMENT;
    }
    *out = nullptr;
    return guarded([&] { *out = new kt_runtime{kerntune::runtime(db_path == nullptr ? "" : db_path)}; });
}

void kt_runtime_destroy(kt_runtime* rt) { delete rt; }

kt_status kt_leaky_relu(kt_runtime* rt, kt_dtype dtype, const void* x, void* y, int64_t n, float negative_slope,
                        CUstream stream) {
    if (rt == nullptr) return null_runtime();
    return guarded([&] { rt->runtime.leaky_relu(dtype, x, y, n, negative_slope, stream); });
}

kt_status kt_launch(kt_runtime* rt, const char* op, kt_dtype dtype, int64_t n, void* const* buffers, int num_buffers,
                    const float* scalars, int num_scalars, CUstream stream) {
    if (rt == nullptr) return null_runtime();
    if (op == nullptr) {
        last_error = "kt_launch: op is NULL";
        return KT_ERROR_INVALID_ARGUMENT;
    }
    return guarded([&] { rt->runtime.launch(op, dtype, n, buffers, num_buffers, scalars, num_scalars, stream); });
}

kt_status kt_launch_problem(kt_runtime* rt, const char* op, kt_dtype dtype, const int64_t* extents, int num_extents,
                            void* const* buffers, int num_buffers, const double* scalars, int num_scalars,
                            CUstream stream) {
    if (rt == nullptr) return null_runtime();
    if (op == nullptr) {
        last_error = "kt_launch_problem: op is NULL";
        return KT_ERROR_INVALID_ARGUMENT;
    }
    return guarded([&] {
        rt->runtime.launch_problem(op, dtype, extents, num_extents, buffers, num_buffers, scalars, num_scalars, stream);
    });
}

kt_status kt_expression_create(kt_runtime* rt, const char* text, const char* const* scalar_names,
                               const float* scalar_defaults, int num_scalars, kt_expression** out) {
    if (out == nullptr) {
        last_error = "kt_expression_create: out is NULL";
        return KT_ERROR_INVALID_ARGUMENT;
    }
    *out = nullptr;
    if (rt == nullptr) return null_runtime();
    if (text == nullptr || num_scalars < 0 || (num_scalars > 0 && (scalar_names == nullptr || scalar_defaults == nullptr))) {
        last_error = "kt_expression_create: text is NULL, num_scalars is negative, or scalar_names or scalar_defaults "
                     "is NULL with scalars to declare";
        return KT_ERROR_INVALID_ARGUMENT;
    }
    return guarded([&] {
        std::vector<kerntune::expression_scalar> scalars;
        for (int i = 0; i < num_scalars; ++i) {
            if (scalar_names[i] == nullptr)
                throw kerntune::runtime_error(KT_ERROR_INVALID_ARGUMENT,
                                              "kt_expression_create: scalar_names[" + std::to_string(i) + "] is NULL");
            scalars.push_back({scalar_names[i], scalar_defaults[i]});
        }
        *out = new kt_expression{rt->runtime.elementwise(text, scalars)};
    });
}

void kt_expression_destroy(kt_expression* expression) { delete expression; }

const char* kt_expression_op(const kt_expression* expression) {
    return expression == nullptr ? "" : expression->handle.op().c_str();
}

int kt_expression_num_inputs(const kt_expression* expression) {
    return expression == nullptr ? 0 : expression->handle.input_count();
}

int kt_expression_num_scalars(const kt_expression* expression) {
    return expression == nullptr ? 0 : expression->handle.scalar_count();
}

kt_status kt_expression_launch(kt_expression* expression, kt_dtype dtype, int64_t n, const void* const* inputs,
                               int num_inputs, void* output, const float* scalars, int num_scalars, CUstream stream) {
    if (expression == nullptr) return null_expression();
    return guarded([&] { expression->handle.launch(dtype, n, inputs, num_inputs, output, scalars, num_scalars, stream); });
}

kt_status kt_expression_query(kt_expression* expression, kt_dtype dtype, int64_t n, kt_match* match, char* label,
                              size_t label_size) {
    if (expression == nullptr) return null_expression();
    if (match == nullptr) {
        last_error = "kt_expression_query: match is NULL";
        return KT_ERROR_INVALID_ARGUMENT;
    }
    return guarded([&] { copy_choice(expression->handle.query(dtype, n), match, label, label_size); });
}

kt_status kt_runtime_add_templates(kt_runtime* rt, const char* folder) {
    if (rt == nullptr) return null_runtime();
    if (folder == nullptr) {
        last_error = "kt_runtime_add_templates: folder is NULL";
        return KT_ERROR_INVALID_ARGUMENT;
    }
    return guarded([&] { rt->runtime.add_templates(folder); });
}

kt_status kt_query(kt_runtime* rt, const char* op, kt_dtype dtype, int64_t n, kt_match* match, char* label,
                   size_t label_size) {
    return kt_query_problem(rt, op, dtype, &n, 1, match, label, label_size);
}

kt_status kt_query_problem(kt_runtime* rt, const char* op, kt_dtype dtype, const int64_t* extents, int num_extents,
                           kt_match* match, char* label, size_t label_size) {
    if (rt == nullptr) return null_runtime();
    if (op == nullptr || match == nullptr) {
        last_error = "kt_query: op and match must not be NULL";
        return KT_ERROR_INVALID_ARGUMENT;
    }
    return guarded([&] { copy_choice(rt->runtime.query_problem(op, dtype, extents, num_extents), match, label, label_size); });
}

kt_status kt_query_choice(kt_runtime* rt, const char* op, kt_dtype dtype, const int64_t* extents, int num_extents,
                          kt_choice* choice, char* label, size_t label_size) {
    if (rt == nullptr) return null_runtime();
    // The first version of kt_choice ends after `shipped`; later fields are written only when
    // the caller's size holds them.
    constexpr size_t first_version = offsetof(kt_choice, shipped) + sizeof(int);
    if (op == nullptr || choice == nullptr || choice->size < first_version) {
        last_error = "kt_query_choice: op and choice must not be NULL, and choice->size must be sizeof(kt_choice)";
        return KT_ERROR_INVALID_ARGUMENT;
    }
    return guarded([&] {
        const kerntune::launch_choice chosen = rt->runtime.query_problem(op, dtype, extents, num_extents);
        copy_choice(chosen, &choice->match, label, label_size);
        choice->shipped = chosen.shipped ? 1 : 0;
    });
}

const char* kt_last_error(void) { return last_error.c_str(); }

kt_status kt_set_log_callback(kt_log_callback callback, void* user_data) {
    return guarded([&] {
        kerntune::log_callback sink;
        if (callback != nullptr)
            sink = [callback, user_data](kt_log_level level, const std::string& message) {
                callback(level, message.c_str(), user_data);
            };
        kerntune::set_log_callback(std::move(sink));
    });
}

kt_status kt_set_log_level(kt_log_level level) {
    return guarded([&] { kerntune::set_log_level(level); });
}

const char* kt_status_string(kt_status status) {
    switch (status) {  // no default: -Wswitch names a status added without its string
    case KT_OK: return "ok";
    case KT_ERROR_INVALID_ARGUMENT: return "invalid argument";
    case KT_ERROR_NO_DEVICE: return "no device";
    case KT_ERROR_CUDA: return "CUDA error";
    case KT_ERROR_COMPILE: return "compile error";
    case KT_ERROR_INTERNAL: return "internal error";
    }
    return "unknown status";
}

const char* kt_get_version(void) { return kerntune::kerntune_version().data(); }  // a literal's view

} // extern "C"
