#!/usr/bin/env python3
"""kerntune from Python: kt_leaky_relu on PyTorch tensors through ctypes, checked bit for bit
against torch.nn.functional.leaky_relu.

    KERNTUNE_LIB=build/src/runtime/libkerntune.so python3 examples/python/leaky_relu_torch.py
"""
import os
import sys

import torch
import torch.nn.functional as F

# The ctypes binding of kerntune.h lives in tools/ (tools/bench_torch.py uses it too).
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, os.pardir, "tools"))
from kerntune_ctypes import Kerntune, same_bits  # noqa: E402

DTYPES = (torch.float32, torch.float16, torch.bfloat16)


def random_with_specials(n, dtype):
    x = torch.randn(n, device="cuda", dtype=torch.float32).to(dtype) * 100
    specials = torch.tensor([0.0, -0.0, float("inf"), float("-inf"), float("nan"), 1e-40, -1e-40, -1.0, 1.0],
                            device="cuda").to(dtype)
    k = min(n, specials.numel())
    x[:k] = specials[:k]
    return x


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
