"""kerntune's kernels as PyTorch operators, under torch.nn.functional's names and signatures.

    import kerntune.torch as kt
    y = kt.leaky_relu(x)                      # x: a CUDA tensor (float32, float16 or bfloat16)
    kt.leaky_relu(x, 0.2, inplace=True)
    kt.softmax(x, dim=-1), kt.log_softmax(x, dim=1), kt.sum(x, 1, keepdim=True), kt.mean(x, -1)
    kt.layer_norm(x, (768,), weight, bias), kt.rms_norm(x, (768,), weight), kt.rms_norm(x, dim=1)
    kt.query("leaky_relu", x)                 # Choice(match='exact', config='blk256.vec4...', shipped=False)

Each function calls a C++ operator (torch.ops.kerntune.*, registered with TORCH_LIBRARY): no
Python runs below it per call. The output is allocated by torch's caching allocator on the
input's device, and the kernel runs on that device's current stream. Results equal
torch.nn.functional's bit for bit. torch.compile(fullgraph=True) traces through the operators
(they have Meta kernels), and autograd uses torch's own gradients.

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

__all__ = ["leaky_relu", "softmax", "log_softmax", "sum", "mean", "layer_norm", "rms_norm", "query", "prepare",
           "Choice"]


class Choice(NamedTuple):
    """Which config a call uses, and how it was found."""

    match: str  #: "exact" (tuned for this shape), "nearest" (tuned nearest size) or "default"
    config: str  #: the config's canonical label, e.g. "blk256.vec4.unr2.plain.tile.w0"
    #: True when the config is from the tuning results shipped with kerntune (tuning_db/, read
    #: beneath the user's database), as an exact or nearest match
    shipped: bool = False


def leaky_relu(input, negative_slope=0.01, inplace=False):
    """torch.nn.functional.leaky_relu: input if input > 0 else input * negative_slope."""
    if inplace:
        _ops.leaky_relu_.default(input, negative_slope)
        return input
    return _ops.leaky_relu.default(input, negative_slope)


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
    the dim a reduction reduces, `normalized_shape` the trailing dims a norm normalizes."""
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
