// softmax and log_softmax over one dim: torch.softmax and torch.log_softmax.
#include "support.hpp"

namespace kerntune_torch {
namespace {

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

} // namespace
} // namespace kerntune_torch

using namespace kerntune_torch;

TORCH_LIBRARY_IMPL(kerntune, CUDA, m) {
    m.impl("softmax", &softmax_cuda);
    m.impl("log_softmax", &log_softmax_cuda);
}
TORCH_LIBRARY_IMPL(kerntune, CPU, m) {
    m.impl("softmax", &softmax_cuda);
    m.impl("log_softmax", &log_softmax_cuda);
}
TORCH_LIBRARY_IMPL(kerntune, Meta, m) {
    m.impl("softmax", &softmax_meta);
    m.impl("log_softmax", &softmax_meta);
}
TORCH_LIBRARY_IMPL(kerntune, Autograd, m) {
    m.impl("softmax", &softmax_autograd<false>);
    m.impl("log_softmax", &softmax_autograd<true>);
}
