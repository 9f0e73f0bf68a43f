#include "tune/progress_view.hpp"

#include <algorithm>

namespace kerntune {

std::string progress_bar(const tune_progress& step) {
    constexpr int width = 30;
    const int filled = step.total > 0 ? step.done * width / step.total : width;
    return std::string(to_string(step.type)) + " " + step.shape->to_string() + " [" + std::string(filled, '#') +
           std::string(width - filled, '.') + "] " + std::to_string(step.done) + "/" + std::to_string(step.total) + " " +
           step.label;
}

progress_view::progress_view(std::vector<int> devices, std::size_t columns)
    : m_devices(std::move(devices)), m_lines(m_devices.size()), m_columns(std::max<std::size_t>(columns, 2)) {}

std::string progress_view::update(const tune_progress& step, std::chrono::steady_clock::time_point now) {
    if (m_devices.size() <= 1) {
        std::string text = "\r\033[K" + progress_bar(step);
        if (step.done == step.total) text += "\r\033[K";
        return text;
    }
    m_lines.at(step.lane) = progress_bar(step);
    if (m_drawn && now - m_last < redraw_interval) return "";
    m_drawn = true;
    m_last = now;
    std::string frame = "\r";
    for (std::size_t lane = 0; lane < m_lines.size(); ++lane) {
        std::string line = "GPU " + std::to_string(m_devices[lane]) + "  " + m_lines[lane];
        if (line.size() > m_columns - 1) line.resize(m_columns - 1);
        frame += "\033[K" + line + "\n";
    }
    return frame + "\033[" + std::to_string(m_lines.size()) + "A";
}

std::string progress_view::finish() {
    if (!m_drawn) return "";
    m_drawn = false;
    return "\r\033[J";
}

} // namespace kerntune
