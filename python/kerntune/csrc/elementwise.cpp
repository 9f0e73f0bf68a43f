// The named elementwise ops under torch.nn.functional's names and signatures (relu, gelu, elu,
// hardtanh, softplus, ...: kerntune's named ops, src/elementwise/named_ops.cpp, written as torch's
// CUDA kernels compute them), their in-place forms, and kerntune.torch.elementwise: any expression
// of kerntune's language (docs/EXPRESSIONS.md) over tensors of one shape and dtype.
//
// The named ops differ only in their name, their float arguments and their gradient, so one boxed
// kernel per dispatch key serves them all: it reads the op from the operator's name and its
// arguments off the stack as the schema in library.cpp declares them, which stays the one
// statement of each signature (no typed wrapper per op to keep in step with it).
#include "support.hpp"

#include <cctype>
#include <mutex>
#include <unordered_map>

namespace kerntune_torch {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;
using torch::jit::Stack;

/// What a gradient is computed from: the arguments of the call it belongs to.
struct gradient_args {
    std::vector<double> scalars;  ///< the op's float arguments, in the schema's order
    std::string kernel;           ///< the named op that ran ("gelu_tanh" for gelu(approximate='tanh'))
    bool is_result = false;       ///< the saved tensor is the op's result, not its input
};

/// torch's gradient of a named op, from the tensor torch's derivative reads (derivatives.yaml).
using gradient_fn = at::Tensor (*)(const at::Tensor& grad, const at::Tensor& saved, const gradient_args& args);

/// Which tensor a gradient reads.
enum class reads : std::uint8_t { input, result };

/// A named op as torch.ops.kerntune has it.
struct activation {
    const char* name;      ///< the schema's; kerntune's named op too, but for gelu (gelu or gelu_tanh)
    reads out_of_place;    ///< what its gradient reads
    bool has_in_place;     ///< NAME_ is registered: torch.nn.functional has inplace=True
    reads in_place;        ///< NAME_'s gradient: from the result, or from the input as it was (a copy kept)
    gradient_fn gradient;  ///< torch's own backward function
};

// torch's SELU constants (aten/src/ATen/native/Activation.cpp), passed to elu_backward as its
// autograd does.
constexpr double selu_alpha = 1.6732632423543772848170429916717;
constexpr double selu_scale = 1.0507009873554804934193349852946;

at::Tensor relu_gradient(const at::Tensor& grad, const at::Tensor& result, const gradient_args&) {
    return at::threshold_backward(grad, result, 0);
}
at::Tensor sigmoid_gradient(const at::Tensor& grad, const at::Tensor& result, const gradient_args&) {
    return at::sigmoid_backward(grad, result);
}
at::Tensor tanh_gradient(const at::Tensor& grad, const at::Tensor& result, const gradient_args&) {
    return at::tanh_backward(grad, result);
}
// silu's and mish's derivatives are these when the backward itself records no graph (a plain
// backward()); with create_graph=True torch switches to a composite, these stay differentiable.
at::Tensor silu_gradient(const at::Tensor& grad, const at::Tensor& input, const gradient_args&) {
    return at::silu_backward(grad, input);
}
at::Tensor mish_gradient(const at::Tensor& grad, const at::Tensor& input, const gradient_args&) {
    return at::mish_backward(grad, input);
}
at::Tensor gelu_gradient(const at::Tensor& grad, const at::Tensor& input, const gradient_args& args) {
    return at::gelu_backward(grad, input, args.kernel == "gelu_tanh" ? "tanh" : "none");
}
// new_gelu is gelu(approximate='tanh') as users write it with torch ops; its derivative is that
// gelu's (torch's autograd of the composite differs from it by roundings).
at::Tensor new_gelu_gradient(const at::Tensor& grad, const at::Tensor& input, const gradient_args&) {
    return at::gelu_backward(grad, input, "tanh");
}
at::Tensor selu_gradient(const at::Tensor& grad, const at::Tensor& saved, const gradient_args& args) {
    return at::elu_backward(grad, selu_alpha, selu_scale, 1, args.is_result, saved);
}
at::Tensor elu_gradient(const at::Tensor& grad, const at::Tensor& saved, const gradient_args& args) {
    return at::elu_backward(grad, args.scalars[0], 1, 1, args.is_result, saved);
}
// derivatives.yaml: elu_backward(grad, alpha, 1, 1.0/alpha.toFloat(), ...): the reciprocal of the
// float alpha, in double.
at::Tensor celu_gradient(const at::Tensor& grad, const at::Tensor& saved, const gradient_args& args) {
    const double alpha = args.scalars[0];
    return at::elu_backward(grad, alpha, 1, 1.0 / static_cast<float>(alpha), args.is_result, saved);
}
at::Tensor hardsigmoid_gradient(const at::Tensor& grad, const at::Tensor& input, const gradient_args&) {
    return at::hardsigmoid_backward(grad, input);
}
at::Tensor hardswish_gradient(const at::Tensor& grad, const at::Tensor& input, const gradient_args&) {
    return at::hardswish_backward(grad, input);
}
at::Tensor hardtanh_gradient(const at::Tensor& grad, const at::Tensor& saved, const gradient_args& args) {
    return at::hardtanh_backward(grad, saved, args.scalars[0], args.scalars[1]);
}
at::Tensor relu6_gradient(const at::Tensor& grad, const at::Tensor& saved, const gradient_args&) {
    return at::hardtanh_backward(grad, saved, 0, 6);
}
at::Tensor softplus_gradient(const at::Tensor& grad, const at::Tensor& input, const gradient_args& args) {
    return at::softplus_backward(grad, input, args.scalars[0], args.scalars[1]);
}
// torch.nn.functional.softsign is input / (input.abs() + 1), so its gradient is autograd's through
// div, add and abs: grad / d from the numerator and -grad * ((x / d) / d) * sgn(x) through the
// denominator (div_tensor_other_backward, then abs's), each op in the input's dtype as there.
at::Tensor softsign_gradient(const at::Tensor& grad, const at::Tensor& input, const gradient_args&) {
    const at::Tensor d = input.abs() + 1;
    return grad / d + (-grad * ((input / d) / d)) * input.sgn();
}

constexpr std::array<activation, 16> activations = {{
    {"relu", reads::result, true, reads::result, &relu_gradient},
    {"sigmoid", reads::result, false, reads::result, &sigmoid_gradient},
    {"tanh", reads::result, false, reads::result, &tanh_gradient},
    {"silu", reads::input, true, reads::input, &silu_gradient},
    {"gelu", reads::input, false, reads::input, &gelu_gradient},
    {"selu", reads::input, true, reads::result, &selu_gradient},
    {"elu", reads::input, true, reads::result, &elu_gradient},
    {"celu", reads::input, true, reads::result, &celu_gradient},
    {"hardsigmoid", reads::input, true, reads::input, &hardsigmoid_gradient},
    {"hardswish", reads::input, true, reads::input, &hardswish_gradient},
    {"hardtanh", reads::input, true, reads::result, &hardtanh_gradient},
    {"relu6", reads::input, true, reads::result, &relu6_gradient},
    {"softplus", reads::input, false, reads::input, &softplus_gradient},
    {"softsign", reads::input, false, reads::input, &softsign_gradient},
    {"mish", reads::input, true, reads::input, &mish_gradient},
    {"new_gelu", reads::input, false, reads::input, &new_gelu_gradient},
}};

/// A call of a named op, read off the top of the stack (which keeps it).
struct call {
    const activation* op = nullptr;
    const char* name = nullptr;    ///< the operator's, "elu_" in place: for messages
    bool in_place = false;         ///< NAME_
    std::size_t arguments = 0;     ///< on the stack, the input first
    gradient_args args;
};

call read_call(const c10::OperatorHandle& handle, const Stack& stack) {
    call c;
    const std::string& full = handle.schema().name();  // "kerntune::elu_"
    c.name = full.c_str() + full.find("::") + 2;
    std::string_view base(c.name);
    c.in_place = base.back() == '_';
    if (c.in_place) base.remove_suffix(1);
    for (const activation& a : activations)
        if (base == a.name) c.op = &a;
    TORCH_INTERNAL_ASSERT(c.op, "kerntune.torch: no named op behind ", full);
    c.args.kernel = c.op->name;
    c.arguments = handle.schema().arguments().size();
    const auto given = torch::jit::last(stack, c.arguments);
    for (std::size_t i = 1; i < given.size(); ++i) {
        const c10::IValue& value = given[i];
        if (value.isString()) {  // gelu's approximate
            const std::string& approximate = value.toStringRef();
            TORCH_CHECK_VALUE(approximate == "none" || approximate == "tanh", "kerntune.torch.gelu: approximate must be 'none' or 'tanh', not '",
                              approximate, "'");
            if (approximate == "tanh") c.args.kernel = "gelu_tanh";
        } else {
            // A float; symbolic while torch.compile traces with a dynamic float (not known, and
            // not needed, until the CUDA kernel runs): NaN passes the checks below.
            c.args.scalars.push_back(value.isDouble() ? value.toDouble() : std::numeric_limits<double>::quiet_NaN());
        }
    }
    // torch's own refusals of bad arguments (torch.nn.functional.hardtanh, aten::celu).
    if (base == "hardtanh")
        TORCH_CHECK_VALUE(!(c.args.scalars[0] > c.args.scalars[1]), "kerntune.torch.", c.name,
                          ": min_val cannot be greater than max_val");
    if (base == "celu") TORCH_CHECK(c.args.scalars[0] != 0, "kerntune.torch.", c.name, ": ZeroDivisionError: alpha cannot be 0 for CELU");
    return c;
}

void named_cuda(const c10::OperatorHandle& handle, Stack* stack) {
    const call c = read_call(handle, *stack);
    at::Tensor input = torch::jit::peek(*stack, 0, c.arguments).toTensor();
    torch::jit::drop(*stack, c.arguments);
    const kt_dtype dtype = check_input(input, c.name, "input");
    const c10::cuda::CUDAGuard guard(input.device());
    at::Tensor x = flat_layout(input) ? input : input.contiguous();
    if (c.in_place) {
        launch(c.args.kernel.c_str(), dtype, {x.numel()}, {x.data_ptr(), x.data_ptr()}, c.args.scalars, input.device());
        if (!x.is_same(input)) input.copy_(x);
        return;
    }
    at::Tensor y = elementwise_output(input);
    launch(c.args.kernel.c_str(), dtype, {x.numel()}, {const_cast<void*>(x.const_data_ptr()), y.data_ptr()},
           c.args.scalars, input.device());
    torch::jit::push(*stack, std::move(y));
}

void named_meta(const c10::OperatorHandle& handle, Stack* stack) {
    const call c = read_call(handle, *stack);
    const at::Tensor input = torch::jit::peek(*stack, 0, c.arguments).toTensor();
    torch::jit::drop(*stack, c.arguments);
    kerntune_dtype(input.scalar_type(), c.name, "input");  // the CUDA kernel's TypeError, at trace time
    if (!c.in_place) torch::jit::push(*stack, elementwise_output(input));
}

/// A call as an autograd function records it: what it needs to call the op again below autograd.
struct recorded_call {
    const c10::OperatorHandle* handle;
    const call* c;
    std::vector<c10::IValue> rest;  ///< the arguments after the input
    bool keep_input = false;        ///< in place with a gradient from the input: keep a copy of it
};

/// The op called below autograd with `input` in place of the recorded one; its result (none in place).
at::Tensor call_below_autograd(const recorded_call& r, const at::Tensor& input) {
    Stack stack;
    stack.reserve(1 + r.rest.size());
    stack.emplace_back(input);
    stack.insert(stack.end(), r.rest.begin(), r.rest.end());
    const at::AutoDispatchBelowADInplaceOrView below_autograd;
    r.handle->callBoxed(&stack);
    return stack.empty() ? at::Tensor() : stack[0].toTensor();
}

void remember(AutogradContext* ctx, const call& c, bool is_result) {
    ctx->saved_data["op"] = static_cast<std::int64_t>(c.op - activations.data());
    ctx->saved_data["kernel"] = c.args.kernel;
    ctx->saved_data["scalars"] = c.args.scalars;
    ctx->saved_data["is_result"] = is_result;
}

at::Tensor gradient(AutogradContext* ctx, const at::Tensor& grad) {
    const at::Tensor saved = ctx->get_saved_variables()[0];
    const activation& a = activations[static_cast<std::size_t>(ctx->saved_data["op"].toInt())];
    gradient_args args;
    args.scalars = ctx->saved_data["scalars"].toDoubleVector();
    args.kernel = ctx->saved_data["kernel"].toStringRef();
    args.is_result = ctx->saved_data["is_result"].toBool();
    return a.gradient(grad, saved, args);
}

// Gradients are torch's own (aten's backward functions), from what torch's derivative reads.
struct named_function : torch::autograd::Function<named_function> {
    static at::Tensor forward(AutogradContext* ctx, const at::Tensor& input, const recorded_call& r) {
        at::Tensor output = call_below_autograd(r, input);
        const bool from_result = r.c->op->out_of_place == reads::result;
        ctx->save_for_backward({from_result ? output : input});
        remember(ctx, *r.c, from_result);
        return output;
    }
    static variable_list backward(AutogradContext* ctx, variable_list grads) {
        return {gradient(ctx, grads[0]), at::Tensor()};
    }
};

// In place: torch's derivative of NAME_ reads the result (relu, the elu family, hardtanh, relu6,
// with is_result) or the input as it was before the call (hardsigmoid, hardswish, silu, mish: a
// copy, made only when a gradient is recorded).
struct named_inplace_function : torch::autograd::Function<named_inplace_function> {
    static at::Tensor forward(AutogradContext* ctx, at::Tensor input, const recorded_call& r) {
        const bool from_result = r.c->op->in_place == reads::result;
        const at::Tensor original = !from_result && r.keep_input ? input.clone() : at::Tensor();
        call_below_autograd(r, input);
        ctx->mark_dirty({input});
        ctx->save_for_backward({from_result ? input : original});
        remember(ctx, *r.c, from_result);
        return input;
    }
    static variable_list backward(AutogradContext* ctx, variable_list grads) {
        return {gradient(ctx, grads[0]), at::Tensor()};
    }
};

void named_autograd(const c10::OperatorHandle& handle, Stack* stack) {
    const call c = read_call(handle, *stack);
    at::Tensor input = torch::jit::peek(*stack, 0, c.arguments).toTensor();
    const bool records = at::GradMode::is_enabled() && input.requires_grad();
    // The common case, no gradient to record, goes straight to the kernel (the autograd
    // function's bookkeeping costs about a microsecond). In place always goes through the
    // function, which bumps the input's version counter whether or not a gradient is recorded.
    if (!c.in_place && !records) {
        const at::AutoDispatchBelowADInplaceOrView below_autograd;
        handle.callBoxed(stack);
        return;
    }
    const auto given = torch::jit::last(*stack, c.arguments);
    const recorded_call r{&handle, &c, std::vector<c10::IValue>(given.begin() + 1, given.end()), records};
    torch::jit::drop(*stack, c.arguments);
    if (c.in_place) {
        named_inplace_function::apply(input, r);
        return;
    }
    torch::jit::push(*stack, named_function::apply(input, r));
}

// ---- Expressions --------------------------------------------------------------------------

constexpr std::string_view input_letters = "xyzuvw";

/// An expression parsed and registered with the runtime once per (text, scalar names), kept for
/// the life of the process: a call looks it up and does no parsing.
struct compiled_expression {
    kt_expression* handle = nullptr;
    std::size_t inputs = 0;
};

/// Whether `name` is one of the identifiers of `text`, a text kt_expression_create accepted
/// (numbers are skipped: the 'e' of 1e5 is no name). The C ABI takes scalars an expression does
/// not read; kerntune.torch refuses them as Python refuses an unexpected keyword argument, since
/// a declared scalar is part of the kernel's key and one never read is likely a typo.
bool reads_name(std::string_view text, std::string_view name) {
    const auto word = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; };
    for (std::size_t i = 0; i < text.size();) {
        const char c = text[i];
        if (std::isdigit(static_cast<unsigned char>(c)) || c == '.') {  // digits [. digits] [e [+-] digits]
            while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.')) ++i;
            if (i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
                ++i;
                if (i < text.size() && (text[i] == '+' || text[i] == '-')) ++i;
                while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i;
            }
        } else if (word(c)) {
            const std::size_t start = i;
            while (i < text.size() && word(text[i])) ++i;
            if (text.substr(start, i - start) == name) return true;
        } else {
            ++i;
        }
    }
    return false;
}

