"""kerntune's kernels as PyTorch operators, under torch.nn.functional's names and signatures.

    import kerntune.torch as kt
    y = kt.leaky_relu(x)                      # x: a CUDA tensor (float32, float16 or bfloat16)
    kt.leaky_relu(x, 0.2, inplace=True)
    kt.softmax(x, dim=-1), kt.log_softmax(x, dim=1), kt.sum(x, 1, keepdim=True), kt.mean(x, -1)
    kt.layer_norm(x, (768,), weight, bias), kt.rms_norm(x, (768,), weight), kt.rms_norm(x, dim=1)
    kt.silu(x), kt.gelu(x, approximate="tanh"), kt.elu(x, alpha=0.5, inplace=True), kt.hardtanh(x, -2., 2.)
    kt.elementwise("x * sigmoid(alpha * x)", x, alpha=1.702)   # any expression (docs/EXPRESSIONS.md)
    kt.elementwise("where(y > 0, x, -x)", x, y)                # inputs x, y, ... of one shape and dtype
    kt.query("leaky_relu", x)                 # Choice(match='exact', config='blk256.vec4...')

Each function calls a C++ operator (torch.ops.kerntune.*, registered with TORCH_LIBRARY): no
Python runs below it per call. The output is allocated by torch's caching allocator on the
input's device, and the kernel runs on that device's current stream. The elementwise ops compute
torch's CUDA formulas in float and round once: most equal torch.nn.functional's bit for bit, the
others differ by the ulps docs/EXPRESSIONS.md ("Named ops") lists. torch.compile(fullgraph=True)
traces through the operators (they have Meta kernels), and autograd uses torch's own gradients
(an arbitrary expression has none: a call that would record one is an error).

Layouts (elementwise ops): a tensor whose elements fill its memory without gaps (contiguous, transposed,
channels-last) is used as it is and the output has its strides; any other view (a slice with
gaps, an expanded tensor) is copied into a contiguous tensor first, and an in-place call then
copies the result back into the view. Reductions (softmax, log_softmax, sum, mean, layer_norm,
rms_norm) copy any non-contiguous input into a contiguous tensor first; their output is
contiguous.

CUDA graphs: the first call of an (op, dtype, shape) on a device loads or compiles its kernel,
which cannot happen during a capture (that call raises ValueError, the capture untouched).
Call the op once before capturing, or prepare(op, dtype, shape).

The tuning database is $KERNTUNE_DB, else the default path, as for every kerntune program; the
library is found as kerntune.find_library() says.
"""
from typing import NamedTuple

import torch as _torch

from kerntune import _extension

_extension.load()
_ops = _torch.ops.kerntune

__all__ = ["leaky_relu", "relu", "sigmoid", "tanh", "silu", "gelu", "selu", "elu", "celu", "hardsigmoid", "hardswish",
           "hardtanh", "relu6", "softplus", "softsign", "mish", "new_gelu", "elementwise", "softmax", "log_softmax",
           "sum", "mean", "layer_norm", "rms_norm", "query", "prepare", "query_expression", "prepare_expression",
           "Choice"]


class Choice(NamedTuple):
    """Which config a call uses, and how it was found."""

    #: "exact" (tuned for this shape), "nearest" (tuned nearest size), "family" (an expression
    #: nobody tuned, borrowing another of its family's config) or "default"
    match: str
    config: str  #: the config's canonical label, e.g. "blk256.vec4.unr2.plain.tile.w0"


def leaky_relu(input, negative_slope=0.01, inplace=False):
    """torch.nn.functional.leaky_relu: input if input > 0 else input * negative_slope."""
    if inplace:
        _ops.leaky_relu_.default(input, negative_slope)
        return input
    return _ops.leaky_relu.default(input, negative_slope)


# The named elementwise ops: torch.nn.functional's names, arguments and defaults, each one C++
# operator (python/kerntune/csrc/elementwise.cpp; NAME_ in place), computing kerntune's named op
# of that name (src/elementwise/named_ops.cpp holds every formula).

def relu(input, inplace=False):
    """torch.nn.functional.relu: max(x, 0)."""
    if inplace:
        _ops.relu_.default(input)
        return input
    return _ops.relu.default(input)


def sigmoid(input):
    """torch.sigmoid: 1 / (1 + exp(-x))."""
    return _ops.sigmoid.default(input)


def tanh(input):
    """torch.tanh."""
    return _ops.tanh.default(input)


def silu(input, inplace=False):
    """torch.nn.functional.silu: x / (1 + exp(-x))."""
    if inplace:
        _ops.silu_.default(input)
        return input
    return _ops.silu.default(input)


def gelu(input, approximate="none"):
    """torch.nn.functional.gelu: x * 0.5 * (1 + erf(x / sqrt(2))), or with approximate='tanh'
    0.5 * x * (1 + tanh(sqrt(2 / pi) * (x + 0.044715 * x^3)))."""
    return _ops.gelu.default(input, approximate=approximate)


