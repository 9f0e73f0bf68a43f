#!/usr/bin/env python3
"""A/B of built-in templates against their text at an earlier commit, on one GPU in one call:
the method of bench/RESULTS.md's A/B tables.

    tools/ab_templates.py --base REV --ops softmax,sum --shapes 65536x127,4095x4097 \\
        [--dtypes f32,bf16] [--build build] [--out ab-out] [--threshold 0] [--prepare-only]
    tools/ab_templates.py --use-copies --ops softmax,sum --shapes ...   (after --prepare-only)

1. Writes OUT/base/: each op's spec file at REV (templates/OP.yaml) as OP_base (its variants
   left out), its source and every header of templates/ and templates/support/ at REV. A
   template's own folder is searched first for its includes (docs/TEMPLATES.md), so the copy
   compiles the old headers. OUT/base/BASE_COMMIT names the commit.
2. Tunes the base copy and the built-in op one after the other, dtype by dtype, into OUT/ab.db
   with the shipped rows off: every candidate of both validated and timed by the tuner's method
   on the same GPU in the same call.
3. Prints the comparison as tools/compare_tuning_files.py does, the base copy as old and the
   built-in as new (--threshold 0, the default, lists every key).

--prepare-only stops after step 1, so that a machine without a GPU can check the copies:
`kerntune tune --dry-run --arch sm_90 --templates OUT/base --op OP_base`. --use-copies starts at
step 2 with the copies an earlier --prepare-only left in OUT/base: for a machine without the
repository's history, such as a lent GPU machine that gets the working tree alone. OP must be a spec
file's name (softmax, not its variant log_softmax). Exit 1 for an op REV does not have or a
tune that fails; the command line's mistakes are exit 2.
"""
import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import compare_tuning_files  # noqa: E402

SOURCE_ROOT = Path(__file__).resolve().parents[1]


def git(*args):
    """git ARGS in the checkout this tool is in."""
    return subprocess.run(["git", "-C", str(SOURCE_ROOT), *args], capture_output=True, text=True)


def git_show(rev, path):
    """A file's text at rev; None where rev has no such file."""
    result = git("show", f"{rev}:{path}")
    return result.stdout if result.returncode == 0 else None


def git_files(rev, folder):
    """The names of the files directly in folder at rev."""
    result = git("ls-tree", "--name-only", f"{rev}:{folder}")
    if result.returncode != 0:
        raise SystemExit(f"ab_templates: {rev} has no {folder}/: {result.stderr.strip()}")
    return result.stdout.split()


def base_spec(text, op):
    """The spec renamed OP_base, its `variants:` block left out (to the next top-level line)."""
    lines, skipping = [], False
    for line in text.splitlines(keepends=True):
        if line.startswith("variants:"):
            skipping = True
            continue
        if skipping and line.strip() and not line[0].isspace():
            skipping = False
        if skipping:
            continue
        lines.append(f"name: {op}_base\n" if line.rstrip("\n") == f"name: {op}" else line)
    if f"name: {op}_base\n" not in lines:
        raise SystemExit(f"ab_templates: templates/{op}.yaml has no line 'name: {op}'")
    return "".join(lines)


def prepare(rev, ops, folder):
    """Step 1: folder/OP_base.yaml for each op, with templates/'s sources and support headers at rev;
    returns the commit, also written to folder/BASE_COMMIT."""
    commit = git("rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}").stdout.strip()
    if not commit:
        raise SystemExit(f"ab_templates: {rev} names no commit of {SOURCE_ROOT}")
    folder.mkdir(parents=True, exist_ok=True)
    for op in ops:
        text = git_show(rev, f"templates/{op}.yaml")
        if text is None:
            raise SystemExit(f"ab_templates: {rev} has no templates/{op}.yaml (give a spec file's name, e.g. softmax)")
        (folder / f"{op}_base.yaml").write_text(base_spec(text, op))
    for sub in ("templates", "templates/support"):
        for name in git_files(rev, sub):
            if name.endswith((".cu", ".cuh")):
                (folder / name).write_text(git_show(rev, f"{sub}/{name}"))
    (folder / "BASE_COMMIT").write_text(commit + "\n")
    return commit


