#include "db/record_checks.hpp"

#include <cmath>
#include <cstdio>
#include <limits>

namespace kerntune::detail {
namespace {

/// `value` as a message shows it: shortest round-trip form, "inf" and "nan" included.
std::string shown(double value) {
    char text[32];
    std::snprintf(text, sizeof(text), "%.17g", value);
    return text;
}

void add(std::string& problems, const std::string& problem) { problems += (problems.empty() ? "" : "; ") + problem; }

/// A REAL field: finite and >= 0.
void check_amount(std::string& problems, const char* name, double value) {
    if (!std::isfinite(value) || value < 0) add(problems, std::string(name) + " is " + shown(value) + ", not a finite number >= 0");
}

/// An INTEGER field: >= 0.
void check_count(std::string& problems, const char* name, std::int64_t value) {
    if (value < 0) add(problems, std::string(name) + " is " + std::to_string(value) + ", not a count >= 0");
}

std::string key_text(const tuning_key& key) {
    return key.template_name + " " + key.dtype + " " + key.problem_key;
}

} // namespace

std::string number_problems(const measurement& m) {
    std::string problems;
    check_amount(problems, "median_us", m.median_us);
    check_amount(problems, "noise", m.noise);
    check_amount(problems, "gbps", m.gbps);
    check_count(problems, "samples", m.samples);
    return problems;
}

std::string number_problems(const winner& w) {
    std::string problems;
    check_amount(problems, "median_us", w.median_us);
    check_amount(problems, "gbps", w.gbps);
    check_amount(problems, "pct_theoretical", w.pct_theoretical);
    check_amount(problems, "pct_copy", w.pct_copy);
    check_count(problems, "candidates_ok", w.candidates_ok);
    check_count(problems, "candidates_failed", w.candidates_failed);
    check_amount(problems, "tune_seconds", w.tune_seconds);
    return problems;
}

std::string number_problems(const device_record& d) {
    std::string problems;
    check_count(problems, "cc_major", d.cc_major);
    check_count(problems, "cc_minor", d.cc_minor);
    check_count(problems, "sm_count", d.sm_count);
    check_count(problems, "memory_clock_khz", d.memory_clock_khz);
    check_count(problems, "bus_width_bits", d.bus_width_bits);
    check_count(problems, "l2_bytes", d.l2_bytes);
    check_amount(problems, "theoretical_gbps", d.theoretical_gbps);
    check_amount(problems, "copy_gbps", d.copy_gbps);
    return problems;
}

std::string describe(const measurement& m) {
    return "measurement of " + key_text(m.key) + " config " + m.config + " on " + m.key.gpu_identity;
}

std::string describe(const winner& w) { return "winner of " + key_text(w.key) + " on " + w.key.gpu_identity; }

std::string describe(const device_record& d) { return "device " + d.identity; }

int narrowed(std::int64_t value, const char* name, std::string& problems) {
    if (value >= std::numeric_limits<int>::min() && value <= std::numeric_limits<int>::max()) return static_cast<int>(value);
    add(problems, std::string(name) + " is " + std::to_string(value) + ", more than an int holds");
    return 0;
}

} // namespace kerntune::detail
