#!/usr/bin/env bash
# Regenerates a shipped tuning file (docs/SHIPPED.md) on the GPU it is for: tunes every built-in
# op for every dtype at its default shapes (its ladder) on GPU 0 into a fresh database, with the
# shipped rows off, then writes the database's winners, their measurements and device as JSON
# Lines, and checks that importing the file and exporting it again gives the same bytes.
# Usage: tools/ship_tuning_db.sh [BUILD_DIR] [OUTPUT]   (defaults: build, tuning_db/h200.jsonl)
# The database and a log stay under $OUT (default ship-out/).
set -euo pipefail
cd "$(dirname "$0")/.."
build="${1:-build}"
output="${2:-tuning_db/h200.jsonl}"
out="${OUT:-ship-out}"
mkdir -p "$out"
export KERNTUNE_SHIPPED_DB=off
db="$out/ship.db"
rm -f "$db" "$db-wal" "$db-shm" "$out/check.db" "$out/check.db-wal" "$out/check.db-shm"
ops=$("$build/tools/kerntune" list --json | python3 -c 'import json, sys; print(" ".join(t["name"] for t in json.load(sys.stdin)["result"]["templates"]))')
start=$(date +%s)
for op in $ops; do
    "$build/tools/kerntune" tune --op "$op" --device 0 --db "$db" >>"$out/ship_tune.log" 2>&1
done
echo "tuned $ops in $(( $(date +%s) - start )) s"
"$build/tools/kerntune" db export --winners --db "$db" --output "$output"
"$build/tools/kerntune" db import "$output" --db "$out/check.db" >/dev/null
"$build/tools/kerntune" db export --db "$out/check.db" | cmp - "$output"
echo "$output: $(grep -c '"table":"winners"' "$output") winners; import then export gives it back byte for byte"
