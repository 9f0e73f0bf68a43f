#pragma once
#include <vector>

namespace kerntune {

/// The median of timing samples and their spread.
struct sample_summary {
    double median = 0;
    double noise = 0;  ///< interquartile range / median: robust to the odd slow sample
    int count = 0;
};

/// Summarises samples (any order); all zero for no samples.
sample_summary summarize(std::vector<double> samples);

} // namespace kerntune
