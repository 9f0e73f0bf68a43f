#!/usr/bin/env bash
# Runs on the GPU machine over a Release build made elsewhere (see shared/GPU.md: the build
# tree travels and lands at the same path): the gpu tests (every example among them:
# Examples.RunOnTheGpuAndCheckTheirResults), a tune into a fresh database, the runtime's cold
# start and per-call overhead, and the PyTorch benchmarks.
# Usage: tools/gpu_checks.sh [BUILD_DIR]   logs under $OUT (default gpu-out/)
set -uo pipefail
cd "$(dirname "$0")/.."
build="${1:-build}"
out="${OUT:-gpu-out}"
mkdir -p "$out"
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.mem --format=csv | tee "$out/gpu.txt"

ctest --test-dir "$build" -L gpu --output-on-failure 2>&1 | tee "$out/ctest_gpu.log" | grep -E "tests passed|Failed|Skipped"

# compute-sanitizer memcheck on a representative subset: every 16-bit pattern, the f32
# specials, and the runtime's odd sizes and placements.
compute-sanitizer --tool memcheck --error-exitcode 9 "$build/tests/kerntune_gpu_tests" \
    --gtest_filter='Dtypes/LeakyReluSixteenBitKernels.*:LeakyReluF32Kernels.*:RuntimeTest.WithoutADatabase*' \
    >"$out/memcheck.log" 2>&1
echo "compute-sanitizer memcheck exit $? ($(grep -c 'Invalid' "$out/memcheck.log") invalid accesses reported)"

# Tuning speed: the whole f32 space at n=2^24 into a fresh database (nothing compiled yet),
# then a new shape with the compiled candidates cached in the database.
speed_db="$out/speed.db"
rm -f "$speed_db"*
for shape in 16777216 16777215; do
    /usr/bin/time -f "tune f32 $shape: wall %e s" "$build/tools/kerntune" tune --op leaky_relu --dtype f32 \
        --shape "$shape" --db "$speed_db" 2>&1 | tail -n 4
done

export KERNTUNE_DB="$out/tune.db"
/usr/bin/time -f "tune wall %e s" "$build/tools/kerntune" tune --op leaky_relu --dtype f32,f16,bf16 \
    --shape 4096x393216,1048576 2>&1 | tee "$out/tune.txt"

{
    for i in 1 2; do "$build/tools/kerntune-bench-runtime" cold --db "$out/no-such.db"; done
    for i in 1 2; do "$build/tools/kerntune-bench-runtime" cold --db "$KERNTUNE_DB"; done
    "$build/tools/kerntune-bench-runtime" overhead --n 1024
    "$build/tools/kerntune-bench-runtime" overhead --n 1048576
} 2>&1 | tee "$out/runtime_costs.jsonl"

# PyTorch ($KERNTUNE_PYTHON: a python with torch, else python3): kerntune.torch against torch
# eager and the ctypes path, then the reductions tuned at their benchmark shapes against torch
# eager and torch.compile (the examples and tests/python ran in the gpu label above).
python="${KERNTUNE_PYTHON:-python3}"
export KERNTUNE_LIB="$build/src/runtime/libkerntune.so" PYTHONPATH="$PWD/python"
"$python" tools/bench_torch_ops.py --json "$out/torch_ops.json" 2>&1 | tee "$out/torch_ops.txt" | tail -6
export KERNTUNE_DB="$out/reductions.db"  # the shapes bench_reductions.py runs by default
tune() { "$build/tools/kerntune" tune "$@" >>"$out/tune_reductions.txt" 2>&1; }
tune --op softmax --dtype f32 --shape 4096x393216,65536x768,4096x16384,1048576x32
tune --op softmax --dtype bf16 --shape 65536x768
tune --op log_softmax --dtype f32 --shape 4096x393216
tune --op sum --dtype f32 --shape 128x4096x4095
tune --op mean --dtype f32 --shape 4096x16384
tune --op layer_norm --dtype f32 --shape 16x4194304,65536x768
tune --op rms_norm --dtype f32 --shape 112x64x512x512 --dim 1
tune --op rms_norm --dtype bf16 --shape 65536x4096
"$python" tools/bench_reductions.py --samples 20 --json "$out/reductions.json" 2>&1 | grep -v "Warning\|warn\|^$" |
    tee "$out/reductions.txt"

OUT="$out" tools/concurrency_check.sh "$build" 2>&1 | tail -n 8
