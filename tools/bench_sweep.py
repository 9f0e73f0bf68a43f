#!/usr/bin/env python3
"""Issue 15 item 1's benchmark: with only each op's ladder tuned, how far from its own optimum
does every point of a fine sweep of shapes run?

On the GPU machine, over a Release build (no torch needed: the CLI and libkerntune through ctypes):

    tools/bench_sweep.py [--build build] [--out DIR] [--full] [--ops OPS] [--dtypes D,D] [--threshold 0.02]
                         [--ladder DB | --ladder FILE.jsonl]

1. Tunes every op's default shapes (`kerntune tune --op OP`, its ladder) into DIR/ladder.db, or
   takes them from --ladder (a database, or a shipped file whose winners are imported).
2. Copies it to DIR/sweep.db (compiled programs and the ladder's rows come along) and tunes
   every sweep point there, each its own key: its winner is the point's own optimum, and every
   candidate of the space is measured, the ladder's pick among them (by the tuner's method:
   CUDA events, L2 flushed, median; a candidate stopped early for being slower still has 5
   samples or more).
3. Asks libkerntune, over a copy of the ladder database only (KERNTUNE_SHIPPED_DB=off), which
   config each point uses (kt_query_choice: exact, nearest within its regime, or default), and
   compares that config's median at the point with the point's winner.

A point misses when the pick's median is over the optimum's by more than --threshold (2 %).
Prints a table, the misses by name, and writes DIR/sweep.json (with every candidate's median at
every point and ladder shape) and DIR/sweep.md (for bench/RESULTS.md). The default sweep (f32
and bf16; leaky_relu from 2^10 to 2^30 with odd sizes between, softmax and sum over rows of 32
to 393216, few rows and columns) takes about a minute on an H200 over a tuned ladder; --ops all
sweeps every op `kerntune list` shows (the one-axis ones over n, the row reductions over rows);
--full sweeps every op, f32, f16 and bf16, n up to 2^32 with an odd size between every power of
two, and more row lengths (longer than one 10-minute call of the GPU machine: split it by --ops).
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kerntune_ctypes import Kerntune  # noqa: E402

ROW_AXES = ["outer", "reduce", "inner"]  # a row reduction's problem (any other op here: n)


def built_in_ops(cli):
    """{op: its problem axes} for every template `kerntune list` shows, in its order."""
    text = subprocess.run([cli, "list", "--json"], stdout=subprocess.PIPE, check=True, text=True).stdout
    return {t["name"]: t["axes"] for t in json.loads(text)["result"]["templates"]}


def elementwise_sweep(full):
    """n from 2^10 to 2^30 (2^32 with --full): powers of two and odd sizes between."""
    top = 32 if full else 30
    points = []
    for k in range(10, top + 1):
        if full or k % 2 == 0:
            points.append(1 << k)
        if k < top and (full or k % 4 == 3):
            points.append(3 * (1 << (k - 1)) + 1)  # odd, halfway (in log space) between powers
    return sorted(set(points))


def reduction_sweep(full, elements):
    """(outer, reduce, inner): rows of 32 to 393216 (4194304 with --full) over about `elements`
    elements, odd lengths among them (short ones in softmax's held classes between its ladder's
    rungs: 127, 300, 500, 1500), then columns (inner > 1)."""
    lengths = [32, 100, 127, 300, 500, 768, 1500, 2048, 4097, 16384, 30000, 65536, 393216]
    if full:
        lengths += [64, 257, 1000, 1024, 3000, 8192, 12288, 50000, 57088, 57089, 100000, 131071, 262144, 1048576, 4194304]
    shapes = [(max(1, elements // r), r, 1) for r in sorted(set(lengths))]
    # Few rows (LLM-like hidden sizes at small batches, long rows of few): where clusters pay.
    shapes += [(128, 4096, 1), (16, 65536, 1), (300, 50000, 1)] + ([(8, 16384, 1), (1, 262144, 1)] if full else [])
    shapes += [(64, 100, 4096), (16, 1000, 1024)] + ([(256, 7, 65536), (8, 16384, 64)] if full else [])
    return shapes


def problem_key(is_rows, shape):
    return "outer=%d.reduce=%d.inner=%d" % shape if is_rows else "n=%d" % shape


def shape_arg(is_rows, shape):
    return "x".join(str(d) for d in shape) if is_rows else str(shape)


def run(cmd, log):
    start = time.time()
    result = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    log.write("$ %s\n%s\n(exit %d, %.1f s)\n" % (" ".join(cmd), result.stdout, result.returncode, time.time() - start))
    log.flush()
    return result.returncode


def candidates(cli, db, op, dtype):
    """{problem key: {config: (median_us, noise, samples)}} of ok measurements."""
    text = subprocess.run([cli, "db", "show", "--candidates", "--json", "--db", db, "--op", op, "--dtype", dtype],
                          stdout=subprocess.PIPE, check=True, text=True).stdout
    rows = {}
    for m in json.loads(text)["result"]["measurements"]:
        if m["status"] == "ok":
            rows.setdefault(m["problem"], {})[m["config"]] = (m["median_us"], m["noise"], m["samples"])
    return rows


def medians(configs):
    """{config: median_us} of one problem's candidates (as candidates() gives them), sorted by config."""
    return {c: m[0] for c, m in sorted(configs.items())}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build", default="build")
    parser.add_argument("--out", default=os.environ.get("OUT", "sweep-out"))
    parser.add_argument("--full", action="store_true", help="every built-in op, f32/f16/bf16, n to 2^32, more row lengths")
    parser.add_argument("--ops", help="comma-separated ops, or all (default: leaky_relu,softmax,sum; --full: all)")
    parser.add_argument("--dtypes", help="comma-separated dtypes (default f32,bf16; --full f32,f16,bf16)")
    parser.add_argument("--elements", type=int, default=1 << 24, help="elements of each reduction shape (2^24)")
    parser.add_argument("--threshold", type=float, default=0.02)
    parser.add_argument("--ladder", help="a database already tuned at every op's default shapes (e.g. the ship.db of "
                                         "tools/ship_tuning_db.sh): copied instead of tuning the ladders again; or a "
                                         "shipped file (tuning_db/h200.jsonl): its winners imported, nothing tuned")
    args = parser.parse_args()

    dtypes = args.dtypes or ("f32,f16,bf16" if args.full else "f32,bf16")
    cli = os.path.join(args.build, "tools", "kerntune")
    axes = built_in_ops(cli)
    wanted = args.ops or ("all" if args.full else "leaky_relu,softmax,sum")
    ops = list(axes) if wanted == "all" else wanted.split(",")
    unknown = [op for op in ops if op not in axes]
    if unknown:
        sys.exit("unknown ops %s: kerntune list shows %s" % (", ".join(unknown), ", ".join(axes)))
    is_rows = {op: axes[op] == ROW_AXES for op in ops}
    lib = os.path.join(args.build, "src", "runtime", "libkerntune.so")
    os.makedirs(args.out, exist_ok=True)
    ladder, sweep, lookup = (os.path.join(args.out, name) for name in ("ladder.db", "sweep.db", "lookup.db"))
    for db in (ladder, sweep, lookup):
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(db + suffix):
                os.remove(db + suffix)
    os.environ["KERNTUNE_SHIPPED_DB"] = "off"  # the ladder's rows only, in the lookup and everywhere
    log = open(os.path.join(args.out, "sweep_tune.log"), "w")
    started = time.time()

    if args.ladder and args.ladder.endswith(".jsonl"):  # 1. the ladders' winners, shipped: nothing to tune
        if run([cli, "db", "import", args.ladder, "--db", ladder], log) != 0:
            sys.exit("kerntune db import %s failed (see %s)" % (args.ladder, log.name))
    else:
        if args.ladder:  # tuned already: a tune of them resumes, with nothing to measure
            shutil.copyfile(args.ladder, ladder)
        for op in ops:
            run([cli, "tune", "--op", op, "--dtype", dtypes, "--db", ladder], log)
    print("ladders tuned: %.0f s" % (time.time() - started), flush=True)
    shutil.copyfile(ladder, sweep)
    shutil.copyfile(ladder, lookup)  # the runtime caches compiled picks in it; the ladder stays as tuned

    points = {op: (reduction_sweep(args.full, args.elements) if is_rows[op] else elementwise_sweep(args.full))
              for op in ops}
    failed_tunes = []
    for op in ops:  # 2. every sweep point, each its own key
        if run([cli, "tune", "--op", op, "--dtype", dtypes, "--db", sweep,
                "--shape", ",".join(shape_arg(is_rows[op], s) for s in points[op])], log) != 0:
            failed_tunes.append(op)
    print("sweep tuned: %.0f s" % (time.time() - started), flush=True)

    results = []
    with Kerntune(lib, lookup) as kt:  # 3. the ladder-only lookup against each point's optimum
        for op in ops:
            for dtype in dtypes.split(","):
                measured = candidates(cli, sweep, op, dtype)
                for shape in points[op]:
                    extents = list(shape) if is_rows[op] else [shape]
                    match, pick, _ = kt.query_choice(dtype, extents, op)
                    rows = measured.get(problem_key(is_rows[op], shape), {})
                    row = {"op": op, "dtype": dtype, "shape": shape_arg(is_rows[op], shape), "match": match, "pick": pick}
                    if not rows:
                        row["error"] = "not tuned (see sweep_tune.log)"
                    else:
                        best = min(rows, key=lambda c: rows[c][0])
                        row.update(best=best, best_us=rows[best][0],
                                   candidates=medians(rows))
                        if pick in rows:
                            row.update(pick_us=rows[pick][0], pick_noise=rows[pick][1], pick_samples=rows[pick][2],
                                       slower=rows[pick][0] / rows[best][0] - 1)
                        else:
                            row["error"] = "the pick has no ok measurement at this shape"
                    row["miss"] = "error" in row or row["slower"] > args.threshold
                    results.append(row)

    header = "| op | dtype | shape | lookup | pick | pick us | optimum | optimum us | slower |"
    lines = [header, "|" + "---|" * 9]
    for r in results:
        lines.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s%s |" % (
            r["op"], r["dtype"], r["shape"], r["match"], r["pick"], "%.2f" % r["pick_us"] if "pick_us" in r else "-",
            r.get("best", "-"), "%.2f" % r["best_us"] if "best_us" in r else "-",
            "%+.1f %%" % (100 * r["slower"]) if "slower" in r else r.get("error", ""), " **miss**" if r["miss"] else ""))
    misses = [r for r in results if r["miss"]]
    summary = "%d of %d points within %.0f %% of their own optimum (%s; %s); %.0f s in all" % (
        len(results) - len(misses), len(results), 100 * args.threshold, ", ".join(ops), dtypes, time.time() - started)
    missed = ["%s %s %s (%s)" % (r["op"], r["dtype"], r["shape"],
                                 "%+.1f %%" % (100 * r["slower"]) if "slower" in r else r["error"]) for r in misses]
    text = "\n".join(lines) + "\n\n" + summary + ".\n" + ("Misses: " + "; ".join(missed) + ".\n" if missed else "")
    with open(os.path.join(args.out, "sweep.md"), "w") as f:
        f.write(text)
    with open(os.path.join(args.out, "sweep.json"), "w") as f:
        # Every candidate's median at every ladder shape too (from a shipped file, the winners'
        # alone): with each point's candidates above, what another lookup rule would have
        # picked can be worked out without the GPU.
        ladder_medians = {op: {dtype: {key: medians(configs)
                                       for key, configs in sorted(candidates(cli, ladder, op, dtype).items())}
                               for dtype in dtypes.split(",")} for op in ops}
        json.dump({"threshold": args.threshold, "ops": ops, "dtypes": dtypes, "failed_tunes": failed_tunes,
                   "ladder": ladder_medians,
                   "points": results}, f, indent=1)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
