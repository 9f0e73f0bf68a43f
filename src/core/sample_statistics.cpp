#include "core/sample_statistics.hpp"

#include <algorithm>

namespace kerntune {
namespace {

// Linear interpolation between closest ranks; samples must be sorted and non-empty.
double quantile(const std::vector<double>& sorted, double q) {
    const double position = q * static_cast<double>(sorted.size() - 1);
    const auto below = static_cast<std::size_t>(position);
    const std::size_t above = std::min(below + 1, sorted.size() - 1);
    const double fraction = position - static_cast<double>(below);
    return sorted[below] + (sorted[above] - sorted[below]) * fraction;
}

} // namespace

sample_summary summarize(std::vector<double> samples) {
    sample_summary summary;
    if (samples.empty()) return summary;
    std::sort(samples.begin(), samples.end());
    summary.count = static_cast<int>(samples.size());
    summary.median = quantile(samples, 0.5);
    if (summary.median > 0)
        summary.noise = (quantile(samples, 0.75) - quantile(samples, 0.25)) / summary.median;
    return summary;
}

} // namespace kerntune
