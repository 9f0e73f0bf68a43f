#pragma once
// The shipped database: reviewed JSON Lines exports in tuning_db/ (docs/SHIPPED.md), installed
// with kerntune and read beneath the user's database by the runtime and by `kerntune db show`.
// No CUDA and no catalogue here: the callers pass what they know.
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/warning_sink.hpp"
#include "db/database.hpp"

namespace kerntune {

/// Where a program or library finds the shipped files by default, relative to the folder its
/// own binary is in (CMake passes the three paths to each target that reads them).
struct shipped_location {
    std::filesystem::path build_tree;          ///< the build tree (CMake's binary dir)
    std::filesystem::path build_folder;        ///< the source tree's tuning_db/, read by binaries of the build tree
    std::filesystem::path installed_relative;  ///< from the installed binary's folder to share/kerntune/tuning_db
};

/// The shipped files, in the order they are read: from $KERNTUNE_SHIPPED_DB when it is set and
/// not empty ("off": none; else ':'-separated files and folders, each folder's *.jsonl sorted by
/// name), else every *.jsonl of the default folder: `where.build_folder` when `binary_dir` is
/// inside `where.build_tree` (tests and the build tree's programs read the source's files), else
/// `binary_dir` / `where.installed_relative`. A folder that does not exist gives none.
std::vector<std::filesystem::path> shipped_files(const std::filesystem::path& binary_dir, const shipped_location& where);

/// The records a shipped file holds for a database's `all`: every winner, the measurement of its
/// key and config (its noise and samples) and the devices they name, in record_set's order.
/// `db export --winners` writes them, so that `db import` of the file then `db export` gives the
/// same bytes.
record_set winners_only(const record_set& all);

/// The winners of `shipped` that may be used. Each must agree with its measurement line (same
/// key and config, status ok, the same median) and no ok measurement of its key may be faster:
/// a winner that does not was edited by hand (or its measurement was), and is left out with one
/// warning naming it and what disagrees.
std::vector<winner> consistent_winners(const record_set& shipped, const warning_sink& warn);

/// Every usable winner of `files`: each read with read_jsonl_lenient (a bad line, a label out
/// of its template's domain by `labels` included, is one warning and left out), then
/// consistent_winners. A file that cannot be read at all is one warning and gives nothing.
std::vector<winner> read_shipped_winners(const std::vector<std::filesystem::path>& files, const label_check& labels,
                                         const warning_sink& warn);

/// For a GPU and NVRTC a process runs with: one line per template of which `winners` hold rows
/// of that GPU and NVRTC at a hash other than the template's own (`current_hash` of its name;
/// nothing for a template not known). Those rows are never used (select_config needs the hash);
/// the line says so once, since a shipped file older than its templates is a packaging mistake
/// the user would otherwise never see.
std::vector<std::string> stale_template_lines(const std::vector<winner>& winners, const std::string& gpu_identity,
                                              const std::string& nvrtc_version,
                                              const std::function<std::optional<std::string>(const std::string&)>& current_hash);

} // namespace kerntune