std::string joined(const std::vector<std::string>& names) {
    std::string text;
    for (const std::string& name : names) text += (text.empty() ? "" : ", ") + name;
    return text;
}

/// The expression `text` with the scalars `names` (sorted), parsed at its first use.
const compiled_expression& expression_for(const std::string& text, const std::vector<std::string>& names,
                                          const char* op) {
    // Each field length-prefixed: no text and names can spell another's key.
    std::string key = std::to_string(text.size()) + ":" + text;
    for (const std::string& name : names) key += std::to_string(name.size()) + ":" + name;
    static std::mutex mutex;
    static std::unordered_map<std::string, compiled_expression> cache;  // references stay valid as it grows
    const std::lock_guard<std::mutex> lock(mutex);
    const auto found = cache.find(key);
    if (found != cache.end()) return found->second;
    std::vector<const char*> name_pointers;
    for (const std::string& name : names) name_pointers.push_back(name.c_str());
    // Every call gives every scalar, so the defaults are never used; one fixed value keeps one
    // kernel key per (text, names) whatever the first call's values were.
    const std::vector<float> defaults(names.size(), 1.0f);
    compiled_expression made;
    const kt_status status = kt_expression_create(shared_runtime(), text.c_str(), name_pointers.data(), defaults.data(),
                                                  static_cast<int>(names.size()), &made.handle);
    if (status == KT_ERROR_INVALID_ARGUMENT) {
        const std::string why = kt_last_error();
        TORCH_CHECK_VALUE(false, "kerntune.torch.", op, ": ", why,
                          names.empty() ? " (no scalars were given: a scalar is a keyword argument, elementwise(expression, x, alpha=0.5))"
                                        : " (scalars given: " + joined(names) + ")");
    }
    check_status(status, op);
    for (const std::string& name : names)
        if (!reads_name(text, name)) {
            kt_expression_destroy(made.handle);  // the op stays registered; nothing else holds the handle
            TORCH_CHECK_TYPE(false, "kerntune.torch.", op, ": got the scalar '", name, "', which expression '", text,
                             "' does not use");
        }
    made.inputs = static_cast<std::size_t>(kt_expression_num_inputs(made.handle));
    return cache.emplace(std::move(key), made).first->second;
}

