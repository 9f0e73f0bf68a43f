#include "db/merge_rules.hpp"

#include <cstdio>
#include <vector>

#include "db/record_fields.hpp"

namespace kerntune::detail {
namespace {

/// Each field of a record as exact text (a double in hex, so that no two doubles print alike).
struct field_texts {
    std::vector<std::pair<const char*, std::string>> fields;
    void operator()(const char* name, const std::string& value) { fields.emplace_back(name, value); }
    void operator()(const char* name, double value) {
        char text[40];
        std::snprintf(text, sizeof(text), "%a", value);
        fields.emplace_back(name, text);
    }
    void operator()(const char* name, std::int64_t value) { fields.emplace_back(name, std::to_string(value)); }
    void operator()(const char* name, int value) { fields.emplace_back(name, std::to_string(value)); }
    void operator()(const char* name, candidate_status value) { fields.emplace_back(name, std::string(to_string(value))); }
};

/// The names of the fields in which `a` and `b` differ, joined by ", "; "" when they are the same.
template <typename Record>
std::string differences(const Record& a, const Record& b) {
    field_texts left, right;
    table<Record>::fields(a, left);
    table<Record>::fields(b, right);
    std::string names;
    for (std::size_t i = 0; i < left.fields.size(); ++i)
        if (left.fields[i].second != right.fields[i].second) names += (names.empty() ? "" : ", ") + std::string(left.fields[i].first);
    return names;
}

/// A median in a message: "9.25 us".
std::string us(double value) {
    char text[32];
    std::snprintf(text, sizeof(text), "%.6g us", value);
    return text;
}

/// The rule measurements and winners share, for two ok rows of one key that differ.
template <typename Record>
merge_decision by_median(const Record& here, const Record& incoming) {
    if (here.method.empty() || here.method != incoming.method)
        return {merge_action::keep, "medians of different methods are not compared ('" + here.method + "' here, '" +
                                        incoming.method + "' in the source; '' is a kerntune before schema 3)"};
    if (incoming.median_us < here.median_us)
        return {merge_action::replace,
                "a lower median by the same method (" + us(incoming.median_us) + " against " + us(here.median_us) + " here)"};
    return {merge_action::keep, "its median is not lower (" + us(incoming.median_us) + " against " + us(here.median_us) +
                                    " here; they differ in " + differences(here, incoming) + ")"};
}

/// add or unchanged when that is all there is to decide.
template <typename Record>
std::optional<merge_decision> without_conflict(const std::optional<Record>& here, const Record& incoming) {
    if (!here) return merge_decision{merge_action::add, ""};
    if (differences(*here, incoming).empty()) return merge_decision{merge_action::unchanged, ""};
    return std::nullopt;
}

} // namespace

merge_decision decide(const std::optional<measurement>& here, const measurement& incoming) {
    if (std::optional<merge_decision> plain = without_conflict(here, incoming)) return *plain;
    if (here->status != incoming.status)
        return {merge_action::keep, "status " + std::string(to_string(here->status)) + " here, " +
                                        std::string(to_string(incoming.status)) + " in the source"};
    if (here->status != candidate_status::ok)
        return {merge_action::keep, "both " + std::string(to_string(here->status)) + ", differing in " +
                                        differences(*here, incoming)};
    return by_median(*here, incoming);
}

merge_decision decide(const std::optional<winner>& here, const winner& incoming) {
    if (std::optional<merge_decision> plain = without_conflict(here, incoming)) return *plain;
    return by_median(*here, incoming);
}

merge_decision decide(const std::optional<device_record>& here, const device_record& incoming) {
    if (std::optional<merge_decision> plain = without_conflict(here, incoming)) return *plain;
    return {merge_action::keep, "the device as recorded here is kept (it differs in " + differences(*here, incoming) + ")"};
}

} // namespace kerntune::detail
