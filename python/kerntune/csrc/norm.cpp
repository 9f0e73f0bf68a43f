// layer_norm and rms_norm: torch.nn.functional.layer_norm(x, normalized_shape, weight, bias, eps)
// and rms_norm(x, normalized_shape, weight, eps) over the trailing dims, and rms_norm over one
// dim (dim=k: x / sqrt(mean(x^2, dim=k, keepdim=True) + eps) * weight).
#include "support.hpp"

namespace kerntune_torch {
namespace {

/// Where a norm reduces, for its kernel and its gradient.
struct norm_problem {
    std::vector<std::int64_t> extents;       ///< [outer, reduce, inner]
    std::vector<std::int64_t> weight_shape;  ///< what weight and bias must be
    std::vector<std::int64_t> dims;          ///< the dims it reduces
};

/// Over the trailing dims `normalized_shape`, with torch's checks and messages.
norm_problem trailing_problem(const char* op, c10::IntArrayRef sizes, c10::IntArrayRef normalized_shape) {
    const std::size_t rank = sizes.size(), k = normalized_shape.size();
    TORCH_CHECK(k >= 1, "kerntune.torch.", op,
                ": expected normalized_shape to be at least 1-dimensional, i.e., containing at least one element, but got "
                "normalized_shape = ",
                shape_text(normalized_shape));
    if (rank < k || !sizes.slice(rank - k).equals(normalized_shape)) {
        const std::string expected = shape_text(normalized_shape);
        TORCH_CHECK(false, "kerntune.torch.", op, ": given normalized_shape=", expected, ", expected input with shape [*, ",
                    expected.substr(1), ", but got input of size", shape_text(sizes));
    }
    norm_problem problem;
    problem.extents = {c10::multiply_integers(sizes.begin(), sizes.end() - k), c10::multiply_integers(normalized_shape), 1};
    problem.weight_shape = normalized_shape.vec();
    for (std::size_t d = rank - k; d < rank; ++d) problem.dims.push_back(static_cast<std::int64_t>(d));
    return problem;
}

/// Over one dim (rms_norm's dim=k).
norm_problem single_dim_problem(c10::IntArrayRef sizes, std::int64_t dim) {
    norm_problem problem;
    problem.extents = reduction_extents(sizes, dim);
    const std::int64_t d = c10::maybe_wrap_dim(dim, static_cast<std::int64_t>(sizes.size()));
    problem.weight_shape = {problem.extents[1]};
    problem.dims = {d};
    return problem;
}

norm_problem rms_problem(c10::IntArrayRef sizes, c10::IntArrayRef normalized_shape, std::optional<std::int64_t> dim) {
    if (!dim) return trailing_problem("rms_norm", sizes, normalized_shape);
    TORCH_CHECK_VALUE(normalized_shape.empty(), "kerntune.torch.rms_norm: give normalized_shape (the trailing dims) or dim (one dim), not both");
    return single_dim_problem(sizes, *dim);
}

/// The device pointer of an optional weight or bias after torch's checks (NULL when absent);
/// `kept` holds the contiguous tensor it points into for the launch.
void* affine_pointer(const char* op, const char* name, const std::optional<at::Tensor>& tensor, const at::Tensor& input,
                     const norm_problem& problem, at::Tensor& kept) {
    if (!tensor.has_value() || !tensor->defined()) return nullptr;
    TORCH_CHECK(tensor->sizes().equals(problem.weight_shape), "kerntune.torch.", op, ": expected ", name, " to be of shape ",
                shape_text(problem.weight_shape), ", but got ", name, " of shape ", shape_text(tensor->sizes()));
    TORCH_CHECK_VALUE(tensor->device() == input.device(), "kerntune.torch.", op, ": ", name, " is on ", tensor->device().str(),
                      ", input on ", input.device().str());
    TORCH_CHECK_TYPE(tensor->scalar_type() == input.scalar_type(), "kerntune.torch.", op, ": ", name, " has dtype ",
                     tensor->scalar_type(), ", input ", input.scalar_type(), " (kerntune's norms take one dtype)");
    kept = tensor->contiguous();
    return const_cast<void*>(kept.const_data_ptr());
}

/// Runs `op` over `problem`: x, the affine tensors given (weight, then bias for layer_norm), y.
at::Tensor norm_cuda(const char* op, const at::Tensor& input, const norm_problem& problem,
                     const std::vector<std::pair<const char*, const std::optional<at::Tensor>*>>& affine, double eps) {
    const kt_dtype dtype = check_input(input, op, "input");
    const c10::cuda::CUDAGuard guard(input.device());
    const at::Tensor x = input.contiguous();
    at::Tensor y = at::empty_like(x, at::MemoryFormat::Contiguous);
    std::vector<at::Tensor> kept(affine.size());
    std::vector<void*> buffers = {const_cast<void*>(x.const_data_ptr())};
    for (std::size_t i = 0; i < affine.size(); ++i)
        buffers.push_back(affine_pointer(op, affine[i].first, *affine[i].second, input, problem, kept[i]));
    buffers.push_back(y.data_ptr());
    launch(op, dtype, problem.extents, buffers, {eps}, input.device());
    return y;
}

/// torch's eps for rms_norm when none is given: the machine epsilon of float, the type torch
/// computes half and bfloat16 in (at::opmath_type).
double rms_eps(std::optional<double> eps) { return eps.value_or(std::numeric_limits<float>::epsilon()); }

at::Tensor layer_norm_cuda(const at::Tensor& input, c10::IntArrayRef normalized_shape, const std::optional<at::Tensor>& weight,
                           const std::optional<at::Tensor>& bias, double eps) {
    return norm_cuda("layer_norm", input, trailing_problem("layer_norm", input.sizes(), normalized_shape),
                     {{"weight", &weight}, {"bias", &bias}}, eps);
}

at::Tensor rms_norm_cuda(const at::Tensor& input, c10::IntArrayRef normalized_shape, const std::optional<at::Tensor>& weight,
                         std::optional<double> eps, std::optional<std::int64_t> dim) {
    return norm_cuda("rms_norm", input, rms_problem(input.sizes(), normalized_shape, dim), {{"weight", &weight}},
                     rms_eps(eps));
}

at::Tensor layer_norm_meta(const at::Tensor& input, c10::IntArrayRef normalized_shape, const std::optional<at::Tensor>&,
                           const std::optional<at::Tensor>&, double) {
    trailing_problem("layer_norm", input.sizes(), normalized_shape);  // the same errors
    return at::empty_like(input, at::MemoryFormat::Contiguous);
}

at::Tensor rms_norm_meta(const at::Tensor& input, c10::IntArrayRef normalized_shape, const std::optional<at::Tensor>&,
                         std::optional<double>, std::optional<std::int64_t> dim) {
    rms_problem(input.sizes(), normalized_shape, dim);
    return at::empty_like(input, at::MemoryFormat::Contiguous);
}

using layer_norm_signature = at::Tensor(const at::Tensor&, c10::IntArrayRef, const std::optional<at::Tensor>&,
                                        const std::optional<at::Tensor>&, double);
using rms_norm_signature = at::Tensor(const at::Tensor&, c10::IntArrayRef, const std::optional<at::Tensor>&,
                                      std::optional<double>, std::optional<std::int64_t>);

const c10::TypedOperatorHandle<layer_norm_signature>& layer_norm_op() {
    static const auto op = c10::Dispatcher::singleton().findSchemaOrThrow("kerntune::layer_norm", "").typed<layer_norm_signature>();
    return op;
}

const c10::TypedOperatorHandle<rms_norm_signature>& rms_norm_op() {
    static const auto op = c10::Dispatcher::singleton().findSchemaOrThrow("kerntune::rms_norm", "").typed<rms_norm_signature>();
    return op;
}

/// Whether autograd wants the gradient of the optional input that comes `position`-th among the
/// optional inputs (weight 0, bias 1), the tensor input being first: an absent optional input is
/// no input to autograd (torch::autograd::Function counts only the tensors given), so the index
/// of a later one depends on which earlier ones are present.
bool needs_gradient(torch::autograd::AutogradContext* ctx, const std::vector<at::Tensor>& optional_inputs, std::size_t position) {
    if (!optional_inputs[position].defined()) return false;
    std::size_t index = 1;
    for (std::size_t i = 0; i < position; ++i) index += optional_inputs[i].defined();
    return ctx->needs_input_grad(index);
}

// layer_norm's gradient is torch's own: aten::native_layer_norm_backward, from the mean and rstd
// of torch's forward (recomputed in the backward pass: kerntune's forward does not keep them).
struct layer_norm_function : torch::autograd::Function<layer_norm_function> {
    static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& input, c10::IntArrayRef normalized_shape,
                              const std::optional<at::Tensor>& weight, const std::optional<at::Tensor>& bias, double eps) {
        ctx->save_for_backward({input, weight.value_or(at::Tensor()), bias.value_or(at::Tensor())});
        ctx->saved_data["normalized_shape"] = normalized_shape.vec();
        ctx->saved_data["eps"] = eps;
        const at::AutoDispatchBelowADInplaceOrView below_autograd;
        return layer_norm_op().call(input, normalized_shape, weight, bias, eps);
    }
    static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx, torch::autograd::variable_list grads) {
        const auto saved = ctx->get_saved_variables();
        const at::Tensor &input = saved[0], &weight = saved[1], &bias = saved[2];
        const std::vector<std::int64_t> normalized_shape = ctx->saved_data["normalized_shape"].toIntVector();
        const auto [output, mean, rstd] = at::native_layer_norm(input, normalized_shape, weight, bias, ctx->saved_data["eps"].toDouble());
        const std::array<bool, 3> mask = {ctx->needs_input_grad(0), needs_gradient(ctx, {weight, bias}, 0),
                                          needs_gradient(ctx, {weight, bias}, 1)};
        auto [grad_input, grad_weight, grad_bias] =
            at::native_layer_norm_backward(grads[0].contiguous(), input, normalized_shape, mean, rstd, weight, bias, mask);
        return {grad_input, at::Tensor(), grad_weight, grad_bias, at::Tensor()};
    }
};

