#!/usr/bin/env bash
# The main job: sets up and builds, then tunes every built-in op for every dtype it declares at
# its default shapes (`kerntune list` shows them) on GPU 0 into the default database, printing
# each op's table. Extra arguments go to every `kerntune tune` (e.g. --db PATH, --budget S,
# --devices all: then on every GPU instead, docs/MULTI_GPU.md).
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh build
ops=$(build/tools/kerntune list --json | python3 -c 'import json, sys; print(" ".join(t["name"] for t in json.load(sys.stdin)["result"]["templates"]))')
device=(--device 0)
for arg in "$@"; do
    case "$arg" in --devices | --devices=*) device=() ;; esac  # --devices excludes --device
done
for op in $ops; do
    echo "== $op"
    build/tools/kerntune tune --op "$op" "${device[@]}" "$@"
done
