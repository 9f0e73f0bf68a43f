// Every number a record holds must be finite and at least 0 (an int field: one that fits an
// int): refused on write, and a row that is not (a file edited by hand, or by a tool without the
// CHECKs) is left out of reads with a warning naming the file and the row; database::check
// (`kerntune db check`) reports such rows, the schema's differences and SQLite's integrity check.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "test_db_support.hpp"

namespace kerntune {
namespace {

using namespace db_testing;

class DbValues : public db_test {
protected:
    /// A closed database holding the sample device, an ok measurement of the sample key per
    /// config, and the first config as its winner.
    void create(const std::vector<std::string>& configs) const {
        database db = database::open(file(), open_mode::read_write);
        db.upsert_device(sample_device());
        for (const std::string& config : configs) db.record_measurement(sample_measurement(config, candidate_status::ok, 5.0));
        db.set_winner(sample_winner(configs.front()));
    }

    /// Runs `sql` on the file as a hand edit would, the CHECKs switched off.
    void edit(const std::string& sql) const {
        ASSERT_EQ(run_sql(file(), "PRAGMA ignore_check_constraints = ON; " + sql), "") << sql;
    }
};

const std::string measurement_of = "measurement of saxpy f32 n=1048576 config ";

// Before the check these rows were read as they were: a median of -1 was the fastest candidate
// (the tuner's winner, which the CHECK of winners then refused to store), 2^40 samples read as 0.
TEST_F(DbValues, RowsWhoseValuesAreOutOfRangeAreLeftOutWithAWarningNamingEach) {
    create({"good", "negative", "infinite", "huge"});
    edit("UPDATE measurements SET median_us = -1 WHERE config = 'negative';"
         "UPDATE measurements SET gbps = 9e999 WHERE config = 'infinite';"
         "UPDATE measurements SET samples = 1099511627776 WHERE config = 'huge';"
         "UPDATE winners SET pct_theoretical = -5, candidates_ok = 8589934592;"
         "UPDATE devices SET copy_gbps = -9e999");
    std::vector<std::string> warnings;
    const database db =
        database::open(file(), open_mode::read_only, [&warnings](const std::string& message) { warnings.push_back(message); });
    const std::vector<measurement> rows = db.measurements(sample_key());
    std::vector<std::string> configs;
    for (const measurement& m : rows) configs.push_back(m.config);
    EXPECT_EQ(configs, std::vector<std::string>{"good"});
    const std::string prefix = file().string() + ": ignoring the ";
    // In the order the query reads them: ok rows by median.
    EXPECT_EQ(warnings, (std::vector<std::string>{
                            prefix + measurement_of + "negative on " + gpu + ": median_us is -1, not a finite number >= 0",
                            prefix + measurement_of + "huge on " + gpu + ": samples is 1099511627776, more than an int holds",
                            prefix + measurement_of + "infinite on " + gpu + ": gbps is inf, not a finite number >= 0"}));
    warnings.clear();
    EXPECT_TRUE(db.winners().empty());
    EXPECT_FALSE(db.find_winner(sample_key()).has_value());
    EXPECT_TRUE(db.devices().empty());
    EXPECT_FALSE(db.find_device(gpu).has_value());
    ASSERT_EQ(warnings.size(), 4u);
    EXPECT_EQ(warnings[0], prefix + "winner of saxpy f32 n=1048576 on " + gpu +
                               ": candidates_ok is 8589934592, more than an int holds; pct_theoretical is -5, not a "
                               "finite number >= 0");
    EXPECT_EQ(warnings[2], prefix + "device " + gpu + ": copy_gbps is -inf, not a finite number >= 0");
}

TEST_F(DbValues, RecordsWhoseValuesAreOutOfRangeAreRefusedOnWriteAndNothingIsStored) {
    database db = database::open(file(), open_mode::read_write);
    db.upsert_device(sample_device());
    const double nan = std::numeric_limits<double>::quiet_NaN(), inf = std::numeric_limits<double>::infinity();
    measurement negative = sample_measurement("negative", candidate_status::ok, -1.0);
    measurement not_a_number = sample_measurement("nan", candidate_status::ok, 1.0);
    not_a_number.gbps = nan;
    winner infinite = sample_winner("infinite");
    infinite.pct_copy = inf;
    device_record device = sample_device("other");
    device.sm_count = -1;
    EXPECT_EQ(error_of([&] { db.record_measurement(negative); }),
              file().string() + ": cannot record the " + measurement_of + "negative on " + gpu +
                  ": median_us is -1, not a finite number >= 0");
    EXPECT_TRUE(contains(error_of([&] { db.record_measurements({sample_measurement("fine", candidate_status::ok, 1.0),
                                                                not_a_number}); }),
                         "gbps is nan, not a finite number >= 0"));
    EXPECT_TRUE(contains(error_of([&] { db.set_winner(infinite); }), "pct_copy is inf, not a finite number >= 0"));
    EXPECT_TRUE(contains(error_of([&] { db.upsert_device(device); }), "device other: sm_count is -1, not a count >= 0"));
    EXPECT_TRUE(db.measurements(sample_key()).empty()) << "the batch is all or nothing";
    EXPECT_TRUE(db.winners().empty());
    EXPECT_EQ(db.devices().size(), 1u);
}

class DbCheck : public DbValues {};

TEST_F(DbCheck, ASoundFileIsSound) {
    create({"good"});
    const check_report report = database::check(file());
    EXPECT_TRUE(report.sound()) << report.problems();
    EXPECT_EQ(report.schema_version, known_schema_version());
    EXPECT_EQ(report.integrity, "ok");
    EXPECT_EQ(report.problems(), "");
}

// Before, db check ran SQLite's integrity check only: it said "integrity ok" for each of these.
TEST_F(DbCheck, ReportsRowsOutOfRangeAndSchemaDifferencesWithoutWriting) {
    create({"good", "negative"});
    edit("UPDATE measurements SET median_us = -1 WHERE config = 'negative'");
    const std::string before = bytes_of(file());
    check_report report = database::check(file());
    EXPECT_FALSE(report.sound());
    EXPECT_EQ(report.bad_rows, std::vector<std::string>{measurement_of + "negative on " + gpu +
                                                        ": median_us is -1, not a finite number >= 0"});
    EXPECT_TRUE(report.schema_differences.empty());
    EXPECT_EQ(bytes_of(file()), before);

    ASSERT_EQ(run_sql(file(), "CREATE TRIGGER t AFTER INSERT ON measurements BEGIN DELETE FROM winners; END; "
                              "DROP TABLE programs"),
              "");
    report = database::check(file());
    EXPECT_EQ(report.schema_differences,
              (std::vector<std::string>{"unexpected trigger t on measurements", "missing table programs",
                                        "missing index sqlite_autoindex_programs_1 on programs"}));
    EXPECT_TRUE(report.bad_rows.empty()) << "no row is read from a file whose tables are not kerntune's";
    EXPECT_EQ(report.integrity, "ok");
    EXPECT_EQ(report.problems(), "unexpected trigger t on measurements; missing table programs; missing index "
                                 "sqlite_autoindex_programs_1 on programs");
}

TEST_F(DbCheck, AnEmptyFileIsAnEmptyDatabaseAndFilesItCannotReadAtAllAreErrorsAsForOpen) {
    EXPECT_EQ(error_of([&] { database::check(file()); }), "no tuning database at " + file().string());
    write_bytes(file(), "");
    const check_report empty = database::check(file());
    EXPECT_EQ(empty.schema_version, 0);
    EXPECT_TRUE(empty.sound()) << empty.problems();
    EXPECT_TRUE(bytes_of(file()).empty());
    write_bytes(file(), "not a database, but text long enough to be read as a header.................................");
    EXPECT_TRUE(contains(error_of([&] { database::check(file()); }), "is not a kerntune database")) << "text";
}

} // namespace
} // namespace kerntune
