#!/bin/bash
# Tunes one op on a fleet of GPUs of one model with a Slurm job array: each array task tunes its
# shard of the work list into its own database, then a merge job gathers them into one.
#
#   examples/fleet/slurm_tune.sh submit [SHARDS]   on a login node: submits the array of SHARDS tasks
#                                                  (default 4) and the merge
#
# kerntune reads its shard from the array task's SLURM_ARRAY_TASK_ID, SLURM_ARRAY_TASK_MIN and
# SLURM_ARRAY_TASK_COUNT (it says so on stderr), so every task runs the same command. Settings
# come from the environment (sbatch --export=ALL passes them on):
#   KERNTUNE  the kerntune program the compute nodes run (default: kerntune on their PATH)
#   OP, DTYPES, SHAPES  what to tune: the same on every task, or the shards would not fit together
#   OUT       a folder on a file system every node shares (default: ./kerntune-fleet)
#SBATCH --job-name=kerntune
#SBATCH --ntasks=1
#SBATCH --time=04:00:00
#SBATCH --output=kerntune-%A_%a.log
set -euo pipefail

KERNTUNE=${KERNTUNE:-kerntune}
OP=${OP:-leaky_relu}
DTYPES=${DTYPES:-f32,f16,bf16}
SHAPES=${SHAPES:-1048576,16777216,4096x393216}
OUT=${OUT:-$PWD/kerntune-fleet}
export KERNTUNE OP DTYPES SHAPES OUT

case "${1:-submit}" in
tune)
    # One array task, one GPU: shard K of N, K counted from the array's first ID.
    "$KERNTUNE" tune --op "$OP" --dtype "$DTYPES" --shape "$SHAPES" --db "$OUT/shard-$SLURM_ARRAY_TASK_ID.db"
    ;;
merge)
    # After every task: each shard's database must be there (a task that failed outright left
    # none); a shard whose tune exited 1 for a key with no valid candidate still stored its rows.
    shards=$2
    sources=()
    for ((k = 0; k < shards; k++)); do
        if [[ ! -f "$OUT/shard-$k.db" ]]; then
            echo "slurm_tune.sh: $OUT/shard-$k.db is missing: shard $k did not run; see kerntune-*_$k.log" >&2
            exit 1
        fi
        sources+=("$OUT/shard-$k.db")
    done
    "$KERNTUNE" db merge "${sources[@]}" --into "$OUT/tuning.db"
    "$KERNTUNE" db show --db "$OUT/tuning.db"
    ;;
submit)
    shards=${2:-4}
    mkdir -p "$OUT"
    array=$(sbatch --parsable --export=ALL --gpus=1 --array=0-$((shards - 1)) "$0" tune)
    # afterany: the merge runs when every task has ended, and checks that each left its database.
    sbatch --export=ALL --dependency=afterany:"$array" "$0" merge "$shards"
    ;;
*)
    echo "usage: $0 [submit [SHARDS]] | tune | merge SHARDS" >&2
    exit 2
    ;;
esac
