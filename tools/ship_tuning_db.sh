#!/usr/bin/env bash
# Regenerates a shipped tuning file (docs/SHIPPED.md) on the GPU it is for: tunes every built-in
# op for every dtype at its default shapes (its ladder) on GPU 0 into a fresh database, with the
# shipped rows off, then writes the database's winners, their measurements and device as JSON
# Lines, and checks that importing the file and exporting it again gives the same bytes.
# Usage: tools/ship_tuning_db.sh [BUILD_DIR] [OUTPUT] [OP ...]   (defaults: build, tuning_db/h200.jsonl)
# With OPs (after an edit of their templates alone, e.g. softmax log_softmax for softmax.cu), it
# starts from OUTPUT's rows instead, forgets the OPs' rows and tunes the OPs alone: the other
# ops' rows come back byte for byte, in a fraction of the time.
# The database and a log stay under $OUT (default ship-out/).
set -euo pipefail
cd "$(dirname "$0")/.."
build="${1:-build}"
output="${2:-tuning_db/h200.jsonl}"
shift $(($# < 2 ? $# : 2))
out="${OUT:-ship-out}"
mkdir -p "$out"
export KERNTUNE_SHIPPED_DB=off
db="$out/ship.db"
rm -f "$db" "$db-wal" "$db-shm" "$out/check.db" "$out/check.db-wal" "$out/check.db-shm"
kerntune="$build/tools/kerntune"
if [ $# -gt 0 ]; then
    ops="$*"
    "$kerntune" db import "$output" --db "$db" >/dev/null
    for op in $ops; do "$kerntune" db forget --op "$op" --db "$db"; done
else
    ops=$("$kerntune" list --json | python3 -c 'import json, sys; print(" ".join(t["name"] for t in json.load(sys.stdin)["result"]["templates"]))')
fi
start=$(date +%s)
for op in $ops; do
    "$kerntune" tune --op "$op" --device 0 --db "$db" >>"$out/ship_tune.log" 2>&1 ||
        { echo "tuning $op failed ($out/ship_tune.log says why); $output is unchanged" >&2; exit 1; }
done
echo "tuned $ops in $(( $(date +%s) - start )) s"
"$kerntune" db export --winners --db "$db" --output "$output"
"$kerntune" db import "$output" --db "$out/check.db" >/dev/null
"$kerntune" db export --db "$out/check.db" | cmp - "$output"
echo "$output: $(grep -c '"table":"winners"' "$output") winners; import then export gives it back byte for byte"
