#!/usr/bin/env python3
"""torch.nn.functional.leaky_relu against kerntune (through its C ABI, ctypes), in one Python process
on one GPU, by the method of bench/peer_bench.cu:

  input and output allocated once per (dtype, n); input filled on the GPU with random bit patterns
  (every sign, NaN payloads, infinities, subnormals); before every sample L2 is flushed (zeroing a
  buffer of 2x the L2 size) and a short spin kernel (torch.cuda._sleep) lets the host queue the
  launch before the GPU reaches the start event, so that Python's dispatch time is not what is
  timed; torch.cuda.Event around the launch; 3 warm-up launches; at least 10 samples, until
  IQR/median < 1 %, 200 samples or 2 s of samples per contender; the two contenders interleaved
  sample by sample. Median, noise (IQR/median), GB/s = (bytes read + written) / median, % of the
  theoretical peak (memory clock x bus width x 2, from the driver).

Same sweep as peer_bench (n = 2^10..2^30 in steps of x4, 4096x393216, 2^31+5; misaligned and in-place
cases at 2^24), same JSON record format (contenders "torch" and "kerntune"). torch's output and
kerntune's are compared bit for bit once per (dtype, case, n); a mismatch is printed loudly and
makes the exit status 1.

    python3 tools/bench_torch.py --lib build/src/runtime/libkerntune.so --json torch.json \\
        [--db PATH] [--dtypes f32,f16,bf16] [--max-n N|2^K] [--commit SHA]
"""
import argparse
import ctypes
import datetime
import json
import math
import os
import re
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kerntune_ctypes import Kerntune, dtype_name  # noqa: E402

TORCH_DTYPES = {"f32": torch.float32, "f16": torch.float16, "bf16": torch.bfloat16}
BITS = {"f32": torch.int32, "f16": torch.int16, "bf16": torch.int16}  # for bitwise comparison
SPECIAL_CASES_N = 1 << 24  # the misaligned and in-place cases run at this n
SPIN_CYCLES = 50000  # as peer_bench: 25-50 us at 1-2 GHz, more than a launch through Python takes to queue
WARMUP = 3


def sweep():
    points = [(1 << k, f"2^{k}") for k in range(10, 31, 2)]
    points.append((4096 * 393216, "4096x393216"))  # the seed problem's shape
    points.append(((1 << 31) + 5, "2^31+5"))  # past int32 indexing, odd tail
    return points


def parse_count(text):
    """N, 2^K or 2^K+M."""
    try:
        if text.startswith("2^"):
            k, _, rest = text[2:].partition("+")
            return (1 << int(k)) + (int(rest) if rest else 0)
        value = int(text)
        if value < 1:
            raise ValueError
        return value
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a count: {text!r} (write N or 2^K)")


# ---- statistics: the same definition as kerntune's src/core/sample_statistics.cpp -------------------

def quantile(ordered, q):
    position = q * (len(ordered) - 1)
    below = int(position)
    above = min(below + 1, len(ordered) - 1)
    return ordered[below] + (ordered[above] - ordered[below]) * (position - below)


def summarize(samples):
    ordered = sorted(samples)
    median = quantile(ordered, 0.5)
    noise = (quantile(ordered, 0.75) - quantile(ordered, 0.25)) / median if median > 0 else 0.0
    return median, noise


# ---- device facts -------------------------------------------------------------------------------

