#pragma once
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/dtype.hpp"
#include "core/kernel_spec.hpp"
#include "core/problem.hpp"
#include "db/database.hpp"
#include "tune/shard.hpp"
#include "tune/worker_client.hpp"
#include "tune/worker_protocol.hpp"

namespace kerntune {

/// Which measurements stored under a key a tune keeps (reports as resumed and skips) and which
/// it measures again, replacing their rows.
enum class resume_policy {
    keep_all,       ///< every stored row is kept: an interrupted tune resumes where it stopped
    retry_failed,   ///< rows whose status may_be_environmental() (timeout, launch_failed,
                    ///< runtime_fault) are measured again; ok and deterministic failures are kept
    remeasure_all,  ///< every candidate is measured again (a tune stopped by its budget leaves
                    ///< the rows it did not reach as they were)
};

/// What to tune and how hard to measure.
struct tune_options {
    std::vector<dtype> dtypes;
    std::vector<problem> problems;
    int device = 0;
    std::filesystem::path worker;  ///< the worker program; empty: default_worker_executable()
    /// A candidate that has not answered by then is killed and recorded as timeout. Generous:
    /// the largest problems take a second to validate and time.
    int candidate_timeout_ms = 20'000;
    int min_samples = 5;
    int max_samples = 30;
    double target_noise = 0.01;  ///< stop sampling once IQR/median is below this
    double max_seconds_per_candidate = 1.0;
    /// Wall-clock seconds for the whole tune, 0 for no limit. Checked between candidates; each
    /// (dtype, problem) still measures its first candidate (the spec's default config).
    double budget_seconds = 0;
    /// What stored measurements count as done; keep_all resumes.
    resume_policy resume = resume_policy::keep_all;
    /// The shard of the work list to tune (work_of_shard); {0, 1} is all of it.
    shard part;
};

/// One (dtype, problem) of a tune: a tuning key once the GPU is known.
struct work_item {
    dtype type;
    problem shape;
};

/// The work list's items that options.part takes, in the order they are tuned: each dtype of
/// options.dtypes with each problem of options.problems, dtype by dtype, split by
/// shard_positions over the keys "<problem key> <dtype>" (a problem key given twice is tuned
/// once). Every machine given the same options computes the same list and split.
std::vector<work_item> work_of_shard(const tune_options& options);

/// A kernel NVRTC rejected: its name expression and NVRTC's options and log.
struct compile_failure {
    std::string kernel;  ///< e.g. "kt::leaky_relu<float, 256, 4, 2, 0>"
    std::string log;     ///< the options, then NVRTC's log of compiling it alone
};

/// Progress, for a progress bar: `done` of `total` candidates of the current (dtype, problem).
struct tune_progress {
    dtype type;
    const problem* shape;
    int done = 0, total = 0;
    std::string label;  ///< candidate just finished
};
using progress_callback = std::function<void(const tune_progress&)>;

/// The outcome for one (dtype, problem).
struct tune_outcome {
    dtype type;
    problem shape;
    std::optional<winner> best;  ///< none when no candidate was ok; as stored (tuned_at filled)
    int ok = 0, failed = 0, resumed = 0;  ///< resumed: measured by an earlier run and kept, skipped
    int unmeasured = 0;  ///< left for a later run when the budget ran out
    double seconds = 0;          ///< validating and timing this problem's candidates
    double compile_seconds = 0;  ///< compiling the dtype's space (shared by its problems)
    /// The kernels of the dtype's space that did not compile (the same for each of its problems).
    std::vector<compile_failure> compile_failures;
};

/// The device as stored with the results, from the worker's hello and a measured copy bandwidth.
device_record to_device_record(const worker_message& hello, int ordinal, double copy_gbps);

/// Tunes `spec` on a GPU, the items of work_of_shard(options): compiles the whole space once per
/// dtype (NVRTC, in parallel), then for every problem validates and times each candidate in a worker process, stores every
/// measurement as it is made and the winner at the end. Candidates already measured under the
/// same key are skipped (as options.resume says), so an interrupted tune resumes. A key left with
/// no ok row (every candidate measured again and failing) loses its stored winner. Throws kerntune::error when the GPU or
/// the worker cannot be used at all; a candidate's failure is only ever a stored status.
std::vector<tune_outcome> tune(const kernel_spec& spec, const tune_options& options, database& db,
                               const progress_callback& progress);

/// The same with a worker the caller started (the CLI starts it first, so that a missing GPU is
/// reported before the database is created or written).
std::vector<tune_outcome> tune(const kernel_spec& spec, const tune_options& options, worker_client& worker,
                               database& db, const progress_callback& progress);

/// `tune --dry-run`: what compiling the space for one dtype took, without a GPU.
struct compile_outcome {
    dtype type;
    int candidates = 0;  ///< configs in the space
    int kernels = 0;     ///< distinct instantiations (launch-only parameters share one)
    int programs = 0;    ///< NVRTC programs they were batched into
    int failed = 0;
    double seconds = 0;
    std::vector<compile_failure> failures;  ///< every kernel that did not compile, reference included
};
std::vector<compile_outcome> compile_space(const kernel_spec& spec, const std::vector<dtype>& dtypes,
                                           const std::string& arch);

} // namespace kerntune
