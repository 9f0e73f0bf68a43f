#pragma once
// Fleet tuning: one tune's work list split over N machines (or processes), each tuning its shard
// into its own database, gathered afterwards by `kerntune db merge`. Pure functions: the
// environment is a parameter, so that the scheduler cases are unit-tested without one.
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kerntune {

/// Shard `index` of `count`: 0-based, index < count. {0, 1} is the whole work list.
struct shard {
    int index = 0;  ///< K, from 0 to count - 1
    int count = 1;  ///< N, at least 1
    bool operator==(const shard& other) const { return index == other.index && count == other.count; }
};

/// "K/N" as `tune --shard` takes it: two whole numbers in decimal digits (no sign, no spaces),
/// K from 0 to N - 1 (0-based, as Slurm's SLURM_PROCID, Kubernetes' JOB_COMPLETION_INDEX and
/// torchrun's RANK are). Throws kerntune::error, one line quoting the text, for anything else:
/// "3/2", "0/0", "-1/4", "a/b", "1/", "/2", a number past an int.
shard parse_shard(std::string_view text);

/// "2/4": the spelling parse_shard reads.
std::string to_string(const shard& part);

/// A shard found in a scheduler's environment, and the variables it came from
/// ("SLURM_ARRAY_TASK_ID=5 SLURM_ARRAY_TASK_MIN=4 SLURM_ARRAY_TASK_COUNT=4"), for the line
/// that says so.
struct scheduler_shard {
    shard part;
    std::string source;
};

/// An environment variable's value, nullopt when it is not set.
using environment_lookup = std::function<std::optional<std::string>(const char* name)>;

/// The shard the scheduler that started this process gives it, read through `lookup`:
///   * a Slurm job array: SLURM_ARRAY_TASK_ID and SLURM_ARRAY_TASK_COUNT. Array IDs may start
///     anywhere (--array=1-8) and step (--array=0-14:2), so K = (ID - SLURM_ARRAY_TASK_MIN) /
///     SLURM_ARRAY_TASK_STEP (MIN 0 and STEP 1 when unset); an ID that does not give a K below
///     the count (a list such as --array=1,4,9) is an error asking for --shard;
///   * Slurm tasks (srun): SLURM_PROCID and SLURM_NTASKS;
///   * a Kubernetes Indexed Job: JOB_COMPLETION_INDEX, with the count in KERNTUNE_SHARD_COUNT
///     (Kubernetes passes no completion count to the pod; the manifest sets it, and an index
///     without it is an error);
///   * torchrun: RANK and WORLD_SIZE;
///   * Open MPI: OMPI_COMM_WORLD_RANK and OMPI_COMM_WORLD_SIZE.
/// A scheduler counts when its index and count are both set and the count is above 1 (a job
/// array of one task, a batch script's SLURM_NTASKS=1 are no split). None: nullopt. Several that
/// agree: that shard, naming them all; several that disagree: an error naming each. A value that
/// is not a whole number, or an index not below its count: kerntune::error naming the variable.
std::optional<scheduler_shard> shard_from_environment(const environment_lookup& lookup);

/// The positions of the items shard `part` takes from a work list whose items have these keys,
/// in increasing order. The distinct keys are sorted (byte order, so that every machine sorts
/// alike whatever its locale) and dealt round robin: key i of the sorted list goes to shard
/// i mod count. Why round robin over a stable hash of each key: it gives every shard as many
/// keys as any other, or one fewer, where a hash leaves a shard of a short list with twice its
/// share, or none (12 keys over 4 shards); and the keys of one tune (one op and its dtypes)
/// cost alike, since each measures the same candidates. The price: a key moves to another shard
/// when the list changes, so every machine must be given the same list (the same command line).
/// A key given more than once is taken once, at its first position.
std::vector<std::size_t> shard_positions(const std::vector<std::string>& keys, const shard& part);

} // namespace kerntune