def device_facts(library_loaded):
    """Name, CC, SMs from torch; memory clock, bus width, L2 and versions from the driver itself, as
    peer_bench reads them (cuDeviceGetAttribute), so both compute the same theoretical peak."""
    index = torch.cuda.current_device()
    props = torch.cuda.get_device_properties(index)
    facts = {"device": props.name, "compute_capability": f"{props.major}.{props.minor}",
             "sm_count": props.multi_processor_count}
    cuda = ctypes.CDLL("libcuda.so.1")

    def check(status, call):
        if status != 0:
            raise RuntimeError(f"{call} failed with CUresult {status}")

    check(cuda.cuInit(0), "cuInit")
    device = ctypes.c_int()
    check(cuda.cuDeviceGet(ctypes.byref(device), index), "cuDeviceGet")

    def attribute(code, name):
        value = ctypes.c_int()
        check(cuda.cuDeviceGetAttribute(ctypes.byref(value), code, device), f"cuDeviceGetAttribute({name})")
        return value.value

    facts["memory_clock_khz"] = attribute(36, "MEMORY_CLOCK_RATE")
    facts["bus_width_bits"] = attribute(37, "GLOBAL_MEMORY_BUS_WIDTH")
    facts["l2_bytes"] = attribute(38, "L2_CACHE_SIZE")
    if facts["l2_bytes"] <= 0:
        raise RuntimeError("the device reports no L2 size: cannot size the L2 flush")
    if min(facts["memory_clock_khz"], facts["bus_width_bits"]) > 0:
        facts["theoretical_gbps"] = 2.0 * facts["memory_clock_khz"] * 1e3 * (facts["bus_width_bits"] / 8) / 1e9
    else:  # then every % of theoretical is null, not a failure
        print(f"WARNING: the device reports memory clock {facts['memory_clock_khz']} kHz, bus width "
              f"{facts['bus_width_bits']} bits: no theoretical peak", file=sys.stderr)
        facts["theoretical_gbps"] = None
    version = ctypes.c_int()
    check(cuda.cuDriverGetVersion(ctypes.byref(version)), "cuDriverGetVersion")
    facts["cuda_driver_api_version"] = version.value
    try:
        # "NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  580.159.04  Release Build ..."
        with open("/proc/driver/nvidia/version") as file:
            found = re.search(r"\s(\d+\.\d+(?:\.\d+)?)\s", file.readline())
        facts["driver_version"] = found.group(1) if found else "unknown"
    except OSError:
        facts["driver_version"] = "unknown"
    facts["nvrtc_version"] = "unknown"
    if library_loaded:
        try:  # libkerntune has loaded libnvrtc.so.13 already: this finds that one
            nvrtc = ctypes.CDLL("libnvrtc.so.13")
            major, minor = ctypes.c_int(), ctypes.c_int()
            if nvrtc.nvrtcVersion(ctypes.byref(major), ctypes.byref(minor)) == 0:
                facts["nvrtc_version"] = f"{major.value}.{minor.value}"
        except OSError:
            pass
    facts["torch_version"] = torch.__version__
    facts["torch_cuda_version"] = torch.version.cuda
    return facts


# ---- the benchmark --------------------------------------------------------------------------------

def torch_out_call():
    """The call that times torch: leaky_relu into a given output (so that, like every other
    contender, it writes a buffer allocated once, misaligned in the misaligned case) is the out=
    overload of the op that F.leaky_relu calls; checked against F.leaky_relu before use."""
    x = torch.randn(4099, device="cuda")
    want = F.leaky_relu(x, 0.01)
    for name, call in (("torch._C._nn.leaky_relu(out=)", lambda x, y, s: torch._C._nn.leaky_relu(x, s, out=y)),
                       ("torch.ops.aten.leaky_relu.out", lambda x, y, s: torch.ops.aten.leaky_relu.out(x, s, out=y))):
        try:
            y = torch.empty_like(x)
            call(x, y, 0.01)
            if torch.equal(y.view(torch.int32), want.view(torch.int32)):
                return name, call
        except (TypeError, RuntimeError, AttributeError):
            pass
    print("WARNING: no out= form of leaky_relu works here; timing F.leaky_relu with a fresh output per call "
          "(aligned even in the misaligned case)", file=sys.stderr)
    return "F.leaky_relu (allocating)", lambda x, y, s: F.leaky_relu(x, s)


