// The C++ API (kerntune.hpp) and the C ABI (kerntune.h), both thin layers over runtime_state.
#include <cstdio>
#include <cstring>
#include <string>

#include "cuda/driver.hpp"
#include "kerntune/kerntune.h"
#include "kerntune/kerntune.hpp"
#include "runtime/runtime_state.hpp"

namespace kerntune {
namespace {

dtype to_dtype(kt_dtype type) {
    switch (type) {
    case KT_F32: return dtype::f32;
    case KT_F16: return dtype::f16;
    case KT_BF16: return dtype::bf16;
    }
    throw runtime_error(KT_ERROR_INVALID_ARGUMENT, "unknown dtype " + std::to_string(static_cast<int>(type)));
}

void check_size(std::int64_t n) {
    if (n < 0) throw runtime_error(KT_ERROR_INVALID_ARGUMENT, "n must be >= 0, not " + std::to_string(n));
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

void runtime::leaky_relu(kt_dtype type, const void* x, void* y, std::int64_t n, float negative_slope, CUstream stream) {
    void* buffers[] = {const_cast<void*>(x), y};  // the kernel only reads x
    launch("leaky_relu", type, n, buffers, 2, &negative_slope, 1, stream);
}

void runtime::launch(const std::string& op_name, kt_dtype type, std::int64_t n, void* const* buffers, int num_buffers,
                     const float* scalars, int num_scalars, CUstream stream) {
    try {
        const std::size_t op = m_state->op_index(op_name);
        const kernel_spec& spec = m_state->spec(op);
        check_size(n);
        const dtype element = to_dtype(type);
        int wanted_buffers = 0, wanted_scalars = 0;
        for (const kernel_arg& argument : spec.arguments) {
            wanted_buffers += argument.kind == arg_kind::input || argument.kind == arg_kind::output;
            wanted_scalars += argument.kind == arg_kind::f32;
        }
        if (num_buffers != wanted_buffers || (buffers == nullptr && num_buffers > 0))
            throw runtime_error(KT_ERROR_INVALID_ARGUMENT, op_name + " takes " + std::to_string(wanted_buffers) +
                                                               " buffers, not " + std::to_string(num_buffers));
        if (num_scalars != 0 && (num_scalars != wanted_scalars || scalars == nullptr))
            throw runtime_error(KT_ERROR_INVALID_ARGUMENT, op_name + " takes " + std::to_string(wanted_scalars) +
                                                               " scalars (or none, for their defaults), not " +
                                                               std::to_string(num_scalars));
        if (n == 0) return;
        constexpr std::size_t max_arguments = 16;
        if (spec.arguments.size() > max_arguments)
            throw runtime_error(KT_ERROR_INVALID_ARGUMENT, op_name + " has too many arguments");
        CUdeviceptr pointers[max_arguments];
        float floats[max_arguments];
        void* slots[max_arguments];
        long long n_arg = n;
        int buffer = 0, scalar = 0;
        for (std::size_t i = 0; i < spec.arguments.size(); ++i) {
            const kernel_arg& argument = spec.arguments[i];
            if (argument.kind == arg_kind::count) {
                slots[i] = &n_arg;
            } else if (argument.kind == arg_kind::f32) {
                floats[i] = num_scalars == 0 ? argument.default_value : scalars[scalar];
                ++scalar;
                slots[i] = &floats[i];
            } else {
                if (buffers[buffer] == nullptr)
                    throw runtime_error(KT_ERROR_INVALID_ARGUMENT, op_name + ": buffer " + argument.name + " is null");
                pointers[i] = reinterpret_cast<CUdeviceptr>(buffers[buffer++]);
                slots[i] = &pointers[i];
            }
        }
        const detail::launch_entry& entry = m_state->entry(op, element, n);
        KERNTUNE_CU(cuLaunchKernel(entry.function, entry.grid, 1, 1, entry.block, 1, 1, 0, stream, slots, nullptr));
    } catch (...) {
        detail::rethrow_as_runtime_error();
    }
}

launch_choice runtime::query(const std::string& op, kt_dtype type, std::int64_t n) {
    try {
        check_size(n);
        const detail::launch_entry& entry = m_state->entry(m_state->op_index(op), to_dtype(type), n < 1 ? 1 : n);
        return {entry.match, entry.label, entry.binary_source};
    } catch (...) {
        detail::rethrow_as_runtime_error();
    }
}

} // namespace kerntune

// ---- C ABI ----------------------------------------------------------------------------------

struct kt_runtime {
    kerntune::runtime runtime;
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

kt_status kt_query(kt_runtime* rt, const char* op, kt_dtype dtype, int64_t n, kt_match* match, char* label,
                   size_t label_size) {
    if (rt == nullptr) return null_runtime();
    if (op == nullptr || match == nullptr) {
        last_error = "kt_query: op and match must not be NULL";
        return KT_ERROR_INVALID_ARGUMENT;
    }
    return guarded([&] {
        const kerntune::launch_choice choice = rt->runtime.query(op, dtype, n);
        *match = choice.match;
        if (label != nullptr && label_size > 0) {
            std::strncpy(label, choice.label.c_str(), label_size - 1);
            label[label_size - 1] = '\0';
        }
    });
}

const char* kt_last_error(void) { return last_error.c_str(); }

} // extern "C"
