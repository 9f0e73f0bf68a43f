#!/usr/bin/env python3
"""kerntune.torch's row reductions against torch eager and torch.compile, in one process on one GPU.

The method of the reductions issue (tools/torch_timing.py): for each (op, shape, dim, dtype),
CUDA events around one call, L2 flushed before every sample; mean of 100 samples (and the
median), the three contenders interleaved sample by sample. The floor is reading the input once and writing the
output once (the input's size for softmax, far less for sum) at the device copy rate measured here (torch copy_ of 1 GiB, read + written).
kerntune uses whatever the tuning database ($KERNTUNE_DB) holds: tune the shapes first.

    KERNTUNE_LIB=build/src/runtime/libkerntune.so PYTHONPATH=python \\
        python3 tools/bench_reductions.py [--samples 100] [--json out.json] [CASE ...]

A CASE is OP:SHAPE[:DIM[:DTYPE]], e.g. softmax:4096x393216:1:f32 (default dim -1, dtype f32).
For layer_norm and rms_norm, DIM is the first of the normalized trailing dims (layer_norm with a
weight and a bias, rms_norm with a weight); rms_norm_dim normalizes over DIM alone, as
x / sqrt(mean(x^2, DIM, keepdim=True) + 1e-5) (no weight), the formula torch users write for it.
"""
import argparse
import json
import os
import sys

import torch
import torch.nn.functional as F

import kerntune.torch as kt

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_timing import device_times  # noqa: E402



def reduction(reference, ours, op):
    def make(x, dim):
        return (lambda t: reference(t, dim)), (lambda t: ours(t, dim)), {"op": op, "dim": dim}
    return make


def layer_norm(x, dim):
    shape = x.shape[dim:]
    w, b = torch.rand(shape, device="cuda", dtype=x.dtype) + 0.5, torch.randn(shape, device="cuda", dtype=x.dtype)
    return (lambda t: F.layer_norm(t, shape, w, b)), (lambda t: kt.layer_norm(t, shape, w, b)), \
        {"op": "layer_norm", "normalized_shape": shape}


def rms_norm(x, dim):
    shape = x.shape[dim:]
    w = torch.rand(shape, device="cuda", dtype=x.dtype) + 0.5
    return (lambda t: F.rms_norm(t, shape, w, 1e-6)), (lambda t: kt.rms_norm(t, shape, w, 1e-6)), \
        {"op": "rms_norm", "normalized_shape": shape}


def rms_norm_dim(x, dim):
    return (lambda t: t / torch.sqrt(t.pow(2).mean(dim, keepdim=True) + 1e-5)), \
        (lambda t: kt.rms_norm(t, None, None, 1e-5, dim=dim)), {"op": "rms_norm", "dim": dim}


OPS = {"softmax": reduction(F.softmax, kt.softmax, "softmax"),
       "log_softmax": reduction(F.log_softmax, kt.log_softmax, "log_softmax"),
       "sum": reduction(torch.sum, kt.sum, "sum"), "mean": reduction(torch.mean, kt.mean, "mean"),
       "layer_norm": layer_norm, "rms_norm": rms_norm, "rms_norm_dim": rms_norm_dim}
DTYPES = {"f32": torch.float32, "f16": torch.float16, "bf16": torch.bfloat16}
DEFAULT_CASES = ["softmax:4096x393216:1", "log_softmax:4096x393216:1", "softmax:65536x768", "softmax:4096x16384",
                 "softmax:1048576x32", "softmax:65536x768::bf16", "sum:128x4096x4095:1", "mean:4096x16384",
                 "layer_norm:16x64x256x256:1", "rms_norm_dim:112x64x512x512:1", "layer_norm:65536x768",
                 "rms_norm:65536x4096::bf16"]


def copy_rate_gbps():
    src = torch.empty(1 << 30, dtype=torch.uint8, device="cuda")
    dst = torch.empty_like(src)
    for _ in range(3):
        dst.copy_(src)
    start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    for _ in range(20):
        dst.copy_(src)
    stop.record()
    stop.synchronize()
    return 2 * src.numel() * 20 / (start.elapsed_time(stop) * 1e-3) / 1e9


def parse_case(text):
    parts = text.split(":")
    op, shape = parts[0], [int(d) for d in parts[1].split("x")]
    dim = int(parts[2]) if len(parts) > 2 and parts[2] else -1
    dtype = parts[3] if len(parts) > 3 else "f32"
    return op, shape, dim, dtype


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cases", nargs="*", default=DEFAULT_CASES)
    parser.add_argument("--samples", type=int, default=100)
    parser.add_argument("--json")
    args = parser.parse_args()
    rate = copy_rate_gbps()
    print(f"{torch.cuda.get_device_name()}, torch {torch.__version__}, copy rate {rate:.0f} GB/s; mean (median) us")
    print(f"{'case':34} {'eager':>16} {'compile':>16} {'kerntune':>16} {'floor':>8} {'% copy':>7}  config")
    records = []
    for case in args.cases:
        op, shape, dim, dtype = parse_case(case)
        x = torch.randn(shape, device="cuda", dtype=DTYPES[dtype])
        reference, ours, query = OPS[op](x, dim)
        compiled = torch.compile(reference, dynamic=False)
        contenders = {"eager": reference, "compile": compiled, "kerntune": ours}
        out = ours(x)
        if not torch.allclose(out.float(), reference(x).float(), rtol=2e-2, atol=1e-2):
            print(f"MISMATCH: {case}")
            return 1
        result = {name: (t["mean_us"], t["median_us"]) for name, t in device_times(contenders, x, args.samples).items()}
        floor_us = (x.numel() + out.numel()) * x.element_size() / (rate * 1e9) * 1e6
        choice = kt.query(input=x, **query)
        best_peer = min(result["eager"][0], result["compile"][0])
        cells = " ".join(f"{m:8.1f} ({med:5.0f})" for m, med in result.values())
        pct = floor_us / result["kerntune"][0] * 100
        mark = "" if result["kerntune"][0] <= best_peer else "  SLOWER than a peer"
        print(f"{case:34} {cells} {floor_us:8.1f} {pct:6.1f}%  {choice.match} {choice.config}{mark}")
        records.append({"case": case, "mean_median_us": result, "floor_us": floor_us, "config": choice._asdict()})
        torch._dynamo.reset()
        del x
        torch.cuda.empty_cache()
    if args.json:
        with open(args.json, "w") as out:
            json.dump({"gpu": torch.cuda.get_device_name(), "torch": torch.__version__, "copy_gbps": rate,
                       "records": records}, out, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
