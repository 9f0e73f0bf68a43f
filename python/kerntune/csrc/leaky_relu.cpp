// leaky_relu and leaky_relu_ (in place): torch.nn.functional.leaky_relu, bit for bit.
#include "support.hpp"

namespace kerntune_torch {
namespace {

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

} // namespace
} // namespace kerntune_torch

using namespace kerntune_torch;

// CPU tensors reach the CUDA kernels' check, which names the argument and the device.
TORCH_LIBRARY_IMPL(kerntune, CUDA, m) {
    m.impl("leaky_relu", &leaky_relu_cuda);
    m.impl("leaky_relu_", &leaky_relu_inplace_cuda);
}
TORCH_LIBRARY_IMPL(kerntune, CPU, m) {
    m.impl("leaky_relu", &leaky_relu_cuda);
    m.impl("leaky_relu_", &leaky_relu_inplace_cuda);
}
TORCH_LIBRARY_IMPL(kerntune, Meta, m) {
    m.impl("leaky_relu", &leaky_relu_meta);
    m.impl("leaky_relu_", &leaky_relu_inplace_meta);
}
TORCH_LIBRARY_IMPL(kerntune, Autograd, m) {
    m.impl("leaky_relu", &leaky_relu_autograd);
    m.impl("leaky_relu_", &leaky_relu_inplace_autograd);
}
