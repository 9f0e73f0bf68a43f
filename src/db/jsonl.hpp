#pragma once
// The tuning database as text: JSON Lines, one record a line (docs/FLEET.md, "The JSON Lines
// format"), what `kerntune db export` writes and `kerntune db import` reads.
#include <iosfwd>
#include <string>

#include "db/database.hpp"

namespace kerntune {

/// The format version each export's first line names: a reader refuses a file of a newer one.
/// 1: devices, measurements and winners of schema 3, each line the row's columns.
inline constexpr int jsonl_format_version = 1;

/// Writes `records` as JSON Lines: the header line, then every device, measurement and winner
/// in the order record_set holds them, each one line, fields in a fixed order, numbers in their
/// shortest round-trip spelling, so that the same records always give the same bytes. Throws
/// kerntune::error naming the record and records.origin when a text is not UTF-8 (JSON cannot
/// hold it); nothing is written then.
void write_jsonl(const record_set& records, std::ostream& out);

/// Reads what write_jsonl writes, checking every line before returning any: the header first
/// (another format, or a newer version, is refused), then each line a JSON object of exactly its
/// table's fields and types, with the values the database takes (number_problems), the texts a
/// kerntune row has (identity_problems) and labels that `labels` accepts; no record given twice;
/// every GPU of a measurement or winner given a device line. The first line that fails is a
/// kerntune::error "<origin>:<line>: <what is wrong>". The record_set's origin is `origin`.
record_set read_jsonl(std::istream& in, const std::string& origin, const label_check& labels);

/// read_jsonl for a file whose good lines are used even when some are bad (the shipped
/// database, tuning_db/): each line that fails a check read_jsonl makes is left out, reported
/// to `skipped` once as "<origin>:<line>: <what is wrong>; line ignored", and the rest are
/// returned; a measurement or winner whose GPU has no device line is left out the same way. A
/// file that is not a kerntune export at all (its header) or cannot be read is still an error.
record_set read_jsonl_lenient(std::istream& in, const std::string& origin, const label_check& labels,
                              const warning_sink& skipped);

} // namespace kerntune
