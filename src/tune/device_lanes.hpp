#pragma once
#include <cstddef>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

// Scheduling a tune over several GPUs (issue 16, docs/MULTI_GPU.md): which GPUs `--devices`
// selects, how they group, and which GPU of a group measures which key. Pure values, no CUDA:
// a device is described by what src/cuda/device.hpp says of it.

namespace kerntune {

/// The GPUs `kerntune tune --devices TEXT` selects on a machine with `device_count` GPUs: "all"
/// (0 to device_count - 1) or a comma list of distinct indices ("0,2,3"), in ascending order
/// whatever order the list gave them in: GPUs are grouped by identity and a group shares its
/// work, so only the set counts, and "2,0" and "0,2" make the same tune, log and report. Throws
/// kerntune::error, one line naming the bad part: an empty list or item, "all" in a list, an
/// item that is not a number, a negative index, an index the machine lacks (an overflowing one
/// included), an index given twice, or "all" on a machine with no GPU.
std::vector<int> parse_device_list(std::string_view text, int device_count);

/// What `text` names without asking the machine: none for "all", else its indices in ascending
/// order, checked for form only (an index past the machine's GPUs is found when a worker starts
/// on it). Throws kerntune::error for every bad form parse_device_list refuses, alike: the CLI
/// checks a --devices value with it while it reads the command line, before any GPU is asked.
std::optional<std::vector<int>> device_list_indices(std::string_view text);

/// One selected GPU, as plain values: device_info's ordinal, identity() and arch().
struct device_description {
    int index = 0;         ///< the driver's ordinal, as --devices names it
    std::string identity;  ///< name + compute capability + SM count: "NVIDIA H200|sm_90|132 SMs"
    std::string arch;      ///< what NVRTC compiles for: "sm_90"
};

/// GPUs of one identity: their results are interchangeable, so they share one lane_schedule.
struct device_group {
    std::string identity;
    std::string arch;
    std::vector<int> devices;  ///< indices in the order given; lane i of the group is devices[i]
};

/// The groups of equal identity among `devices`, in the order of each group's first device.
/// Throws kerntune::error when an index is given twice or one identity comes with two arches.
std::vector<device_group> group_devices(const std::vector<device_description>& devices);

/// Every arch of `groups` once, in order of first appearance: each is compiled once and shared
/// by all of its GPUs, across groups too (an H100 and an H200 are two groups of one arch, sm_90).
std::vector<std::string> distinct_arches(const std::vector<device_group>& groups);

/// One key of a group's work.
struct lane_work {
    std::size_t key = 0;  ///< opaque here: the tuner's index into its work list of (dtype, problem)
    double cost = 0;      ///< what measuring it is expected to take, in any unit: only the order counts
};

/// A lane whose GPU or worker failed for good.
struct lane_failure {
    int device = 0;
    std::optional<std::size_t> interrupted;  ///< the key it was measuring; none when it was idle
    /// Whether `interrupted` went back to the group, to be measured again from scratch by another
    /// lane; false when that key had already been handed over once (it is then not measured).
    bool handed_over = false;
};

/// What a group's schedule did.
struct lane_report {
    std::map<std::size_t, int> measured_by;  ///< key -> index of the GPU that measured it
    std::vector<lane_failure> failures;      ///< in the order the lanes failed
    /// Keys no lane will measure, in work-list order: a key that was measuring on two lanes that
    /// both failed, and every key left when no lane is alive. Never dropped silently.
    std::vector<std::size_t> unmeasured;
};

/// Which GPU of one group measures which key: one lane per GPU, every key measured entirely on
/// one lane, so that its candidates are compared on one device.
///
/// Policy: one queue shared by the lanes, in decreasing order of cost (ties in work-list order);
/// a lane that asks gets the head. Keys differ in cost by three orders of magnitude (a 4096 x
/// 393216 key takes seconds per candidate, a 1024 key milliseconds) and the cost is only an
/// estimate (resumed rows, failing candidates and timeouts change it), so a static assignment
/// made in advance would leave GPUs idle; taking the largest keys first leaves only small keys
/// for the end, when the lanes run out of work at different times (longest-processing-time-first
/// list scheduling: within 4/3 of the best makespan when the costs are exact). A group of one
/// lane takes the keys in work-list order: on one GPU the order changes nothing but the order of
/// the output, so a group of one is exactly today's tune.
///
/// A lane measures one key at a time. When it fails, the key it was measuring goes back to the
/// head of the queue (it was taken before every key still queued) and is measured again from
/// scratch by whichever lane asks next; the failed lane gets nothing more. A key is handed over
/// at most once: a key whose second lane fails too is reported unmeasured, so that a key that
/// takes GPUs down cannot take down the whole group.
///
/// Deterministic: the same work and the same sequence of calls give the same keys. Not
/// thread-safe: lanes running on threads share it under one mutex.
class lane_schedule {
public:
    /// `devices`: the group's GPU indices, lane i being devices[i] (at least one, distinct).
    /// Throws kerntune::error on no lane, a repeated device or key, or a cost that is negative
    /// or not finite.
    lane_schedule(std::vector<lane_work> work, std::vector<int> devices);

    /// The next key for `lane` to measure, or none: the lane has failed, or nothing is queued
    /// now. An idle lane asks again after another lane completes or fails (a failure may hand a
    /// key over), until finished(). Throws kerntune::error when the lane still measures a key.
    std::optional<std::size_t> next_key(std::size_t lane);

    /// `lane` has measured `key`, the key it was given last. Throws kerntune::error otherwise.
    void complete(std::size_t lane, std::size_t key);

    /// `lane`'s GPU or worker is gone: hands the key it was measuring (if any) to the rest of the
    /// group, as the class says, and marks the lane failed. Throws kerntune::error when the lane
    /// has failed already.
    lane_failure fail_lane(std::size_t lane);

    /// Whether no lane measures a key and none will: every key is measured or unmeasured.
    bool finished() const;

    /// What was measured where, which lanes failed, and what cannot be measured.
    lane_report report() const;

    std::size_t lane_count() const { return m_lanes.size(); }
    /// The lanes that have not failed.
    std::size_t alive_lanes() const;

private:
    struct lane_state {
        int device = 0;
        bool failed = false;
        std::optional<std::size_t> measuring;  ///< position in m_work
    };

    bool any_lane_alive() const;
    lane_state& lane_at(std::size_t lane);

    std::vector<lane_work> m_work;          ///< in hand-out order
    std::vector<std::size_t> m_work_index;  ///< per hand-out position: the position in the work list
    std::set<std::size_t> m_queue;          ///< hand-out positions not handed out, or handed back
    std::vector<int> m_handouts;            ///< per hand-out position: how often it was handed out
    std::vector<lane_state> m_lanes;
    lane_report m_report;                   ///< measured_by and failures as they happen
    std::vector<std::size_t> m_given_up;    ///< hand-out positions whose second lane failed too
};

} // namespace kerntune
