#!/usr/bin/env bash
# Issue 16's measurements, on a machine with several GPUs (bench/RESULTS.md, "Several GPUs"):
#  1. the full default tune (every built-in op, every dtype it declares, its default shapes: what
#     tools/tune.sh runs) on GPU 0, then on --devices all, each into a fresh database, timed;
#  2. the winners of the two compared key by key: the same config, or the one-GPU database's
#     median of the several-GPU winner within the two medians' noise of its own winner;
#  3. a tune of leaky_relu (default shapes) on --devices all into a fresh database whose first lane worker is
#     killed with kill -9 once candidates are being measured: exit 1, one line saying which GPU
#     was lost and which GPU measured its key again, and every key's winner and rows stored, no
#     fault among them.
# Usage: tools/bench_devices.sh [BUILD_DIR]   everything under $OUT (default gpu-out/devices)
#   OPS="leaky_relu softmax" tunes those ops only (default: every built-in op); STEPS="1 2" or
#   STEPS=3 runs those parts only (default all three), so that each fits a time limit: part 2
#   reads the databases part 1 left in BENCH_DIR (default $OUT/devices).
set -uo pipefail
cd "$(dirname "$0")/.."
build="${1:-build}"
kerntune="$build/tools/kerntune"
out="${BENCH_DIR:-${OUT:-gpu-out}/devices}"  # BENCH_DIR: a folder the parts share when run apart
mkdir -p "$out"
nvidia-smi --query-gpu=index,name,driver_version,clocks.sm,clocks.mem --format=csv | tee "$out/gpus.txt"
ops="${OPS:-$("$kerntune" list --json | python3 -c 'import json, sys; print(" ".join(t["name"] for t in json.load(sys.stdin)["result"]["templates"]))')}"
steps=" ${STEPS:-1 2 3} "

# 1. One GPU, then all of them.
[[ "$steps" == *" 1 "* ]] && for mode in one all; do
    rm -f "$out/$mode.db"*
    [ "$mode" = one ] && devices=(--device 0) || devices=(--devices all)
    start=$(date +%s.%N)
    for op in $ops; do
        "$kerntune" tune --op "$op" "${devices[@]}" --db "$out/$mode.db" >"$out/$mode-$op.txt" 2>"$out/$mode-$op.err"
        echo "$mode $op: exit $?" >>"$out/exits.txt"
    done
    end=$(date +%s.%N)
    echo "$mode $(python3 -c "print(f'{$end - $start:.1f}')")" | tee -a "$out/wall.txt"
done
[[ "$steps" == *" 1 "* ]] && python3 - "$out/wall.txt" "$(nvidia-smi -L | wc -l)" <<'EOF'
import sys
wall = dict(line.split() for line in open(sys.argv[1]))
one, all_ = float(wall["one"]), float(wall["all"])
print(f"full default tune: 1 GPU {one:.1f} s, {sys.argv[2]} GPUs {all_:.1f} s: {one / all_:.2f} x")
EOF
[[ "$steps" == *" 1 "* ]] && cat "$out/exits.txt"

# 2. The winners, key by key.
[[ "$steps" == *" 2 "* ]] && for mode in one all; do
    "$kerntune" db show --candidates --json --db "$out/$mode.db" >"$out/$mode-rows.json"
done
[[ "$steps" == *" 2 "* ]] && python3 - "$out/one-rows.json" "$out/all-rows.json" <<'EOF'
import json, sys
def load(path):
    rows = json.load(open(path))["result"]["measurements"]
    by_key = {}
    for r in rows:
        by_key.setdefault((r["template"], r["dtype"], r["problem"], r["gpu"]), {})[r["config"]] = r
    return by_key
one, several = load(sys.argv[1]), load(sys.argv[2])
def winner(rows):
    ok = [r for r in rows.values() if r["status"] == "ok"]
    return min(ok, key=lambda r: r["median_us"]) if ok else None
