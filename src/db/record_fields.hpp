#pragma once
// Internal to src/db: each record's fields, by the names and in the order of its table's columns
// (tuning_db/schema.sql), as one list that every piece of code walking a whole record uses: the
// JSON Lines writer and reader (jsonl.cpp) and the merge's comparison (merge_rules.cpp).
#include <cstdint>
#include <string>

#include "db/database.hpp"

namespace kerntune::detail {

/// The six fields of a tuning key, in key_columns' order. (A device's updated_at is no field: it
/// says when this database last saw the GPU, not anything measured.)
template <typename Key, typename Visit>
void key_fields(Key& key, Visit& visit) {
    visit("template_name", key.template_name);
    visit("template_hash", key.template_hash);
    visit("dtype", key.dtype);
    visit("problem_key", key.problem_key);
    visit("gpu_identity", key.gpu_identity);
    visit("nvrtc_version", key.nvrtc_version);
}

/// The provenance fields measurements and winners end with, after their time.
template <typename Result, typename Visit>
void provenance_fields(Result& r, Visit& visit) {
    visit("kerntune_version", r.kerntune_version);
    visit("method", r.method);
    visit("driver_version", r.driver_version);
}

/// table<Record>::name is its table; table<Record>::fields(record, visit) calls visit(name, field)
/// for each field, the record const or not.
template <typename Record>
struct table;

template <>
struct table<device_record> {
    static constexpr const char* name = "devices";
    template <typename Device, typename Visit>
    static void fields(Device& d, Visit& visit) {
        visit("identity", d.identity);
        visit("name", d.name);
        visit("cc_major", d.cc_major);
        visit("cc_minor", d.cc_minor);
        visit("sm_count", d.sm_count);
        visit("memory_clock_khz", d.memory_clock_khz);
        visit("bus_width_bits", d.bus_width_bits);
        visit("l2_bytes", d.l2_bytes);
        visit("theoretical_gbps", d.theoretical_gbps);
        visit("copy_gbps", d.copy_gbps);
        visit("driver_version", d.driver_version);
    }
};

template <>
struct table<measurement> {
    static constexpr const char* name = "measurements";
    template <typename Measurement, typename Visit>
    static void fields(Measurement& m, Visit& visit) {
        key_fields(m.key, visit);
        visit("config", m.config);
        visit("status", m.status);
        visit("median_us", m.median_us);
        visit("noise", m.noise);
        visit("gbps", m.gbps);
        visit("samples", m.samples);
        visit("message", m.message);
        visit("measured_at", m.measured_at);
        provenance_fields(m, visit);
    }
};

template <>
struct table<winner> {
    static constexpr const char* name = "winners";
    template <typename Winner, typename Visit>
    static void fields(Winner& w, Visit& visit) {
        key_fields(w.key, visit);
        visit("config", w.config);
        visit("median_us", w.median_us);
        visit("gbps", w.gbps);
        visit("pct_theoretical", w.pct_theoretical);
        visit("pct_copy", w.pct_copy);
        visit("candidates_ok", w.candidates_ok);
        visit("candidates_failed", w.candidates_failed);
        visit("tune_seconds", w.tune_seconds);
        visit("tuned_at", w.tuned_at);
        provenance_fields(w, visit);
    }
};

} // namespace kerntune::detail
