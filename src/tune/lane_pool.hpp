#pragma once
// Running the lanes of a tune on several GPUs (issue 16, docs/MULTI_GPU.md): one thread per
// lane, each taking keys from its group's lane_schedule until the schedule is finished. No CUDA
// and no tuner: what a lane does with a key is the caller's function, so that the threading and
// the hand-over are tested with fictional lanes (tests/unit/test_tune_lane_pool.cpp).
#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "tune/device_lanes.hpp"

namespace kerntune {

/// Thrown by a lane's measure function when the lane's GPU or worker is gone for good: the lane
/// fails, and the key it was measuring is handed over as lane_schedule says. Its message says why.
struct lane_lost : error {
    using error::error;
};

/// A lane that failed: what its schedule recorded, and why.
struct lost_lane {
    std::size_t group = 0;  ///< index into run_lanes' schedules
    std::size_t lane = 0;   ///< the lane within its group's schedule
    lane_failure failure;   ///< failure.device is what the schedule was given for the lane
    std::string reason;     ///< the lane_lost's message
};

/// One key handed to a lane.
struct lane_task {
    std::size_t group = 0, lane = 0, key = 0;
    /// Whether another lane of the group is alive now and could take the key over. A lane that
    /// is its group's last can hand nothing over, so it should carry on alone as a tune on one
    /// GPU does rather than fail. Locks the pool: call it from the measure function, never while
    /// holding a lock the other lanes take.
    std::function<bool()> others_alive;
};

/// What a lane does with a key: measure it entirely, or throw lane_lost when the lane cannot go
/// on. Called on the lane's thread, without the pool's lock.
using lane_measure = std::function<void(const lane_task&)>;

/// Runs the lanes of every schedule, each on a thread of its own (on the calling thread when
/// there is one lane in all, so that a tune on one GPU runs as it always did), until every
/// schedule is finished: a lane asks its schedule for a key, measures it, completes it, and
/// asks again; an idle lane waits until another lane of its group completes or fails a key
/// (which may hand one over). A lane_lost from `measure` fails the lane (lane_schedule::
/// fail_lane); any other exception stops every lane once its current key is done, and the
/// first one is rethrown after all have stopped. Returns the lanes that failed, in the order
/// they failed; the schedules' reports say what was measured where and what was not.
std::vector<lost_lane> run_lanes(std::vector<lane_schedule>& schedules, const lane_measure& measure);

} // namespace kerntune
