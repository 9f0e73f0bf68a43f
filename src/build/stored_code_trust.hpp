#pragma once
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "core/warning_sink.hpp"

namespace kerntune {

/// What stat says about one file or folder, as the trust check reads it.
struct file_facts {
    std::string path;         ///< for messages
    bool exists = false;      ///< false: the file is not there (allowed only for the sidecars)
    bool required = true;     ///< the database and its folder must exist; -wal, -shm, -journal need not
    std::uint32_t owner = 0;  ///< st_uid
    std::uint32_t mode = 0;   ///< st_mode
};

/// Why compiled code stored in a database (cubins in `binaries`, programs in `programs`) may not
/// be used by the user `user`, or "" when it may. The database is code-adjacent: whoever can
/// write it chooses the GPU code that runs, and the stored SHA-256 only detects corruption (a
/// writer recomputes it). So every file in `files` must be owned by `user` or by root and not be
/// writable by its group or by others. A pure function, tested with made-up stat results.
std::string stored_code_refusal(const std::vector<file_facts>& files, std::uint32_t user);

/// The facts the check needs for the database at `path`: the file (links followed), the folder
/// it is in (of the file the links lead to: whoever can write that folder can replace the file
/// or add a -wal that SQLite reads), and SQLite's -wal, -shm and -journal files beside it.
std::vector<file_facts> database_file_facts(const std::filesystem::path& path);

/// Whether this process (its effective user) may use compiled code stored in the database at
/// `path`: stored_code_refusal over database_file_facts. Checked on every call (a few stat
/// calls, on cold paths only); when refused, gives `warn` one message per path and `instead`
/// saying why and what is done instead, e.g. "compiling kernels from source (tuned configs are
/// still used)".
bool stored_code_allowed(const std::filesystem::path& path, std::string_view instead, const warning_sink& warn);

} // namespace kerntune
