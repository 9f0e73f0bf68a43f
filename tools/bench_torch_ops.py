#!/usr/bin/env python3
"""kerntune.torch against torch eager and the ctypes path of the C ABI, in one process on one GPU.

Host time per call (n = 1024, float32): each contender is called 20,000 times in a loop with no
synchronisation inside it, after 2,000 warm-up calls; the figure is the median over 7 rounds of
(loop wall time / calls), the contenders' loops interleaved round by round. At n = 1024 the GPU finishes each kernel in a few
microseconds, so the loop measures the host's cost of a call (the CUDA launch queue is deep
enough not to block).

Device time (4096 x 393216 float32 unless --shape): CUDA events around one call, L2 flushed
(a 2 x L2 buffer zeroed) before every sample, a spin kernel queued first so that the host's
launch cost is not timed; mean and median of 100 samples per contender, contenders interleaved
sample by sample. Outputs are compared bit for bit with torch once.

    KERNTUNE_LIB=build/src/runtime/libkerntune.so PYTHONPATH=python \\
        python3 tools/bench_torch_ops.py [--json out.json]
"""
import argparse
import json
import os
import statistics
import sys
import time

import torch
import torch.nn.functional as F

import kerntune
import kerntune.torch as kt

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kerntune_ctypes import Kerntune  # noqa: E402
from torch_timing import device_times  # noqa: E402


def host_us_per_call(contenders, x, calls=20000, rounds=7):
    """Median over `rounds` of the loop time per call, the contenders' loops interleaved round by
    round so that a slower or faster phase of the machine touches them all alike."""
    for function in contenders.values():
        for _ in range(2000):
            function(x)
    torch.cuda.synchronize()
    figures = {name: [] for name in contenders}
    for _ in range(rounds):
        for name, function in contenders.items():
            start = time.perf_counter()
            for _ in range(calls):
                function(x)
            figures[name].append((time.perf_counter() - start) / calls * 1e6)
            torch.cuda.synchronize()
    return {name: statistics.median(f) for name, f in figures.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shape", default="4096x393216", help="device-time shape (default 4096x393216)")
    parser.add_argument("--json", help="write the figures here too")
    args = parser.parse_args()
    ctypes_runtime = Kerntune(str(kerntune.find_library()))
    kernel_op = torch.ops.kerntune.leaky_relu.default

    def ctypes_call(x):
        return ctypes_runtime.leaky_relu(x, torch.empty_like(x))

    contenders = {
        "torch eager (F.leaky_relu)": lambda x: F.leaky_relu(x, 0.01),
        "kerntune.torch.leaky_relu": lambda x: kt.leaky_relu(x, 0.01),
        "torch.ops.kerntune.leaky_relu.default": lambda x: kernel_op(x, 0.01),
        "ctypes kt_leaky_relu + empty_like": ctypes_call,
    }
    small = torch.randn(1024, device="cuda")
    host = host_us_per_call(contenders, small)
    shape = [int(d) for d in args.shape.split("x")]
    big = torch.randn(shape, device="cuda")
    expected = F.leaky_relu(big, 0.01).view(torch.int32)
    for name, function in contenders.items():
        if not torch.equal(function(big).view(torch.int32), expected):
            print(f"MISMATCH: {name} differs from torch at {args.shape}")
            return 1
    device = device_times({k: contenders[k] for k in ("torch eager (F.leaky_relu)", "kerntune.torch.leaky_relu",
                                                   "ctypes kt_leaky_relu + empty_like")}, big, 100)
    print(f"{torch.cuda.get_device_name()}, torch {torch.__version__}, kerntune {kerntune.__version__}, "
          f"config {kt.query('leaky_relu', big)}")
    print(f"{'contender':42} {'host us/call n=1024':>20} {'device mean us':>15} {'device median us':>17}")
    for name in contenders:
        d = device.get(name, {})
        print(f"{name:42} {host[name]:20.2f} {d.get('mean_us', float('nan')):15.1f} "
              f"{d.get('median_us', float('nan')):17.1f}")
    if args.json:
        with open(args.json, "w") as out:
            json.dump({"gpu": torch.cuda.get_device_name(), "torch": torch.__version__, "shape": args.shape,
                       "host_us_per_call_n1024": host, "device": device}, out, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
