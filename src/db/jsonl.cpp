#include "db/jsonl.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <istream>
#include <set>
#include <limits>
#include <map>
#include <ostream>
#include <string_view>
#include <utility>
#include <vector>

#include "core/error.hpp"
#include "db/record_checks.hpp"
#include "db/record_fields.hpp"

namespace kerntune {
namespace {

using detail::table;
using json = nlohmann::ordered_json;

/// The first line's "format": what tells a kerntune export from any other JSON Lines file.
constexpr const char* format_name = "kerntune-tuning-db";

/// Puts each field into a JSON object, in the order visited.
struct field_writer {
    json& out;
    void operator()(const char* name, const std::string& value) { out[name] = value; }
    void operator()(const char* name, double value) { out[name] = value; }
    void operator()(const char* name, int value) { out[name] = value; }
    void operator()(const char* name, std::int64_t value) { out[name] = value; }
    void operator()(const char* name, candidate_status value) { out[name] = std::string(to_string(value)); }
};

/// One line: {"table": ..., then the record's fields}, compact, the final newline included.
/// Doubles are written in the shortest form that reads back as the same double.
template <typename Record>
std::string line_of(const Record& record, const std::string& origin) {
    json out = {{"table", table<Record>::name}};
    field_writer writer{out};
    table<Record>::fields(record, writer);
    try {
        return out.dump(-1, ' ', false, json::error_handler_t::strict) + "\n";
    } catch (const json::type_error&) {
        throw error(origin + ": cannot export the " + detail::describe(record) +
                    ": it holds text that is not UTF-8, which JSON cannot hold");
    }
}

/// Takes each field out of a JSON object, collecting what is wrong: missing, of another type,
/// an integer past its field.
struct field_reader {
    const json& in;
    std::string problems;
    std::size_t found = 0;

    void add(const std::string& problem) { problems += (problems.empty() ? "" : "; ") + problem; }

