// kerntune's operators for PyTorch, registered in the `kerntune` namespace (torch.ops.kerntune):
// a CUDA kernel that allocates the output with torch's caching allocator and launches the tuned
// kernel through the C ABI on the current stream of the tensor's device; a Meta kernel, so that
// FakeTensor and torch.compile trace through them; an Autograd kernel with torch's own gradient.
// No Python runs per call. Built by kerntune/_extension.py against the torch in use.
//
// This file declares every operator's schema and implements query; each op family registers its
// kernels in its own file (leaky_relu.cpp, softmax.cpp, sum.cpp, norm.cpp, elementwise.cpp).
#include "support.hpp"

namespace kerntune_torch {
namespace {

/// The problem extents an op's kernel is tuned and looked up by, from the shape of its input
/// and, for a reduction, the dim it reduces (the norms: normalized_shape, or rms_norm's dim).
std::vector<std::int64_t> problem_extents(const std::string& op, c10::IntArrayRef shape, std::optional<std::int64_t> dim,
                                          c10::OptionalIntArrayRef normalized_shape) {
    if (op == "layer_norm" || op == "rms_norm") {
        TORCH_CHECK_VALUE(normalized_shape.has_value() || (op == "rms_norm" && dim.has_value()), "kerntune.torch.query: ", op,
                          " needs normalized_shape", op == "rms_norm" ? " or dim" : "");
        TORCH_CHECK_VALUE(op == "rms_norm" || !dim.has_value(), "kerntune.torch.query: layer_norm takes normalized_shape, not dim");
        return norm_extents(op, shape, normalized_shape.value_or(c10::IntArrayRef()), dim);
    }
    TORCH_CHECK_VALUE(!normalized_shape.has_value(), "kerntune.torch.query: ", op, " takes no normalized_shape");
    if (op == "softmax" || op == "log_softmax" || op == "sum" || op == "mean") {
        TORCH_CHECK_VALUE(dim.has_value(), "kerntune.torch.query: ", op, " needs the dim it reduces");
        return reduction_extents(shape, *dim);
    }
    TORCH_CHECK_VALUE(op == "leaky_relu" || is_named_op(op), "kerntune.torch.query: unknown op '", op,
                      "' (kerntune.torch has leaky_relu, softmax, log_softmax, sum, mean, layer_norm, rms_norm, ",
                      named_op_names(), "; expressions: query_expression)");
    TORCH_CHECK_VALUE(!dim.has_value(), "kerntune.torch.query: ", op, " takes no dim");
    return {c10::multiply_integers(shape)};  // elementwise: one axis, the element count
}

/// Which config a call of `op` on a tensor of (dtype, shape) on `device` uses, and how it was
/// found: (match, config label, whether the config is a shipped row's). Loads or compiles that kernel, so a later call only launches
/// (what kerntune.torch.prepare is for, before a CUDA-graph capture).
std::tuple<std::string, std::string, bool> query(std::string op, c10::ScalarType dtype, c10::IntArrayRef shape,
                                           c10::Device device, std::optional<std::int64_t> dim,
                                           c10::OptionalIntArrayRef normalized_shape) {
    TORCH_CHECK_VALUE(device.is_cuda(), "kerntune.torch.query: device must be a CUDA device, not ", device.str());
    const kt_dtype type = kerntune_dtype(dtype, "query", "dtype");
    std::vector<std::int64_t> extents = problem_extents(op, shape, dim, normalized_shape);
    const c10::cuda::CUDAGuard guard(device);
    kt_choice choice{};
    choice.size = sizeof choice;
    char label[256] = {};
    check_status(kt_query_choice(shared_runtime(), op.c_str(), type, extents.data(), static_cast<int>(extents.size()),
                                 &choice, label, sizeof label),
                 "query");
    return std::make_tuple(match_name(choice.match), std::string(label), choice.shipped != 0);
}

} // namespace
} // namespace kerntune_torch

using namespace kerntune_torch;

TORCH_LIBRARY(kerntune, m) {
    m.def("leaky_relu(Tensor input, float negative_slope=0.01) -> Tensor");
    // In place: returns nothing, as torch.compile's functionalization needs of a custom op; the
    // Python function returns the input, as torch.nn.functional does.
    m.def("leaky_relu_(Tensor(a!) input, float negative_slope=0.01) -> ()");
    m.def("softmax(Tensor input, int dim) -> Tensor");
    m.def("log_softmax(Tensor input, int dim) -> Tensor");
    m.def("sum(Tensor input, int dim, bool keepdim=False) -> Tensor");
    m.def("mean(Tensor input, int dim, bool keepdim=False) -> Tensor");
    m.def("layer_norm(Tensor input, int[] normalized_shape, Tensor? weight=None, Tensor? bias=None, float eps=1e-05) -> Tensor");
    m.def("rms_norm(Tensor input, int[] normalized_shape, Tensor? weight=None, float? eps=None, *, int? dim=None) -> Tensor");
    // The named elementwise ops (elementwise.cpp), with torch.nn.functional's arguments and
    // defaults; NAME_ is the in-place form where torch has inplace=True. Their float arguments
    // are the named op's scalars in its order (src/elementwise/named_ops.cpp).
    m.def("relu(Tensor input) -> Tensor");
    m.def("relu_(Tensor(a!) input) -> ()");
    m.def("sigmoid(Tensor input) -> Tensor");
    m.def("tanh(Tensor input) -> Tensor");
    m.def("silu(Tensor input) -> Tensor");
    m.def("silu_(Tensor(a!) input) -> ()");
    m.def("gelu(Tensor input, *, str approximate='none') -> Tensor");
    m.def("selu(Tensor input) -> Tensor");
    m.def("selu_(Tensor(a!) input) -> ()");
    m.def("elu(Tensor input, float alpha=1.0) -> Tensor");
    m.def("elu_(Tensor(a!) input, float alpha=1.0) -> ()");
    m.def("celu(Tensor input, float alpha=1.0) -> Tensor");
    m.def("celu_(Tensor(a!) input, float alpha=1.0) -> ()");
    m.def("hardsigmoid(Tensor input) -> Tensor");
    m.def("hardsigmoid_(Tensor(a!) input) -> ()");
    m.def("hardswish(Tensor input) -> Tensor");
    m.def("hardswish_(Tensor(a!) input) -> ()");
    m.def("hardtanh(Tensor input, float min_val=-1.0, float max_val=1.0) -> Tensor");
    m.def("hardtanh_(Tensor(a!) input, float min_val=-1.0, float max_val=1.0) -> ()");
    m.def("relu6(Tensor input) -> Tensor");
    m.def("relu6_(Tensor(a!) input) -> ()");
    m.def("softplus(Tensor input, float beta=1.0, float threshold=20.0) -> Tensor");
    m.def("softsign(Tensor input) -> Tensor");
    m.def("mish(Tensor input) -> Tensor");
    m.def("mish_(Tensor(a!) input) -> ()");
    m.def("new_gelu(Tensor input) -> Tensor");
    // Any expression of kerntune's language over inputs of one shape and dtype; its scalars by
    // name (elementwise.cpp sorts them, so the keyword order does not matter).
    m.def("elementwise(str expression, Tensor[] inputs, str[] scalar_names, float[] scalar_values) -> Tensor");
    m.def("query_expression(str expression, str[] scalar_names, ScalarType dtype, int[] shape, Device device) -> (str, str)",
          torch::CppFunction::makeFromBoxedFunction<&query_expression>());
    m.def("query(str op, ScalarType dtype, int[] shape, Device device, int? dim=None, int[]? normalized_shape=None) -> (str, str, bool)",
          &query);
}
