#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "core/text.hpp"
#include "db/database.hpp"
#include "tune/tuner.hpp"

namespace kerntune {

/// A plain-text table with aligned columns, for the CLI.
struct text_table {
    std::vector<std::string> headers;
    std::vector<std::vector<std::string>> rows = {};
    std::string render() const;
};

/// "12.3": fixed-point with `digits` decimals.
std::string fixed(double value, int digits);

/// The table printed at the end of `kerntune tune`.
text_table tune_table(const std::vector<tune_outcome>& outcomes);
/// The same as JSON: {"device": {...}, "results": [...]}.
std::string tune_json(const device_record& device, const std::vector<tune_outcome>& outcomes);

/// `kerntune db show`: the winners and the devices they were measured on.
text_table winners_table(const std::vector<winner>& winners);
text_table devices_table(const std::vector<device_record>& devices);
std::string database_json(const std::vector<device_record>& devices, const std::vector<winner>& winners);
std::string device_json(const device_record& device);

} // namespace kerntune
