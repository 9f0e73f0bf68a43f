#!/usr/bin/env bash
# Runs on the GPU machine over a Release build made elsewhere (see shared/GPU.md: the build
# tree travels and lands at the same path): the gpu tests, a tune into a fresh database, the
# runtime's cold start and per-call overhead, and the Python example against PyTorch.
# Usage: tools/gpu_checks.sh [BUILD_DIR]   logs under $OUT (default gpu-out/)
set -uo pipefail
cd "$(dirname "$0")/.."
build="${1:-build}"
out="${OUT:-gpu-out}"
mkdir -p "$out"
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.mem --format=csv | tee "$out/gpu.txt"

ctest --test-dir "$build" -L gpu --output-on-failure 2>&1 | tee "$out/ctest_gpu.log" | grep -E "tests passed|Failed|Skipped" 

export KERNTUNE_DB="$out/tune.db"
/usr/bin/time -f "tune wall %e s" "$build/tools/kerntune" tune --op leaky_relu --dtype f32,f16,bf16 \
    --shape 4096x393216,1048576 2>&1 | tee "$out/tune.txt"

{
    for i in 1 2; do "$build/tools/kerntune-bench-runtime" cold --db "$out/no-such.db"; done
    for i in 1 2; do "$build/tools/kerntune-bench-runtime" cold --db "$KERNTUNE_DB"; done
    "$build/tools/kerntune-bench-runtime" overhead --n 1024
    "$build/tools/kerntune-bench-runtime" overhead --n 1048576
} 2>&1 | tee "$out/runtime_costs.jsonl"

KERNTUNE_LIB="$build/src/runtime/libkerntune.so" python3 examples/python/leaky_relu_torch.py 2>&1 | tee "$out/python_example.txt" | tail -8
