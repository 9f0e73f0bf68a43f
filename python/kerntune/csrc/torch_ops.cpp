// kerntune's operators for PyTorch, registered in the `kerntune` namespace (torch.ops.kerntune):
// a CUDA kernel that allocates the output with torch's caching allocator and launches the tuned
// kernel through the C ABI on the current stream of the tensor's device; a Meta kernel, so that
// FakeTensor and torch.compile trace through them; an Autograd kernel with torch's own gradient.
// No Python runs per call. Built by kerntune/_extension.py against the torch in use.
#include <ATen/ATen.h>
#include <ATen/core/dispatch/Dispatcher.h>
#include <ATen/core/grad_mode.h>
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/util/accumulate.h>
#include <torch/csrc/autograd/custom_function.h>
#include <torch/library.h>

#include <cstring>
#include <limits>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "kerntune/kerntune.h"

namespace {

/// Raises a Python ValueError for a bad argument, RuntimeError otherwise, with kerntune's message.
void check_status(kt_status status, const char* op) {
    if (status == KT_OK) return;
    TORCH_CHECK_VALUE(status != KT_ERROR_INVALID_ARGUMENT, "kerntune.torch.", op, ": ", kt_last_error());
    TORCH_CHECK(false, "kerntune.torch.", op, ": ", kt_status_string(status), ": ", kt_last_error());
}

/// The process's runtime, made at the first call (a failure is raised, and retried by the next
/// call). Never destroyed: it would outlive the CUDA contexts at exit.
kt_runtime* shared_runtime() {
    static kt_runtime* const runtime = [] {
        kt_runtime* made = nullptr;
        check_status(kt_runtime_create(nullptr, &made), "runtime");
        return made;
    }();
    return runtime;
}

kt_dtype kerntune_dtype(c10::ScalarType type, const char* op, const char* argument) {
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
kt_dtype check_input(const at::Tensor& tensor, const char* op, const char* argument) {
    TORCH_CHECK_VALUE(tensor.is_cuda(), "kerntune.torch.", op, ": ", argument, " must be a CUDA tensor, not one on ",
                      tensor.device());
    return kerntune_dtype(tensor.scalar_type(), op, argument);
}

/// An elementwise kernel reads and writes the tensor's memory as one flat array, which is right
/// for any non-overlapping dense layout (contiguous, transposed, channels-last): such a tensor is
/// used as it is and the output takes its strides. Anything else (a slice with gaps, an expanded
/// tensor) is first copied into a contiguous one. One rule, used by the CUDA and the Meta kernels.
bool flat_layout(const at::Tensor& tensor) { return tensor.is_non_overlapping_and_dense(); }

at::Tensor elementwise_output(const at::Tensor& input) {
    return flat_layout(input) ? at::empty_like(input) : at::empty_like(input, at::MemoryFormat::Contiguous);
}

/// The [outer, reduce, inner] extents of reducing `dim` of a tensor of `shape` (a 0-d tensor is
/// one element), as kerntune's reduction templates take them.
std::vector<std::int64_t> reduction_extents(c10::IntArrayRef shape, std::int64_t dim) {
    const std::int64_t rank = static_cast<std::int64_t>(shape.size());
    const std::int64_t d = c10::maybe_wrap_dim(dim, rank);  // IndexError naming dim, as torch
    if (rank == 0) return {1, 1, 1};
    return {c10::multiply_integers(shape.begin(), shape.begin() + d), shape[d],
            c10::multiply_integers(shape.begin() + d + 1, shape.end())};
}

/// Launches `op` on the problem `extents` over `buffers` on the current stream of `device`; an
/// empty problem launches nothing.
void launch(const char* op, kt_dtype dtype, const std::vector<std::int64_t>& extents, std::vector<void*> buffers,
            const std::vector<double>& scalars, c10::Device device) {
    for (std::int64_t extent : extents)
        if (extent == 0) return;
    const CUstream stream = at::cuda::getCurrentCUDAStream(device.index()).stream();
    check_status(kt_launch_problem(shared_runtime(), op, dtype, extents.data(), static_cast<int>(extents.size()),
                                   buffers.data(), static_cast<int>(buffers.size()), scalars.data(),
                                   static_cast<int>(scalars.size()), stream),
                 op);
}

// ---- leaky_relu -------------------------------------------------------------------------------

at::Tensor leaky_relu_cuda(const at::Tensor& input, double negative_slope) {
    const kt_dtype dtype = check_input(input, "leaky_relu", "input");
    const c10::cuda::CUDAGuard guard(input.device());
    const at::Tensor x = flat_layout(input) ? input : input.contiguous();
    at::Tensor y = elementwise_output(input);
    launch("leaky_relu", dtype, {x.numel()}, {const_cast<void*>(x.const_data_ptr()), y.data_ptr()}, {negative_slope},
           input.device());
    return y;
}

void leaky_relu_inplace_cuda(at::Tensor& input, double negative_slope) {
    const kt_dtype dtype = check_input(input, "leaky_relu_", "input");
    const c10::cuda::CUDAGuard guard(input.device());
    at::Tensor x = flat_layout(input) ? input : input.contiguous();
    launch("leaky_relu", dtype, {x.numel()}, {x.data_ptr(), x.data_ptr()}, {negative_slope}, input.device());
    if (!x.is_same(input)) input.copy_(x);
}

at::Tensor leaky_relu_meta(const at::Tensor& input, double) { return elementwise_output(input); }

void leaky_relu_inplace_meta(at::Tensor&, double) {}

const c10::TypedOperatorHandle<at::Tensor(const at::Tensor&, double)>& leaky_relu_op() {
    static const auto op =
        c10::Dispatcher::singleton().findSchemaOrThrow("kerntune::leaky_relu", "").typed<at::Tensor(const at::Tensor&, double)>();
    return op;
}

const c10::TypedOperatorHandle<void(at::Tensor&, double)>& leaky_relu_inplace_op() {
    static const auto op =
        c10::Dispatcher::singleton().findSchemaOrThrow("kerntune::leaky_relu_", "").typed<void(at::Tensor&, double)>();
    return op;
}

// The gradient is torch's own (aten::leaky_relu_backward), so it matches F.leaky_relu's exactly,
// including its refusal of an in-place backward with a negative slope.
struct leaky_relu_function : torch::autograd::Function<leaky_relu_function> {
    static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& input, double negative_slope) {
        ctx->save_for_backward({input});
        ctx->saved_data["negative_slope"] = negative_slope;
        const at::AutoDispatchBelowADInplaceOrView below_autograd;
        return leaky_relu_op().call(input, negative_slope);
    }
    static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                   torch::autograd::variable_list grads) {
        const at::Tensor input = ctx->get_saved_variables()[0];
        const double slope = ctx->saved_data["negative_slope"].toDouble();
        return {at::leaky_relu_backward(grads[0], input, slope, /*self_is_result=*/false), at::Tensor()};
    }
};

