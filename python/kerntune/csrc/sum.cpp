// sum and mean over one dim: torch.sum(x, dim, keepdim) and torch.mean(x, dim, keepdim).
#include "support.hpp"

namespace kerntune_torch {
namespace {

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

} // namespace
} // namespace kerntune_torch

using namespace kerntune_torch;

TORCH_LIBRARY_IMPL(kerntune, CUDA, m) {
    m.impl("sum", &sum_cuda);
    m.impl("mean", &mean_cuda);
}
TORCH_LIBRARY_IMPL(kerntune, CPU, m) {
    m.impl("sum", &sum_cuda);
    m.impl("mean", &mean_cuda);
}
TORCH_LIBRARY_IMPL(kerntune, Meta, m) {
    m.impl("sum", &sum_meta);
    m.impl("mean", &sum_meta);
}
TORCH_LIBRARY_IMPL(kerntune, Autograd, m) {
    m.impl("sum", &sum_autograd<false>);
    m.impl("mean", &sum_autograd<true>);
}