// rms_norm's gradient, from y = x * r * w with r = (mean(x^2) + eps)^-1/2 over the reduced dims,
// in float: dx = r * g * w - x * r^3 * mean(g * w * x), dw = the sum of g * x * r over the other
// dims (torch's composite rms_norm differentiates to the same formula).
struct rms_norm_function : torch::autograd::Function<rms_norm_function> {
    static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& input, c10::IntArrayRef normalized_shape,
                              const std::optional<at::Tensor>& weight, std::optional<double> eps, std::optional<std::int64_t> dim) {
        const norm_problem problem = rms_problem(input.sizes(), normalized_shape, dim);
        ctx->save_for_backward({input, weight.value_or(at::Tensor())});
        ctx->saved_data["dims"] = problem.dims;
        ctx->saved_data["eps"] = rms_eps(eps);
        const at::AutoDispatchBelowADInplaceOrView below_autograd;
        return rms_norm_op().call(input, normalized_shape, weight, eps, dim);
    }
    static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx, torch::autograd::variable_list grads) {
        const auto saved = ctx->get_saved_variables();
        const at::Tensor x = saved[0].to(at::kFloat), g = grads[0].to(at::kFloat);
        const at::Tensor& weight = saved[1];
        const std::vector<std::int64_t> dims = ctx->saved_data["dims"].toIntVector();
        // The weight viewed so that it broadcasts over x: its dims where the reduced dims are.
        std::vector<std::int64_t> weight_view(static_cast<std::size_t>(x.dim()), 1);
        for (std::size_t i = 0; i < dims.size(); ++i) weight_view[static_cast<std::size_t>(dims[i])] = x.size(dims[i]);
        const at::Tensor w = weight.defined() ? weight.to(at::kFloat).reshape(weight_view) : at::Tensor();
        const at::Tensor r = at::rsqrt(x.pow(2).mean(dims, /*keepdim=*/true) + ctx->saved_data["eps"].toDouble());
        const at::Tensor gw = w.defined() ? g * w : g;
        const at::Tensor grad_input = r * gw - x * r.pow(3) * (gw * x).mean(dims, /*keepdim=*/true);
        at::Tensor grad_weight;
        if (needs_gradient(ctx, {weight}, 0)) {
            std::vector<std::int64_t> others;
            for (std::int64_t d = 0; d < x.dim(); ++d)
                if (std::find(dims.begin(), dims.end(), d) == dims.end()) others.push_back(d);
            const at::Tensor per_element = g * x * r;  // sum(dims) with no dims would sum them all
            grad_weight = (others.empty() ? per_element : per_element.sum(others)).reshape(weight.sizes()).to(weight.scalar_type());
        }
        return {grad_input.to(saved[0].scalar_type()), at::Tensor(), grad_weight, at::Tensor(), at::Tensor()};
    }
};

