#include "tune/lane_pool.hpp"

#include <condition_variable>
#include <exception>
#include <mutex>
#include <optional>
#include <thread>

namespace kerntune {

std::vector<lost_lane> run_lanes(std::vector<lane_schedule>& schedules, const lane_measure& measure) {
    // One lock for every schedule: it is held only to take, complete or fail a key (never while
    // measuring), so lanes of different groups hardly ever wait for each other.
    std::mutex mutex;
    std::condition_variable changed;
    std::vector<lost_lane> lost;
    std::exception_ptr stopped;

    auto run_lane = [&](std::size_t group, std::size_t lane) {
        lane_schedule& schedule = schedules[group];
        std::unique_lock<std::mutex> lock(mutex);
        while (!stopped) {
            const std::optional<std::size_t> key = schedule.next_key(lane);
            if (!key) {
                if (schedule.finished()) return;
                changed.wait(lock);  // a lane of the group completes or fails a key, or one stops all
                continue;
            }
            lane_task task{group, lane, *key, [&] {
                               std::lock_guard<std::mutex> guard(mutex);
                               return schedules[group].alive_lanes() > 1;
                           }};
            lock.unlock();
            try {
                measure(task);
            } catch (const lane_lost& failure) {
                lock.lock();
                lost.push_back({group, lane, schedule.fail_lane(lane), failure.what()});
                changed.notify_all();
                return;
            } catch (...) {
                lock.lock();
                if (!stopped) stopped = std::current_exception();
                changed.notify_all();
                return;
            }
            lock.lock();
            schedule.complete(lane, *key);
            changed.notify_all();
        }
    };

    std::size_t lanes = 0;
    for (const lane_schedule& schedule : schedules) lanes += schedule.lane_count();
    if (lanes == 1) {
        for (std::size_t group = 0; group < schedules.size(); ++group)
            if (schedules[group].lane_count() == 1) run_lane(group, 0);
    } else {
        std::vector<std::thread> threads;
        for (std::size_t group = 0; group < schedules.size(); ++group)
            for (std::size_t lane = 0; lane < schedules[group].lane_count(); ++lane)
                threads.emplace_back(run_lane, group, lane);
        for (std::thread& thread : threads) thread.join();
    }
    if (stopped) std::rethrow_exception(stopped);
    return lost;
}

} // namespace kerntune
