// nvrtc label (libkerntune's objects link NVRTC), no GPU: how a runtime opens its tuning
// database (open_runtime_database, which runtime_state calls once the device is found). A file
// it cannot use means default configs and one warning, never a blocked or failed runtime.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "../support/child_process.hpp"
#include "../support/cli_run.hpp"
#include "../support/sqlite_files.hpp"
#include "../support/temp_folder.hpp"
#include "catalog/catalog.hpp"
#include "kerntune/kerntune.hpp"
#include "runtime/runtime_state.hpp"

namespace kerntune {
namespace {

namespace fs = std::filesystem;

class RuntimeDatabase : public testing::temp_folder_test {
protected:
    RuntimeDatabase() : temp_folder_test("kerntune-runtime-db") {}

    /// What open_runtime_database makes of `path`, run in a child process that must finish within
    /// two seconds: "database" (writable or not) or "none", then the warnings it logged.
    static std::string open_in_child(const fs::path& path) {
        return testing::text_from_child_within(std::chrono::seconds(2), [&] {
            std::string warnings;
            set_log_callback([&warnings](kt_log_level level, const std::string& message) {
                if (level == KT_LOG_WARN) warnings += "\n" + message;
            });
            const detail::runtime_database opened = detail::open_runtime_database(path.string());
            set_log_callback({});
            return std::string(opened.db ? (opened.writable ? "writable database" : "read-only database") : "none") +
                   warnings;
        });
    }
};

/// The file's bytes.
std::string bytes_of(const fs::path& file) { return testing::file_bytes(file); }

// An application's runtime never creates, migrates or converts a file on its own: it caches
// compiled kernels only in a database of the newest schema, as it is, and otherwise reads. Before,
// it opened every file for writing: the empty file got the schema, the
// rollback-journal one was switched to WAL, the schema 1 one migrated.
TEST_F(RuntimeDatabase, AnEmptyFileARollbackJournalFileAndASchemaOneFileAreLeftAsTheyWere) {
    const fs::path empty = m_folder / "empty.db";
    std::ofstream(empty).close();
    EXPECT_EQ(open_in_child(empty), "none\nignoring the tuning database: " + empty.string() +
                                        " has no kerntune schema (open it for writing to create one); using default "
                                        "configs");
    EXPECT_EQ(bytes_of(empty), "");

    const fs::path rollback = m_folder / "rollback.db";
    database::open(rollback, open_mode::read_write);
    ASSERT_EQ(testing::run_sql(rollback, "PRAGMA journal_mode = DELETE"), "");
    const std::string rollback_bytes = bytes_of(rollback);
    ASSERT_EQ(rollback_bytes.at(18), 1) << "not in rollback-journal mode";
    EXPECT_EQ(open_in_child(rollback), "writable database");
    EXPECT_EQ(bytes_of(rollback), rollback_bytes);

    const fs::path old = m_folder / "schema1.db";
    std::ifstream dump(KERNTUNE_TEST_FIXTURE_DIR "/../databases/main_662010a.sql");
    ASSERT_EQ(testing::run_sql(old, std::string(std::istreambuf_iterator<char>(dump), {})), "");
    const std::string old_bytes = bytes_of(old);
    EXPECT_EQ(open_in_child(old), "read-only database");
    EXPECT_EQ(bytes_of(old), old_bytes);
    for (const fs::path& file : {empty, rollback, old})
        for (const char* suffix : {"-wal", "-shm", "-journal"})
            EXPECT_FALSE(fs::exists(file.string() + suffix)) << file << suffix;
}

// Before database::open refused what is not a regular file, a FIFO hung kt_runtime_create in
// SQLite's open(2) until some process wrote to the FIFO.
TEST_F(RuntimeDatabase, AFifoIsNoDatabaseWithAWarningAndNeverBlocks) {
    const fs::path fifo = m_folder / "tuning.db";
    ASSERT_EQ(mkfifo(fifo.c_str(), 0644), 0);
    EXPECT_EQ(open_in_child(fifo), "none\nignoring the tuning database: " + fifo.string() +
                                       " is a FIFO, not a tuning database; using default configs");
}

// Before the schema check an application's first kt_query ran the view's query, which never ends.
TEST_F(RuntimeDatabase, AViewInPlaceOfWinnersIsNoDatabaseWithAWarning) {
    const fs::path path = m_folder / "tuning.db";
    database::open(path, open_mode::read_write);
    ASSERT_EQ(testing::run_sql(path, "ALTER TABLE winners RENAME TO stored_winners; CREATE VIEW winners AS WITH "
                                     "RECURSIVE forever(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM forever) "
                                     "SELECT stored_winners.* FROM forever, stored_winners"),
              "");
    const std::string outcome = open_in_child(path);
    EXPECT_EQ(outcome.rfind("none\nignoring the tuning database: " + path.string() + " is not a kerntune database", 0),
              0u)
        << outcome;
    EXPECT_NE(outcome.find("winners is a view, not a table"), std::string::npos) << outcome;
}

} // namespace
} // namespace kerntune

namespace kerntune {
namespace {

// The runtime's objects in a program of the build tree find the source tree's tuning_db/ (as an
// installed libkerntune finds share/kerntune/tuning_db), and read every winner of it without a
// warning: the repository's file is consistent. With KERNTUNE_SHIPPED_DB=off, none.
TEST(RuntimeShippedFiles, AProgramOfTheBuildTreeReadsTheRepositorysTuningDb) {
    std::string warnings;
    set_log_callback([&warnings](kt_log_level level, const std::string& message) {
        if (level == KT_LOG_WARN) warnings += "\n" + message;
    });
    unsetenv("KERNTUNE_SHIPPED_DB");
    const std::size_t found = detail::read_runtime_shipped_winners(catalog()).size();
    setenv("KERNTUNE_SHIPPED_DB", "off", 1);
    const std::size_t off = detail::read_runtime_shipped_winners(catalog()).size();
    set_log_callback({});
    EXPECT_GT(found, 0u) << "tuning_db/*.jsonl holds no winners, or was not found";
    EXPECT_EQ(off, 0u);
    EXPECT_EQ(warnings, "");
}

} // namespace
} // namespace kerntune
