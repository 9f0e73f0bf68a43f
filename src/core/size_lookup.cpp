#include "core/size_lookup.hpp"

#include <cmath>

namespace kerntune {

std::optional<tuned_size> nearest_tuned_size(std::int64_t n, const std::vector<tuned_size>& tuned) {
    std::optional<tuned_size> best;
    double best_distance = 0;
    const double log_n = std::log(static_cast<double>(n < 1 ? 1 : n));
    for (const tuned_size& candidate : tuned) {
        if (candidate.n < 1) continue;
        const double distance = std::fabs(std::log(static_cast<double>(candidate.n)) - log_n);
        if (!best || distance < best_distance || (distance == best_distance && candidate.n > best->n)) {
            best = candidate;
            best_distance = distance;
        }
    }
    return best;
}

} // namespace kerntune
