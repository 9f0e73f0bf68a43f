// Reads that SQLite cannot make in place without writing: a hot journal left by a killed writer,
// and a WAL database on a read-only file system. database::open(read_only) reads what was last
// committed (src/db/recovered_copy, or an immutable open when the file is all there is) and
// leaves every file as it was.
#include <gtest/gtest.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <string>

#include "test_db_support.hpp"

namespace kerntune {
namespace {

using namespace db_testing;

class DbReadRecovery : public db_test {
protected:
    /// A closed database in rollback-journal mode with 40 keys' measurements and winners, over
    /// several pages.
    void create_rollback_database() const {
        {
            database db = database::open(file(), open_mode::read_write);
            db.upsert_device(sample_device());
            for (int k = 0; k < 40; ++k) {
                const tuning_key key = sample_key("n=" + std::to_string(1024 * (k + 1)));
                db.record_measurement(sample_measurement("blk256.vec4", candidate_status::ok, 5.0 + k, key));
                db.set_winner(sample_winner("blk256.vec4", key));
            }
        }
        ASSERT_EQ(run_sql(file(), "PRAGMA journal_mode = DELETE"), "");
    }

    /// What a read-only open reads: "<winners> winners, <measurements> measurements, <bytes of
    /// messages>", or the error.
    std::string what_a_reader_reads() const {
        std::string read;
        const std::string message = error_of([&] {
            const database db = database::open(file(), open_mode::read_only);
            std::size_t message_bytes = 0;
            for (const measurement& m : db.find_measurements({})) message_bytes += m.message.size();
            read = std::to_string(db.winners().size()) + " winners, " + std::to_string(db.find_measurements({}).size()) +
                   " measurements, " + std::to_string(message_bytes) + " bytes of messages, integrity " +
                   db.integrity_check();
        });
        return message.empty() ? read : message;
    }
};

// Before, a read-only open said "attempt to write a readonly database" (even for root in a
// writable folder): only a writer may roll a hot journal back.
TEST_F(DbReadRecovery, AHotJournalIsReadAsTheLastCommitAndLeftAsItWas) {
    create_rollback_database();
    const std::string committed = what_a_reader_reads();
    ASSERT_EQ(committed, "40 winners, 40 measurements, 0 bytes of messages, integrity ok");
    const std::string before = bytes_of(file());
    testing::leave_hot_journal(file(), "UPDATE measurements SET message = printf('%.*c', 3000, 'x'); DELETE FROM winners;");
    const std::string journal = bytes_of(file().string() + "-journal");
    ASSERT_FALSE(journal.empty()) << "the killed writer left no journal";
    const std::string half_written = bytes_of(file());
    ASSERT_NE(half_written, before) << "the killed writer wrote nothing into the file";
    const std::set<std::string> entries = listing();

    EXPECT_EQ(what_a_reader_reads(), committed);
    EXPECT_TRUE(database::check(file()).sound()) << database::check(file()).problems();
    EXPECT_EQ(bytes_of(file()), half_written);
    EXPECT_EQ(bytes_of(file().string() + "-journal"), journal);
    EXPECT_EQ(listing(), entries);

    // A writer rolls the journal back in place, and reads the same.
    database::open(file(), open_mode::read_write);
    EXPECT_FALSE(fs::exists(file().string() + "-journal"));
    EXPECT_EQ(what_a_reader_reads(), committed);
}

/// Runs `read` in a child process that sees `folder` through a read-only bind mount (its own
/// mount namespace); "skipped: ..." where this process may not make one (not root, no
/// CAP_SYS_ADMIN, no user namespaces).
template <typename Read>
std::string read_on_a_read_only_file_system(const fs::path& folder, Read&& read) {
    return testing::text_from_child_within(std::chrono::seconds(5), [&]() -> std::string {
        if (unshare(CLONE_NEWNS) != 0) return "skipped: unshare(CLONE_NEWNS) failed";
        if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 ||
            mount(folder.c_str(), folder.c_str(), nullptr, MS_BIND, nullptr) != 0 ||
            mount(nullptr, folder.c_str(), nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY, nullptr) != 0)
            return "skipped: cannot bind-mount " + folder.string() + " read-only";
        if (access(folder.c_str(), W_OK) == 0 || errno != EROFS) return "the mount is not read-only";
        return read();
    });
}

// Before, both cases said "unable to open database file": SQLite could not make the -shm.
TEST_F(DbReadRecovery, AWalDatabaseOnAReadOnlyFileSystemIsRead) {
    create_database();  // WAL, closed: no -wal left
    const auto winners = [&] {
        std::string read;
        const std::string message =
            error_of([&] { read = std::to_string(database::open(file(), open_mode::read_only).winners().size()); });
        return message.empty() ? read + " winners" : message;
    };
    const std::string clean = read_on_a_read_only_file_system(m_folder, winners);
    if (clean.rfind("skipped: ", 0) == 0) GTEST_SKIP() << clean;
    EXPECT_EQ(clean, "1 winners");

    // A writer killed after committing a second winner leaves it in the -wal only.
    int wrote[2];
    ASSERT_EQ(pipe(wrote), 0);
    const pid_t writer = fork();
    if (writer == 0) {
        database db = database::open(file(), open_mode::read_write);
        db.set_winner(sample_winner("blk128", sample_key("n=2048")));
        if (write(wrote[1], "w", 1) != 1) _exit(1);
        pause();
    }
    char done = 0;
    ASSERT_EQ(read(wrote[0], &done, 1), 1);
    kill(writer, SIGKILL);
    waitpid(writer, nullptr, 0);
    ASSERT_GT(fs::file_size(file().string() + "-wal"), 0u);
    fs::remove(file().string() + "-shm");  // as a reboot would leave it (a tmpfs), or a copy
    const std::string before = bytes_of(file()), wal = bytes_of(file().string() + "-wal");
    EXPECT_EQ(read_on_a_read_only_file_system(m_folder, winners), "2 winners");
    EXPECT_EQ(bytes_of(file()), before);
    EXPECT_EQ(bytes_of(file().string() + "-wal"), wal);
}

} // namespace
} // namespace kerntune