/// Scalar names from a str[] IValue, with the permutation that sorts them: keyword order does
/// not change the expression's key.
std::vector<std::string> sorted_names(const c10::IValue& list, std::vector<std::size_t>* order) {
    std::vector<std::string> names;
    for (const c10::IValue& name : list.toListRef()) names.push_back(name.toStringRef());
    std::vector<std::size_t> index(names.size());
    for (std::size_t i = 0; i < index.size(); ++i) index[i] = i;
    std::sort(index.begin(), index.end(), [&](std::size_t a, std::size_t b) { return names[a] < names[b]; });
    std::vector<std::string> sorted;
    for (const std::size_t i : index) sorted.push_back(names[i]);
    if (order) *order = std::move(index);
    return sorted;
}

/// A call of kerntune::elementwise(expression, inputs, scalar_names, scalar_values), checked.
struct expression_call {
    const compiled_expression* expression = nullptr;
    std::vector<at::Tensor> inputs;
    std::vector<float> scalars;  ///< in the sorted names' order
    kt_dtype dtype = KT_F32;
};

constexpr std::size_t expression_arguments = 4;

std::string input_name(std::size_t i) { return std::string("input ") + input_letters[i]; }

expression_call read_expression_call(const Stack& stack, bool on_device) {
    const auto given = torch::jit::last(stack, expression_arguments);
    const std::string& text = given[0].toStringRef();
    expression_call c;
    c.inputs = given[1].toTensorVector();
    std::vector<std::size_t> order;
    const std::vector<std::string> names = sorted_names(given[2], &order);
    const auto values = given[3].toListRef();
    TORCH_CHECK_VALUE(values.size() == names.size(), "kerntune.torch.elementwise: ", std::to_string(names.size()),
                      " scalar names and ", std::to_string(values.size()), " values");
    for (const std::size_t i : order)
        c.scalars.push_back(values[i].isDouble() ? static_cast<float>(values[i].toDouble())
                                                 : std::numeric_limits<float>::quiet_NaN());  // symbolic while tracing
    c.expression = &expression_for(text, names, "elementwise");
    const std::size_t want = c.expression->inputs;
    TORCH_CHECK_VALUE(want > 0, "kerntune.torch.elementwise: expression '", text,
                      "' reads no input (x, y, ...): there is no shape to compute it over");
    // Numbers go into messages as text: streaming an integer into a TORCH_CHECK message crashed this
    // extension with torch 2.11 (as an IntArrayRef did, support.hpp's shape_text).
    TORCH_CHECK_VALUE(c.inputs.size() == want, "kerntune.torch.elementwise: expression '", text, "' reads ",
                      std::to_string(want),
                      want == 1 ? " input (x)" : " inputs (x to " + std::string(1, input_letters[want - 1]) + ")",
                      ", but ", std::to_string(c.inputs.size()), c.inputs.size() == 1 ? " was" : " were", " given");
    const at::Tensor& x = c.inputs[0];
    for (std::size_t i = 0; i < c.inputs.size(); ++i) {
        const at::Tensor& t = c.inputs[i];
        const std::string name = input_name(i);
        const kt_dtype dtype = on_device ? check_input(t, "elementwise", name.c_str())
                                         : kerntune_dtype(t.scalar_type(), "elementwise", name.c_str());
        if (i == 0) {
            c.dtype = dtype;
            continue;
        }
        TORCH_CHECK_TYPE(t.scalar_type() == x.scalar_type(), "kerntune.torch.elementwise: ", name, " has dtype ",
                         t.scalar_type(), ", input x ", x.scalar_type(), ": the inputs must have one dtype");
        // sym_sizes: the Meta kernel sees symbolic shapes when torch.compile traces dynamic ones.
        TORCH_CHECK_VALUE(t.sym_sizes().equals(x.sym_sizes()), "kerntune.torch.elementwise: ", name, " has shape ",
                          shape_text(t.sym_sizes()), ", input x ", shape_text(x.sym_sizes()),
                          ": the inputs must have one shape (kerntune does not broadcast)");
        TORCH_CHECK_VALUE(t.device() == x.device(), "kerntune.torch.elementwise: ", name, " is on ", t.device().str(),
                          ", input x on ", x.device().str());
    }
    return c;
}