def selu(input, inplace=False):
    """torch.nn.functional.selu: scale * (x > 0 ? x : alpha * (exp(x) - 1)), torch's constants."""
    if inplace:
        _ops.selu_.default(input)
        return input
    return _ops.selu.default(input)


def elu(input, alpha=1.0, inplace=False):
    """torch.nn.functional.elu: x > 0 ? x : alpha * (exp(x) - 1)."""
    if inplace:
        _ops.elu_.default(input, alpha)
        return input
    return _ops.elu.default(input, alpha)


def celu(input, alpha=1.0, inplace=False):
    """torch.nn.functional.celu: x > 0 ? x : alpha * (exp(x / alpha) - 1)."""
    if inplace:
        _ops.celu_.default(input, alpha)
        return input
    return _ops.celu.default(input, alpha)


def hardsigmoid(input, inplace=False):
    """torch.nn.functional.hardsigmoid: clamp(x + 3, 0, 6) / 6."""
    if inplace:
        _ops.hardsigmoid_.default(input)
        return input
    return _ops.hardsigmoid.default(input)


def hardswish(input, inplace=False):
    """torch.nn.functional.hardswish: x * clamp(x + 3, 0, 6) / 6."""
    if inplace:
        _ops.hardswish_.default(input)
        return input
    return _ops.hardswish.default(input)


def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):
    """torch.nn.functional.hardtanh: clamp(x, min_val, max_val)."""
    if inplace:
        _ops.hardtanh_.default(input, min_val, max_val)
        return input
    return _ops.hardtanh.default(input, min_val, max_val)


def relu6(input, inplace=False):
    """torch.nn.functional.relu6: clamp(x, 0, 6)."""
    if inplace:
        _ops.relu6_.default(input)
        return input
    return _ops.relu6.default(input)


def softplus(input, beta=1.0, threshold=20.0):
    """torch.nn.functional.softplus: x * beta > threshold ? x : log(1 + exp(x * beta)) / beta."""
    return _ops.softplus.default(input, beta, threshold)


def softsign(input):
    """torch.nn.functional.softsign: x / (1 + |x|)."""
    return _ops.softsign.default(input)


def mish(input, inplace=False):
    """torch.nn.functional.mish: x * tanh(softplus(x))."""
    if inplace:
        _ops.mish_.default(input)
        return input
    return _ops.mish.default(input)


def new_gelu(input):
    """The tanh GELU of GPT-2 and BERT as written with torch ops,
    0.5 * x * (1 + tanh(sqrt(2 / pi) * (x + 0.044715 * x^3))): torch's composite of six kernels in
    one pass, rounded once; its gradient is torch's gelu(approximate='tanh')'s."""
    return _ops.new_gelu.default(input)


def elementwise(expression, *inputs, **scalars):
    """Computes `expression`, kerntune's elementwise language (docs/EXPRESSIONS.md), over the
    tensors `inputs` (x, y, z, u, v, w in order; one shape, dtype and CUDA device; no
    broadcasting) with the float `scalars` it names, in float32, rounded once:

        kt.elementwise("x * sigmoid(x)", x)
        kt.elementwise("x * sigmoid(alpha * x)", x, alpha=1.702)
        kt.elementwise("where(y > 0, x, 0)", x, y)

    The first call of an (expression, scalar names) parses it and compiles its kernel; later
    calls only launch. Every scalar the expression reads is given each call (a keyword it does
    not read is a TypeError): for defaults, functools.partial(kt.elementwise, expression,
    alpha=1.702). The output has the inputs' layout when they share a dense one, else it is
    contiguous. No gradient: a call that would record one is a RuntimeError."""
    if not inputs:  # the dispatcher needs a tensor to choose a kernel
        raise ValueError("kerntune.torch.elementwise: no input tensors: an expression is computed over its inputs "
                         "x, y, ... (tensors of one shape)")
    return _ops.elementwise.default(expression, list(inputs), list(scalars), [float(v) for v in scalars.values()])


def _softmax_dim(name, input, dim, stacklevel):
    # dim=None: torch's implicit choice, with torch's deprecation warning.
    return _torch.nn.functional._get_softmax_dim(name, input.dim(), stacklevel + 1) if dim is None else dim


def softmax(input, dim=None, _stacklevel=3, dtype=None):
    """torch.nn.functional.softmax: exp(x - max) / sum(exp(x - max)) over `dim`, in float,
    rounded once to the input's dtype (or `dtype`, which the input is cast to first)."""
    if dtype is not None:
        input = input.to(dtype)
    return _ops.softmax.default(input, _softmax_dim("softmax", input, dim, _stacklevel))


def log_softmax(input, dim=None, _stacklevel=3, dtype=None):
    """torch.nn.functional.log_softmax: (x - max) - log(sum(exp(x - max))) over `dim`."""
    if dtype is not None:
        input = input.to(dtype)
    return _ops.log_softmax.default(input, _softmax_dim("log_softmax", input, dim, _stacklevel))


