#include "db/record_checks.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <string_view>

#include "core/dtype.hpp"
#include "core/error.hpp"
#include "core/text.hpp"

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

/// A text field that must not be empty.
void check_named(std::string& problems, const char* name, const std::string& value) {
    if (value.empty()) add(problems, std::string(name) + " is empty");
}

bool is_lower_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

/// The key's texts: what tuner.cpp writes (a template's SHA-256 hex source hash, kerntune's
/// dtype spelling) and nothing empty.
void check_key(std::string& problems, const tuning_key& key) {
    check_named(problems, "template_name", key.template_name);
    if (key.template_hash.size() != 64 || !std::all_of(key.template_hash.begin(), key.template_hash.end(), is_lower_hex))
        add(problems, "template_hash '" + key.template_hash + "' is not a SHA-256 hex digest (64 digits 0-9a-f)");
    try {
        parse_dtype(key.dtype);
    } catch (const error& failure) {
        add(problems, failure.what());
    }
    check_named(problems, "problem_key", key.problem_key);
    check_named(problems, "gpu_identity", key.gpu_identity);
    check_named(problems, "nvrtc_version", key.nvrtc_version);
}

/// A config as labels are spelled (core/config.cpp label()): parts joined by '.', each a
/// parameter's letters and value (digits, a '-' for a negative one) or an enum name.
void check_label_shape(std::string& problems, const std::string& config) {
    bool shaped = !config.empty();
    for (std::string_view part : split(config, '.'))
        shaped = shaped && !part.empty() && std::all_of(part.begin(), part.end(), [](char c) {
                     return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '-';
                 });
    if (!shaped) add(problems, "config '" + config + "' is not a label (parts such as blk256 or tile joined by '.')");
}

/// A time as the database's column DEFAULT writes it: "2024-05-01T12:34:56.789Z".
void check_time(std::string& problems, const char* name, const std::string& value) {
    static const std::string pattern = "dddd-dd-ddTdd:dd:dd.dddZ";
    bool shaped = value.size() == pattern.size();
    for (std::size_t i = 0; shaped && i < value.size(); ++i)
        shaped = pattern[i] == 'd' ? is_digit(value[i]) : value[i] == pattern[i];
    if (!shaped) add(problems, std::string(name) + " '" + value + "' is not a UTC time as the database writes them (" +
                                   "2024-05-01T12:34:56.789Z)");
}

/// A kerntune version: "" (unknown) or printable ASCII without spaces ("0.2.0").
void check_version(std::string& problems, const std::string& value) {
    if (!std::all_of(value.begin(), value.end(), [](char c) { return c > ' ' && c < 127; }))
        add(problems, "kerntune_version '" + value + "' is not a version");
}

/// The checks measurements and winners share.
template <typename Record>
std::string result_problems(const Record& r, const std::string& time_name, const std::string& time,
                            const label_check& labels) {
    std::string problems;
    check_key(problems, r.key);
    check_label_shape(problems, r.config);
    check_time(problems, time_name.c_str(), time);
    check_version(problems, r.kerntune_version);
    if (labels && problems.empty()) add(problems, labels(r.key, r.config));
    return problems;
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

std::string exchange_problems(const measurement& m, const label_check& labels) {
    return result_problems(m, "measured_at", m.measured_at, labels);
}

std::string exchange_problems(const winner& w, const label_check& labels) {
    return result_problems(w, "tuned_at", w.tuned_at, labels);
}

std::string exchange_problems(const device_record& d, const label_check&) {
    std::string problems;
    check_named(problems, "identity", d.identity);
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