void expression_cuda(const c10::OperatorHandle&, Stack* stack) {
    const expression_call c = read_expression_call(*stack, true);
    torch::jit::drop(*stack, expression_arguments);
    const at::Tensor& x = c.inputs[0];
    const c10::cuda::CUDAGuard guard(x.device());
    const bool flat = flat_layout(c.inputs);
    std::vector<at::Tensor> kept;  // the contiguous copies the pointers point into, if made
    std::vector<const void*> pointers;
    for (const at::Tensor& t : c.inputs) {
        kept.push_back(flat ? t : t.contiguous());
        pointers.push_back(kept.back().const_data_ptr());
    }
    at::Tensor y = elementwise_output(c.inputs);
    if (y.numel() > 0) {
        const CUstream stream = at::cuda::getCurrentCUDAStream(x.device().index()).stream();
        check_status(kt_expression_launch(c.expression->handle, c.dtype, y.numel(), pointers.data(),
                                          static_cast<int>(pointers.size()), y.data_ptr(),
                                          c.scalars.empty() ? nullptr : c.scalars.data(),
                                          static_cast<int>(c.scalars.size()), stream),
                     "elementwise");
    }
    torch::jit::push(*stack, std::move(y));
}

void expression_meta(const c10::OperatorHandle&, Stack* stack) {
    const expression_call c = read_expression_call(*stack, false);
    torch::jit::drop(*stack, expression_arguments);
    torch::jit::push(*stack, elementwise_output(c.inputs));
}

