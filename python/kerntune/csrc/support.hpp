// What every kerntune operator for PyTorch shares: the process's runtime, the checks of a tensor
// argument, the problem extents of a reduction, and the launch through the C ABI on the current
// stream. Each op family registers its kernels in its own file (TORCH_LIBRARY_IMPL); library.cpp
// declares the schemas.
#pragma once
#include <ATen/ATen.h>
#include <ATen/core/dispatch/Dispatcher.h>
#include <ATen/core/grad_mode.h>
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/util/accumulate.h>
#include <torch/csrc/autograd/custom_function.h>
#include <torch/library.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <limits>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "kerntune/kerntune.h"

namespace kerntune_torch {

/// Raises a Python ValueError for a bad argument, RuntimeError otherwise, with kerntune's message.
inline void check_status(kt_status status, const char* op) {
    if (status == KT_OK) return;
    TORCH_CHECK_VALUE(status != KT_ERROR_INVALID_ARGUMENT, "kerntune.torch.", op, ": ", kt_last_error());
    TORCH_CHECK(false, "kerntune.torch.", op, ": ", kt_status_string(status), ": ", kt_last_error());
}

/// The process's runtime, made at the first call (a failure is raised, and retried by the next
/// call). Never destroyed: it would outlive the CUDA contexts at exit.
inline kt_runtime* shared_runtime() {
    static kt_runtime* const runtime = [] {
        kt_runtime* made = nullptr;
        check_status(kt_runtime_create(nullptr, &made), "runtime");
        return made;
    }();
    return runtime;
}

inline kt_dtype kerntune_dtype(c10::ScalarType type, const char* op, const char* argument) {
    switch (type) {
    case at::kFloat: return KT_F32;
    case at::kHalf: return KT_F16;
    case at::kBFloat16: return KT_BF16;
    default:
        TORCH_CHECK_TYPE(false, "kerntune.torch.", op, ": ", argument, " has dtype ", type,
                         "; kerntune has float32, float16 and bfloat16 kernels");
    }
}

/// The checks every operator makes of a tensor argument before touching its data.
inline kt_dtype check_input(const at::Tensor& tensor, const char* op, const char* argument) {
    TORCH_CHECK_VALUE(tensor.is_cuda(), "kerntune.torch.", op, ": ", argument, " must be a CUDA tensor, not one on ",
                      tensor.device().str());
    return kerntune_dtype(tensor.scalar_type(), op, argument);
}

/// "[2, 3]", as torch prints a shape in its messages. (Written out: printing a c10::IntArrayRef
/// into a TORCH_CHECK message crashed this extension with torch 2.11 on the H200.)
inline std::string shape_text(c10::IntArrayRef shape) {
    std::string text = "[";
    for (std::size_t i = 0; i < shape.size(); ++i) text += (i ? ", " : "") + std::to_string(shape[i]);
    return text + "]";
}

/// shape_text for a shape that may be symbolic (a Meta kernel's while torch.compile traces with
/// dynamic shapes): a symbolic size is "?". (Written out too: streaming a c10::SymInt crashed like
/// an IntArrayRef.)
inline std::string shape_text(c10::SymIntArrayRef shape) {
    std::string text = "[";
    for (std::size_t i = 0; i < shape.size(); ++i) {
        const std::optional<std::int64_t> size = shape[i].maybe_as_int();
        text += (i ? ", " : "") + (size ? std::to_string(*size) : std::string("?"));
    }
    return text + "]";
}

/// An elementwise kernel reads and writes the tensor's memory as one flat array, which is right
/// for any non-overlapping dense layout (contiguous, transposed, channels-last): such a tensor is
/// used as it is and the output takes its strides. Anything else (a slice with gaps, an expanded
/// tensor) is first copied into a contiguous one. One rule, used by the CUDA and the Meta kernels.
inline bool flat_layout(const at::Tensor& tensor) { return tensor.is_non_overlapping_and_dense(); }

/// Inputs of one shape are read as flat arrays together when each is and all have the same
/// strides (so element i is at the same offset in each). Equal shapes with strides that differ
/// only on dims of size 1 would do too; they are copied, which is correct and rare.
inline bool flat_layout(at::TensorList tensors) {
    for (const at::Tensor& tensor : tensors)
        if (!flat_layout(tensor) || !tensor.sym_strides().equals(tensors[0].sym_strides())) return false;
    return true;
}

/// The output of an elementwise op over `inputs` (one shape and dtype): their layout when they
/// share a flat one, else contiguous.
inline at::Tensor elementwise_output(at::TensorList inputs) {
    return flat_layout(inputs) ? at::empty_like(inputs[0]) : at::empty_like(inputs[0], at::MemoryFormat::Contiguous);
}

inline at::Tensor elementwise_output(const at::Tensor& input) { return elementwise_output(at::TensorList(input)); }

/// How kt_query found a config, as kerntune.torch.Choice.match spells it.
inline std::string match_name(kt_match match) {
    switch (match) {
    case KT_MATCH_EXACT: return "exact";
    case KT_MATCH_NEAREST: return "nearest";
    case KT_MATCH_DEFAULT: return "default";
    case KT_MATCH_FAMILY: return "family";
    }
    return "unknown";
}

/// The [outer, reduce, inner] extents of reducing `dim` of a tensor of `shape` (a 0-d tensor is
/// one element), as kerntune's reduction templates take them.
inline std::vector<std::int64_t> reduction_extents(c10::IntArrayRef shape, std::int64_t dim) {
    const std::int64_t rank = static_cast<std::int64_t>(shape.size());
    const std::int64_t d = c10::maybe_wrap_dim(dim, rank);  // IndexError naming dim, as torch
    if (rank == 0) return {1, 1, 1};
    return {c10::multiply_integers(shape.begin(), shape.begin() + d), shape[d],
            c10::multiply_integers(shape.begin() + d + 1, shape.end())};
}

/// Launches `op` on the problem `extents` over `buffers` on the current stream of `device`; an
/// empty problem launches nothing.
inline void launch(const char* op, kt_dtype dtype, const std::vector<std::int64_t>& extents, std::vector<void*> buffers,
                   const std::vector<double>& scalars, c10::Device device) {
    for (std::int64_t extent : extents)
        if (extent == 0) return;
    const CUstream stream = at::cuda::getCurrentCUDAStream(device.index()).stream();
    check_status(kt_launch_problem(shared_runtime(), op, dtype, extents.data(), static_cast<int>(extents.size()),
                                   buffers.data(), static_cast<int>(buffers.size()), scalars.data(),
                                   static_cast<int>(scalars.size()), stream),
                 op);
}

/// Whether `op` is one of kerntune's named elementwise ops that kerntune.torch calls (relu,
/// gelu_tanh, ...: elementwise.cpp), and their names for messages ("relu, sigmoid, ...").
bool is_named_op(const std::string& op);
std::string named_op_names();

/// kerntune::query_expression(expression, scalar_names, dtype, shape, device) -> (match, config),
/// as kt_expression_query says (elementwise.cpp; boxed: it reads a str[]).
void query_expression(const c10::OperatorHandle& handle, torch::jit::Stack* stack);

/// The [outer, reduce, inner] extents of layer_norm or rms_norm over the trailing dims
/// `normalized_shape` of a tensor of `shape`, or (rms_norm) over `dim`; torch's errors otherwise
/// (norm.cpp).
std::vector<std::int64_t> norm_extents(const std::string& op, c10::IntArrayRef shape, c10::IntArrayRef normalized_shape,
                                       std::optional<std::int64_t> dim);

} // namespace kerntune_torch
