#pragma once
// Internal to src/db: the numbers a record may hold, checked alike when it is written and when
// its row is read (database.hpp says why), and how messages name a record.
#include <cstdint>
#include <string>

#include "db/database.hpp"

namespace kerntune::detail {

/// What is wrong with the record's numbers, one phrase each joined by "; " ("median_us is -1,
/// not a finite number >= 0"); "" when nothing is. Every number must be finite and at least 0,
/// as the schema's CHECKs say (which a file edited by hand may lack, and which let +inf and
/// the percentages through).
std::string number_problems(const measurement& m);
std::string number_problems(const winner& w);
std::string number_problems(const device_record& d);

/// What is wrong with a record that leaves or enters a database whole (export, import, merge),
/// besides its numbers: texts other than kerntune writes (an empty name or identity, a template
/// hash that is not a SHA-256 hex digest, a dtype kerntune does not know, a config not shaped as
/// a label, a time not as the database writes them, a kerntune version with spaces or control
/// characters) and what `labels` (when set) says of a measurement's or winner's config; one
/// phrase each joined by "; ", "" when nothing is. Ordinary reads and writes store such texts
/// verbatim (the tuner and the runtime check labels against the template where they use them);
/// rows that travel between databases are checked as a whole here, so that every export imports.
std::string exchange_problems(const measurement& m, const label_check& labels);
std::string exchange_problems(const winner& w, const label_check& labels);
std::string exchange_problems(const device_record& d, const label_check& labels);

/// The record as messages name it: "measurement of leaky_relu f32 n=1024 config blk256 on
/// <GPU>", "winner of leaky_relu f32 n=1024 on <GPU>", "device <identity>".
std::string describe(const measurement& m);
std::string describe(const winner& w);
std::string describe(const device_record& d);

/// An INTEGER column's `value` for an int field: itself when it fits, else 0 with a phrase
/// added to `problems` (a read of the low 32 bits would turn 2^32 + 5 into 5).
int narrowed(std::int64_t value, const char* name, std::string& problems);

} // namespace kerntune::detail
