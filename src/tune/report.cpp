#include "tune/report.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <map>

#include "core/config.hpp"
#include "core/version.hpp"
#include "cuda/nvrtc.hpp"

namespace kerntune {
namespace {

using json = nlohmann::ordered_json;

template <typename T, typename F> json json_array(const std::vector<T>& items, F&& to_json) {
    json out = json::array();
    for (const T& item : items) out.push_back(to_json(item));
    return out;
}

/// A row's provenance (the kerntune that wrote it, its method, its driver), null when unknown
/// (a row of a schema before the column).
json provenance_json(const std::string& value) { return value.empty() ? json(nullptr) : json(value); }

/// `text` without white space.
std::string squeezed(std::string_view text) {
    std::string out;
    for (const char c : text)
        if (!std::isspace(static_cast<unsigned char>(c))) out += c;
    return out;
}

/// What two kernels' logs must share to be the same log: the log without white space, without
/// the kernel's own name expression, and without the template arguments of instantiations
/// ("[with T=float, MODE=4, BLOCK=128]"): NVRTC names the kernel in both ways, so the logs of
/// one mistake differ in nothing else from kernel to kernel.
std::string log_signature(const compile_failure& failure) {
    std::string log = squeezed(failure.log);
    const std::string name = squeezed(failure.kernel);
    if (!name.empty())
        for (std::size_t at = log.find(name); at != std::string::npos; at = log.find(name, at + 1))
            log.replace(at, name.size(), "\x01");
    for (std::size_t at = log.find("[with"); at != std::string::npos; at = log.find("[with", at + 1)) {
        const std::size_t end = log.find(']', at);
        if (end == std::string::npos) break;
        log.replace(at, end + 1 - at, "\x02");
    }
    return log;
}

/// The first line of `text`.
std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }

} // namespace

std::string text_table::render() const {
    std::vector<std::vector<std::string>> shown{headers};
    shown.insert(shown.end(), rows.begin(), rows.end());
    std::vector<std::size_t> widths(headers.size());
    for (auto& cells : shown) {
        cells.resize(headers.size());
        for (std::size_t c = 0; c < cells.size(); ++c) {
            cells[c] = printable(cells[c], max_cell_width);
            widths[c] = std::max(widths[c], display_width(cells[c]));
        }
    }
    auto line = [&widths](const std::vector<std::string>& cells) {
        std::string out;
        for (std::size_t c = 0; c < widths.size(); ++c)
            out += cells[c] + std::string(widths[c] - display_width(cells[c]) + (c + 1 < widths.size() ? 2 : 0), ' ');
        while (!out.empty() && out.back() == ' ') out.pop_back();
        return out + "\n";
    };
    std::string out = line(shown.front());
    for (std::size_t c = 0; c < widths.size(); ++c) out += std::string(widths[c], '-') + (c + 1 < widths.size() ? "  " : "");
    out += "\n";
    for (std::size_t r = 1; r < shown.size(); ++r) out += line(shown[r]);
    return out;
}

std::string fixed(double value, int digits) {
    char text[64];
    std::snprintf(text, sizeof(text), "%.*f", digits, value);
    return text;
}