struct leaky_relu_inplace_function : torch::autograd::Function<leaky_relu_inplace_function> {
    static at::Tensor forward(torch::autograd::AutogradContext* ctx, at::Tensor input, double negative_slope) {
        {
            const at::AutoDispatchBelowADInplaceOrView below_autograd;
            leaky_relu_inplace_op().call(input, negative_slope);
        }
        ctx->mark_dirty({input});
        ctx->save_for_backward({input});  // the result: the input is gone
        ctx->saved_data["negative_slope"] = negative_slope;
        return input;
    }
    static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                   torch::autograd::variable_list grads) {
        const at::Tensor result = ctx->get_saved_variables()[0];
        const double slope = ctx->saved_data["negative_slope"].toDouble();
        return {at::leaky_relu_backward(grads[0], result, slope, /*self_is_result=*/true), at::Tensor()};
    }
};

at::Tensor leaky_relu_autograd(const at::Tensor& input, double negative_slope) {
    // The common case, no gradient to record, goes straight to the kernel: the autograd
    // function's bookkeeping costs about a microsecond per call.
    if (!at::GradMode::is_enabled() || !input.requires_grad()) {
        const at::AutoDispatchBelowADInplaceOrView below_autograd;
        return leaky_relu_op().call(input, negative_slope);
    }
    return leaky_relu_function::apply(input, negative_slope);
}

