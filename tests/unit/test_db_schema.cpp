// A file's schema objects must be exactly those kerntune's schema creates (src/db/schema_objects):
// views, triggers, tables and indexes added, missing or defined otherwise are refused, in both
// open modes, before anything in the file runs or is written.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "db/schema_objects.hpp"
#include "test_db_support.hpp"

namespace kerntune {
namespace {

using namespace db_testing;

class DbSchema : public db_test {
protected:
    /// Edits a new closed database with `sql` (as another program would), then expects both open
    /// modes to refuse it within two seconds naming every one of `expected`, the file's bytes and
    /// the folder's entries as they were.
    void expect_refused_after(const std::string& sql, const std::vector<std::string>& expected) const {
        for (const char* suffix : {"", "-wal", "-shm"}) fs::remove(file().string() + suffix);
        create_database();
        ASSERT_EQ(run_sql(file(), sql), "");
        const std::string before = bytes_of(file());
        const std::set<std::string> entries = listing();
        for (const open_mode mode : {open_mode::read_only, open_mode::read_write}) {
            const std::string message = text_from_reading(mode);
            EXPECT_EQ(message.rfind(file().string() + " is not a kerntune database: its schema is not kerntune's "
                                                      "schema " + std::to_string(known_schema_version()) + " (",
                                    0),
                      0u)
                << message;
            for (const std::string& part : expected) EXPECT_TRUE(contains(message, part)) << message;
        }
        EXPECT_EQ(bytes_of(file()), before);
        EXPECT_EQ(listing(), entries);
    }

    /// Opens the file in `mode` and reads every table in a child process that must finish
    /// within two seconds: the error's message, or "read" when nothing was refused.
    std::string text_from_reading(open_mode mode) const {
        return testing::text_from_child_within(std::chrono::seconds(2), [&] {
            const std::string message = error_of([&] {
                const database db = database::open(file(), mode);
                db.winners();
                db.find_measurements({});
                db.devices();
            });
            return message.empty() ? std::string("read") : message;
        });
    }
};

// Before the check, `db show` and a runtime's first lookup ran the view's query, which never ends.
TEST_F(DbSchema, AViewInPlaceOfWinnersIsRefusedWithoutRunningIt) {
    // The view has the table's columns (whatever the version), each of its rows repeated forever.
    expect_refused_after("ALTER TABLE winners RENAME TO stored_winners; CREATE VIEW winners AS WITH RECURSIVE "
                         "forever(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM forever) "
                         "SELECT stored_winners.* FROM forever, stored_winners",
                         {"winners is a view, not a table", "unexpected table stored_winners",
                          "missing index sqlite_autoindex_winners_1 on winners"});
}

// Before, the first rewrote the stored winner on every measurement written (a tune printed one
// winner and stored another), the second dropped every measurement without an error.
TEST_F(DbSchema, TriggersOnMeasurementsAreRefused) {
    expect_refused_after("CREATE TRIGGER rewrite AFTER INSERT ON measurements BEGIN "
                         "UPDATE winners SET config = 'blk32.vec1'; END",
                         {"unexpected trigger rewrite on measurements"});
    expect_refused_after("CREATE TRIGGER drop_all BEFORE INSERT ON measurements BEGIN SELECT RAISE(IGNORE); END",
                         {"unexpected trigger drop_all on measurements"});
}

TEST_F(DbSchema, AnExtraTableOrIndexIsRefused) {
    expect_refused_after("CREATE TABLE notes (text TEXT)", {"unexpected table notes"});
    expect_refused_after("CREATE INDEX by_config ON measurements (config)", {"unexpected index by_config on measurements"});
}

TEST_F(DbSchema, AMissingTableIsRefused) {
    expect_refused_after("DROP TABLE programs", {"missing table programs", "missing index sqlite_autoindex_programs_1"});
}

// Without its CHECK a negative median could be stored, and become a winner.
TEST_F(DbSchema, AColumnDefinedOtherwiseIsRefused) {
    expect_refused_after("PRAGMA writable_schema = ON; UPDATE sqlite_schema SET sql = replace(sql, "
                         "'CHECK (median_us >= 0)', '') WHERE name = 'measurements'",
                         {"table measurements is not defined as schema"});
    expect_refused_after("ALTER TABLE winners ADD COLUMN note TEXT", {"table winners is not defined as schema"});
}

// Schema 1's files differ in their comments (one was edited without a new version): a comment,
// or the spacing, is no difference.
TEST_F(DbSchema, CommentsAndSpacingAreNoDifference) {
    create_database();
    ASSERT_EQ(run_sql(file(), "PRAGMA writable_schema = ON; UPDATE sqlite_schema SET sql = replace(replace(sql, "
                              "'-- canonical label', '/* another comment */ -- a label'), '    ', '\t') "
                              "WHERE name = 'measurements'"),
              "");
    ASSERT_EQ(run_sql(file(), "SELECT count(*) FROM measurements"), "") << "the edit left an unreadable schema";
    EXPECT_EQ(text_from_reading(open_mode::read_only), "read");
    EXPECT_EQ(database::open(file(), open_mode::read_only).measurements(sample_key()).size(), 1u);
}

TEST(DbSchemaText, NormalizedSqlDropsCommentsAndSpacingButKeepsQuotedText) {
    using detail::normalized_sql;
    EXPECT_EQ(normalized_sql("  CREATE TABLE t (\n    a TEXT, -- a comment\n    b /* and\nanother */ REAL\n)  "),
              "CREATE TABLE t ( a TEXT, b REAL )");
    EXPECT_EQ(normalized_sql("CHECK (s IN ('ok', 'a  -- b', 'it''s  /*'))"), "CHECK (s IN ('ok', 'a  -- b', 'it''s  /*'))");
    EXPECT_EQ(normalized_sql("\"a  name\"  [b  c]  `d  e`"), "\"a  name\" [b  c] `d  e`");
    EXPECT_EQ(normalized_sql("x--y"), "x");
    EXPECT_EQ(normalized_sql("x/*y"), "x");
    EXPECT_EQ(normalized_sql("'open"), "'open");
    EXPECT_NE(normalized_sql("CHECK (a >= 0)"), normalized_sql("CHECK (a > 0)"));
}

TEST(DbSchemaText, EveryVersionsExpectedObjectsHaveTheFiveTablesAndTheirKeys) {
    for (int version = 1; version <= known_schema_version(); ++version) {
        std::set<std::string> names;
        for (const detail::schema_object& object : detail::expected_objects(version)) names.insert(object.name);
        EXPECT_EQ(names, (std::set<std::string>{"binaries", "devices", "measurements", "programs", "winners",
                                                "sqlite_autoindex_binaries_1", "sqlite_autoindex_devices_1",
                                                "sqlite_autoindex_measurements_1", "sqlite_autoindex_programs_1",
                                                "sqlite_autoindex_winners_1"}))
            << "schema " << version;
    }
}

} // namespace
} // namespace kerntune