std::string json_document(const report_header& header, const json& result) {
    json about = {{"version", std::string(kerntune_version())},
                  {"build", std::string(kerntune_build())},
                  {"schema_version", known_schema_version()},
                  {"command", header.command},
                  {"nvrtc", nvrtc_version()}};
    if (header.driver) about["driver"] = *header.driver;
    if (header.gpu) about["gpu"] = *header.gpu;
    const json document = {{"kerntune", about}, {"result", result}};
    // replace: a file name is bytes, and JSON is UTF-8 (the default would throw).
    return document.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

text_table tune_table(const std::vector<tune_outcome>& outcomes, bool gpu_column) {
    text_table table{{"dtype", "shape", "winner", "median us", "GB/s", "% theor", "% copy", "ok/failed", "resumed",
                      "unmeasured", "compile s", "tune s"}};
    if (gpu_column) table.headers.insert(table.headers.begin() + 2, "gpu");
    for (const tune_outcome& o : outcomes) {
        std::vector<std::string> row{std::string(to_string(o.type)), o.shape.to_string()};
        if (gpu_column) row.push_back(o.lane ? std::to_string(o.device) : "-");
        if (!o.lane) {
            row.insert(row.end(), {"(not measured)", "-", "-", "-", "-", "-", "-", "-", "-", "-"});
        } else {
            if (o.best) {
                const winner& w = *o.best;
                row.insert(row.end(), {w.config, fixed(w.median_us, 1), fixed(w.gbps, 0), fixed(w.pct_theoretical, 1),
                                       fixed(w.pct_copy, 1), std::to_string(w.candidates_ok) + "/" + std::to_string(w.candidates_failed)});
            } else {
                row.insert(row.end(), {"(none ok)", "-", "-", "-", "-", std::to_string(o.ok) + "/" + std::to_string(o.failed)});
            }
            row.insert(row.end(), {std::to_string(o.resumed), std::to_string(o.unmeasured), fixed(o.compile_seconds, 2),
                                   fixed(o.seconds, 2)});
        }
        table.rows.push_back(std::move(row));
    }
    return table;
}

json device_json(const device_record& d) {
    return {{"identity", d.identity},
            {"name", d.name},
            {"compute_capability", std::to_string(d.cc_major) + "." + std::to_string(d.cc_minor)},
            {"sm_count", d.sm_count},
            {"memory_clock_khz", d.memory_clock_khz},
            {"bus_width_bits", d.bus_width_bits},
            {"l2_bytes", d.l2_bytes},
            {"theoretical_gbps", d.theoretical_gbps},
            {"copy_gbps", d.copy_gbps},
            {"driver", d.driver_version}};
}

json winner_json(const winner& w) {
    return {{"template", w.key.template_name},
            {"dtype", w.key.dtype},
            {"problem", w.key.problem_key},
            {"gpu", w.key.gpu_identity},
            {"nvrtc", w.key.nvrtc_version},
            {"template_hash", w.key.template_hash},
            {"config", w.config},
            {"median_us", w.median_us},
            {"gbps", w.gbps},
            {"pct_theoretical", w.pct_theoretical},
            {"pct_copy", w.pct_copy},
            {"candidates_ok", w.candidates_ok},
            {"candidates_failed", w.candidates_failed},
            {"tune_seconds", w.tune_seconds},
            {"tuned_at", w.tuned_at},
            {"kerntune_version", provenance_json(w.kerntune_version)},
            {"method", provenance_json(w.method)},
            {"driver", provenance_json(w.driver_version)}};
}

json measurement_json(const measurement& m) {
    return {{"template", m.key.template_name},
            {"dtype", m.key.dtype},
            {"problem", m.key.problem_key},
            {"gpu", m.key.gpu_identity},
            {"nvrtc", m.key.nvrtc_version},
            {"template_hash", m.key.template_hash},
            {"config", m.config},
            {"status", std::string(to_string(m.status))},
            {"median_us", m.median_us},
            {"noise", m.noise},
            {"gbps", m.gbps},
            {"samples", m.samples},
            {"message", m.message},
            {"measured_at", m.measured_at},
            {"kerntune_version", provenance_json(m.kerntune_version)},
            {"method", provenance_json(m.method)},
            {"driver", provenance_json(m.driver_version)}};
}

namespace {

json outcome_json(const tune_outcome& o) {
    return json{{"dtype", std::string(to_string(o.type))},
                {"shape", o.shape.to_string()},
                {"problem", o.shape.key()},
                {"candidates", o.candidates},
                {"ok", o.ok},
                {"failed", o.failed},
                {"resumed", o.resumed},
                {"unmeasured", o.unmeasured},
                {"compile_seconds", o.compile_seconds},
                {"seconds", o.seconds},
                {"winner", o.best ? winner_json(*o.best) : json(nullptr)}};
}

json key_json(dtype type, const problem& shape) {
    return {{"dtype", std::string(to_string(type))}, {"shape", shape.to_string()}, {"problem", shape.key()}};
}

/// "f32 4096x393216"
std::string key_text(dtype type, const problem& shape) { return std::string(to_string(type)) + " " + shape.to_string(); }

/// "0,2,3": the GPU indices of a group's lanes.
std::string group_gpus(const tune_report& report, const tune_group& group) {
    std::string text;
    for (std::size_t lane : group.lanes) text += (text.empty() ? "" : ",") + std::to_string(report.devices.at(lane));
    return text;
}

/// "NVIDIA H200 (sm_90, 132 SMs, theoretical 4800 GB/s, measured copy 3900 GB/s)"
std::string gpu_text(const device_record& device) {
    return printable(device.name) + " (sm_" + std::to_string(device.cc_major) + std::to_string(device.cc_minor) + ", " +
           std::to_string(device.sm_count) + " SMs, theoretical " + fixed(device.theoretical_gbps, 0) +
           " GB/s, measured copy " + fixed(device.copy_gbps, 0) + " GB/s)";
}

/// "lost_gpus" and "unmeasured_keys" of tune_json(op, report).
void add_losses(json& result, const tune_report& report) {
    json lost = json::array();
    for (const lost_gpu& gpu : report.lost)
        lost.push_back({{"gpu_index", gpu.device},
                        {"reason", gpu.reason},
                        {"interrupted", gpu.interrupted ? key_json(gpu.interrupted->type, gpu.interrupted->shape) : json(nullptr)},
                        {"handed_over", gpu.handed_over}});
    json unmeasured = json::array();
    for (const tune_outcome& o : report.outcomes)
        if (!o.lane) {
            json key = key_json(o.type, o.shape);
            key["gpu"] = report.groups.at(o.group).identity;
            unmeasured.push_back(key);
        }
    result["lost_gpus"] = lost;
    result["unmeasured_keys"] = unmeasured;
}

} // namespace

json tune_json(const std::string& op, const device_record& device, const std::vector<tune_outcome>& outcomes) {
    return {{"op", op}, {"device", device_json(device)}, {"results", json_array(outcomes, outcome_json)}};
}

std::string tune_heading(const std::string& op, const tune_report& report) {
    if (report.devices.size() == 1) return op + " on " + gpu_text(report.records.front()) + ", NVRTC " + nvrtc_version() + "\n";
    std::string text;
    for (const tune_group& group : report.groups)
        text += op + " on GPU" + (group.lanes.size() == 1 ? " " : "s ") + group_gpus(report, group) + ": " +
                gpu_text(report.records.at(group.lanes.front())) + ", NVRTC " + nvrtc_version() + "\n";
    return text;
}

text_table tune_table(const tune_report& report) { return tune_table(report.outcomes, report.devices.size() > 1); }

json tune_json(const std::string& op, const tune_report& report) {
    if (report.devices.size() == 1) {
        json result = tune_json(op, report.records.front(), report.outcomes);
        if (!report.lost.empty() || report.unmeasured_keys() > 0) add_losses(result, report);
        return result;
    }
    json devices = json::array();
    for (std::size_t lane = 0; lane < report.devices.size(); ++lane) {
        json entry = {{"index", report.devices[lane]}};
        entry.update(device_json(report.records.at(lane)));
        devices.push_back(entry);
    }
    json results = json::array();
    for (const tune_outcome& o : report.outcomes) {
        json entry = outcome_json(o);
        json measured = {{"gpu_index", o.lane ? json(o.device) : json(nullptr)}, {"gpu", report.groups.at(o.group).identity}};
        // After the key, as the table's gpu column is.
        json ordered;
        for (auto it = entry.begin(); it != entry.end(); ++it) {
            ordered[it.key()] = it.value();
            if (it.key() == "problem") ordered.update(measured);
        }
        results.push_back(ordered);
    }
    json result = {{"op", op}, {"devices", devices}, {"results", results}};
    add_losses(result, report);
    return result;
}

std::vector<std::string> tune_losses_text(const tune_report& report) {
    auto same_key = [](const work_item& key, const tune_outcome& o) {
        return key.type == o.type && key.shape.key() == o.shape.key();
    };
    auto in_group = [&](std::size_t lane, const tune_outcome& o) {
        const std::vector<std::size_t>& lanes = report.groups.at(o.group).lanes;
        return std::find(lanes.begin(), lanes.end(), lane) != lanes.end();
    };
    std::vector<std::string> lines;
    for (const lost_gpu& gpu : report.lost) {
        std::string line = "GPU " + std::to_string(gpu.device) + " was lost mid-tune: " + printable(gpu.reason);
        if (!gpu.interrupted) {
            line += "; it was measuring no key";
        } else {
            line += "; " + key_text(gpu.interrupted->type, gpu.interrupted->shape);
            const auto taken = std::find_if(report.outcomes.begin(), report.outcomes.end(), [&](const tune_outcome& o) {
                return o.lane && same_key(*gpu.interrupted, o) && in_group(gpu.lane, o);
            });
            if (gpu.handed_over && taken != report.outcomes.end())
                line += " went to GPU " + std::to_string(taken->device) + ", which measured it again from scratch";
            else
                line += " is not measured";
        }
        lines.push_back(line);
    }
    for (const tune_outcome& o : report.outcomes) {
        if (o.lane) continue;
        const tune_group& group = report.groups.at(o.group);
        // A key is handed over once: lost on two lanes, it is given up; else the group is gone.
        const auto lost_on_it = std::count_if(report.lost.begin(), report.lost.end(), [&](const lost_gpu& gpu) {
            return gpu.interrupted && same_key(*gpu.interrupted, o) && in_group(gpu.lane, o);
        });
        lines.push_back(key_text(o.type, o.shape) + " was not measured on GPU" + (group.lanes.size() == 1 ? " " : "s ") +
                        group_gpus(report, group) + " (" + printable(group.identity) + "): " +
                        (lost_on_it >= 2 ? "two GPUs were lost measuring it" : "no GPU of the group was left") +
                        "; the same command again measures it");
    }
    return lines;
}

std::vector<compile_log_group> group_by_log(const std::vector<compile_failure>& failures) {
    std::vector<compile_log_group> groups;
    std::map<std::string, std::size_t> group_of;
    for (const compile_failure& failure : failures) {
        const auto [it, added] = group_of.emplace(log_signature(failure), groups.size());
        if (added) groups.push_back({failure.log, {}});
        groups[it->second].kernels.push_back(failure.kernel);
    }
    return groups;
}

std::string compile_failures_text(const std::vector<compile_log_group>& groups) {
    std::string text;
    for (const compile_log_group& group : groups) {
        const std::size_t others = group.kernels.size() - 1;
        text += "compile failed: " + printable(group.kernels.front()) +
                (others == 0 ? "" : " and " + std::to_string(others) + " more kernel" + (others == 1 ? "" : "s") +
                                        " with the same log") +
                ":\n";
        // Line by line: the log keeps its lines, and a template's text quoted in it cannot
        // reach the terminal as control characters.
        std::vector<std::string_view> lines = split(group.log, '\n');
        if (!lines.empty() && lines.back().empty()) lines.pop_back();
        for (std::string_view line : lines) text += printable(line) + "\n";
    }
    return text;
}

json compile_json(const std::string& op, const std::string& arch, const std::vector<compile_outcome>& outcomes) {
    json failures = json::array();
    for (const compile_outcome& o : outcomes)
        for (const compile_log_group& group : group_by_log(o.failures))
            failures.push_back({{"dtype", std::string(to_string(o.type))}, {"kernels", group.kernels}, {"log", group.log}});
    return {{"op", op},
            {"arch", arch},
            {"results", json_array(outcomes, [](const compile_outcome& o) {
                 return json{{"dtype", std::string(to_string(o.type))},
                             {"candidates", o.candidates},
                             {"kernels", o.kernels},
                             {"programs", o.programs},
                             {"failed", o.failed},
                             {"seconds", o.seconds}};
             })},
            {"compile_failures", failures}};
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

text_table devices_table(const std::vector<device_record>& devices, bool numbered) {
    text_table table{{"gpu", "cc", "SMs", "L2 MiB", "theoretical GB/s", "copy GB/s", "driver"}};
    if (numbered) table.headers.insert(table.headers.begin(), "index");
    for (std::size_t i = 0; i < devices.size(); ++i) {
        const device_record& d = devices[i];
        std::vector<std::string> row{d.name, std::to_string(d.cc_major) + "." + std::to_string(d.cc_minor),
                                     std::to_string(d.sm_count), fixed(static_cast<double>(d.l2_bytes) / (1 << 20), 0),
                                     fixed(d.theoretical_gbps, 0), fixed(d.copy_gbps, 0), d.driver_version};
        if (numbered) row.insert(row.begin(), std::to_string(i));
        table.rows.push_back(std::move(row));
    }
    return table;
}

text_table measurements_table(const std::vector<measurement>& rows) {
    text_table table{{"template", "dtype", "problem", "gpu", "config", "status", "median us", "GB/s", "noise %",
                      "samples", "measured at", "kerntune", "message"}};
    for (const measurement& m : rows) {
        const bool ok = m.status == candidate_status::ok;
        table.rows.push_back({m.key.template_name, m.key.dtype, m.key.problem_key, m.key.gpu_identity, m.config,
                              std::string(to_string(m.status)), ok ? fixed(m.median_us, 1) : "-",
                              ok ? fixed(m.gbps, 0) : "-", ok ? fixed(100 * m.noise, 2) : "-", std::to_string(m.samples),
                              m.measured_at, m.kerntune_version.empty() ? "-" : m.kerntune_version,
                              first_line(m.message)});
    }
    return table;
}

std::string axes_text(const kernel_spec& spec) {
    std::string text;
    for (const std::string& axis : spec.axes) text += (text.empty() ? "" : ", ") + axis;
    return "[" + text + "]";
}

std::string default_shapes_text(const kernel_spec& spec) {
    std::string text;
    for (const tensor_shape& shape : spec.default_shapes) text += (text.empty() ? "" : ", ") + shape.to_string();
    return text.empty() ? "none (tune needs --shape)" : text;
}

std::string signature_text(const kernel_spec& spec) {
    std::string text;
    for (const kernel_arg& a : spec.arguments) {
        if (!text.empty()) text += ", ";
        if (a.kind == arg_kind::workspace) {
            text += "workspace " + a.name + " (the launch's)";
        } else if (a.kind == arg_kind::buffer) {
            text += std::string(to_string(a.access)) + " " + (a.element ? std::string(to_string(*a.element)) : "T") + " " +
                    a.name + "[" + a.extent.text() + "]" + (a.optional ? " (optional)" : "");
        } else {
            char value[32];
            std::snprintf(value, sizeof(value), "%g", a.default_value);
            text += std::string(to_string(a.type)) + " " + a.name +
                    (a.is_caller_scalar() ? " = " + std::string(value) + " (caller)" : " = " + a.value.text());
        }
    }
    return text;
}

json spec_json(const kernel_spec& spec) {
    json space = json::object();
    for (dtype type : spec.dtypes) space[std::string(to_string(type))] = enumerate_space(spec, type).size();
    json parameters = json::array();
    const auto add = [&](const param_spec& p) {
        json values = json::array();
        for (std::size_t i = 0; i < p.values.size(); ++i)
            values.push_back(p.is_enum() ? json(p.enum_names[i]) : json(p.values[i]));
        parameters.push_back({{"name", p.name}, {"kind", std::string(to_string(p.kind))}, {"values", values}, {"about", p.doc}});
        if (p.kind == param_kind::derived) parameters.back()["value"] = p.rule.text();
    };
    for (const param_spec& p : spec.params) add(p);
    for (const param_spec& p : spec.derived) add(p);
    json shapes = json::array();
    for (const tensor_shape& shape : spec.default_shapes) shapes.push_back(shape.to_string());
    json problem_constraints = json::array();
    for (const named_constraint& c : spec.problem_constraints) problem_constraints.push_back(c.expr.text());
    return {{"name", spec.name},
            {"description", spec.description},
            {"spec", spec.yaml_path},
            {"axes", spec.axes},
            {"default_shapes", shapes},
            {"kernel", spec.kernel},
            {"signature", signature_text(spec)},
            {"space", space},
            {"problem_constraints", problem_constraints},
            {"parameters", parameters}};
}

} // namespace kerntune
