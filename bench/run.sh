#!/usr/bin/env bash
# The benchmark of record, on the GPU machine: tunes leaky_relu at every size of the sweep, then
# times kerntune against cub::DeviceTransform, a device copy and the naive seed kernel
# (build/bench/peer_bench) and against torch.nn.functional.leaky_relu (tools/bench_torch.py), and
# merges both into a table and a plot (bench/plot.py).
#
# Needs a Release build in build/ made on a machine with nvcc (so that build/bench/peer_bench
# exists: the top-level CMakeLists.txt adds bench/ only where nvcc is found), carried to the GPU
# machine at the same path (shared/GPU.md). From the repository root:
#
#   OUT=/some/dir COMMIT=<git sha of the build> bench/run.sh
#
# Writes under $OUT (default bench-out/): gpu.txt (nvidia-smi before and after, also appended to
# results.md), tune.db and tune.txt, peer.json/.md/.log,
# torch.json/.md/.log, results.md (the merged table, also printed last) and bench.png.
# Environment:
#   COMMIT     git commit recorded in the JSON (default: git rev-parse HEAD, else "unknown")
#   BUILD      build folder (default build)
#   MAX_N      skip sizes above this everywhere, N or 2^K (e.g. 2^28 when short of time)
#   SKIP_TUNE  1: no tuning; use the database in $KERNTUNE_DB as it is
#   BUDGET_S   wall-clock budget of the whole script (default 570: one 10-minute device call). Each
#              step gets what is left less what the later steps need; a step cut short keeps what
#              it finished (the tune commits every measurement, both benchmarks rewrite their
#              JSON after every size), so the table is always made.
# Exit status: 0 when every step finished and every output check passed.
set -uo pipefail
# OUT and BUILD as given are relative to where this was started; the defaults to the repository.
if [[ -n "${OUT:-}" ]]; then mkdir -p "$OUT" && OUT="$(cd "$OUT" && pwd)"; fi
if [[ -n "${BUILD:-}" && -d "$BUILD" ]]; then BUILD="$(cd "$BUILD" && pwd)"; fi
cd "$(dirname "$0")/.." || exit 2

build="${BUILD:-build}"
out="${OUT:-bench-out}"
budget="${BUDGET_S:-570}"
mkdir -p "$out"
start=$(date +%s)
commit="${COMMIT:-$(git rev-parse HEAD 2>/dev/null || echo unknown)}"
failed=()

elapsed() { echo $(( $(date +%s) - start )); }
left() { echo $(( budget - $(elapsed) )); }
say() { echo "==== [$(elapsed) s] $*" >&2; }
# Runs a step under a time limit of $1 seconds; records a failure by name $2.
step() {
    local limit="$1" name="$2"
    shift 2
    if (( limit < 10 )); then
        say "$name: SKIPPED, no time left in the ${budget} s budget"
        failed+=("$name (skipped: no time)")
        return
    fi
    say "$name (limit ${limit} s)"
    timeout --signal=TERM --kill-after=10 "$limit" "$@"
    local status=$?
    if (( status == 124 || status == 137 )); then
        say "$name: CUT at its ${limit} s limit; what it finished is kept"
        failed+=("$name (time limit)")
    elif (( status != 0 )); then
        say "$name: exit status $status"
        failed+=("$name (exit $status)")
    else
        say "$name: done"
    fi
}

to_count() {  # N or 2^K[+M] -> N
    local text="$1" k add=0
    if [[ $text == 2^* ]]; then
        k="${text#2^}"
        if [[ $k == *+* ]]; then add="${k#*+}"; k="${k%%+*}"; fi
        echo $(( (1 << k) + add ))
    else
        echo "$text"
    fi
}

max_n=""
max_n_args=()
if [[ -n "${MAX_N:-}" ]]; then
    max_n=$(to_count "$MAX_N")
    max_n_args=(--max-n "$max_n")
fi