bool records_gradient(const at::Tensor& input, std::initializer_list<const std::optional<at::Tensor>*> affine) {
    if (!at::GradMode::is_enabled()) return false;
    bool any = input.requires_grad();
    for (const std::optional<at::Tensor>* tensor : affine)
        any = any || (tensor->has_value() && (*tensor)->defined() && (*tensor)->requires_grad());
    return any;
}

at::Tensor layer_norm_autograd(const at::Tensor& input, c10::IntArrayRef normalized_shape, const std::optional<at::Tensor>& weight,
                               const std::optional<at::Tensor>& bias, double eps) {
    if (!records_gradient(input, {&weight, &bias})) {
        const at::AutoDispatchBelowADInplaceOrView below_autograd;
        return layer_norm_op().call(input, normalized_shape, weight, bias, eps);
    }
    return layer_norm_function::apply(input, normalized_shape, weight, bias, eps);
}

at::Tensor rms_norm_autograd(const at::Tensor& input, c10::IntArrayRef normalized_shape, const std::optional<at::Tensor>& weight,
                             std::optional<double> eps, std::optional<std::int64_t> dim) {
    if (!records_gradient(input, {&weight})) {
        const at::AutoDispatchBelowADInplaceOrView below_autograd;
        return rms_norm_op().call(input, normalized_shape, weight, eps, dim);
    }
    return rms_norm_function::apply(input, normalized_shape, weight, eps, dim);
}

} // namespace

std::vector<std::int64_t> norm_extents(const std::string& op, c10::IntArrayRef shape, c10::IntArrayRef normalized_shape,
                                       std::optional<std::int64_t> dim) {
    return op == "rms_norm" ? rms_problem(shape, normalized_shape, dim).extents
                            : trailing_problem(op.c_str(), shape, normalized_shape).extents;
}

} // namespace kerntune_torch

using namespace kerntune_torch;

TORCH_LIBRARY_IMPL(kerntune, CUDA, m) {
    m.impl("layer_norm", &layer_norm_cuda);
    m.impl("rms_norm", &rms_norm_cuda);
}
TORCH_LIBRARY_IMPL(kerntune, CPU, m) {
    m.impl("layer_norm", &layer_norm_cuda);
    m.impl("rms_norm", &rms_norm_cuda);
}
TORCH_LIBRARY_IMPL(kerntune, Meta, m) {
    m.impl("layer_norm", &layer_norm_meta);
    m.impl("rms_norm", &rms_norm_meta);
}
TORCH_LIBRARY_IMPL(kerntune, Autograd, m) {
    m.impl("layer_norm", &layer_norm_autograd);
    m.impl("rms_norm", &rms_norm_autograd);
}