class Bench:
    def __init__(self, args, kt, facts):
        self.args, self.kt, self.facts = args, kt, facts
        self.stream = torch.cuda.current_stream()
        # Twice L2, so that nothing a contender reads can still be cached from before.
        self.flush = torch.empty(2 * facts["l2_bytes"], dtype=torch.uint8, device="cuda")
        self.can_spin = hasattr(torch.cuda, "_sleep")
        if not self.can_spin:
            print("WARNING: torch.cuda._sleep is missing: no spin before samples (small n may time the host)",
                  file=sys.stderr)
        self.torch_call_name, self.torch_call = torch_out_call()
        self.generator = torch.Generator(device="cuda")
        self.records, self.problems = [], []

    def fill(self, buffer, dtype):
        """Random bit patterns (random bytes), the same ones every time (the generator is reseeded)."""
        self.generator.manual_seed(0x6B657274756E65 + len(dtype))
        buffer.view(torch.uint8).random_(0, 256, generator=self.generator)

    def same_bits(self, got, want, dtype):
        bits = BITS[dtype]
        differ = got.view(bits) != want.view(bits)
        count = int(torch.count_nonzero(differ))
        first = int(torch.argmax(differ.to(torch.uint8))) if count else -1
        return count, first

    def time_contenders(self, contenders):
        """contenders: {name: launch()}; returns {name: (median_us, noise, count)}."""
        args = self.args
        for _ in range(WARMUP):
            for launch in contenders.values():
                launch()
        self.stream.synchronize()
        names = list(contenders)
        state = {name: {"samples": [], "total_ms": 0.0, "done": False,
                        "events": (torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True))}
                 for name in names}
        round_index = 0
        while True:
            order = names[round_index % len(names):] + names[:round_index % len(names)]  # rotate
            active = [name for name in order if not state[name]["done"]]
            if not active:
                break
            for name in active:
                self.flush.zero_()
                if self.can_spin:
                    torch.cuda._sleep(SPIN_CYCLES)
                start, stop = state[name]["events"]
                start.record(self.stream)
                contenders[name]()
                stop.record(self.stream)
            self.stream.synchronize()
            for name in active:
                start, stop = state[name]["events"]
                ms = start.elapsed_time(stop)
                one = state[name]
                one["samples"].append(1e3 * ms)
                one["total_ms"] += ms
                median, noise = summarize(one["samples"])
                count = len(one["samples"])
                if count >= args.min_samples and (noise < 0.01 or count >= args.max_samples
                                                  or one["total_ms"] >= 1e3 * args.max_seconds):
                    one["done"] = True
            round_index += 1
        return {name: summarize(state[name]["samples"]) + (len(state[name]["samples"]),) for name in names}

    def run_point(self, dtype, n, label):
        torch_dtype = TORCH_DTYPES[dtype]
        base_x = torch.empty(n + 1, dtype=torch_dtype, device="cuda")  # n + 1: the misaligned case
        base_y = torch.empty(n + 1, dtype=torch_dtype, device="cuda")
        expect = torch.empty(n, dtype=torch_dtype, device="cuda")
        cases = ["contiguous"] + (["misaligned", "inplace"] if n == SPECIAL_CASES_N else [])
        for case in cases:
            offset = 1 if case == "misaligned" else 0
            x = base_x[offset:offset + n]
            y = x if case == "inplace" else base_y[offset:offset + n]
            slope = self.args.slope
            stream_handle = self.stream.cuda_stream
            if case == "inplace":
                def run_torch():
                    F.leaky_relu(x, slope, inplace=True)
            else:
                def run_torch():
                    self.torch_call(x, y, slope)

            def run_kerntune():
                self.kt.leaky_relu_raw(dtype, x.data_ptr(), y.data_ptr(), n, slope, stream_handle)

            # ---- correctness, once: torch's output is the expectation ----
            y.view(torch.uint8).fill_(0xFF)  # poison (a NaN no LeakyReLU output can be); then the input
            self.fill(base_x, dtype)
            if self.torch_call_name.startswith("F.leaky_relu (allocating)") and case != "inplace":
                expect.copy_(F.leaky_relu(x, slope))
            else:
                run_torch()
                expect.copy_(y)
            y.view(torch.uint8).fill_(0xFF)
            self.fill(base_x, dtype)
            run_kerntune()
            wrong, first = self.same_bits(y, expect, dtype)
            if wrong:
                bits = BITS[dtype]
                mask = (1 << (8 * torch_dtype.itemsize)) - 1
                got_bits, want_bits = int(y.view(bits)[first]) & mask, int(expect.view(bits)[first]) & mask
                problem = (f"MISMATCH: kerntune vs torch, {dtype} {case} n={label}: {wrong} of {n} elements differ; "
                           f"first at {first}: got {got_bits:#x}, want {want_bits:#x}")
                print(f"\n!!!!!!!! {problem}\n", file=sys.stderr, flush=True)
                self.problems.append(problem)

            # ---- timing ----
            self.fill(base_x, dtype)
            results = self.time_contenders({"kerntune": run_kerntune, "torch": run_torch})
            match, config = self.kt.query(dtype, n)
            total_bytes = 2 * n * torch_dtype.itemsize  # read + write
            theoretical = self.facts["theoretical_gbps"]
            line = f"[{dtype:4} {case:10} n={label:11}] "
            for name in ("kerntune", "torch"):
                median, noise, count = results[name]
                gbps = total_bytes / (median * 1e-6) / 1e9
                record = {"program": "bench_torch", "dtype": dtype, "case": case, "n": n, "label": label,
                          "contender": name, "median_us": median, "noise": noise, "samples": count,
                          "bytes": total_bytes, "gbps": gbps,
                          "pct_theoretical": 100 * gbps / theoretical if theoretical else None, "pct_copy": None,
                          "check": "MISMATCH" if wrong else "ok", "mismatches": wrong}
                if name == "kerntune":
                    record.update({"config": config, "match": match})
                if (record["pct_theoretical"] or 0) > 105 and total_bytes > 2 * self.facts["l2_bytes"]:
                    problem = (f"IMPOSSIBLE BANDWIDTH: {name} {dtype} {case} n={label}: {gbps:.0f} GB/s; the timing "
                               f"does not cover its work (wrong stream?)")
                    print(f"\n!!! {problem}", file=sys.stderr)
                    self.problems.append(problem)
                self.records.append(record)
                line += f"{name} {median:.1f} us {gbps:.0f} GB/s ({100 * noise:.1f}%, {count}) | "
            print(line + f"kerntune config {config} ({match})", file=sys.stderr, flush=True)
            if match != "exact":
                print(f"     NOTE: kerntune used a {match} config: nothing tuned for this size in the database on this "
                      f"GPU with this process's NVRTC ({self.facts['nvrtc_version']}) and template", file=sys.stderr)
        del base_x, base_y, expect
        torch.cuda.synchronize()
        torch.cuda.empty_cache()  # the next, larger n gets the memory back


