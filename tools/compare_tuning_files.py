#!/usr/bin/env python3
"""Compares the winners of two tuning files (`kerntune db export` JSON Lines), for reviewing a
regenerated shipped file (docs/SHIPPED.md) against the one it replaces:

    git show HEAD:tuning_db/h200.jsonl > /tmp/old.jsonl
    tools/compare_tuning_files.py /tmp/old.jsonl tuning_db/h200.jsonl [--ops softmax,sum] [--threshold 5]

A key is (template, dtype, problem, GPU identity, NVRTC version): not the template hash, which
changes whenever the template does, as it does between the files a review compares. Prints,
per template, the keys both files hold, the geometric mean of the new median over the old, the
smallest and largest ratio, and the keys only one file holds; then every key whose median moved
by more than --threshold percent (slowest first), with both configs. Both files are two tunes,
often on two machines of one model: a change within a few percent is noise (read it against
keys whose code did not change). Exit 1 for a file that is not such a file.
"""
import argparse
import json
import math
import sys
from collections import defaultdict


def winners(path):
    """{key: (median_us, config)} of a tuning file's winner lines; SystemExit naming the line."""
    found = {}
    try:
        with open(path, encoding="utf-8") as lines:
            for number, line in enumerate(lines, 1):
                try:
                    row = json.loads(line)
                    if row.get("table") == "winners":
                        key = (row["template_name"], row["dtype"], row["problem_key"], row["gpu_identity"],
                               row["nvrtc_version"])
                        found[key] = (float(row["median_us"]), row["config"])
                except (ValueError, KeyError, TypeError, AttributeError) as e:
                    raise SystemExit(f"compare_tuning_files: {path}:{number}: not a winner line of a tuning file ({e})")
    except OSError as e:
        raise SystemExit(f"compare_tuning_files: {e}")
    return found


def geometric_mean(values):
    return math.exp(sum(math.log(v) for v in values) / len(values))


def compare(old, new, ops, threshold):
    """The report's lines."""
    def wanted(key):
        return not ops or key[0] in ops

    ratios = defaultdict(list)
    only = defaultdict(lambda: [0, 0])
    moved = []
    for key in sorted(set(old) | set(new)):
        if not wanted(key):
            continue
        if key not in new or key not in old:
            only[key[0]][0 if key in old else 1] += 1
            continue
        (old_us, old_config), (new_us, new_config) = old[key], new[key]
        ratio = new_us / old_us
        ratios[key[0]].append(ratio)
        if abs(ratio - 1) * 100 > threshold:
            moved.append((ratio, key, old_us, new_us, old_config, new_config))
    lines = [f"{'template':14} {'keys':>5} {'geomean new/old':>16} {'best':>6} {'worst':>6} {'only old':>9} {'only new':>9}"]
    for template in sorted(set(ratios) | set(only)):
        r = ratios.get(template, [])
        stats = f"{geometric_mean(r):16.3f} {min(r):6.2f} {max(r):6.2f}" if r else f"{'-':>16} {'-':>6} {'-':>6}"
        lines.append(f"{template:14} {len(r):5} {stats} {only[template][0]:9} {only[template][1]:9}")
    every = [x for r in ratios.values() for x in r]
    if every:
        lines.append(f"{'all':14} {len(every):5} {geometric_mean(every):16.3f} {min(every):6.2f} {max(every):6.2f}")
    lines.append(f"{len(moved)} keys moved by more than {threshold:g} %, slowest first:")
    for ratio, key, old_us, new_us, old_config, new_config in sorted(moved, reverse=True):
        template, dtype, problem = key[:3]
        lines.append(f"  {template:14} {dtype:5} {problem:34} {old_us:9.1f} -> {new_us:9.1f} us "
                     f"{(ratio - 1) * 100:+6.1f} %  {old_config} -> {new_config}")
    return lines


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("old", help="the file before (e.g. git show HEAD:tuning_db/h200.jsonl > old.jsonl)")
    parser.add_argument("new", help="the file after")
    parser.add_argument("--ops", default="", help="comma-separated templates to compare (default: all)")
    parser.add_argument("--threshold", type=float, default=5.0,
                        help="list the keys whose median moved by more than this many percent (default 5)")
    args = parser.parse_args(argv)
    if args.threshold < 0:
        parser.error("--threshold must be 0 or more")
    ops = {op for op in args.ops.split(",") if op}
    print("\n".join(compare(winners(args.old), winners(args.new), ops, args.threshold)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
