"""A thin ctypes binding of kerntune's C ABI (include/kerntune/kerntune.h), shared by
examples/python/leaky_relu_torch.py and tools/bench_torch.py.

    from kerntune_ctypes import Kerntune
    kt = Kerntune("build/src/runtime/libkerntune.so")     # db_path=None: $KERNTUNE_DB, else the default
    kt.leaky_relu(x, out)                                 # torch CUDA tensors, on the current stream
    kt.query(torch.float32, x.numel())                    # ("exact", "blk256.vec4.unr2.plain.tile.w0")

torch is imported only by the helpers that take tensors, so the binding itself needs only ctypes.
"""
import ctypes

KT_OK = 0
MATCH_NAMES = {0: "exact", 1: "nearest", 2: "default", 3: "family"}
DTYPE_CODES = {"f32": 0, "f16": 1, "bf16": 2}  # kt_dtype
_TORCH_DTYPE_NAMES = {"torch.float32": "f32", "torch.float16": "f16", "torch.bfloat16": "bf16"}


def dtype_name(dtype):
    """"f32", "f16" or "bf16" for a torch dtype or one of those names."""
    name = _TORCH_DTYPE_NAMES.get(str(dtype), str(dtype))
    if name not in DTYPE_CODES:
        raise ValueError(f"kerntune has no dtype {dtype} (it has {', '.join(DTYPE_CODES)})")
    return name


class KtChoice(ctypes.Structure):
    """kt_choice (kerntune.h): size set by the caller, then what kt_query_choice reports."""
    _fields_ = [("size", ctypes.c_size_t), ("match", ctypes.c_int), ("shipped", ctypes.c_int)]


class Kerntune:
    """A kt_runtime: the tuning database, loaded kernels and their launch cache."""

    def __init__(self, library, db_path=None):
        self.lib = ctypes.CDLL(library)
        self.lib.kt_runtime_create.argtypes = [ctypes.c_char_p, ctypes.POINTER(ctypes.c_void_p)]
        self.lib.kt_runtime_create.restype = ctypes.c_int
        self.lib.kt_runtime_destroy.argtypes = [ctypes.c_void_p]
        self.lib.kt_runtime_destroy.restype = None
        self.lib.kt_leaky_relu.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p,
                                           ctypes.c_int64, ctypes.c_float, ctypes.c_void_p]
        self.lib.kt_leaky_relu.restype = ctypes.c_int
        self.lib.kt_query.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int, ctypes.c_int64,
                                      ctypes.POINTER(ctypes.c_int), ctypes.c_char_p, ctypes.c_size_t]
        self.lib.kt_query.restype = ctypes.c_int
        self.lib.kt_query_choice.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int, ctypes.POINTER(ctypes.c_int64),
                                             ctypes.c_int, ctypes.POINTER(KtChoice), ctypes.c_char_p, ctypes.c_size_t]
        self.lib.kt_query_choice.restype = ctypes.c_int
        self.lib.kt_last_error.argtypes = []
        self.lib.kt_last_error.restype = ctypes.c_char_p
        self.rt = ctypes.c_void_p()
        self._check(self.lib.kt_runtime_create(db_path.encode() if db_path else None, ctypes.byref(self.rt)))

    def _check(self, status):
        if status != KT_OK:
            raise RuntimeError(f"kerntune status {status}: {self.lib.kt_last_error().decode()}")

    def leaky_relu_raw(self, dtype, x_pointer, y_pointer, n, negative_slope, stream_handle):
        """kt_leaky_relu on raw device pointers (ints) and a raw CUstream handle (int, 0: legacy)."""
        self._check(self.lib.kt_leaky_relu(self.rt, DTYPE_CODES[dtype_name(dtype)], x_pointer, y_pointer, n,
                                           negative_slope, stream_handle))

    def leaky_relu(self, x, out, negative_slope=0.01):
        """out = leaky_relu(x) for contiguous torch CUDA tensors (out may be x), on the current stream."""
        import torch

        assert x.is_cuda and x.is_contiguous() and out.is_contiguous() and x.dtype == out.dtype
        assert x.numel() == out.numel()
        stream = torch.cuda.current_stream(x.device).cuda_stream
        self.leaky_relu_raw(x.dtype, x.data_ptr(), out.data_ptr(), x.numel(), negative_slope, stream)
        return out

    def query(self, dtype, n, op="leaky_relu"):
        """(match, label): which config a call with (op, dtype, n) uses on the current device."""
        match, label = ctypes.c_int(), ctypes.create_string_buffer(128)
        self._check(self.lib.kt_query(self.rt, op.encode(), DTYPE_CODES[dtype_name(dtype)], n, ctypes.byref(match),
                                      label, 128))
        return MATCH_NAMES[match.value], label.value.decode()

    def query_choice(self, dtype, extents, op="leaky_relu"):
        """(match, label, shipped) for a problem given by its extents (kt_query_choice): shipped is
        True when the config is a row of the shipped tuning files (tuning_db/)."""
        choice = KtChoice(ctypes.sizeof(KtChoice), 0, 0)
        label = ctypes.create_string_buffer(256)
        values = (ctypes.c_int64 * len(extents))(*extents)
        self._check(self.lib.kt_query_choice(self.rt, op.encode(), DTYPE_CODES[dtype_name(dtype)], values, len(extents),
                                             ctypes.byref(choice), label, 256))
        return MATCH_NAMES.get(choice.match, str(choice.match)), label.value.decode(), bool(choice.shipped)

    def close(self):
        if self.rt:
            self.lib.kt_runtime_destroy(self.rt)
            self.rt = ctypes.c_void_p()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def same_bits(a, b):
    """True when two torch tensors of one floating dtype hold the same bit patterns."""
    import torch

    bits = {torch.float32: torch.int32, torch.float16: torch.int16, torch.bfloat16: torch.int16}
    return a.dtype == b.dtype and torch.equal(a.view(bits[a.dtype]), b.view(bits[b.dtype]))
