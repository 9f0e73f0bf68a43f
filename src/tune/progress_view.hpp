#pragma once
// The progress `kerntune tune` draws on a terminal: pure text, so that what a terminal is sent
// is tested without one (tests/nvrtc/test_report.cpp).
#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

#include "tune/tuner.hpp"

namespace kerntune {

/// "f32 4096x393216 [#########.....................] 12/48 blk256.vec4.unr2": a lane's bar.
std::string progress_bar(const tune_progress& step);

/// The progress of a tune on a terminal. One lane: one line, redrawn in place at every
/// candidate and cleared once a key's last candidate is done, as a tune on one GPU always drew
/// it. Several lanes: a line per lane ("GPU 2  " and its bar), redrawn together, the cursor going
/// back up to the first line after each frame. Not thread-safe: tune_lanes calls its progress
/// one call at a time.
class progress_view {
public:
    /// At most one frame of several lines per interval: small keys finish a candidate every
    /// millisecond or so, and a frame of 8 lines at that rate is more than a terminal (over ssh)
    /// shows; 10 frames a second look continuous.
    static constexpr std::chrono::milliseconds redraw_interval{100};

    /// `devices`: each lane's GPU index; `columns`: the terminal's width (each line is cut to
    /// one less, since a line that wraps would break going back up).
    progress_view(std::vector<int> devices, std::size_t columns);

    /// What to write for this step: "" when a frame was drawn less than redraw_interval before
    /// `now` (several lanes only; the step is shown by the next frame).
    std::string update(const tune_progress& step, std::chrono::steady_clock::time_point now);

    /// What clears the lines at the end of the tune: "" when no frame of several lines is shown.
    std::string finish();

private:
    std::vector<int> m_devices;
    std::vector<std::string> m_lines;  // per lane, without the "GPU n" prefix
    std::size_t m_columns;
    bool m_drawn = false;
    std::chrono::steady_clock::time_point m_last{};
};

} // namespace kerntune
