#include "tune/device_lanes.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <numeric>

#include "core/error.hpp"
#include "core/text.hpp"

namespace kerntune {
namespace {

/// "this machine has 4 GPUs (0 to 3)": what an index out of range is measured against.
std::string machine_gpus(int device_count) {
    if (device_count <= 0) return "this machine has no GPU";
    if (device_count == 1) return "this machine has 1 GPU (0)";
    return "this machine has " + std::to_string(device_count) + " GPUs (0 to " + std::to_string(device_count - 1) + ")";
}

std::string quoted(std::string_view text) { return "'" + printable(text) + "'"; }

/// The indices of `text`, checked against a machine of `device_count` GPUs, or for their form
/// only when there is none (then "all" gives no index).
std::vector<int> read_device_list(std::string_view text, std::optional<int> device_count) {
    if (text.empty()) throw error("empty device list: expected all or GPU indices such as 0,2,3");
    const std::string in_list = " in device list " + quoted(text);
    if (text == "all") {
        if (!device_count) return {};
        if (*device_count <= 0) throw error("device list 'all': " + machine_gpus(*device_count));
        std::vector<int> all(static_cast<std::size_t>(*device_count));
        std::iota(all.begin(), all.end(), 0);
        return all;
    }
    std::vector<int> indices;
    for (std::string_view item : split(text, ',')) {
        if (item.empty()) throw error("empty item" + in_list);
        if (item == "all") throw error("'all' stands alone, not as an item" + in_list);
        const bool negative = item.front() == '-';
        const std::string_view digits = negative ? item.substr(1) : item;
        if (digits.empty() || digits.find_first_not_of("0123456789") != std::string_view::npos)
            throw error(quoted(item) + in_list + " is not a GPU index (0, 1, ...: kerntune devices lists them)");
        if (negative) throw error(quoted(item) + in_list + " is negative: GPU indices count from 0");
        int index = 0;
        const std::from_chars_result read = std::from_chars(digits.data(), digits.data() + digits.size(), index);
        if (read.ec == std::errc::result_out_of_range || (device_count && index >= *device_count))
            throw error("GPU " + quoted(item) + in_list + " does not exist" +
                        (device_count ? ": " + machine_gpus(*device_count) : std::string(": no machine has that many GPUs")));
        if (std::find(indices.begin(), indices.end(), index) != indices.end())
            throw error("GPU " + std::to_string(index) + " is given twice" + in_list);
        indices.push_back(index);
    }
    std::sort(indices.begin(), indices.end());
    return indices;
}

} // namespace

std::vector<int> parse_device_list(std::string_view text, int device_count) { return read_device_list(text, device_count); }

std::optional<std::vector<int>> device_list_indices(std::string_view text) {
    std::vector<int> indices = read_device_list(text, std::nullopt);
    if (indices.empty()) return std::nullopt;  // "all": an empty list is refused above
    return indices;
}

std::vector<device_group> group_devices(const std::vector<device_description>& devices) {
    std::vector<device_group> groups;
    std::set<int> seen;
    for (const device_description& device : devices) {
        if (!seen.insert(device.index).second) throw error("GPU " + std::to_string(device.index) + " is given twice");
        auto group = std::find_if(groups.begin(), groups.end(),
                                  [&](const device_group& g) { return g.identity == device.identity; });
        if (group == groups.end()) {
            groups.push_back({device.identity, device.arch, {device.index}});
            continue;
        }
        if (group->arch != device.arch)
            throw error("GPU " + std::to_string(device.index) + " (" + printable(device.identity) + ") is " +
                        printable(device.arch) + " but GPU " + std::to_string(group->devices.front()) +
                        " of the same identity is " + printable(group->arch));
        group->devices.push_back(device.index);
    }
    return groups;
}

std::vector<std::string> distinct_arches(const std::vector<device_group>& groups) {
    std::vector<std::string> arches;
    for (const device_group& group : groups)
        if (std::find(arches.begin(), arches.end(), group.arch) == arches.end()) arches.push_back(group.arch);
    return arches;
}

lane_schedule::lane_schedule(std::vector<lane_work> work, std::vector<int> devices) {
    if (devices.empty()) throw error("a lane schedule needs at least one GPU");
    std::set<int> seen;
    for (int device : devices) {
        if (!seen.insert(device).second) throw error("GPU " + std::to_string(device) + " is given twice to one lane schedule");
        m_lanes.push_back({device});
    }
    std::set<std::size_t> keys;
    for (const lane_work& item : work) {
        if (!keys.insert(item.key).second)
            throw error("key " + std::to_string(item.key) + " is given twice to one lane schedule");
        if (!std::isfinite(item.cost) || item.cost < 0)
            throw error("key " + std::to_string(item.key) + " has cost " + std::to_string(item.cost) +
                        ": costs are finite and not negative");
    }
    m_work_index.resize(work.size());
    std::iota(m_work_index.begin(), m_work_index.end(), std::size_t{0});
    // One lane: the work list's order, today's tune (the order changes nothing on one GPU).
    if (m_lanes.size() > 1)
        std::stable_sort(m_work_index.begin(), m_work_index.end(),
                         [&](std::size_t a, std::size_t b) { return work[a].cost > work[b].cost; });
    for (std::size_t position = 0; position < work.size(); ++position) {
        m_work.push_back(work[m_work_index[position]]);
        m_queue.insert(position);
    }
    m_handouts.assign(m_work.size(), 0);
}

lane_schedule::lane_state& lane_schedule::lane_at(std::size_t lane) {
    if (lane >= m_lanes.size())
        throw error("lane " + std::to_string(lane) + " does not exist: the schedule has " +
                    std::to_string(m_lanes.size()));
    return m_lanes[lane];
}

std::optional<std::size_t> lane_schedule::next_key(std::size_t lane) {
    lane_state& state = lane_at(lane);
    if (state.failed) return std::nullopt;
    if (state.measuring)
        throw error("lane " + std::to_string(lane) + " (GPU " + std::to_string(state.device) + ") still measures key " +
                    std::to_string(m_work[*state.measuring].key));
    if (m_queue.empty()) return std::nullopt;
    const std::size_t position = *m_queue.begin();
    m_queue.erase(m_queue.begin());
    ++m_handouts[position];
    state.measuring = position;
    return m_work[position].key;
}

void lane_schedule::complete(std::size_t lane, std::size_t key) {
    lane_state& state = lane_at(lane);
    if (!state.measuring || m_work[*state.measuring].key != key)
        throw error("lane " + std::to_string(lane) + " (GPU " + std::to_string(state.device) +
                    ") completes key " + std::to_string(key) + ", which it was not measuring");
    m_report.measured_by[key] = state.device;
    state.measuring.reset();
}

lane_failure lane_schedule::fail_lane(std::size_t lane) {
    lane_state& state = lane_at(lane);
    if (state.failed)
        throw error("lane " + std::to_string(lane) + " (GPU " + std::to_string(state.device) + ") has failed already");
    state.failed = true;
    lane_failure failure{state.device};
    if (state.measuring) {
        failure.interrupted = m_work[*state.measuring].key;
        failure.handed_over = m_handouts[*state.measuring] == 1;
        if (failure.handed_over)
            m_queue.insert(*state.measuring);
        else
            m_given_up.push_back(*state.measuring);
        state.measuring.reset();
    }
    m_report.failures.push_back(failure);
    return failure;
}

bool lane_schedule::any_lane_alive() const { return alive_lanes() > 0; }

std::size_t lane_schedule::alive_lanes() const {
    return static_cast<std::size_t>(
        std::count_if(m_lanes.begin(), m_lanes.end(), [](const lane_state& lane) { return !lane.failed; }));
}

bool lane_schedule::finished() const {
    const bool measuring =
        std::any_of(m_lanes.begin(), m_lanes.end(), [](const lane_state& lane) { return lane.measuring.has_value(); });
    return !measuring && (m_queue.empty() || !any_lane_alive());
}

lane_report lane_schedule::report() const {
    lane_report report = m_report;
    std::vector<std::size_t> positions = m_given_up;
    if (!any_lane_alive()) positions.insert(positions.end(), m_queue.begin(), m_queue.end());
    std::sort(positions.begin(), positions.end(),
              [&](std::size_t a, std::size_t b) { return m_work_index[a] < m_work_index[b]; });
    for (std::size_t position : positions) report.unmeasured.push_back(m_work[position].key);
    return report;
}

} // namespace kerntune
