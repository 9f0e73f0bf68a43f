#!/usr/bin/env python3
"""Merges the JSON of bench/peer_bench and tools/bench_torch.py: a markdown table on stdout (kerntune's
time, GB/s, % of theoretical and of the copy, every peer's time and kerntune's ratio to each, with
the geometric means per dtype) and, with --png, a plot of GB/s against n, one line per contender,
one panel per dtype.

    python3 bench/plot.py peer.json torch.json --png bench.png > results.md

Ratios are kerntune's median time over the peer's (< 1: kerntune is faster). kt/CUB, kt/memcpy and
kt/naive come from peer_bench's process; kt/torch from bench_torch's, where kerntune and torch were
timed side by side.
"""
import argparse
import json
import math
import sys

DTYPE_ORDER = ["f32", "f16", "bf16"]
CASE_ORDER = ["contiguous", "misaligned", "inplace"]
# (program, contender) -> label on the plot and in the table
CONTENDERS = [
    (("peer_bench", "kerntune"), "kerntune"),
    (("peer_bench", "cub"), "CUB DeviceTransform"),
    (("peer_bench", "memcpy"), "cuMemcpyDtoD (copy)"),
    (("peer_bench", "naive"), "naive seed kernel"),
    (("bench_torch", "torch"), "torch leaky_relu"),
    (("bench_torch", "kerntune"), "kerntune (torch process)"),
]


def load(paths):
    metadata, records = [], {}
    for path in paths:
        with open(path) as file:
            data = json.load(file)
        meta = data.get("metadata", {})
        metadata.append((path, meta))
        for r in data.get("records", []):
            program = r.get("program", meta.get("program", "?"))
            records[(program, r["contender"], r["dtype"], r["case"], int(r["n"]))] = r
    return metadata, records


def fmt(value, spec):
    return "–" if value is None or (isinstance(value, float) and not math.isfinite(value)) else format(value, spec)


def ratio(a, b):
    if a is None or b is None or not b.get("median_us"):
        return None
    return a["median_us"] / b["median_us"]


def geomean(values):
    values = [v for v in values if v is not None and v > 0]
    return (math.exp(sum(math.log(v) for v in values) / len(values)), len(values)) if values else (None, 0)


def points(records):
    """Every (dtype, case, n, label) measured, in table order."""
    seen = {}
    for (program, contender, dtype, case, n), r in records.items():
        seen[(dtype, case, n)] = r.get("label", str(n))
    key = lambda p: (DTYPE_ORDER.index(p[0]) if p[0] in DTYPE_ORDER else 99,
                     CASE_ORDER.index(p[1]) if p[1] in CASE_ORDER else 99, p[2])
    return [(d, c, n, seen[(d, c, n)]) for d, c, n in sorted(seen, key=key)]