// An expression has no derivative here: a call that would record one is refused when it is made,
// not at backward().
void expression_autograd(const c10::OperatorHandle& handle, Stack* stack) {
    if (at::GradMode::is_enabled()) {
        const std::vector<at::Tensor> inputs = torch::jit::peek(*stack, 1, expression_arguments).toTensorVector();
        for (std::size_t i = 0; i < inputs.size() && i < input_letters.size(); ++i)
            TORCH_CHECK(!inputs[i].requires_grad(), "kerntune.torch.elementwise: expressions have no gradient, and ",
                        input_name(i), " requires grad; call it under torch.no_grad() or on detached inputs");
    }
    const at::AutoDispatchBelowADInplaceOrView below_autograd;
    handle.callBoxed(stack);
}

/// Registers `named` for every named op (and NAME_) and `expression` for elementwise.
template <c10::BoxedKernel::BoxedKernelFunction* named, c10::BoxedKernel::BoxedKernelFunction* expression>
void register_kernels(torch::Library& m) {
    for (const activation& a : activations) {
        m.impl(a.name, torch::CppFunction::makeFromBoxedFunction<named>());
        if (a.has_in_place) m.impl((std::string(a.name) + "_").c_str(), torch::CppFunction::makeFromBoxedFunction<named>());
    }
    m.impl("elementwise", torch::CppFunction::makeFromBoxedFunction<expression>());
}

} // namespace