// Always through the autograd function, which also bumps the input's version counter (so that
// autograd notices a saved tensor modified in place) whether or not a gradient is recorded.
void leaky_relu_inplace_autograd(at::Tensor& input, double negative_slope) {
    leaky_relu_inplace_function::apply(input, negative_slope);
}

// ---- softmax and log_softmax --------------------------------------------------------------------

/// softmax or log_softmax over `dim`, as torch.softmax(input, dim): a contiguous input is used
/// as it is, any other is copied into a contiguous one first; the output is contiguous.
at::Tensor softmax_cuda_any(const char* op, const at::Tensor& input, std::int64_t dim) {
    const kt_dtype dtype = check_input(input, op, "input");
    const std::vector<std::int64_t> extents = reduction_extents(input.sizes(), dim);
    const c10::cuda::CUDAGuard guard(input.device());
    const at::Tensor x = input.contiguous();
    at::Tensor y = at::empty_like(x, at::MemoryFormat::Contiguous);
    launch(op, dtype, extents, {const_cast<void*>(x.const_data_ptr()), y.data_ptr()}, {}, input.device());
    return y;
}

at::Tensor softmax_cuda(const at::Tensor& input, std::int64_t dim) { return softmax_cuda_any("softmax", input, dim); }

at::Tensor log_softmax_cuda(const at::Tensor& input, std::int64_t dim) {
    return softmax_cuda_any("log_softmax", input, dim);
}

at::Tensor softmax_meta(const at::Tensor& input, std::int64_t dim) {
    reduction_extents(input.sizes(), dim);  // the same IndexError for a bad dim
    return at::empty_like(input, at::MemoryFormat::Contiguous);
}

/// kerntune::softmax or kerntune::log_softmax, for autograd to call below itself.
template <bool LOG> const c10::TypedOperatorHandle<at::Tensor(const at::Tensor&, std::int64_t)>& softmax_op() {
    static const auto op = c10::Dispatcher::singleton()
                               .findSchemaOrThrow(LOG ? "kerntune::log_softmax" : "kerntune::softmax", "")
                               .typed<at::Tensor(const at::Tensor&, std::int64_t)>();
    return op;
}

// The gradients are torch's own (aten::_softmax_backward_data, _log_softmax_backward_data),
// from the saved output as torch's are.
template <bool LOG> struct softmax_function : torch::autograd::Function<softmax_function<LOG>> {
    static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& input, std::int64_t dim) {
        const at::AutoDispatchBelowADInplaceOrView below_autograd;
        at::Tensor output = softmax_op<LOG>().call(input, dim);
        ctx->save_for_backward({output});
        ctx->saved_data["dim"] = dim;
        return output;
    }
    static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                   torch::autograd::variable_list grads) {
        const at::Tensor output = ctx->get_saved_variables()[0];
        const std::int64_t dim = ctx->saved_data["dim"].toInt();
        const at::Tensor grad = grads[0].contiguous();
        return {LOG ? at::_log_softmax_backward_data(grad, output, dim, output.scalar_type())
                    : at::_softmax_backward_data(grad, output, dim, output.scalar_type()),
                at::Tensor()};
    }
};

template <bool LOG> at::Tensor softmax_autograd(const at::Tensor& input, std::int64_t dim) {
    if (!at::GradMode::is_enabled() || !input.requires_grad()) {
        const at::AutoDispatchBelowADInplaceOrView below_autograd;
        return softmax_op<LOG>().call(input, dim);
    }
    return softmax_function<LOG>::apply(input, dim);
}

// ---- sum and mean -------------------------------------------------------------------------------

/// The shape of reducing `dim` of `sizes`: without it, or with it as 1 (keepdim).
std::vector<std::int64_t> reduced_shape(c10::IntArrayRef sizes, std::int64_t dim, bool keepdim) {
    std::vector<std::int64_t> shape(sizes.begin(), sizes.end());
    if (shape.empty()) return shape;  // a 0-d tensor reduces to a 0-d tensor
    const std::int64_t d = c10::maybe_wrap_dim(dim, static_cast<std::int64_t>(shape.size()));
    if (keepdim)
        shape[static_cast<std::size_t>(d)] = 1;
    else
        shape.erase(shape.begin() + d);
    return shape;
}

