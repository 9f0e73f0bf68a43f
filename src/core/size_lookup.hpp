#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace kerntune {

/// A size the tuner measured on this GPU, with its winner's label.
struct tuned_size {
    std::int64_t n = 0;
    std::string label;
};

/// The tuned size a call of n elements should borrow its config from: n itself when tuned,
/// else the nearest in log space (a 2x bigger problem is as far as a 2x smaller one: bandwidth
/// behaviour changes with the ratio, not the difference), ties going to the larger size, whose
/// config was chosen for more work in flight. None when nothing was tuned.
std::optional<tuned_size> nearest_tuned_size(std::int64_t n, const std::vector<tuned_size>& tuned);

} // namespace kerntune