def print_markdown(metadata, records):
    print("# kerntune leaky_relu against its peers\n")
    for path, meta in metadata:
        print(f"- `{path}` ({meta.get('program', '?')}): {meta.get('device', '?')} (cc {meta.get('compute_capability', '?')}, "
              f"{meta.get('sm_count', '?')} SMs), driver {meta.get('driver_version', '?')}, NVRTC "
              f"{meta.get('nvrtc_version', '?')}, theoretical {fmt(meta.get('theoretical_gbps'), '.0f')} GB/s, commit "
              f"`{meta.get('git_commit', '?')}`" + (f", torch {meta['torch_version']}" if "torch_version" in meta else "")
              + f"; `{meta.get('command_line', '?')}`")
    print("\nMethod: CUDA events, L2 flushed (2x its size) before every sample, median of >= 10 samples (until "
          "IQR/median < 1 %, 200 samples or 2 s), contenders interleaved; GB/s counts bytes read + written. "
          "kt/X = kerntune's time / X's (< 1: kerntune faster).\n")
    print("| dtype | case | n | kerntune config (match) | kerntune us | noise | GB/s | % theor | % copy | CUB us | "
          "memcpy us | naive us | torch us | kt/CUB | kt/torch | kt/memcpy | kt/naive | checks |")
    print("|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    ratios = {}  # dtype -> name -> [(case, ratio)]
    rows = []  # for the targets
    for dtype, case, n, label in points(records):
        get = lambda program, contender: records.get((program, contender, dtype, case, n))
        kt = get("peer_bench", "kerntune") or get("bench_torch", "kerntune")
        cub, copy, naive = get("peer_bench", "cub"), get("peer_bench", "memcpy"), get("peer_bench", "naive")
        torch_r, kt_torch = get("bench_torch", "torch"), get("bench_torch", "kerntune")
        row_ratios = {"CUB": ratio(get("peer_bench", "kerntune"), cub), "torch": ratio(kt_torch, torch_r),
                      "memcpy": ratio(get("peer_bench", "kerntune"), copy),
                      "naive": ratio(get("peer_bench", "kerntune"), naive)}
        for name, value in row_ratios.items():
            ratios.setdefault(dtype, {}).setdefault(name, []).append((case, value))
        rows.append({"name": f"{dtype} {case} {label}", "n": n, "ratios": (row_ratios["CUB"], row_ratios["torch"]),
                     "pct": kt and kt["pct_theoretical"], "cub_pct": cub and cub["pct_theoretical"]})
        bad = sorted({f"{p}:{c}" for (p, c, d, k, m), r in records.items()
                      if (d, k, m) == (dtype, case, n) and r.get("check") == "MISMATCH"})
        pct_copy = kt.get("pct_copy") if kt else None
        if pct_copy is None and kt and copy:
            pct_copy = 100 * copy["median_us"] / kt["median_us"]
        config = f"{kt.get('config', '?')} ({kt.get('match', '?')})" if kt else "–"
        print(f"| {dtype} | {case} | {label} | {config} | {fmt(kt and kt['median_us'], '.1f')} | "
              f"{fmt(kt and 100 * kt['noise'], '.1f')}% | {fmt(kt and kt['gbps'], '.0f')} | "
              f"{fmt(kt and kt['pct_theoretical'], '.1f')} | {fmt(pct_copy, '.1f')} | "
              f"{fmt(cub and cub['median_us'], '.1f')} | {fmt(copy and copy['median_us'], '.1f')} | "
              f"{fmt(naive and naive['median_us'], '.1f')} | {fmt(torch_r and torch_r['median_us'], '.1f')} | "
              f"{fmt(row_ratios['CUB'], '.3f')} | {fmt(row_ratios['torch'], '.3f')} | {fmt(row_ratios['memcpy'], '.3f')} | "
              f"{fmt(row_ratios['naive'], '.3f')} | {'**MISMATCH ' + ', '.join(bad) + '**' if bad else 'ok'} |")

    print("\n## Geometric means of kt/X (< 1: kerntune faster)\n")
    print("| dtype | kt/torch, sweep | kt/torch, all rows | kt/CUB, sweep | kt/CUB, all rows | kt/memcpy, sweep | "
          "kt/naive, sweep |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for dtype in sorted(ratios, key=lambda d: DTYPE_ORDER.index(d) if d in DTYPE_ORDER else 99):
        cells = []
        for name, which in (("torch", "sweep"), ("torch", "all"), ("CUB", "sweep"), ("CUB", "all"),
                            ("memcpy", "sweep"), ("naive", "sweep")):
            values = [v for case, v in ratios[dtype][name] if which == "all" or case == "contiguous"]
            g, count = geomean(values)
            cells.append(f"{fmt(g, '.3f')} ({count})" if count else "–")
        print(f"| {dtype} | " + " | ".join(cells) + " |")
    print("\nsweep: the contiguous case over every n; all rows: with the misaligned and in-place cases at 2^24. "
          "(k): how many rows.")
    print_targets(rows)
    problems = [(path, p) for path, meta in metadata for p in meta.get("problems", [])]
    if problems:
        print("\n## PROBLEMS\n")
        for path, p in problems:
            print(f"- **{path}: {p.strip()}**".replace("\n", " "))


def print_targets(rows):
    """The per-row targets of the benchmark issue, counted from the same medians as the table."""
    print("\n## Per-row targets\n")
    for label, selected, limit in (("n >= 2^20", lambda n: n >= 1 << 20, 1.01), ("n < 2^20", lambda n: n < 1 << 20, 1.03)):
        # kt / min(CUB, torch) is the larger of the two ratios, each from its own process.
        checked = [(r["name"], max(v for v in r["ratios"] if v is not None)) for r in rows
                   if selected(r["n"]) and any(v is not None for v in r["ratios"])]
        misses = [f"{name} {value:.3f}" for name, value in checked if value > limit]
        print(f"- {label}: kerntune <= {limit} x min(CUB, torch) at {len(checked) - len(misses)} of {len(checked)} rows"
              + (f"; misses: {', '.join(misses)}" if misses else ""))
    large = [r for r in rows if r["n"] >= 1 << 26 and r["pct"] is not None]
    if large:
        below = [f"{r['name']} {r['pct']:.1f} % (CUB {fmt(r['cub_pct'], '.1f')} %)" for r in large if r["pct"] < 91]
        print(f"- n >= 2^26: at least 91 % of theoretical at {len(large) - len(below)} of {len(large)} rows"
              + (f"; below: {', '.join(below)}" if below else ""))


def plot(metadata, records, path):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("bench/plot.py: matplotlib is not installed here, so no plot was written (the table was). Run this "
              "where matplotlib is (the GPU machine has it), or pip install matplotlib.", file=sys.stderr)
        return False
    dtypes = [d for d in DTYPE_ORDER if any(k[2] == d for k in records)]
    if not dtypes:
        print("bench/plot.py: no records to plot", file=sys.stderr)
        return False
    figure, axes = plt.subplots(1, len(dtypes), figsize=(6.5 * len(dtypes), 5), squeeze=False, sharey=True)
    theoretical = next((m.get("theoretical_gbps") for _, m in metadata if m.get("theoretical_gbps")), None)
    device = next((m.get("device") for _, m in metadata if m.get("device")), "?")
    styles = {"kerntune": "-o", "kerntune (torch process)": "--o"}
    for axis, dtype in zip(axes[0], dtypes):
        for (program, contender), label in CONTENDERS:
            series = sorted((k[4], r["gbps"]) for k, r in records.items()
                            if k[:4] == (program, contender, dtype, "contiguous"))
            if series:
                axis.plot([math.log2(n) for n, _ in series], [g for _, g in series], styles.get(label, "-."),
                          label=label, markersize=3, linewidth=2 if label == "kerntune" else 1.2)
        if theoretical:
            axis.axhline(theoretical, color="gray", linestyle=":", linewidth=1, label="theoretical")
        axis.set_title(f"{dtype}, contiguous")
        ticks = list(range(10, 32, 2))
        axis.set_xticks(ticks)
        axis.set_xticklabels([f"$2^{{{k}}}$" for k in ticks])
        axis.set_xlabel("n (elements, log scale)")
        axis.grid(True, alpha=0.3)
    axes[0][0].set_ylabel("GB/s (bytes read + written) / median time")
    axes[0][-1].legend(fontsize=8, loc="lower right")
    figure.suptitle(f"leaky_relu on {device}: kerntune and its peers, L2 flushed, median")
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    print(f"bench/plot.py: wrote {path}", file=sys.stderr)
    return True


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("json", nargs="+", help="JSON files of peer_bench and/or bench_torch.py")
    parser.add_argument("--png", help="write the plot here (PNG; .svg also works)")
    args = parser.parse_args()
    metadata, records = load(args.json)
    print_markdown(metadata, records)
    if args.png and not plot(metadata, records, args.png):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
