#pragma once
// Helpers shared by the tests of src/db (test_db_*.cpp): sample records, a fresh folder per
// test, and ways to look at and edit a file behind the database's back.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <regex>
#include <set>
#include <string>

#include "core/error.hpp"
#include "db/database.hpp"
#include "../support/child_process.hpp"
#include "../support/expectations.hpp"
#include "../support/sqlite_files.hpp"
#include "../support/temp_folder.hpp"

namespace kerntune::db_testing {

namespace fs = std::filesystem;

using testing::contains;
using testing::error_of;

inline std::string bytes_of(const fs::path& file) {
    std::ifstream in(file, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

inline void write_bytes(const fs::path& file, const std::string& bytes) {
    std::ofstream(file, std::ios::binary) << bytes;
}

/// Overwrites the user_version field of a closed SQLite file's header (4 bytes, big-endian, at
/// offset 60), as a newer kerntune or another program would have left it.
inline void set_user_version(const fs::path& file, std::uint32_t version) {
    std::fstream header(file, std::ios::in | std::ios::out | std::ios::binary);
    header.seekp(60);
    for (int shift = 24; shift >= 0; shift -= 8) header.put(static_cast<char>((version >> shift) & 0xff));
}

inline const std::string gpu = "NVIDIA H100 80GB HBM3|sm_90|132 SMs";

inline device_record sample_device(const std::string& identity = gpu) {
    return {identity, "NVIDIA H100 80GB HBM3", 9, 0, 132, 2'619'000, 5120, 52'428'800, 3352.3, 2890.5,
            "12.4"};
}

inline tuning_key sample_key(const std::string& problem = "n=1048576") {
    return {"saxpy", "3f2a9c", "f32", problem, gpu, "12.4.99"};
}

inline measurement sample_measurement(const std::string& config, candidate_status status, double median_us,
                               const tuning_key& key = sample_key()) {
    const std::string message = status == candidate_status::ok ? "" : "ptxas: too many registers";
    return {key, config, status, median_us, 0.012, 1500.25, 40, message, ""};
}

inline winner sample_winner(const std::string& config, const tuning_key& key = sample_key()) {
    return {key, config, 8.75, 2400.5, 71.6, 83.05, 120, 24, 31.5, ""};
}

/// Whether `text` is a UTC ISO-8601 time with milliseconds, as the database writes them.
inline bool is_utc_time(const std::string& text) {
    return std::regex_match(text, std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)"));
}

/// A fresh temporary folder per test, removed afterwards.
class db_test : public testing::temp_folder_test {
protected:
    db_test() : temp_folder_test("kerntune-db") {}

    /// A path in the folder.
    fs::path file(const std::string& name = "tuning.db") const { return m_folder / name; }

    /// The folder's entries, to check that nothing appeared next to a file.
    std::set<std::string> listing() const {
        std::set<std::string> names;
        for (const auto& entry : fs::directory_iterator(m_folder))
            names.insert(entry.path().filename().string());
        return names;
    }

    /// Creates a closed kerntune database holding one device, one measurement and one winner.
    fs::path create_database(const std::string& name = "tuning.db") const {
        database db = database::open(file(name), open_mode::read_write);
        db.upsert_device(sample_device());
        db.record_measurement(sample_measurement("blk256.vec4", candidate_status::ok, 9.5));
        db.set_winner(sample_winner("blk256.vec4"));
        return file(name);
    }

    /// Expects both open modes to refuse `path` with a message containing `expected`, leaving
    /// its bytes as they were. (Reading a WAL-mode SQLite file may leave SQLite's empty -wal and
    /// -shm files next to it; the file itself is not written.)
    void expect_refused_untouched(const fs::path& path, const std::string& expected) const {
        const std::string before = bytes_of(path);
        for (const open_mode mode : {open_mode::read_write, open_mode::read_only}) {
            const std::string message = error_of([&] { database::open(path, mode); });
            EXPECT_TRUE(contains(message, expected)) << message;
            EXPECT_TRUE(contains(message, path.string())) << message;
        }
        EXPECT_EQ(bytes_of(path), before);
    }

    /// Expects both open modes to refuse a file SQLite cannot read at all, creating nothing.
    void expect_not_sqlite_refused_untouched(const fs::path& path) const {
        const std::set<std::string> entries = listing();
        expect_refused_untouched(path,
                                 path.string() + " is not a kerntune database (file is not a database)");
        EXPECT_EQ(listing(), entries);
    }

};

using testing::run_sql;

/// The message of the kerntune::error `action` throws, which must come within two seconds.
template <typename Action>
std::string error_within_two_seconds(Action&& action) {
    return testing::text_from_child_within(std::chrono::seconds(2), [&] { return error_of(action); });
}

/// Runs `check` in a child process without write access to anything here (as user nobody when
/// the tests run as root, since root ignores permissions); returns its exit status.
template <typename Check>
int exit_status_unprivileged(Check&& check) {
    const pid_t child = fork();
    if (child == 0) {
        if (geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0)) _exit(90);
        _exit(check());
    }
    int status = 0;
    waitpid(child, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 99;
}

} // namespace kerntune::db_testing
