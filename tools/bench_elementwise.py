#!/usr/bin/env python3
"""kerntune.torch's elementwise ops against torch eager, torch.compile and a copy, in one process on one GPU.

Every named op (kerntune.torch.relu ... new_gelu, torch.nn.functional's defaults) and three
expressions (kerntune.torch.elementwise: x * sigmoid(x), x / (1 + abs(x)), the new GELU) at
4096 x 393216 float32 and at an odd size, 2^26 + 1 elements, in float16 and bfloat16; the new
GELU (kerntune.torch.new_gelu) also at 8192 x 8192 in each dtype. The method of tools/bench_reductions.py
(tools/torch_timing.py): CUDA events around one call, L2 flushed before every sample, the
contenders interleaved sample by sample; the median of --samples samples (the mean beside it in
the JSON). The fourth contender is torch's copy_ of the input into a tensor of its size (read
once, written once: what an elementwise op of one input moves), whose rate is the bar (issue 14:
at least 98 % of it at 2^26 elements and more). torch.compile compiles each (op, dtype, shape)
once (dynamic=False: its best kernel for the shape), which is most of the run time: 63
compiles, meant to take under 3 minutes on an H200 (the last line says how long it took). kerntune uses whatever the tuning database ($KERNTUNE_DB)
holds: tune first (kerntune tune --op silu --shape ...), or see configs "default".

    KERNTUNE_LIB=build/src/runtime/libkerntune.so PYTHONPATH=python \\
        python3 tools/bench_elementwise.py [--samples 30] [--json out.json] [--more] [--ops relu silu ...]

--more adds 4096 x 393215 (odd) in float16 and bfloat16, 2^26 + 1 in float32, and 8192 x 8192 for
every op (about three times as long).
"""
import argparse
import json
import os
import sys
import time

import torch

import kerntune.torch as kt

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import elementwise_accuracy  # noqa: E402  (the named ops and their torch counterparts)
from torch_timing import device_times  # noqa: E402

DTYPES = {"f32": torch.float32, "f16": torch.float16, "bf16": torch.bfloat16}
ODD = 2**26 + 1
NEW_GELU = "0.5 * x * (1 + tanh(0.7978845608028654 * (x + 0.044715 * (x * x * x))))"


def contenders():
    """{label: (kerntune, torch eager, what kt.query / query_expression takes)}."""
    table = {}
    for case in elementwise_accuracy.cases():
        if "(" in case.label and case.label != "gelu(approximate='tanh')":
            continue  # the variants with other arguments: same kernels, same speed
        op = "gelu_tanh" if case.label.startswith("gelu(") else case.label
        table[case.label] = (case.ours, case.torch, ("op", op))
    expressions = {"x * sigmoid(x)": lambda t: t * torch.sigmoid(t),
                   "x / (1 + abs(x))": lambda t: t / (t.abs() + 1),
                   NEW_GELU: elementwise_accuracy.new_gelu_torch}
    for text, reference in expressions.items():
        table[f'elementwise("{text}")' if text != NEW_GELU else 'elementwise(new GELU)'] = (
            lambda t, text=text: kt.elementwise(text, t), reference, ("expression", text))
    return table


def configs(more):
    """(dtype, shape, which ops) in the order they run."""
    runs = [("f32", (4096, 393216), None), ("f16", (ODD,), None), ("bf16", (ODD,), None)]
    # The new GELU's named op and its expression are one kernel (one canonical form): once here.
    runs += [(d, (8192, 8192), ("new_gelu",)) for d in DTYPES]
    if more:
        runs = [r for r in runs if r[1] != (8192, 8192)]
        runs += [("f16", (4096, 393215), None), ("bf16", (4096, 393215), None), ("f32", (ODD,), None)]
        runs += [(d, (8192, 8192), None) for d in DTYPES]
    return runs


def close(a, b):
    """A sanity check, not the accuracy measurement (tools/elementwise_accuracy.py is)."""
    return torch.allclose(a.float(), b.float(), rtol=2e-2, atol=1e-3, equal_nan=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=30)
    parser.add_argument("--more", action="store_true", help="more sizes (about three times as long)")
    parser.add_argument("--ops", nargs="*", help="only these (labels as printed)")
    parser.add_argument("--json")
    args = parser.parse_args()
    start = time.time()
    table = contenders()
    print(f"{torch.cuda.get_device_name()}, torch {torch.__version__}; median us of {args.samples} samples; "
          f"'% copy': copy_'s time / kerntune's")
    print(f"{'case':58} {'eager':>9} {'compile':>9} {'kerntune':>9} {'copy':>9} {'% copy':>7}  config")
    records = []
    for dtype_name, shape, only in configs(args.more):
        dtype = DTYPES[dtype_name]
        x = torch.randn(shape, device="cuda", dtype=dtype)
        out = torch.empty_like(x)
        for label, (ours, reference, query) in table.items():
            if (only is not None and label not in only) or (args.ops and label not in args.ops):
                continue
            case = f"{label} {'x'.join(map(str, shape))} {dtype_name}"
            compiled = torch.compile(reference, dynamic=False)
            timed = {"eager": reference, "compile": compiled, "kerntune": ours, "copy": lambda t: out.copy_(t)}
            mine = ours(x)
            mark = "" if close(mine, reference(x)) else "  MISMATCH with eager"
            del mine
            result = device_times(timed, x, args.samples)
            median = {name: t["median_us"] for name, t in result.items()}
            choice = kt.query(query[1], x) if query[0] == "op" else kt.query_expression(query[1], x)
            best_peer = min(median["eager"], median["compile"])
            pct = median["copy"] / median["kerntune"] * 100
            if median["kerntune"] > best_peer:
                mark += "  SLOWER than a peer"
            if x.numel() >= 2**26 and pct < 98:
                mark += "  under 98 % of copy"
            cells = " ".join(f"{median[n]:9.1f}" for n in ("eager", "compile", "kerntune", "copy"))
            print(f"{case:58} {cells} {pct:6.1f}%  {choice.match} {choice.config}{mark}", flush=True)
            records.append({"case": case, "op": label, "dtype": dtype_name, "shape": list(shape), "times_us": result,
                            "percent_of_copy": pct, "config": choice._asdict(), "flags": mark.strip()})
            torch._dynamo.reset()
        del x, out
        torch.cuda.empty_cache()
    print(f"{len(records)} cases in {time.time() - start:.0f} s")
    if args.json:
        with open(args.json, "w") as out_file:
            json.dump({"gpu": torch.cuda.get_device_name(), "torch": torch.__version__, "samples": args.samples,
                       "records": records}, out_file, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