def fmt(value, spec):
    return "–" if value is None else format(value, spec)


def print_table(facts, records):
    print(f"\n{facts['device']} (cc {facts['compute_capability']}, {facts['sm_count']} SMs), theoretical "
          f"{fmt(facts['theoretical_gbps'], '.0f')} GB/s; times are medians, L2 flushed before each sample\n")
    print("| dtype | case | n | kerntune config (match) | kerntune us | GB/s | % theor | torch us | torch GB/s | "
          "kt/torch | check |")
    print("|---|---|---|---|---:|---:|---:|---:|---:|---:|---|")
    torch_of = {(r["dtype"], r["case"], r["n"]): r for r in records if r["contender"] == "torch"}
    ratios = {}
    for r in records:
        if r["contender"] != "kerntune":
            continue
        t = torch_of.get((r["dtype"], r["case"], r["n"]))
        if t is None:
            continue
        ratio = r["median_us"] / t["median_us"]
        ratios.setdefault(r["dtype"], []).append(ratio)
        check = "ok" if r["check"] == "ok" else "**MISMATCH**"
        print(f"| {r['dtype']} | {r['case']} | {r['label']} | {r['config']} ({r['match']}) | {r['median_us']:.1f} | "
              f"{r['gbps']:.0f} | {fmt(r['pct_theoretical'], '.1f')} | {t['median_us']:.1f} | {t['gbps']:.0f} | {ratio:.3f} | "
              f"{check} |")
    print("\nkt/torch: kerntune's median time over torch's (< 1: kerntune is faster).")
    for dtype, values in ratios.items():
        geomean = math.exp(sum(math.log(v) for v in values) / len(values))
        print(f"geometric mean kt/torch, {dtype}: {geomean:.3f} over {len(values)} rows")