def _one_dim(name, dim):
    if isinstance(dim, (tuple, list)):
        if len(dim) != 1:
            raise ValueError(f"kerntune.torch.{name}: dim must be one dim, not {tuple(dim)} (kerntune reduces one)")
        dim = dim[0]
    if not isinstance(dim, int):
        raise TypeError(f"kerntune.torch.{name}: dim must be an int, not {type(dim).__name__}")
    return dim


def sum(input, dim, keepdim=False, *, dtype=None):
    """torch.sum(input, dim, keepdim): accumulated in float, rounded once to the input's dtype
    (or `dtype`, which the input is cast to first). One dim at a time."""
    if dtype is not None:
        input = input.to(dtype)
    return _ops.sum.default(input, _one_dim("sum", dim), keepdim)


def mean(input, dim, keepdim=False, *, dtype=None):
    """torch.mean(input, dim, keepdim): the float sum times 1 / the dim's length."""
    if dtype is not None:
        input = input.to(dtype)
    return _ops.mean.default(input, _one_dim("mean", dim), keepdim)


def _shape(name, argument, shape):
    # An int or a sequence of ints (a torch.Size, a tuple, a list), as torch takes it.
    if isinstance(shape, int):
        return [shape]
    if not isinstance(shape, (str, bytes)):
        try:
            if all(isinstance(d, int) for d in shape):
                return list(shape)
        except TypeError:
            pass
    raise TypeError(f"kerntune.torch.{name}: {argument} must be an int or a sequence of ints, not {shape!r}")


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    """torch.nn.functional.layer_norm: (x - mean) / sqrt(var + eps) * weight + bias over the
    trailing dims `normalized_shape` (the variance biased), in float, rounded once."""
    return _ops.layer_norm.default(input, _shape("layer_norm", "normalized_shape", normalized_shape), weight, bias, eps)


def rms_norm(input, normalized_shape=None, weight=None, eps=None, *, dim=None):
    """torch.nn.functional.rms_norm: x / sqrt(mean(x^2) + eps) * weight over the trailing dims
    `normalized_shape`; or, with `dim` instead, over that one dim (x / sqrt(mean(x^2, dim,
    keepdim=True) + eps), weight of the dim's length). eps=None is torch's default."""
    if (normalized_shape is None) == (dim is None):
        raise ValueError("kerntune.torch.rms_norm: give normalized_shape (the trailing dims) or dim (one dim)")
    shape = [] if normalized_shape is None else _shape("rms_norm", "normalized_shape", normalized_shape)
    return _ops.rms_norm.default(input, shape, weight, eps, dim=None if dim is None else _one_dim("rms_norm", dim))


def query(op, input, dim=None, normalized_shape=None):
    """Which config `op` uses for a tensor like `input` (its dtype, shape and device); `dim` is
    the dim a reduction reduces, `normalized_shape` the trailing dims a norm normalizes. `op` is
    kerntune's name: the named elementwise ops by torch's ("silu"), gelu's tanh form "gelu_tanh"."""
    if not isinstance(input, _torch.Tensor):
        raise TypeError(f"kerntune.torch.query: input must be a torch.Tensor, not {type(input).__name__}")
    return prepare(op, input.dtype, input.shape, input.device, dim, normalized_shape)


def prepare(op, dtype, shape, device=None, dim=None, normalized_shape=None):
    """Loads (or compiles) the kernel `op` uses for a tensor of this dtype and shape on `device`
    (default: the current CUDA device), so that calls in a CUDA-graph capture find it. Returns
    the Choice, as query does."""
    device = _torch.device("cuda") if device is None else _torch.device(device)
    if device.type == "cuda" and device.index is None:
        device = _torch.device("cuda", _torch.cuda.current_device())
    normalized = None if normalized_shape is None else _shape("query", "normalized_shape", normalized_shape)
    return Choice(*_ops.query(op, dtype, list(shape), device, dim, normalized))


def query_expression(expression, input, scalars=()):
    """Which config kerntune.torch.elementwise(expression, input, ..., **{name: value}) uses for
    inputs like `input`; `scalars`: the names of the scalars it reads (their values do not
    matter). match "family": the tuned config of another op that moves memory alike."""
    if not isinstance(input, _torch.Tensor):
        raise TypeError(f"kerntune.torch.query_expression: input must be a torch.Tensor, not {type(input).__name__}")
    return prepare_expression(expression, input.dtype, input.shape, input.device, scalars)


def prepare_expression(expression, dtype, shape, device=None, scalars=()):
    """Parses `expression` and loads (or compiles) its kernel for inputs of this dtype and shape
    on `device`, so that calls in a CUDA-graph capture find it; returns the Choice."""
    device = _torch.device("cuda") if device is None else _torch.device(device)
    if device.type == "cuda" and device.index is None:
        device = _torch.device("cuda", _torch.cuda.current_device())
    if isinstance(scalars, str):
        scalars = (scalars,)
    return Choice(*_ops.query_expression(expression, list(scalars), dtype, list(shape), device))
