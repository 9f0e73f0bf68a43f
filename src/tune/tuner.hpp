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
    /// A candidate whose first sample is over this many times the best median so far stops
    /// there: no noise makes it the winner, and a config meant for another regime can take
    /// seconds a launch.
    double hopeless_factor = 1.25;
    /// Before min_samples, a candidate whose fastest sample is over this many times the best
    /// median so far stops (noise makes a kernel slower, seldom faster, so its fastest sample is
    /// the hopeful bound). With every candidate sampled min_samples times, a tune of 105
    /// candidates of 3 ms spent 1.8 of its 4 s timing them on the H200.
    double contender_factor = 1.05;
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
    std::size_t lane = 0;  ///< the lane (tune_lanes) that measured it
    int device = 0;        ///< that lane's GPU index
};
using progress_callback = std::function<void(const tune_progress&)>;

/// The outcome for one (dtype, problem).
struct tune_outcome {
    dtype type;
    problem shape;
    std::optional<winner> best;  ///< none when no candidate was ok; as stored (tuned_at filled)
    int candidates = 0;  ///< the configs that are candidates at this problem (candidate_at)
    int ok = 0, failed = 0, resumed = 0;  ///< resumed: measured by an earlier run and kept, skipped
    int unmeasured = 0;  ///< left for a later run when the budget ran out
    double seconds = 0;          ///< validating and timing this problem's candidates
    double compile_seconds = 0;  ///< compiling the dtype's space (shared by its problems)
    /// The kernels of the dtype's space that did not compile (the same for each of its problems).
    std::vector<compile_failure> compile_failures;
    /// The lane (tune_lanes) that measured it; none when no lane did: every lane that took it
    /// failed (tune_report::lost), and then nothing else here is filled in but type and shape.
    std::optional<std::size_t> lane;
    int device = 0;         ///< the GPU index of `lane`
    std::size_t group = 0;  ///< the group of GPUs it was tuned for (tune_report::groups)
};

/// One GPU of a tune and the worker started on it (the CLI starts the workers first, so that a
/// missing GPU is reported before the database is created or written).
struct tune_lane {
    int device = 0;                  ///< the GPU's index, as the worker was started on it
    worker_client* worker = nullptr;  ///< not owned; used by the lane's thread only while tune_lanes runs
};

/// A group of lanes on GPUs of one identity (device_lanes.hpp, group_devices): they share the
/// work list, each key measured entirely on one of them.
struct tune_group {
    std::string identity;
    std::vector<std::size_t> lanes;  ///< in the order given to tune_lanes
};

/// A lane whose GPU or worker was lost mid-tune.
struct lost_gpu {
    std::size_t lane = 0;
    int device = 0;      ///< its GPU index
    std::string reason;  ///< e.g. "worker killed by signal Killed during f32 n=1024 blk256.vec4.unr2"
    std::optional<work_item> interrupted;  ///< the key it was measuring; none when it was idle
    /// Whether another lane of the group took `interrupted` over and measured it, again every
    /// candidate this lane had stored of it (its outcome says which); false: no lane measured it
    /// (tune_outcome::lane none): the key had been handed over once already, or the group's
    /// other lanes were gone.
    bool handed_over = false;
};

/// What tune_lanes did.
struct tune_report {
    std::vector<int> devices;               ///< per lane: its GPU index
    std::vector<device_record> records;     ///< per lane: its GPU as stored (copy bandwidth measured)
    std::vector<tune_group> groups;         ///< in the order of each group's first lane
    /// Group by group, every key of the work list in its order, measured or not (lane none).
    std::vector<tune_outcome> outcomes;
    std::vector<lost_gpu> lost;  ///< in the order the lanes failed
    /// The keys no lane measured: their outcomes have no lane.
    std::size_t unmeasured_keys() const;
};

/// Tunes `spec` on one lane (a worker on a GPU) or several, the items of work_of_shard(options)
/// for each group of lanes whose GPUs are of one identity (docs/MULTI_GPU.md): every arch
/// compiles the space of each dtype once, shared by all of its lanes; each group's keys go to
/// its lanes from one lane_schedule (largest estimated_cost first; in work-list order for one
/// lane), and a lane measures a key entirely, as tune_problem does for one GPU. On several lanes
/// each lane runs on a thread of its own with its own connection to db's file (every write is
/// one short transaction, which SQLite's WAL lets several connections make in turn: see
/// database); one lane runs on the calling thread with `db`, exactly as tune always did.
///
/// A lane fails when its worker cannot be started again (worker_unavailable), or when its worker
/// dies without answering (worker_client::worker_lost) while another lane of its group is alive;
/// the last lane of a group, and so a group of one, records that candidate as runtime_fault and
/// goes on with a fresh worker, as tune on one GPU does. A failed lane's key goes to the rest of
/// its group, which measures again every candidate the failed lane stored of it; what no lane
/// can measure is reported, never dropped. `progress` is called one call at a time, from the
/// lanes' threads. options.device is not used: the lanes say which GPUs. Two lanes may share a
/// GPU (the tests run two on a machine of one); the CLI never gives one GPU twice. Throws
/// kerntune::error when a GPU cannot be used at all (a problem it cannot hold, a reference
/// that does not compile) and on a database failure (after every lane has stopped).
tune_report tune_lanes(const kernel_spec& spec, const tune_options& options, const std::vector<tune_lane>& lanes,
                       database& db, const progress_callback& progress);

/// What measuring `item` is expected to cost, for lane_schedule's largest-first order: the bytes
/// one launch moves times the candidates of its dtype's space. Only the order counts. Not yet
/// checked against measured key times (docs/MULTI_GPU.md): a fixed cost per candidate (the
/// validation launches, the L2 flush before each sample) makes small keys dearer than their
/// bytes say, which changes the order only among the small keys that end a tune.
double estimated_cost(const kernel_spec& spec, const work_item& item);

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

/// The same with a worker the caller started: tune_lanes on one lane, GPU options.device. Throws
/// kerntune::error when the GPU is lost mid-tune (its worker cannot be started again): the rows
/// stored until then stay, and the same tune again resumes from them.
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