/// sum or mean over `dim`, as torch.sum(input, dim, keepdim): accumulated in float.
at::Tensor sum_cuda_any(const char* op, const at::Tensor& input, std::int64_t dim, bool keepdim) {
    const kt_dtype dtype = check_input(input, op, "input");
    const std::vector<std::int64_t> extents = reduction_extents(input.sizes(), dim);
    const c10::cuda::CUDAGuard guard(input.device());
    const at::Tensor x = input.contiguous();
    at::Tensor y = at::empty(reduced_shape(input.sizes(), dim, keepdim), x.options());
    if (extents[1] == 0)  // an empty dim: torch's sum is 0 and its mean NaN
        return std::strcmp(op, "mean") == 0 ? y.fill_(std::numeric_limits<double>::quiet_NaN()) : y.zero_();
    launch(op, dtype, extents, {const_cast<void*>(x.const_data_ptr()), y.data_ptr()}, {}, input.device());
    return y;
}

at::Tensor sum_cuda(const at::Tensor& input, std::int64_t dim, bool keepdim) {
    return sum_cuda_any("sum", input, dim, keepdim);
}

at::Tensor mean_cuda(const at::Tensor& input, std::int64_t dim, bool keepdim) {
    return sum_cuda_any("mean", input, dim, keepdim);
}

at::Tensor sum_meta(const at::Tensor& input, std::int64_t dim, bool keepdim) {
    return at::empty(reduced_shape(input.sizes(), dim, keepdim), input.options());
}

template <bool MEAN> const c10::TypedOperatorHandle<at::Tensor(const at::Tensor&, std::int64_t, bool)>& sum_op() {
    static const auto op = c10::Dispatcher::singleton()
                               .findSchemaOrThrow(MEAN ? "kerntune::mean" : "kerntune::sum", "")
                               .typed<at::Tensor(const at::Tensor&, std::int64_t, bool)>();
    return op;
}

// The gradient, as torch's: the output's gradient broadcast back over the reduced dim (divided
// by its length for the mean).
template <bool MEAN> struct sum_function : torch::autograd::Function<sum_function<MEAN>> {
    static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& input, std::int64_t dim,
                              bool keepdim) {
        ctx->saved_data["sizes"] = input.sizes().vec();
        ctx->saved_data["dim"] = dim;
        ctx->saved_data["keepdim"] = keepdim;
        const at::AutoDispatchBelowADInplaceOrView below_autograd;
        return sum_op<MEAN>().call(input, dim, keepdim);
    }
    static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                   torch::autograd::variable_list grads) {
        const std::vector<std::int64_t> sizes = ctx->saved_data["sizes"].toIntVector();
        at::Tensor grad = grads[0];
        if (!sizes.empty()) {
            const std::int64_t d = c10::maybe_wrap_dim(ctx->saved_data["dim"].toInt(), static_cast<std::int64_t>(sizes.size()));
            if (!ctx->saved_data["keepdim"].toBool()) grad = grad.unsqueeze(d);
            grad = grad.expand(sizes);
            if (MEAN) grad = grad / static_cast<double>(sizes[static_cast<std::size_t>(d)]);
        }
        return {grad, at::Tensor(), at::Tensor()};
    }
};

template <bool MEAN> at::Tensor sum_autograd(const at::Tensor& input, std::int64_t dim, bool keepdim) {
    if (!at::GradMode::is_enabled() || !input.requires_grad()) {
        const at::AutoDispatchBelowADInplaceOrView below_autograd;
        return sum_op<MEAN>().call(input, dim, keepdim);
    }
    return sum_function<MEAN>::apply(input, dim, keepdim);
}

// ---- query and prepare ------------------------------------------------------------------------

