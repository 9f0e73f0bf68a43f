#include "core/select_config.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <tuple>
#include <map>
#include <optional>

#include "core/error.hpp"
#include "core/text.hpp"

namespace kerntune {
namespace {

// Every applicable row of one tuned problem.
struct candidate {
    std::string template_name;
    std::vector<std::int64_t> extents;
    std::string key;
    std::int64_t numel = 0;
    bool exact = false;
    bool same_code = false;  // the tuned problem's kernel is the wanted one's (the same derived values)
    bool shipped = false;  // the rows are shipped ones, tried after the user's of the same problem
    double distance = 0;
    std::vector<const std::string*> labels;  // one per row, sorted before use
};

// Sum over axes of (ln a - ln b)^2. Each term is ln(larger / smaller), so a 2x bigger extent and a
// 2x smaller one give bit-identical terms; the terms are summed in ascending order so that
// problems that mirror each other across axes ((2, 16) and (16, 2) around (4, 4)) give
// bit-identical sums too, and the documented tie rules, not rounding, decide between them.
double log_distance(const std::vector<std::int64_t>& a, const std::vector<std::int64_t>& b) {
    std::vector<double> terms;
    for (std::size_t i = 0; i < a.size(); ++i) {
        const double hi = static_cast<double>(std::max(a[i], b[i]));
        const double lo = static_cast<double>(std::min(a[i], b[i]));
        const double log_ratio = std::log(hi / lo);
        terms.push_back(log_ratio * log_ratio);
    }
    std::sort(terms.begin(), terms.end());
    double sum = 0;
    for (double term : terms) sum += term;
    return sum;
}

// The order candidates are tried in: exact first (tested on the extents, not on a distance of 0,
// which rounding also gives to neighbours past 2^53), then those compiled as the same code as
// the wanted problem (a config's speed was measured on its kernel), then nearest, then the
// problem with more elements, whose config was chosen for more work in flight, then the larger
// extents in axis order, so that distinct candidates never compare equal and the row order
// never matters; of one problem, the user's rows before the shipped ones.
bool tried_before(const candidate& a, const candidate& b) {
    if (a.exact != b.exact) return a.exact;
    if (a.same_code != b.same_code) return a.same_code;
    if (a.distance != b.distance) return a.distance < b.distance;
    if (a.numel != b.numel) return a.numel > b.numel;
    if (a.extents != b.extents) return a.extents > b.extents;
    if (a.template_name != b.template_name) return a.template_name < b.template_name;
    return !a.shipped && b.shipped;
}

// The derived values of a problem's kernel (derive); nothing when they cannot be derived for it.
using code_of_problem = std::function<std::optional<derived_values>(const problem&)>;

// The rows that `applies` admits, one candidate per (template, tuned problem, origin), in the
// order they are tried, a tuned problem other than the wanted one only when it is in the wanted
// one's regime (`regime`, none: nothing is borrowed); a std::map makes the grouping independent
// of the row order.
template <typename Applies>
std::vector<candidate> candidates(const std::vector<tuned_row>& rows, const problem& target,
                                  const std::function<std::optional<std::int64_t>(const problem&)>& regime_of_problem,
                                  const code_of_problem& code_of, Applies applies) {
    std::map<std::tuple<std::string, std::vector<std::int64_t>, bool>, candidate> grouped;
    for (const tuned_row& row : rows) {
        if (!applies(row)) continue;  // stale or foreign: a miss, never an error
        problem tuned;
        try {
            tuned = parse_problem_key(target.axes, row.problem_key);
        } catch (const error&) {
            continue;  // not a problem of these axes: it cannot be near anything
        }
        candidate& c = grouped[{row.template_name, tuned.extents, row.shipped}];
        if (c.labels.empty()) {
            c.template_name = row.template_name;
            c.extents = tuned.extents;
            c.key = tuned.key();
            c.numel = tuned.numel();
            c.exact = tuned.extents == target.extents;
            c.shipped = row.shipped;
            c.distance = log_distance(tuned.extents, target.extents);
        }
        c.labels.push_back(&row.label);
    }
    // Nearest only within the wanted problem's regime: a config tuned across a boundary the
    // spec declares (launch-bound and DRAM-streaming, a row a warp holds and one a cluster
    // splits) is never borrowed. Computed once per tuned problem, not per row.
    const std::optional<std::int64_t> wanted = regime_of_problem(target);
    const std::optional<derived_values> wanted_code = code_of(target);
    std::vector<candidate> order;
    for (auto& entry : grouped) {
        candidate& c = entry.second;
        const problem tuned = make_problem(target.axes, c.extents);
        if (!c.exact && (!wanted || regime_of_problem(tuned) != wanted)) continue;
        c.same_code = wanted_code && code_of(tuned) == wanted_code;
        order.push_back(std::move(c));
    }
    std::sort(order.begin(), order.end(), tried_before);
    return order;
}

// Why `text` is not a usable config for `type`, or nothing when it is.
std::optional<std::string> refusal(const kernel_spec& spec, const std::string& text, dtype type) {
    try {
        const config parsed = parse_label(spec, text);
        if (!satisfies_constraints(spec, parsed, type))
            return "violates the constraints of " + spec.name + " for " + std::string(to_string(type));
        return std::nullopt;
    } catch (const error& failure) {
        // parse_label quotes the label raw; the line quotes it escaped already, so keep only the
        // reason. Anything else is escaped whole: a tampered label may hold control characters.
        const std::string message = failure.what();
        const std::string prefix = "'" + text + "' is not a config of " + spec.name + ": ";
        if (message.compare(0, prefix.size(), prefix) == 0) return message.substr(prefix.size());
        const std::string escaped = json_string(message);
        return escaped.substr(1, escaped.size() - 2);
    }
}

} // namespace

std::string_view to_string(config_match match) {
    switch (match) {
        case config_match::exact:
            return "exact";
        case config_match::nearest:
            return "nearest";
        case config_match::family:
            return "family";
        case config_match::default_config:
            return "default";
    }
    return "?";
}

selection select_config(const kernel_spec& spec, dtype type, const problem& wanted,
                        std::string_view gpu_identity, std::string_view nvrtc_version, const regime_device& device,
                        const std::vector<tuned_row>& rows) {
    // A malformed request is the caller's bug, not a miss: make_problem says what is wrong with it.
    const problem target = make_problem(wanted.axes, wanted.extents);
    const std::string_view type_name = to_string(type);
    const std::optional<std::int64_t> regime = regime_of(spec, type, target, device);

    const auto regime_of_problem = [&](const problem& p) { return regime_of(spec, type, p, device); };
    const auto code_of = [&](const problem& p) -> std::optional<derived_values> {
        try {
            return derive(spec, type, p);
        } catch (const error&) {
            return std::nullopt;  // a derived value outside its domain: the same code as no problem's
        }
    };
    // A row whose config the spec's problem constraints leave out at the wanted problem does not
    // apply to it (a config tuned for rows of 4096 with a cluster of 16 blocks is no candidate
    // for rows of 100): skipped, not refused. A label that is no config is refused below.
    const auto applies = [&](const tuned_row& row) {
        if (row.dtype != type_name || row.gpu_identity != gpu_identity || row.nvrtc_version != nvrtc_version) return false;
        if (row.template_name != spec.name || spec.problem_constraints.empty()) return true;
        try {
            const config c = parse_label(spec, row.label);
            return !satisfies_constraints(spec, c, type) || candidate_at(spec, c, type, target, device.limits);
        } catch (const error&) {
            return true;
        }
    };
    selection result;
    result.regime = regime;
    const auto chosen_from = [&](std::vector<candidate> order, bool family) {
        for (candidate& c : order) {
            std::sort(c.labels.begin(), c.labels.end(),
                      [](const std::string* a, const std::string* b) { return *a < *b; });
            std::vector<std::optional<std::string>> why;  // parallel to c.labels
            std::vector<std::string> valid;               // distinct valid labels, sorted
            for (const std::string* text : c.labels) {
                why.push_back(refusal(spec, *text, type));
                if (!why.back() && (valid.empty() || valid.back() != *text)) valid.push_back(*text);
            }
            const std::string where = family ? c.template_name + " " + c.key : c.key;
            for (std::size_t i = 0; i < c.labels.size(); ++i) {
                if (!why[i] && valid.size() > 1) {
                    std::string others;
                    for (const std::string& other : valid)
                        if (other != *c.labels[i]) others += (others.empty() ? "" : ", ") + json_string(other);
                    why[i] = "other rows for " + where + " say " + others;
                }
                if (why[i]) result.refused.push_back(where + " " + json_string(*c.labels[i]) + " refused: " + *why[i]);
            }
            if (valid.size() == 1) {
                result.chosen = parse_label(spec, valid.front());
                result.match = family ? config_match::family : c.exact ? config_match::exact : config_match::nearest;
                result.label = valid.front();  // parse_label is strict, so this is label(spec, chosen)
                result.shipped = c.shipped;
                return true;
            }
        }
        return false;
    };
    if (chosen_from(candidates(rows, target, regime_of_problem, code_of,
                               [&](const tuned_row& row) {
                                   return row.template_name == spec.name && row.template_hash == spec.source_hash &&
                                          applies(row);
                               }),
                    false))
        return result;
    // The family step: a config tuned for another template of the spec's family, in its regime.
    if (!spec.family.empty() &&
        chosen_from(candidates(rows, target, regime_of_problem, code_of,
                               [&](const tuned_row& row) {
                                   return row.family == spec.family && row.template_name != spec.name &&
                                          applies(row);
                               }),
                    true))
        return result;
    result.chosen = default_config(spec, type);
    result.match = config_match::default_config;
    result.label = label(spec, result.chosen);
    return result;
}

} // namespace kerntune
