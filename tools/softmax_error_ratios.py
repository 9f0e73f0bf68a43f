#!/usr/bin/env python3
"""kerntune.torch's softmax and log_softmax error against float64, over torch eager's own, on
seeded inputs: the published bound is a ratio of 2 (error_ratio below, which tests/python's
check_error asserts), on the test's data (torch.randn * 4).

For each (op, dtype, shape, offset into the storage) prints the worst ratio over SEEDS inputs
and at how many it was over 2 (bench/RESULTS.md, fifteenth session). kerntune runs whatever
config the tuning database ($KERNTUNE_DB) and the shipped file give each shape.

    KERNTUNE_LIB=build/src/runtime/libkerntune.so PYTHONPATH=python \\
        python3 tools/softmax_error_ratios.py [SEEDS]   (default 60)
"""
import sys

import torch
import torch.nn.functional as F

import kerntune.torch as kt

SHAPES = ((64, 127), (64, 100), (64, 32), (300, 512), (37, 1000), (64, 300))


def max_error(actual, exact):
    """Largest |actual - exact|, in float64 (0 for no elements)."""
    return (actual.double() - exact).abs().max().item() if exact.numel() else 0.0


def error_ratio(mine, theirs, exact, dtype):
    """kerntune's largest error against the float64 `exact` over torch's (`theirs`), torch's
    floored at one rounding of the largest output (the published bound is 2; tests/python's
    check_error asserts it with this)."""
    if exact.numel() == 0:
        return 0.0
    floor = torch.finfo(dtype).eps * max(exact.abs().max().item(), 1.0)
    return max_error(mine, exact) / max(max_error(theirs, exact), floor)


def main():
    seeds = int(sys.argv[1]) if len(sys.argv) > 1 else 60
    for name, ours, theirs in (("softmax", kt.softmax, F.softmax), ("log_softmax", kt.log_softmax, F.log_softmax)):
        for dtype in (torch.float32, torch.bfloat16):
            for rows, n in SHAPES:
                for offset in (0, 1):
                    ratios = []
                    for seed in range(seeds):
                        torch.manual_seed(seed)
                        storage = (torch.randn(rows * n + offset, device="cuda") * 4).to(dtype)
                        x = storage[offset:].view(rows, n)
                        ratios.append(error_ratio(ours(x, -1), theirs(x, -1), theirs(x.double(), -1), dtype))
                    over = sum(r > 2 for r in ratios)
                    print(f"{name:11s} {str(dtype)[6:]:8s} {rows}x{n} offset {offset}: "
                          f"worst {max(ratios):.2f}, over 2 at {over} of {seeds}", flush=True)


if __name__ == "__main__":
    main()