same = close = differ = missing = 0
for key, rows in sorted(one.items()):
    a, b = winner(rows), winner(several.get(key, {}))
    if a is None or b is None:
        missing += 1
        print("no winner on one side:", key)
        continue
    if a["config"] == b["config"]:
        same += 1
        continue
    # The several-GPU winner as the one-GPU tune measured it, against the one-GPU winner.
    theirs = rows.get(b["config"])
    if theirs and theirs["status"] == "ok" and theirs["median_us"] <= a["median_us"] * (1 + a["noise"] + theirs["noise"]):
        close += 1
    else:
        differ += 1
        print(f"differs: {key}: 1 GPU {a['config']} {a['median_us']:.2f} us, several {b['config']} "
              f"({'%.2f us on 1 GPU' % theirs['median_us'] if theirs else 'not measured on 1 GPU'})")
print(f"winners: {same} the same config, {close} another config within noise, {differ} differ, {missing} missing "
      f"(of {len(one)} keys)")
EOF

[[ "$steps" == *" 3 "* ]] || exit 0
# 3. kill -9 of a worker mid-tune (on one GPU a lane alone carries on as a tune on one GPU
# does, the candidate in flight stored as runtime_fault: nothing to hand over to).
if [ "$(nvidia-smi -L | wc -l)" -lt 2 ]; then
    echo "one GPU: no hand-over to measure (tests/gpu/test_tune_lanes.cpp runs two lanes on it)"
    exit 0
fi
rm -f "$out/kill.db"*
"$kerntune" tune --op leaky_relu --devices all --db "$out/kill.db" --json >"$out/kill.json" 2>"$out/kill.err" &
tune=$!
victim=""
for _ in $(seq 600); do
    sleep 0.5
    rows=$("$kerntune" db show --candidates --json --db "$out/kill.db" 2>/dev/null |
        python3 -c 'import json, sys; print(len(json.load(sys.stdin)["result"]["measurements"]))' 2>/dev/null || echo 0)
    if [ "${rows:-0}" -gt 100 ]; then
        # A lane's worker, which has the GPU open; the tune's idle compile workers do not.
        for worker in $(pgrep -P "$tune" -x kerntune-worker); do
            if ls -l "/proc/$worker/fd" 2>/dev/null | grep -q /dev/nvidia; then victim=$worker; break; fi
        done
        break
    fi
done
if [ -n "$victim" ]; then
    echo "killing worker $victim of tune $tune after $rows rows"
    kill -9 "$victim"
else
    echo "no worker to kill: the tune stored fewer than 100 rows in 300 s"
fi
wait "$tune"
echo "kill tune: exit $? (1 expected: a GPU was lost)"
grep "kerntune:" "$out/kill.err"
"$kerntune" db show --candidates --json --db "$out/kill.db" >"$out/kill-rows.json"
"$kerntune" list --json >"$out/list.json"
python3 - "$out/kill.json" "$out/kill-rows.json" "$out/list.json" <<'EOF'
import collections, json, sys
result = json.load(open(sys.argv[1]))["result"]
rows = json.load(open(sys.argv[2]))["result"]["measurements"]
space = next(t for t in json.load(open(sys.argv[3]))["result"]["templates"] if t["name"] == "leaky_relu")["space"]
expected = sum(space[r["dtype"]] for r in result["results"])  # every candidate of every key, once
statuses = collections.Counter(r["status"] for r in rows)
print("lost GPUs:", [(g["gpu_index"], g["handed_over"]) for g in result["lost_gpus"]])
print("unmeasured keys:", result["unmeasured_keys"])
print("winners:", sum(1 for r in result["results"] if r["winner"]), "of", len(result["results"]), "keys")
print("rows:", dict(statuses), "against", expected, "candidates")
ok = (len(result["lost_gpus"]) == 1 and result["lost_gpus"][0]["handed_over"] and not result["unmeasured_keys"]
      and all(r["winner"] for r in result["results"]) and len(rows) == expected
      and "runtime_fault" not in statuses)
print("nothing lost" if ok else "SOMETHING LOST")
EOF