bool is_named_op(const std::string& op) {
    if (op == "gelu_tanh") return true;
    for (const activation& a : activations)
        if (op == a.name) return true;
    return false;
}

std::string named_op_names() {
    std::string names;
    for (const activation& a : activations) {
        names += (names.empty() ? "" : ", ") + std::string(a.name);
        if (std::string_view(a.name) == "gelu") names += ", gelu_tanh";
    }
    return names;
}

void query_expression(const c10::OperatorHandle&, Stack* stack) {
    const auto given = torch::jit::last(*stack, 5);
    const std::string text = given[0].toStringRef();
    const std::vector<std::string> names = sorted_names(given[1], nullptr);
    const c10::ScalarType dtype = given[2].toScalarType();
    const std::vector<std::int64_t> shape = given[3].toIntVector();
    const c10::Device device = given[4].toDevice();
    torch::jit::drop(*stack, 5);
    TORCH_CHECK_VALUE(device.is_cuda(), "kerntune.torch.query_expression: device must be a CUDA device, not ", device.str());
    const kt_dtype type = kerntune_dtype(dtype, "query_expression", "dtype");
    const compiled_expression& e = expression_for(text, names, "query_expression");
    const c10::cuda::CUDAGuard guard(device);
    kt_match match = KT_MATCH_DEFAULT;
    char label[256] = {};
    check_status(kt_expression_query(e.handle, type, c10::multiply_integers(shape), &match, label, sizeof label),
                 "query_expression");
    torch::jit::push(*stack, match_name(match), std::string(label));
}

} // namespace kerntune_torch

using namespace kerntune_torch;

// CPU tensors reach the CUDA kernels' check, which names the argument and the device.
TORCH_LIBRARY_IMPL(kerntune, CUDA, m) { register_kernels<&named_cuda, &expression_cuda>(m); }
TORCH_LIBRARY_IMPL(kerntune, CPU, m) { register_kernels<&named_cuda, &expression_cuda>(m); }
TORCH_LIBRARY_IMPL(kerntune, Meta, m) { register_kernels<&named_meta, &expression_meta>(m); }
TORCH_LIBRARY_IMPL(kerntune, Autograd, m) { register_kernels<&named_autograd, &expression_autograd>(m); }