def prepared(ops, folder):
    """The commit of the copies an earlier prepare left in folder, which must hold every op's."""
    marker = folder / "BASE_COMMIT"
    if not marker.is_file():
        raise SystemExit(f"ab_templates: {folder} holds no base copies: run --prepare-only first")
    missing = [op for op in ops if not (folder / f"{op}_base.yaml").is_file()]
    if missing:
        raise SystemExit(f"ab_templates: {folder} has no copy of {', '.join(missing)}: "
                         "run --prepare-only with these --ops first")
    return marker.read_text().strip()


def split_winners(winners, ops):
    """(old, new) as compare_tuning_files.winners gives them: OP_base's rows as OP's, then OP's."""
    old, new = {}, {}
    for w in winners:
        name = w["template"]
        op, side = (name[:-len("_base")], old) if name.endswith("_base") else (name, new)
        if op in ops:
            side[(op, w["dtype"], w["problem"], w["gpu"], w["nvrtc"])] = (float(w["median_us"]), w["config"])
    return old, new


def main(argv=None):
    summary, _, details = __doc__.partition("\n\n")
    parser = argparse.ArgumentParser(description=summary, epilog=details,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    old_side = parser.add_mutually_exclusive_group(required=True)
    old_side.add_argument("--base", help="the commit whose templates are the old side, e.g. HEAD~1")
    parser.add_argument("--ops", required=True, help="comma-separated spec names, e.g. softmax,layer_norm,sum")
    parser.add_argument("--shapes", help="comma-separated shapes as kerntune tune --shape takes them")
    parser.add_argument("--dtypes", default="f32,bf16", help="comma-separated (default f32,bf16)")
    parser.add_argument("--build", default=str(SOURCE_ROOT / "build"), help="the build folder (default build)")
    parser.add_argument("--out", default="ab-out", help="where the copies, the database and the logs go (default ab-out)")
    parser.add_argument("--threshold", type=float, default=0.0, help="list the keys that moved by more than this many percent")
    parser.add_argument("--prepare-only", action="store_true", help="write the base copies only (no GPU needed)")
    old_side.add_argument("--use-copies", action="store_true",
                          help="tune the base copies an earlier --prepare-only wrote to OUT/base (no git needed)")
    args = parser.parse_args(argv)
    ops = [op for op in args.ops.split(",") if op]
    if not ops:
        parser.error("--ops names no op")
    if not args.prepare_only and not args.shapes:
        parser.error("--shapes is needed to tune")
    if args.use_copies and args.prepare_only:
        parser.error("--use-copies tunes copies that --prepare-only wrote: give one of them")
    out = Path(args.out)
    commit = prepared(ops, out / "base") if args.use_copies else prepare(args.base, ops, out / "base")
    print(f"base copies of {', '.join(ops)} at {commit} in {out / 'base'}")
    if args.prepare_only:
        return 0

    kerntune = str(Path(args.build) / "tools" / "kerntune")
    db = out / "ab.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    env = dict(os.environ, KERNTUNE_SHIPPED_DB="off")
    failed = []
    with open(out / "ab_tune.log", "w") as log:
        for dtype in args.dtypes.split(","):
            for op in ops:
                for name in (f"{op}_base", op):
                    command = [kerntune, "tune", "--templates", str(out / "base"), "--op", name, "--dtype", dtype,
                               "--shape", args.shapes, "--db", str(db)]
                    log.write("$ " + " ".join(command) + "\n")
                    log.flush()
                    if subprocess.run(command, stdout=log, stderr=subprocess.STDOUT, env=env).returncode != 0:
                        failed.append(f"{name} {dtype}")
    shown = subprocess.run([kerntune, "db", "show", "--db", str(db), "--templates", str(out / "base"), "--json"],
                           capture_output=True, text=True, env=env)
    if shown.returncode != 0:
        raise SystemExit(f"ab_templates: kerntune db show failed: {shown.stderr.strip()}")
    old, new = split_winners(json.loads(shown.stdout)["result"]["winners"], set(ops))
    print("\n".join(compare_tuning_files.compare(old, new, set(ops), args.threshold)))
    if failed:
        print(f"ab_templates: tunes that failed (see {out / 'ab_tune.log'}): {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
