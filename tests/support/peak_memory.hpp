#pragma once
// The peak resident memory of the test process, for tests that a false size claim costs no
// memory (Linux: /proc/self).
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <string>

namespace kerntune::testing {

/// A "VmHWM:" or "VmRSS:" line of /proc/self/status, in bytes; -1 when absent.
inline std::int64_t proc_status_bytes(const std::string& field) {
    std::ifstream status("/proc/self/status");
    for (std::string line; std::getline(status, line);)
        if (line.rfind(field, 0) == 0) return std::atoll(line.c_str() + field.size()) * 1024;  // "  1234 kB"
    return -1;
}

/// Starts a measurement: resets the peak (VmHWM) to the resident size now ("5" written to
/// /proc/self/clear_refs, Linux 4.0 and later) and returns that size. Where the reset is
/// refused it returns the peak so far, so that only growth beyond earlier tests in this
/// process is seen.
inline std::int64_t start_peak_measurement() {
    std::ofstream clear("/proc/self/clear_refs");
    clear << "5";
    clear.close();
    return clear.good() ? proc_status_bytes("VmRSS:") : proc_status_bytes("VmHWM:");
}

/// The peak resident size since start_peak_measurement(), in bytes.
inline std::int64_t peak_rss_bytes() { return proc_status_bytes("VmHWM:"); }

}  // namespace kerntune::testing