    const json* field(const char* name) {
        const auto it = in.find(name);
        if (it == in.end()) {
            add(std::string("missing field '") + name + "'");
            return nullptr;
        }
        ++found;
        return &*it;
    }
    void operator()(const char* name, std::string& value) {
        if (const json* v = field(name)) {
            if (v->is_string())
                value = v->get<std::string>();
            else
                add(std::string(name) + " must be a string");
        }
    }
    void operator()(const char* name, double& value) {
        if (const json* v = field(name)) {
            if (v->is_number())
                value = v->get<double>();
            else
                add(std::string(name) + " must be a number");
        }
    }
    /// An integer of the JSON text: nullopt (a problem added) unless it is one that fits int64.
    std::optional<std::int64_t> integer(const char* name) {
        const json* v = field(name);
        if (v == nullptr) return std::nullopt;
        if (!v->is_number_integer()) {
            add(std::string(name) + " must be a whole number");
            return std::nullopt;
        }
        if (v->is_number_unsigned() && v->get<std::uint64_t>() > std::uint64_t(std::numeric_limits<std::int64_t>::max())) {
            add(std::string(name) + " is " + v->dump() + ", more than an integer column holds");
            return std::nullopt;
        }
        return v->get<std::int64_t>();
    }
    void operator()(const char* name, std::int64_t& value) {
        if (const std::optional<std::int64_t> number = integer(name)) value = *number;
    }
    void operator()(const char* name, int& value) {
        if (const std::optional<std::int64_t> number = integer(name)) value = detail::narrowed(*number, name, problems);
    }
    void operator()(const char* name, candidate_status& value) {
        const json* v = field(name);
        if (v == nullptr) return;
        try {
            if (!v->is_string()) throw error(std::string(name) + " must be a string");
            value = parse_candidate_status(v->get<std::string>());
        } catch (const error& failure) {
            add(failure.what());
        }
    }
};

/// Reads the record of `table` from `in`; throws the problems (the caller names the line).
template <typename Record>
Record record_from(const json& in, const label_check& labels) {
    Record record;
    field_reader reader{in};
    table<Record>::fields(record, reader);
    if (reader.found + 1 != in.size())
        for (const auto& [name, value] : in.items()) {
            static_cast<void>(value);
            bool known = name == "table";
            auto check = [&](const char* field, const auto&) { known = known || name == field; };
            table<Record>::fields(record, check);
            if (!known) reader.add("unknown field '" + name + "' for table " + table<Record>::name);
        }
    if (reader.problems.empty()) reader.problems = detail::number_problems(record);
    if (reader.problems.empty()) reader.problems = detail::exchange_problems(record, labels);
    if (!reader.problems.empty()) throw error(reader.problems);
    return record;
}

/// Throws unless `header` is the first line of a file this build reads.
void check_header(const json& header) {
    const auto format = header.find("format");
    if (format == header.end() || *format != format_name)
        throw error(std::string("not a kerntune export: the first line must be {\"format\":\"") + format_name +
                    "\",\"format_version\":N}");
    const auto version = header.find("format_version");
    if (version == header.end() || !version->is_number_integer() || *version < 1)
        throw error("the header's format_version must be a whole number from 1");
    if (*version > jsonl_format_version)
        throw error("format version " + version->dump() + " is newer than this kerntune reads (" +
                    std::to_string(jsonl_format_version) + "): export it again with this kerntune, or update it");
    if (header.size() != 2) throw error("the header holds fields besides format and format_version");
}

/// What tells records of one table apart (its primary key), for "given twice".
std::vector<std::string> id_of(const device_record& d) { return {d.identity}; }
std::vector<std::string> id_of(const tuning_key& k) {
    return {k.template_name, k.template_hash, k.dtype, k.problem_key, k.gpu_identity, k.nvrtc_version};
}
std::vector<std::string> id_of(const winner& w) { return id_of(w.key); }
std::vector<std::string> id_of(const measurement& m) {
    std::vector<std::string> id = id_of(m.key);
    id.push_back(m.config);
    return id;
}

/// Reads the line's record of `Record`'s table into `into`; throws when it is given twice.
template <typename Record>
void take(const json& line, std::size_t number, const label_check& labels, std::vector<Record>& into,
          std::map<std::pair<std::string, std::vector<std::string>>, std::size_t>& first_line) {
    into.push_back(record_from<Record>(line, labels));
    const auto [it, added] = first_line.emplace(std::make_pair(table<Record>::name, id_of(into.back())), number);
    if (!added)
        throw error("the " + detail::describe(into.back()) + " is given twice (first on line " +
                    std::to_string(it->second) + ")");
}

} // namespace

void write_jsonl(const record_set& records, std::ostream& out) {
    std::string text = json{{"format", format_name}, {"format_version", jsonl_format_version}}.dump() + "\n";
    for (const device_record& d : records.devices) text += line_of(d, records.origin);
    for (const measurement& m : records.measurements) text += line_of(m, records.origin);
    for (const winner& w : records.winners) text += line_of(w, records.origin);
    out << text;
}

namespace {

/// read_jsonl and read_jsonl_lenient: with `skipped` empty the first bad line throws, else
/// each bad line is reported to it and left out.
record_set read_lines(std::istream& in, const std::string& origin, const label_check& labels,
                      const warning_sink& skipped) {
    record_set records;
    records.origin = origin;
    std::map<std::pair<std::string, std::vector<std::string>>, std::size_t> first_line;
    std::vector<std::pair<std::string, std::size_t>> gpus_named;  // each measurement's and winner's GPU, and its line
    auto refuse = [&origin](std::size_t line, const std::string& problem) {
        return error(origin + ":" + std::to_string(line) + ": " + problem);
    };
    std::string text;
    std::size_t number = 0;
    while (std::getline(in, text)) {
        ++number;
        json line;
        std::string unreadable;  // why the line is not a JSON object, if it is not
        try {
            line = json::parse(text);
            if (!line.is_object()) unreadable = "not a JSON object";
        } catch (const json::parse_error& failure) {
            unreadable = "not JSON (at byte " + std::to_string(failure.byte) + " of the line)";
        } catch (const json::exception& failure) {  // e.g. a number past a double's range: 1e999
            const std::string what = failure.what();    // "[json.exception.out_of_range.406] number overflow ..."
            unreadable = "not JSON kerntune reads: " + what.substr(what.find("] ") == std::string::npos ? 0 : what.find("] ") + 2);
        }
        if (!unreadable.empty()) {
            if (!skipped || number == 1) throw refuse(number, unreadable);
            skipped(std::string(refuse(number, unreadable).what()) + "; line ignored");
            continue;
        }
        if (number == 1) {
            try {
                check_header(line);
            } catch (const error& problem) {
                throw refuse(number, problem.what());  // not a kerntune export: nothing in it is read
            }
            continue;
        }
        // A record pushed before a later check of its line failed is taken back.
        const std::size_t held[] = {records.devices.size(), records.measurements.size(), records.winners.size(),
                                    gpus_named.size()};
        try {
            const auto table_name = line.find("table");
            if (table_name == line.end() || !table_name->is_string())
                throw error("no \"table\": every line after the first names its table");
            const std::string name = table_name->get<std::string>();
            if (name == table<device_record>::name) {
                take(line, number, labels, records.devices, first_line);
            } else if (name == table<measurement>::name) {
                take(line, number, labels, records.measurements, first_line);
                gpus_named.emplace_back(records.measurements.back().key.gpu_identity, number);
            } else if (name == table<winner>::name) {
                take(line, number, labels, records.winners, first_line);
                gpus_named.emplace_back(records.winners.back().key.gpu_identity, number);
            } else {
                throw error("unknown table '" + name + "' (expected devices, measurements or winners)");
            }
        } catch (const error& problem) {
            if (!skipped) throw refuse(number, problem.what());
            skipped(std::string(refuse(number, problem.what()).what()) + "; line ignored");
            records.devices.resize(held[0]);
            records.measurements.resize(held[1]);
            records.winners.resize(held[2]);
            gpus_named.resize(held[3]);
        }
    }
    if (in.bad()) throw error(origin + ": cannot read it");
    if (number == 0) throw error(origin + ": empty: not a kerntune export");
    std::set<std::string> unknown_gpus;
    for (const auto& [gpu, line] : gpus_named)
        if (!first_line.count({table<device_record>::name, {gpu}})) {
            if (!skipped) throw refuse(line, "GPU " + gpu + " has no line in table devices");
            skipped(std::string(refuse(line, "GPU " + gpu + " has no line in table devices").what()) + "; line ignored");
            unknown_gpus.insert(gpu);
        }
    if (!unknown_gpus.empty()) {
        auto orphan = [&unknown_gpus](const auto& r) { return unknown_gpus.count(r.key.gpu_identity) > 0; };
        records.measurements.erase(std::remove_if(records.measurements.begin(), records.measurements.end(), orphan),
                                   records.measurements.end());
        records.winners.erase(std::remove_if(records.winners.begin(), records.winners.end(), orphan), records.winners.end());
    }
    return records;
}

} // namespace

record_set read_jsonl(std::istream& in, const std::string& origin, const label_check& labels) {
    return read_lines(in, origin, labels, {});
}

record_set read_jsonl_lenient(std::istream& in, const std::string& origin, const label_check& labels,
                              const warning_sink& skipped) {
    const warning_sink report = skipped ? skipped : [](const std::string&) {};
    return read_lines(in, origin, labels, report);
}

} // namespace kerntune
