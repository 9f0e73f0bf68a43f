#!/usr/bin/env python3
"""kerntune from Python: kt_leaky_relu on PyTorch tensors through ctypes, checked bit for bit
against torch.nn.functional.leaky_relu.

    KERNTUNE_LIB=build/src/runtime/libkerntune.so python3 examples/python/leaky_relu_torch.py
"""
import ctypes
import os
import sys

import torch
import torch.nn.functional as F

KT_OK, KT_MATCH_NAMES = 0, {0: "exact", 1: "nearest", 2: "default"}
DTYPES = {torch.float32: 0, torch.float16: 1, torch.bfloat16: 2}
BITS = {torch.float32: torch.int32, torch.float16: torch.int16, torch.bfloat16: torch.int16}


class Kerntune:
    """A thin ctypes binding of kerntune.h."""

    def __init__(self, library, db_path=None):
        self.lib = ctypes.CDLL(library)
        self.lib.kt_runtime_create.argtypes = [ctypes.c_char_p, ctypes.POINTER(ctypes.c_void_p)]
        self.lib.kt_runtime_destroy.argtypes = [ctypes.c_void_p]
        self.lib.kt_leaky_relu.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p,
                                           ctypes.c_int64, ctypes.c_float, ctypes.c_void_p]
        self.lib.kt_query.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int, ctypes.c_int64,
                                      ctypes.POINTER(ctypes.c_int), ctypes.c_char_p, ctypes.c_size_t]
        self.lib.kt_last_error.restype = ctypes.c_char_p
        self.rt = ctypes.c_void_p()
        self._check(self.lib.kt_runtime_create(db_path.encode() if db_path else None, ctypes.byref(self.rt)))

    def _check(self, status):
        if status != KT_OK:
            raise RuntimeError(f"kerntune status {status}: {self.lib.kt_last_error().decode()}")

    def leaky_relu(self, x, out, negative_slope=0.01):
        assert x.is_cuda and x.is_contiguous() and out.is_contiguous() and x.dtype == out.dtype
        stream = torch.cuda.current_stream(x.device).cuda_stream
        self._check(self.lib.kt_leaky_relu(self.rt, DTYPES[x.dtype], x.data_ptr(), out.data_ptr(), x.numel(),
                                           negative_slope, stream))
        return out

    def query(self, dtype, n, op="leaky_relu"):
        match, label = ctypes.c_int(), ctypes.create_string_buffer(128)
        self._check(self.lib.kt_query(self.rt, op.encode(), DTYPES[dtype], n, ctypes.byref(match), label, 128))
        return KT_MATCH_NAMES[match.value], label.value.decode()

    def close(self):
        self.lib.kt_runtime_destroy(self.rt)


def random_with_specials(n, dtype):
    x = torch.randn(n, device="cuda", dtype=torch.float32).to(dtype) * 100
    specials = torch.tensor([0.0, -0.0, float("inf"), float("-inf"), float("nan"), 1e-40, -1e-40, -1.0, 1.0],
                            device="cuda").to(dtype)
    k = min(n, specials.numel())
    x[:k] = specials[:k]
    return x


def same_bits(a, b):
    return torch.equal(a.view(BITS[a.dtype]), b.view(BITS[b.dtype]))


def main():
    library = os.environ.get("KERNTUNE_LIB", "build/src/runtime/libkerntune.so")
    kt = Kerntune(library, os.environ.get("KERNTUNE_DB"))
    failures = 0
    for dtype in DTYPES:
        for n in (1, 7, 4099, 1 << 20, 3 * (1 << 20) + 5):
            base = random_with_specials(n + 1, dtype)
            cases = {
                "out of place": (base[:n], torch.empty_like(base[:n])),
                "misaligned view x[1:]": (base[1:], torch.empty_like(base[1:])),
            }
            for name, (x, out) in cases.items():
                expected = F.leaky_relu(x, 0.01)
                ok = same_bits(kt.leaky_relu(x, out), expected)
                failures += not ok
                print(f"{str(dtype):15} n={n:<9} {name:22} {'ok' if ok else 'MISMATCH'}")
            x = base[:n].clone()
            expected = F.leaky_relu(x, 0.01)
            ok = same_bits(kt.leaky_relu(x, x), expected)  # in place
            failures += not ok
            print(f"{str(dtype):15} n={n:<9} {'in place':22} {'ok' if ok else 'MISMATCH'}")
        print(f"{str(dtype):15} config for n=2^20: {kt.query(dtype, 1 << 20)}")
    kt.close()
    print("PASS" if failures == 0 else f"FAIL: {failures} mismatches")
    return 0 if failures == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