/// The problem extents an op's kernel is tuned and looked up by, from the shape of its input
/// (and the dim a reduction reduces).
std::vector<std::int64_t> problem_extents(const std::string& op, c10::IntArrayRef shape, std::optional<std::int64_t> dim) {
    if (op == "softmax" || op == "log_softmax" || op == "sum" || op == "mean") {
        TORCH_CHECK_VALUE(dim.has_value(), "kerntune.torch.query: ", op, " needs the dim it reduces");
        return reduction_extents(shape, *dim);
    }
    TORCH_CHECK_VALUE(op == "leaky_relu", "kerntune.torch.query: unknown op '", op,
                      "' (kerntune.torch has leaky_relu, softmax, log_softmax, sum, mean)");
    TORCH_CHECK_VALUE(!dim.has_value(), "kerntune.torch.query: ", op, " takes no dim");
    return {c10::multiply_integers(shape)};  // elementwise: one axis, the element count
}

/// Which config a call of `op` on a tensor of (dtype, shape) on `device` uses, and how it was
/// found: (match, config label). Loads or compiles that kernel, so a later call only launches
/// (what kerntune.torch.prepare is for, before a CUDA-graph capture).
std::tuple<std::string, std::string> query(std::string op, c10::ScalarType dtype, c10::IntArrayRef shape,
                                           c10::Device device, std::optional<std::int64_t> dim) {
    TORCH_CHECK_VALUE(device.is_cuda(), "kerntune.torch.query: device must be a CUDA device, not ", device);
    const kt_dtype type = kerntune_dtype(dtype, "query", "dtype");
    std::vector<std::int64_t> extents = problem_extents(op, shape, dim);
    const c10::cuda::CUDAGuard guard(device);
    kt_match match = KT_MATCH_DEFAULT;
    char label[256] = {};
    check_status(kt_query_problem(shared_runtime(), op.c_str(), type, extents.data(), static_cast<int>(extents.size()),
                                  &match, label, sizeof label),
                 "query");
    const char* const names[] = {"exact", "nearest", "default"};
    return std::make_tuple(std::string(names[match]), std::string(label));
}

} // namespace

TORCH_LIBRARY(kerntune, m) {
    m.def("leaky_relu(Tensor input, float negative_slope=0.01) -> Tensor");
    // In place: returns nothing, as torch.compile's functionalization needs of a custom op; the
    // Python function returns the input, as torch.nn.functional does.
    m.def("leaky_relu_(Tensor(a!) input, float negative_slope=0.01) -> ()");
    m.def("softmax(Tensor input, int dim) -> Tensor");
    m.def("log_softmax(Tensor input, int dim) -> Tensor");
    m.def("sum(Tensor input, int dim, bool keepdim=False) -> Tensor");
    m.def("mean(Tensor input, int dim, bool keepdim=False) -> Tensor");
    m.def("query(str op, ScalarType dtype, int[] shape, Device device, int? dim=None) -> (str, str)", &query);
}

// CPU tensors reach the CUDA kernels' check, which names the argument and the device.
static void register_device_kernels(torch::Library& m) {
    m.impl("leaky_relu", &leaky_relu_cuda);
    m.impl("leaky_relu_", &leaky_relu_inplace_cuda);
    m.impl("softmax", &softmax_cuda);
    m.impl("log_softmax", &log_softmax_cuda);
    m.impl("sum", &sum_cuda);
    m.impl("mean", &mean_cuda);
}

TORCH_LIBRARY_IMPL(kerntune, CUDA, m) { register_device_kernels(m); }

TORCH_LIBRARY_IMPL(kerntune, CPU, m) { register_device_kernels(m); }

TORCH_LIBRARY_IMPL(kerntune, Meta, m) {
    m.impl("leaky_relu", &leaky_relu_meta);
    m.impl("leaky_relu_", &leaky_relu_inplace_meta);
    m.impl("softmax", &softmax_meta);
    m.impl("log_softmax", &softmax_meta);
    m.impl("sum", &sum_meta);
    m.impl("mean", &sum_meta);
}

TORCH_LIBRARY_IMPL(kerntune, Autograd, m) {
    m.impl("leaky_relu", &leaky_relu_autograd);
    m.impl("leaky_relu_", &leaky_relu_inplace_autograd);
    m.impl("softmax", &softmax_autograd<false>);
    m.impl("log_softmax", &softmax_autograd<true>);
    m.impl("sum", &sum_autograd<false>);
    m.impl("mean", &sum_autograd<true>);
}