for file in "$build/tools/kerntune" "$build/bench/peer_bench" "$build/src/runtime/libkerntune.so"; do
    if [[ ! -e "$file" ]]; then
        echo "bench/run.sh: $file is missing: build in Release first (on a machine with nvcc for peer_bench)" >&2
        exit 2
    fi
done

# The sweep (as in peer_bench and bench_torch.py): 2^10..2^30 in steps of x4, the seed's
# 4096x393216, and 2^31+5; the misaligned and in-place cases reuse the tuned 2^24.
shapes=()
for k in 10 12 14 16 18 20 22 24 26 28 30; do shapes+=("$((1 << k))"); done
shapes+=("4096x393216" "$(( (1 << 31) + 5 ))")
tune_shapes=()
for shape in "${shapes[@]}"; do
    n=$(( ${shape/x/*} ))
    if [[ -z "$max_n" ]] || (( n <= max_n )); then tune_shapes+=("$shape"); fi
done
tune_list=$(IFS=,; echo "${tune_shapes[*]}")

# The GPU's state before and after: a hot GPU slows its clocks (clock event reason 0x20 or 0x40,
# thermal slowdown) and the large sizes then lose more than any kernel difference.
gpu_state() {
    { echo "$1:"; nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.mem,clocks.max.sm,temperature.gpu,power.draw,clocks_event_reasons.active \
          --format=csv 2>&1 || echo "nvidia-smi failed"; } | tee -a "$out/gpu.txt" >&2
}
rm -f "$out/gpu.txt"
gpu_state before
say "commit $commit, budget ${budget} s, sizes: $tune_list"

# Seconds each later step is given at most; the tune gets whatever is left before them.
peer_s=170 torch_s=130 plot_s=20
if [[ "${SKIP_TUNE:-0}" == 1 ]]; then
    db="${KERNTUNE_DB:-}"
    say "tune: skipped (SKIP_TUNE=1); database: ${db:-the runtime default}"
else
    db="$out/tune.db"
    step $(( $(left) - peer_s - torch_s - plot_s )) "tune" \
        "$build/tools/kerntune" tune --op leaky_relu --dtype f32,f16,bf16 --shape "$tune_list" --db "$db" \
        > >(tee "$out/tune.txt" >&2) 2>&1  # not a pipe: step must run in this shell to record a failure
fi
export KERNTUNE_DB="$db"  # both benchmarks (and everything they call) use the tuned configs
db_args=()
[[ -n "$db" ]] && db_args=(--db "$db")

step $(( $(left) - torch_s - plot_s )) "peer_bench" \
    "$build/bench/peer_bench" --json "$out/peer.json" --commit "$commit" ${db_args[@]+"${db_args[@]}"} ${max_n_args[@]+"${max_n_args[@]}"} \
    > "$out/peer.md" 2> >(tee "$out/peer.log" >&2)

step $(( $(left) - plot_s )) "bench_torch" \
    python3 tools/bench_torch.py --lib "$build/src/runtime/libkerntune.so" --json "$out/torch.json" \
    --commit "$commit" ${db_args[@]+"${db_args[@]}"} ${max_n_args[@]+"${max_n_args[@]}"} \
    > "$out/torch.md" 2> >(tee "$out/torch.log" >&2)

jsons=()
for file in "$out/peer.json" "$out/torch.json"; do [[ -s "$file" ]] && jsons+=("$file"); done
if (( ${#jsons[@]} > 0 )); then
    step "$(( $(left) > 10 ? $(left) : 10 ))" "plot" python3 bench/plot.py "${jsons[@]}" --png "$out/bench.png" \
        > "$out/results.md"
    gpu_state after
    { echo; echo '## GPU state (nvidia-smi)'; echo; echo '```'; cat "$out/gpu.txt"; echo '```'; } >> "$out/results.md"
    cat "$out/results.md"
else
    failed+=("plot (no JSON to merge)")
fi

say "finished in $(elapsed) s; files in $out"
if (( ${#failed[@]} > 0 )); then
    say "FAILED OR CUT: ${failed[*]} (see the logs in $out; mismatches are listed under PROBLEMS above)"
    exit 1
fi
exit 0
