#!/usr/bin/env bash
# On the GPU machine: 8 `kerntune tune` processes (a small shape each) and 4 applications with
# 16 threads each, all started at once on one new database file. Passes when every process
# succeeds, no "database is locked" reaches anyone, every result is readable and SQLite's
# integrity check is ok. Then kill -9 a tune at random moments, 12 times: the database must
# stay sound and the last run must resume, skipping what the killed ones stored. Usage: tools/concurrency_check.sh [BUILD_DIR]   (logs under $OUT)
set -uo pipefail
cd "$(dirname "$0")/.."
build="${1:-build}"
out="${OUT:-gpu-out}/concurrency"
mkdir -p "$out"
db="$out/shared.db"
rm -f "$db" "$db-wal" "$db-shm"

pids=()
for i in $(seq 1 8); do
    "$build/tools/kerntune" tune --op leaky_relu --dtype f32 --shape $((65536 + 4099 * i)) --db "$db" >"$out/tune_$i.log" 2>&1 &
    pids+=($!)
done
for j in $(seq 1 4); do
    "$build/tools/kerntune-bench-runtime" stress --db "$db" --threads 16 --seconds 20 >"$out/app_$j.log" 2>&1 &
    pids+=($!)
done
failed=0
for pid in "${pids[@]}"; do wait "$pid" || failed=$((failed + 1)); done

locked=$(grep -il "locked\|busy" "$out"/*.log | wc -l)
winners=$("$build/tools/kerntune" db show --db "$db" --json | grep -c '"config"')
integrity=$("$build/tools/kerntune" db check --db "$db" 2>&1)
cat "$out"/app_*.log
echo "processes failed: $failed of ${#pids[@]}; logs mentioning locked/busy: $locked; winners readable: $winners of 8"
echo "$integrity"
[ "$failed" -eq 0 ] && [ "$locked" -eq 0 ] && [ "$winners" -eq 8 ] && echo "$integrity" | grep -q "integrity ok" || exit 1

killed_db="$out/killed.db"
rm -f "$killed_db" "$killed_db-wal" "$killed_db-shm"
for i in $(seq 1 12); do
    "$build/tools/kerntune" tune --op leaky_relu --dtype f16 --shape 4096x393216 --db "$killed_db" >/dev/null 2>&1 &
    sleep "$((RANDOM % 3 + 1)).$((RANDOM % 10))"  # 1.0 to 3.9 s: from compiling to timing
    kill -9 $! 2>/dev/null
    wait $! 2>/dev/null
    "$build/tools/kerntune" db check --db "$killed_db" | grep -q "integrity ok" || { echo "kill $i: database damaged"; exit 1; }
done
"$build/tools/kerntune" tune --op leaky_relu --dtype f16 --shape 4096x393216 --db "$killed_db" --json >"$out/resumed.json" || exit 1
grep -o '"resumed": [0-9]*' "$out/resumed.json"
grep -q '"resumed": [1-9]' "$out/resumed.json" && echo "kill -9 x12: database sound, final run resumed"