def write_json(args, facts, bench, problems, started, seconds):
    metadata = dict(facts)
    metadata.update({
        "program": "bench_torch", "git_commit": args.commit, "command_line": " ".join([sys.executable] + sys.argv),
        "db": args.db or os.environ.get("KERNTUNE_DB") or "(runtime default)", "library": args.lib,
        "started_utc": started, "wall_seconds": seconds,
        "torch_call": bench.torch_call_name if bench else None,
        "method": {"timer": "torch.cuda.Event", "l2_flush_bytes": 2 * facts["l2_bytes"],
                   "spin_cycles": SPIN_CYCLES if bench and bench.can_spin else 0, "warmup": WARMUP,
                   "min_samples": args.min_samples, "max_samples": args.max_samples, "target_noise": 0.01,
                   "max_seconds_per_contender": args.max_seconds, "interleaved": True, "statistic": "median",
                   "noise": "IQR/median", "bytes": "read + write", "negative_slope": args.slope},
        "problems": problems})
    temporary = args.json + ".tmp"  # written beside, then renamed over: a kill mid-write keeps the last whole file
    with open(temporary, "w") as file:
        json.dump({"metadata": metadata, "records": bench.records if bench else []}, file, indent=1)
    os.replace(temporary, args.json)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lib", default=os.environ.get("KERNTUNE_LIB", "build/src/runtime/libkerntune.so"),
                        help="libkerntune.so (default: $KERNTUNE_LIB, else build/src/runtime/libkerntune.so)")
    parser.add_argument("--db", default=None, help="tuning database (default: the runtime's: $KERNTUNE_DB, ...)")
    parser.add_argument("--json", default=None, help="write the records here")
    parser.add_argument("--dtypes", default="f32,f16,bf16")
    parser.add_argument("--max-n", type=parse_count, default=None, help="skip larger n (N or 2^K)")
    parser.add_argument("--commit", default="unknown", help="git commit of the build (the caller runs git)")
    parser.add_argument("--min-samples", type=int, default=10)
    parser.add_argument("--max-samples", type=int, default=200)
    parser.add_argument("--max-seconds", type=float, default=2.0, help="of samples, per contender and point")
    parser.add_argument("--slope", type=float, default=0.01)
    args = parser.parse_args()
    dtypes = [d for d in args.dtypes.split(",") if d]
    for d in dtypes:
        dtype_name(d)  # raises on an unknown dtype
    args.min_samples = max(3, args.min_samples)
    args.max_samples = max(args.max_samples, args.min_samples)

    started = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    wall = time.monotonic()
    if not torch.cuda.is_available():
        print("bench_torch: torch sees no CUDA device", file=sys.stderr)
        return 1
    torch.cuda.set_device(0)
    stream = torch.cuda.Stream()  # not the default stream: kerntune must honour the stream it is given
    bench, facts = None, None
    problems = []
    with torch.cuda.stream(stream):
        try:
            kt = Kerntune(args.lib, args.db)
            facts = device_facts(library_loaded=True)
            print(f"bench_torch on {facts['device']} (cc {facts['compute_capability']}, {facts['sm_count']} SMs, "
                  f"L2 {facts['l2_bytes'] >> 20} MiB, theoretical {fmt(facts['theoretical_gbps'], '.0f')} GB/s), "
                  f"driver {facts['driver_version']}, torch {torch.__version__}", file=sys.stderr, flush=True)
            bench = Bench(args, kt, facts)
            print(f"torch contender: {bench.torch_call_name} (in place: F.leaky_relu(inplace=True))", file=sys.stderr)
            for dtype in dtypes:
                for n, label in sweep():
                    if args.max_n is not None and n > args.max_n:
                        continue
                    try:
                        bench.run_point(dtype, n, label)
                        if args.json:  # rewritten after every point: a run killed by a time limit keeps its data
                            write_json(args, facts, bench, bench.problems + problems, started, time.monotonic() - wall)
                    except torch.cuda.OutOfMemoryError as failure:
                        problem = f"ERROR: {dtype} n={label}: out of memory: {failure}"
                        print(f"\n!!!!!!!! {problem}\n", file=sys.stderr, flush=True)
                        bench.problems.append(problem)
                        torch.cuda.empty_cache()
        except Exception as failure:  # keep what was measured: write the JSON below
            problems.append(f"FATAL: {type(failure).__name__}: {failure}")
            print(f"bench_torch: {problems[-1]}", file=sys.stderr)
    records = bench.records if bench else []
    problems = (bench.problems if bench else []) + problems
    if facts:
        print_table(facts, records)
    if args.json and facts:
        write_json(args, facts, bench, problems, started, time.monotonic() - wall)
        print(f"bench_torch: wrote {args.json} ({len(records)} records, {time.monotonic() - wall:.0f} s)",
              file=sys.stderr)
    if problems:
        print(f"\nbench_torch: {len(problems)} PROBLEM(S):", file=sys.stderr)
        for problem in problems:
            print(f"  {problem}", file=sys.stderr)
        print(f"\n**bench_torch: {len(problems)} problem(s), see stderr: {problems[0]}**")
        return 1
    print("bench_torch: every output check passed", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
