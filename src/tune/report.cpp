#include "tune/report.hpp"

#include <algorithm>
#include <cstdio>

namespace kerntune {
namespace {

std::string winner_json(const winner& w) {
    return "{\"template\": " + json_string(w.key.template_name) + ", \"dtype\": " + json_string(w.key.dtype) +
           ", \"problem\": " + json_string(w.key.problem_key) + ", \"gpu\": " + json_string(w.key.gpu_identity) +
           ", \"nvrtc\": " + json_string(w.key.nvrtc_version) + ", \"template_hash\": " +
           json_string(w.key.template_hash) + ", \"config\": " + json_string(w.config) +
           ", \"median_us\": " + fixed(w.median_us, 3) + ", \"gbps\": " + fixed(w.gbps, 1) +
           ", \"pct_theoretical\": " + fixed(w.pct_theoretical, 1) + ", \"pct_copy\": " + fixed(w.pct_copy, 1) +
           ", \"candidates_ok\": " + std::to_string(w.candidates_ok) +
           ", \"candidates_failed\": " + std::to_string(w.candidates_failed) +
           ", \"tune_seconds\": " + fixed(w.tune_seconds, 2) + ", \"tuned_at\": " + json_string(w.tuned_at) + "}";
}

template <typename T, typename F> std::string json_array(const std::vector<T>& items, F&& to_json) {
    std::string out = "[";
    for (std::size_t i = 0; i < items.size(); ++i) out += (i ? ",\n  " : "\n  ") + to_json(items[i]);
    return out + (items.empty() ? "]" : "\n]");
}

} // namespace

std::string text_table::render() const {
    std::vector<std::size_t> widths(headers.size());
    for (std::size_t c = 0; c < headers.size(); ++c) widths[c] = headers[c].size();
    for (const auto& row : rows)
        for (std::size_t c = 0; c < row.size() && c < widths.size(); ++c) widths[c] = std::max(widths[c], row[c].size());
    auto line = [&](const std::vector<std::string>& cells) {
        std::string out;
        for (std::size_t c = 0; c < widths.size(); ++c) {
            const std::string cell = c < cells.size() ? cells[c] : "";
            out += cell + std::string(widths[c] - cell.size() + (c + 1 < widths.size() ? 2 : 0), ' ');
        }
        while (!out.empty() && out.back() == ' ') out.pop_back();
        return out + "\n";
    };
    std::string out = line(headers);
    std::string rule;
    for (std::size_t c = 0; c < widths.size(); ++c) rule += std::string(widths[c], '-') + (c + 1 < widths.size() ? "  " : "");
    out += rule + "\n";
    for (const auto& row : rows) out += line(row);
    return out;
}

std::string fixed(double value, int digits) {
    char text[64];
    std::snprintf(text, sizeof(text), "%.*f", digits, value);
    return text;
}

text_table tune_table(const std::vector<tune_outcome>& outcomes) {
    text_table table{{"dtype", "shape", "winner", "median us", "GB/s", "% theor", "% copy", "ok/failed", "resumed",
                      "unmeasured", "compile s", "tune s"}};
    for (const tune_outcome& o : outcomes) {
        std::vector<std::string> row{std::string(to_string(o.type)), o.shape.to_string()};
        if (o.best) {
            const winner& w = *o.best;
            row.insert(row.end(), {w.config, fixed(w.median_us, 1), fixed(w.gbps, 0), fixed(w.pct_theoretical, 1),
                                   fixed(w.pct_copy, 1), std::to_string(w.candidates_ok) + "/" + std::to_string(w.candidates_failed)});
        } else {
            row.insert(row.end(), {"(none ok)", "-", "-", "-", "-", std::to_string(o.ok) + "/" + std::to_string(o.failed)});
        }
        row.insert(row.end(), {std::to_string(o.resumed), std::to_string(o.unmeasured), fixed(o.compile_seconds, 2),
                               fixed(o.seconds, 2)});
        table.rows.push_back(std::move(row));
    }
    return table;
}

std::string device_json(const device_record& d) {
    return "{\"identity\": " + json_string(d.identity) + ", \"name\": " + json_string(d.name) +
           ", \"compute_capability\": " + json_string(std::to_string(d.cc_major) + "." + std::to_string(d.cc_minor)) +
           ", \"sm_count\": " + std::to_string(d.sm_count) + ", \"memory_clock_khz\": " + std::to_string(d.memory_clock_khz) +
           ", \"bus_width_bits\": " + std::to_string(d.bus_width_bits) + ", \"l2_bytes\": " + std::to_string(d.l2_bytes) +
           ", \"theoretical_gbps\": " + fixed(d.theoretical_gbps, 1) + ", \"copy_gbps\": " + fixed(d.copy_gbps, 1) +
           ", \"driver\": " + json_string(d.driver_version) + "}";
}

std::string tune_json(const device_record& device, const std::vector<tune_outcome>& outcomes) {
    const std::string results = json_array(outcomes, [](const tune_outcome& o) {
        return "{\"dtype\": " + json_string(to_string(o.type)) + ", \"shape\": " + json_string(o.shape.to_string()) +
               ", \"ok\": " + std::to_string(o.ok) + ", \"failed\": " + std::to_string(o.failed) +
               ", \"resumed\": " + std::to_string(o.resumed) + ", \"unmeasured\": " + std::to_string(o.unmeasured) +
               ", \"compile_seconds\": " + fixed(o.compile_seconds, 3) +
               ", \"seconds\": " + fixed(o.seconds, 3) + ", \"winner\": " + (o.best ? winner_json(*o.best) : "null") + "}";
    });
    return "{\"device\": " + device_json(device) + ",\n\"results\": " + results + "}\n";
}

text_table winners_table(const std::vector<winner>& winners) {
    text_table table{{"template", "dtype", "problem", "gpu", "winner", "median us", "GB/s", "% theor", "% copy",
                      "ok/failed", "tuned at"}};
    for (const winner& w : winners)
        table.rows.push_back({w.key.template_name, w.key.dtype, w.key.problem_key, w.key.gpu_identity, w.config,
                              fixed(w.median_us, 1), fixed(w.gbps, 0), fixed(w.pct_theoretical, 1), fixed(w.pct_copy, 1),
                              std::to_string(w.candidates_ok) + "/" + std::to_string(w.candidates_failed), w.tuned_at});
    return table;
}

text_table devices_table(const std::vector<device_record>& devices) {
    text_table table{{"gpu", "cc", "SMs", "L2 MiB", "theoretical GB/s", "copy GB/s", "driver"}};
    for (const device_record& d : devices)
        table.rows.push_back({d.name, std::to_string(d.cc_major) + "." + std::to_string(d.cc_minor),
                              std::to_string(d.sm_count), fixed(static_cast<double>(d.l2_bytes) / (1 << 20), 0),
                              fixed(d.theoretical_gbps, 0), fixed(d.copy_gbps, 0), d.driver_version});
    return table;
}

std::string database_json(const std::vector<device_record>& devices, const std::vector<winner>& winners) {
    return "{\"devices\": " + json_array(devices, device_json) + ",\n\"winners\": " + json_array(winners, winner_json) + "}\n";
}

} // namespace kerntune
