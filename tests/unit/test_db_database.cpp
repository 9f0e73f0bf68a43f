// Tests of src/db/database: records, opening good and bad files, read-only use, the default
// path, and many processes writing one file at once. Each test works in a fresh temp folder.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <map>
#include <optional>
#include <random>
#include <regex>
#include <set>

#include "core/error.hpp"
#include "core/version.hpp"
#include "db/database.hpp"
#include "test_db_support.hpp"
#include "../support/sqlite_files.hpp"

namespace kerntune {
namespace {

using namespace db_testing;

class DbRecords : public db_test {};
class DbOpen : public db_test {};
class DbReadOnly : public db_test {};
class DbConcurrency : public db_test {};

TEST_F(DbRecords, DeviceRoundTripsEveryField) {
    database db = database::open(file(), open_mode::read_write);
    const device_record device = sample_device();
    db.upsert_device(device);

    const std::optional<device_record> found = db.find_device(device.identity);
    ASSERT_TRUE(found.has_value());
    EXPECT_EQ(found->identity, device.identity);
    EXPECT_EQ(found->name, device.name);
    EXPECT_EQ(found->cc_major, 9);
    EXPECT_EQ(found->cc_minor, 0);
    EXPECT_EQ(found->sm_count, 132);
    EXPECT_EQ(found->memory_clock_khz, 2'619'000);
    EXPECT_EQ(found->bus_width_bits, 5120);
    EXPECT_EQ(found->l2_bytes, 52'428'800);
    EXPECT_DOUBLE_EQ(found->theoretical_gbps, 3352.3);
    EXPECT_DOUBLE_EQ(found->copy_gbps, 2890.5);
    EXPECT_EQ(found->driver_version, "12.4");
    EXPECT_FALSE(db.find_device("NVIDIA A100|sm_80|108 SMs").has_value());
}

TEST_F(DbRecords, UpsertDeviceReplacesTheSameIdentityAndKeepsItsResults) {
    database db = database::open(file(), open_mode::read_write);
    device_record device = sample_device();
    db.upsert_device(device);
    db.record_measurement(sample_measurement("blk256", candidate_status::ok, 9.5));
    device.driver_version = "12.6";
    device.copy_gbps = 2950;
    db.upsert_device(device);
    db.upsert_device(sample_device("NVIDIA A100|sm_80|108 SMs"));

    const std::vector<device_record> devices = db.devices();
    ASSERT_EQ(devices.size(), 2u);
    EXPECT_EQ(devices[0].identity, "NVIDIA A100|sm_80|108 SMs");
    EXPECT_EQ(devices[1].driver_version, "12.6");
    EXPECT_DOUBLE_EQ(devices[1].copy_gbps, 2950);
    EXPECT_EQ(db.measurements(sample_key()).size(), 1u);
}

TEST_F(DbRecords, MeasurementRoundTripsEveryFieldAndIsStamped) {
    database db = database::open(file(), open_mode::read_write);
    db.upsert_device(sample_device());
    const measurement written = sample_measurement("blk128.vec2", candidate_status::resource_limit, 0);
    db.record_measurement(written);

    const std::vector<measurement> rows = db.measurements(sample_key());
    ASSERT_EQ(rows.size(), 1u);
    const measurement& read = rows[0];
    EXPECT_EQ(read.key.template_name, "saxpy");
    EXPECT_EQ(read.key.template_hash, "3f2a9c");
    EXPECT_EQ(read.key.dtype, "f32");
    EXPECT_EQ(read.key.problem_key, "n=1048576");
    EXPECT_EQ(read.key.gpu_identity, gpu);
    EXPECT_EQ(read.key.nvrtc_version, "12.4.99");
    EXPECT_EQ(read.config, written.config);
    EXPECT_EQ(read.status, candidate_status::resource_limit);
    EXPECT_DOUBLE_EQ(read.median_us, 0);
    EXPECT_DOUBLE_EQ(read.noise, 0.012);
    EXPECT_DOUBLE_EQ(read.gbps, 1500.25);
    EXPECT_EQ(read.samples, 40);
    EXPECT_EQ(read.message, "ptxas: too many registers");
    EXPECT_TRUE(is_utc_time(read.measured_at)) << read.measured_at;
}

TEST_F(DbRecords, RecordingTheSameConfigAgainReplacesIt) {
    database db = database::open(file(), open_mode::read_write);
    db.upsert_device(sample_device());
    db.record_measurement(sample_measurement("blk256", candidate_status::timeout, 0));
    db.record_measurement(sample_measurement("blk256", candidate_status::ok, 7.25));

    const std::vector<measurement> rows = db.measurements(sample_key());
    ASSERT_EQ(rows.size(), 1u);
    EXPECT_EQ(rows[0].status, candidate_status::ok);
    EXPECT_DOUBLE_EQ(rows[0].median_us, 7.25);
}

TEST_F(DbRecords, MeasurementsListOkFastestFirstThenTheRestByConfig) {
    database db = database::open(file(), open_mode::read_write);
    db.upsert_device(sample_device());
    db.record_measurement(sample_measurement("c", candidate_status::ok, 3.0));
    db.record_measurement(sample_measurement("b", candidate_status::compile_failed, 0));
    db.record_measurement(sample_measurement("z", candidate_status::ok, 1.0));
    db.record_measurement(sample_measurement("a", candidate_status::timeout, 0));
    db.record_measurement(sample_measurement("x", candidate_status::ok, 2.0));

    std::vector<std::string> order;
    for (const measurement& m : db.measurements(sample_key())) order.push_back(m.config);
    EXPECT_EQ(order, (std::vector<std::string>{"z", "x", "c", "a", "b"}));
}

TEST_F(DbRecords, MeasurementsAreOnlyThoseOfTheExactKey) {
    database db = database::open(file(), open_mode::read_write);
    db.upsert_device(sample_device());
    tuning_key other_nvrtc = sample_key();
    other_nvrtc.nvrtc_version = "12.6.20";
    db.record_measurement(sample_measurement("blk256", candidate_status::ok, 9.0));
    db.record_measurement(sample_measurement("blk512", candidate_status::ok, 8.0, other_nvrtc));

    const std::vector<measurement> rows = db.measurements(sample_key());
    ASSERT_EQ(rows.size(), 1u);
    EXPECT_EQ(rows[0].config, "blk256");
    EXPECT_TRUE(db.measurements(sample_key("n=4096")).empty());
}

// candidate_status can only write the seven statuses; the schema's CHECK still guards the
// column against other writers.
TEST_F(DbRecords, UnknownStatusIsRejectedByTheCheck) {
    {
        database db = database::open(file(), open_mode::read_write);
        db.upsert_device(sample_device());
        db.record_measurement(sample_measurement("blk256", candidate_status::timeout, 0));
    }
    const std::string message = run_sql(file(), "UPDATE measurements SET status = 'exploded'");
    EXPECT_TRUE(contains(message, "CHECK constraint failed")) << message;
    EXPECT_EQ(database::open(file(), open_mode::read_only).measurements(sample_key()).at(0).status,
              candidate_status::timeout);
}

// A status text this build does not know (a file edited with the CHECK switched off, or written
// by a kerntune with more statuses) leaves the row out, with a warning naming the file and the
// row, not a guess. (Before, the whole read failed.)
TEST_F(DbRecords, RowWithAnUnknownStatusIsLeftOutWithAWarningNamingTheFileAndTheRow) {
    {
        database db = database::open(file(), open_mode::read_write);
        db.upsert_device(sample_device());
        db.record_measurement(sample_measurement("blk256.vec4", candidate_status::ok, 9.5));
        db.record_measurement(sample_measurement("blk512.vec4", candidate_status::ok, 8.5));
    }
    ASSERT_EQ(run_sql(file(), "PRAGMA ignore_check_constraints = ON; "
                              "UPDATE measurements SET status = 'exploded' WHERE config = 'blk256.vec4'"),
              "");
    std::vector<std::string> warnings;
    const database db = database::open(file(), open_mode::read_only,
                                       [&warnings](const std::string& message) { warnings.push_back(message); });
    const std::vector<measurement> rows = db.measurements(sample_key());
    ASSERT_EQ(rows.size(), 1u);
    EXPECT_EQ(rows[0].config, "blk512.vec4");
    ASSERT_EQ(warnings.size(), 1u);
    EXPECT_EQ(warnings[0], file().string() + ": ignoring the measurement of saxpy f32 n=1048576 config blk256.vec4 on " +
                               gpu + ": unknown candidate status 'exploded': expected ok, compile_failed, resource_limit, "
                                     "launch_failed, runtime_fault, timeout or wrong_answer");
}

TEST_F(DbRecords, ResultsForAnUnrecordedGpuAreRejected) {
    database db = database::open(file(), open_mode::read_write);
    const std::string message =
        error_of([&] { db.record_measurement(sample_measurement("blk256", candidate_status::ok, 1.0)); });
    EXPECT_TRUE(contains(message, "FOREIGN KEY constraint failed")) << message;
    EXPECT_FALSE(error_of([&] { db.set_winner(sample_winner("blk256")); }).empty());
}

TEST_F(DbRecords, WinnerRoundTripsEveryFieldAndIsStamped) {
    database db = database::open(file(), open_mode::read_write);
    db.upsert_device(sample_device());
    db.set_winner(sample_winner("blk256.vec4.unr2.tile.w0"));

    const std::optional<winner> found = db.find_winner(sample_key());
    ASSERT_TRUE(found.has_value());
    EXPECT_EQ(found->key.template_name, "saxpy");
    EXPECT_EQ(found->key.problem_key, "n=1048576");
    EXPECT_EQ(found->key.gpu_identity, gpu);
    EXPECT_EQ(found->key.nvrtc_version, "12.4.99");
    EXPECT_EQ(found->config, "blk256.vec4.unr2.tile.w0");
    EXPECT_DOUBLE_EQ(found->median_us, 8.75);
    EXPECT_DOUBLE_EQ(found->gbps, 2400.5);
    EXPECT_DOUBLE_EQ(found->pct_theoretical, 71.6);
    EXPECT_DOUBLE_EQ(found->pct_copy, 83.05);
    EXPECT_EQ(found->candidates_ok, 120);
    EXPECT_EQ(found->candidates_failed, 24);
    EXPECT_DOUBLE_EQ(found->tune_seconds, 31.5);
    EXPECT_TRUE(is_utc_time(found->tuned_at)) << found->tuned_at;
    EXPECT_FALSE(db.find_winner(sample_key("n=4096")).has_value());
}

TEST_F(DbRecords, SetWinnerReplacesTheKeysWinner) {
    database db = database::open(file(), open_mode::read_write);
    db.upsert_device(sample_device());
    db.set_winner(sample_winner("blk256"));
    db.set_winner(sample_winner("blk512"));

    const std::vector<winner> all = db.winners();
    ASSERT_EQ(all.size(), 1u);
    EXPECT_EQ(all[0].config, "blk512");
}

TEST_F(DbRecords, WinnersAreOrderedByTemplateDtypeAndProblem) {
    database db = database::open(file(), open_mode::read_write);
    db.upsert_device(sample_device());
    const auto key = [](const std::string& name, const std::string& dtype, const std::string& problem) {
        tuning_key k = sample_key(problem);
        k.template_name = name;
        k.dtype = dtype;
        return k;
    };
    db.set_winner(sample_winner("w1", key("scale", "f32", "n=2")));
    db.set_winner(sample_winner("w2", key("saxpy", "f64", "n=1")));
    db.set_winner(sample_winner("w3", key("saxpy", "f32", "n=2")));
    db.set_winner(sample_winner("w4", key("saxpy", "f32", "n=1")));

    std::vector<std::string> order;
    for (const winner& w : db.winners()) order.push_back(w.config);
    EXPECT_EQ(order, (std::vector<std::string>{"w4", "w3", "w2", "w1"}));
}

/// A database with two GPUs and, for each of saxpy and scale, dtypes f32 and f16 and problems
/// n=1 and n=2 on both GPUs: 16 keys of three measurements (ok, timeout, compile_failed) and a
/// winner each, plus one device-less record of every other kind (a binary, a program).
database filled_database(const fs::path& path) {
    database db = database::open(path, open_mode::read_write);
    db.upsert_device(sample_device());
    db.upsert_device(sample_device("NVIDIA H200|sm_90|132 SMs"));
    for (const std::string name : {"saxpy", "scale"})
        for (const std::string dtype : {"f32", "f16"})
            for (const std::string problem : {"n=1", "n=2"})
                for (const std::string identity : {gpu, std::string("NVIDIA H200|sm_90|132 SMs")}) {
                    tuning_key key = sample_key(problem);
                    key.template_name = name;
                    key.dtype = dtype;
                    key.gpu_identity = identity;
                    db.record_measurement(sample_measurement("c.ok", candidate_status::ok, 2.0, key));
                    db.record_measurement(sample_measurement("c.timeout", candidate_status::timeout, 0, key));
                    db.record_measurement(sample_measurement("c.nvrtc", candidate_status::compile_failed, 0, key));
                    db.set_winner(sample_winner("c.ok", key));
                }
    db.store_binary({{"3f2a9c", "c.ok", "f32", "sm_90", "12.4.99"}, "_Z1kv", "d", "cubin"});
    db.store_program({"programkey", "_Z1kv", "d", "cubin"});
    return db;
}

TEST_F(DbRecords, FindMeasurementsReturnsEveryRowOfTheMatchingKeysInKeyOrder) {
    const database db = filled_database(file());
    EXPECT_EQ(db.find_measurements({}).size(), 48u);
    const std::vector<measurement> rows = db.find_measurements({"scale", "f16", std::nullopt, gpu});
    ASSERT_EQ(rows.size(), 6u);
    std::vector<std::string> seen;
    for (const measurement& m : rows) seen.push_back(m.key.problem_key + " " + m.config);
    // By key, then as measurements(key): ok rows first, then the others by config.
    EXPECT_EQ(seen, (std::vector<std::string>{"n=1 c.ok", "n=1 c.nvrtc", "n=1 c.timeout", "n=2 c.ok", "n=2 c.nvrtc",
                                              "n=2 c.timeout"}));
    for (const measurement& m : rows) {
        EXPECT_EQ(m.key.template_name, "scale");
        EXPECT_EQ(m.key.dtype, "f16");
        EXPECT_EQ(m.key.gpu_identity, gpu);
        EXPECT_TRUE(is_utc_time(m.measured_at)) << m.measured_at;
    }
    EXPECT_TRUE(db.find_measurements({"absent"}).empty());
    // A value is bound, never pasted into SQL.
    EXPECT_TRUE(db.find_measurements({"saxpy' OR '1'='1"}).empty());
}

TEST_F(DbRecords, WinnersOfAFilterAreThoseOfTheMatchingKeys) {
    const database db = filled_database(file());
    EXPECT_EQ(db.winners({}).size(), 16u);
    EXPECT_EQ(db.winners({"saxpy"}).size(), 8u);
    EXPECT_EQ(db.winners({std::nullopt, "f32", "n=2"}).size(), 4u);
    const std::vector<winner> one = db.winners({"saxpy", "f32", "n=2", gpu});
    ASSERT_EQ(one.size(), 1u);
    EXPECT_EQ(one[0].key.problem_key, "n=2");
}

TEST_F(DbRecords, ForgetDeletesTheMeasurementsAndWinnersOfTheMatchingKeysOnly) {
    database db = filled_database(file());
    const forgotten removed = db.forget({"saxpy", "f32"});
    EXPECT_EQ(removed.measurements, 12);  // 2 problems x 2 GPUs x 3 rows
    EXPECT_EQ(removed.winners, 4);
    EXPECT_TRUE(db.find_measurements({"saxpy", "f32"}).empty());
    EXPECT_TRUE(db.winners({"saxpy", "f32"}).empty());
    EXPECT_EQ(db.find_measurements({}).size(), 36u);
    EXPECT_EQ(db.winners().size(), 12u);
    // Everything else stays: the devices, the binaries and the programs.
    EXPECT_EQ(db.devices().size(), 2u);
    EXPECT_TRUE(db.find_binary({"3f2a9c", "c.ok", "f32", "sm_90", "12.4.99"}).has_value());
    EXPECT_TRUE(db.find_program("programkey").has_value());

    const forgotten one_gpu = db.forget({"scale", std::nullopt, "n=1", gpu});
    EXPECT_EQ(one_gpu.measurements, 6);
    EXPECT_EQ(one_gpu.winners, 2);
    EXPECT_EQ(db.find_measurements({"scale", std::nullopt, "n=1"}).size(), 6u);  // the H200's

    const forgotten nothing = db.forget({"saxpy", "f32"});
    EXPECT_EQ(nothing.measurements, 0);
    EXPECT_EQ(nothing.winners, 0);
}

TEST_F(DbRecords, ForgetEverythingIsRefusedAndDeletesNothing) {
    database db = filled_database(file());
    EXPECT_TRUE(contains(error_of([&] { db.forget({}); }), "refusing to forget every key"));
    EXPECT_EQ(db.find_measurements({}).size(), 48u);
    EXPECT_EQ(db.winners().size(), 16u);
}

TEST_F(DbRecords, ForgetOnAReadOnlyDatabaseIsAnErrorAndDeletesNothing) {
    filled_database(file());
    database db = database::open(file(), open_mode::read_only);
    const std::string message = error_of([&] { db.forget({"saxpy"}); });
    EXPECT_TRUE(contains(message, file().string())) << message;
    EXPECT_EQ(db.find_measurements({"saxpy"}).size(), 24u);
}

TEST_F(DbRecords, RemoveWinnerDeletesThatKeysWinnerOnly) {
    database db = filled_database(file());
    tuning_key key = sample_key("n=1");
    EXPECT_TRUE(db.remove_winner(key));
    EXPECT_FALSE(db.find_winner(key).has_value());
    EXPECT_FALSE(db.remove_winner(key));
    EXPECT_EQ(db.winners().size(), 15u);
    EXPECT_EQ(db.measurements(key).size(), 3u);
    key.nvrtc_version = "other";  // a different key: nothing to remove
    EXPECT_FALSE(db.remove_winner(key));
}

TEST_F(DbRecords, KnownSchemaVersionIsTheOneNewFilesGet) {
    const database db = database::open(file(), open_mode::read_write);
    EXPECT_EQ(known_schema_version(), db.schema_version());
    EXPECT_GE(known_schema_version(), 1);
}

TEST_F(DbRecords, BatchStoresMeasurementsAndWinnerTogether) {
    database db = database::open(file(), open_mode::read_write);
    db.upsert_device(sample_device());
    db.record_measurements({sample_measurement("a", candidate_status::ok, 2.0),
                            sample_measurement("b", candidate_status::wrong_answer, 0)},
                           sample_winner("a"));

    EXPECT_EQ(db.measurements(sample_key()).size(), 2u);
    ASSERT_TRUE(db.find_winner(sample_key()).has_value());
    EXPECT_EQ(db.find_winner(sample_key())->config, "a");
}

TEST_F(DbRecords, FailedBatchStoresNothing) {
    database db = database::open(file(), open_mode::read_write);
    db.upsert_device(sample_device());
    const std::vector<measurement> batch = {sample_measurement("a", candidate_status::ok, 2.0),
                                            sample_measurement("b", candidate_status::ok, -1.0),  // CHECK fails
                                            sample_measurement("c", candidate_status::ok, 3.0)};
    EXPECT_FALSE(error_of([&] { db.record_measurements(batch, sample_winner("a")); }).empty());

    EXPECT_TRUE(db.measurements(sample_key()).empty());
    EXPECT_FALSE(db.find_winner(sample_key()).has_value());
    // The connection is usable afterwards.
    db.record_measurement(sample_measurement("d", candidate_status::ok, 1.0));
    EXPECT_EQ(db.measurements(sample_key()).size(), 1u);
}

TEST_F(DbRecords, BinaryRoundTripsByteForByte) {
    database db = database::open(file(), open_mode::read_write);
    const binary_key key{"3f2a9c", "blk256.vec4", "f32", "sm_90", "12.4.99"};
    const std::string cubin(
        "\x7f"
        "ELF\0\0\x01\xff\0tail",
        13);
    db.store_binary({key, "_Z5saxpyILi256EEvPf", "ab12", cubin});

    const std::optional<kernel_binary> found = db.find_binary(key);
    ASSERT_TRUE(found.has_value());
    EXPECT_EQ(found->lowered_name, "_Z5saxpyILi256EEvPf");
    EXPECT_EQ(found->digest, "ab12");
    EXPECT_EQ(found->cubin, cubin);
    binary_key other_arch = key;
    other_arch.arch = "sm_80";
    EXPECT_FALSE(db.find_binary(other_arch).has_value());
}

// Before the fix every TEXT value of a UTF-16 file came back as its UTF-16 bytes (SQLite
// converts text for sqlite3_column_text, not for sqlite3_column_blob): "ok" as "o\0k\0".
TEST_F(DbRecords, AUtf16DatabaseReadsAndWritesLikeAUtf8One) {
    const kernel_binary binary{{"3f2a9c", "blk256.vec4", "f32", "sm_90", "12.4.99"}, "_Z6kernelv", "ab12",
                               std::string("\x7f" "ELF\0\x01\xff", 7)};
    create_database("utf8.db");
    database::open(file("utf8.db"), open_mode::read_write).store_binary(binary);
    testing::copy_as_utf16(file("utf8.db"), file());
    ASSERT_EQ(bytes_of(file()).substr(56, 4), std::string("\0\0\0\2", 4)) << "the copy is not UTF-16le";

    database db = database::open(file(), open_mode::read_write);
    EXPECT_EQ(db.integrity_check(), "ok");
    ASSERT_EQ(db.winners().size(), 1u);
    EXPECT_EQ(db.winners()[0].key.gpu_identity, gpu);
    EXPECT_EQ(db.winners()[0].config, "blk256.vec4");
    EXPECT_EQ(db.find_device(gpu)->name, "NVIDIA H100 80GB HBM3");
    ASSERT_EQ(db.measurements(sample_key()).size(), 1u);
    EXPECT_EQ(db.measurements(sample_key())[0].config, "blk256.vec4");
    EXPECT_EQ(db.find_binary(binary.key)->cubin, binary.cubin);  // a BLOB is never converted
    db.record_measurement(sample_measurement("blk512.vec2", candidate_status::wrong_answer, 0));
    EXPECT_EQ(db.measurements(sample_key()).at(1).message, "ptxas: too many registers");
}

TEST_F(DbRecords, MeasurementsAndWinnersRecordTheKerntuneThatWroteThem) {
    // The version and the commit it was built from (kerntune_build; CoreVersion tests its form).
    const std::string build(kerntune_build());
    ASSERT_EQ(build.compare(0, std::string(KERNTUNE_TEST_PROJECT_VERSION).size(), KERNTUNE_TEST_PROJECT_VERSION), 0);
    database db = database::open(file(), open_mode::read_write);
    db.upsert_device(sample_device());
    measurement claimed = sample_measurement("blk256", candidate_status::ok, 2.0);
    claimed.kerntune_version = "9.9.9";  // the database writes its own build, whatever a caller says
    db.record_measurement(claimed);
    db.record_measurements({sample_measurement("blk512", candidate_status::ok, 3.0)}, sample_winner("blk256"));
    ASSERT_EQ(db.measurements(sample_key()).size(), 2u);
    for (const measurement& m : db.measurements(sample_key())) EXPECT_EQ(m.kerntune_version, build);
    EXPECT_EQ(db.find_winner(sample_key())->kerntune_version, build);
    db.set_winner(sample_winner("blk512"));
    EXPECT_EQ(db.winners().at(0).kerntune_version, build);
}

TEST_F(DbRecords, RecordsSurviveReopening) {
    create_database();
    const database db = database::open(file(), open_mode::read_only);
    EXPECT_EQ(db.schema_version(), known_schema_version());
    EXPECT_EQ(db.path(), file());
    EXPECT_EQ(db.devices().size(), 1u);
    EXPECT_EQ(db.measurements(sample_key()).size(), 1u);
    EXPECT_EQ(db.winners().size(), 1u);
}

TEST_F(DbOpen, CreatesTheFileWithTheSchemaInWalMode) {
    create_database();
    const std::string header = bytes_of(file());
    ASSERT_GE(header.size(), 100u);
    EXPECT_EQ(header.substr(0, 16), std::string("SQLite format 3\0", 16));
    EXPECT_EQ(header[18], 2) << "file format write version 2 means WAL";
    EXPECT_EQ(database::open(file(), open_mode::read_write).schema_version(), known_schema_version());
}

TEST_F(DbOpen, MissingFolderIsNamedAndNotCreated) {
    const fs::path folder = file("absent");
    const std::string message =
        error_of([&] { database::open(folder / "tuning.db", open_mode::read_write); });
    EXPECT_TRUE(contains(message, "folder " + folder.string() + " does not exist")) << message;
    EXPECT_FALSE(fs::exists(folder));
}

TEST_F(DbOpen, ReadOnlyOfAMissingFileSaysSoAndCreatesNothing) {
    const std::string message = error_of([&] { database::open(file(), open_mode::read_only); });
    EXPECT_EQ(message, "no tuning database at " + file().string());
    EXPECT_TRUE(listing().empty());
}

TEST_F(DbOpen, RandomBytesAreRefusedUntouched) {
    std::mt19937 random(7);
    std::string noise(8192, '\0');
    for (char& c : noise) c = static_cast<char>(random());
    write_bytes(file(), noise);
    expect_not_sqlite_refused_untouched(file());
}

TEST_F(DbOpen, TextFileIsRefusedUntouched) {
    write_bytes(file("notes.txt"), "template: saxpy\ndtypes: [f32, f64]\n");
    expect_not_sqlite_refused_untouched(file("notes.txt"));
}

TEST_F(DbOpen, NewerSchemaIsRefusedUntouched) {
    const int newer = known_schema_version() + 1;
    set_user_version(create_database(), static_cast<std::uint32_t>(newer));
    expect_refused_untouched(file(), "written by a newer kerntune (schema " + std::to_string(newer) +
                                         ", this build knows " + std::to_string(known_schema_version()) + ")");
}

TEST_F(DbOpen, SqliteFileWithTablesButNoSchemaVersionIsRefusedUntouched) {
    set_user_version(create_database(), 0);
    expect_refused_untouched(file(), " is not a kerntune database");
}

TEST_F(DbOpen, EmptySqliteFileGetsTheSchemaWhenWritable) {
    write_bytes(file(), "");  // a zero-length file is an empty SQLite database
    const std::string message = error_of([&] { database::open(file(), open_mode::read_only); });
    EXPECT_TRUE(contains(message, "has no kerntune schema")) << message;
    EXPECT_TRUE(bytes_of(file()).empty());

    database db = database::open(file(), open_mode::read_write);
    EXPECT_EQ(db.schema_version(), known_schema_version());
    db.upsert_device(sample_device());
    EXPECT_EQ(db.devices().size(), 1u);
}

// A process killed while switching a new file to WAL leaves a rollback journal that only a writer
// may roll back (the crash test hit this once in about ten runs). Readers get the usual answer
// for a file without a schema; a writer recovers the file and creates the schema.
TEST_F(DbOpen, JournalLeftOnANewFileReadsAsNoSchemaAndAWriterRecoversIt) {
    const fs::path path = file();
    const pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {  // a transaction on an empty file, spilled to disk, then the process dies
        sqlite3* db = nullptr;
        sqlite3_open(path.c_str(), &db);
        sqlite3_exec(db,
                     "PRAGMA cache_size = 2; BEGIN; CREATE TABLE t (x); "
                     "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 2000) "
                     "INSERT INTO t SELECT zeroblob(500) FROM c;",
                     nullptr, nullptr, nullptr);
        _exit(0);
    }
    int status = 0;
    waitpid(child, &status, 0);
    ASSERT_TRUE(fs::exists(path.string() + "-journal")) << "the child left no journal";
    ASSERT_GT(fs::file_size(path), 0u) << "the child wrote nothing to the file";

    const std::string message = error_of([&] { database::open(path, open_mode::read_only); });
    EXPECT_EQ(message, path.string() + " has no kerntune schema (open it for writing to create one)");

    database db = database::open(path, open_mode::read_write);
    EXPECT_EQ(db.schema_version(), known_schema_version());
    EXPECT_FALSE(fs::exists(path.string() + "-journal"));
    EXPECT_EQ(database::open(path, open_mode::read_only).schema_version(), known_schema_version());
}

/// Makes a Unix socket at `path` (closed again: its file stays).
void make_socket_file(const fs::path& path) {
    const int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::snprintf(address.sun_path, sizeof(address.sun_path), "%s", path.c_str());
    EXPECT_EQ(bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address)), 0) << path;
    close(fd);
}

// SQLite opens the file with a blocking open(2): before the check, a FIFO hung both modes (the
// reader in open, the writer in read) until something wrote to it.
TEST_F(DbOpen, FifosDevicesAndSocketsAreRefusedAtOnce) {
    ASSERT_EQ(mkfifo(file("fifo.db").c_str(), 0644), 0);
    fs::create_symlink("/dev/null", file("null.db"));
    make_socket_file(file("socket.db"));
    const struct {
        std::string name, kind;
    } cases[] = {{"fifo.db", "a FIFO"}, {"null.db", "a character device"}, {"socket.db", "a socket"}};
    for (const auto& c : cases)
        for (const open_mode mode : {open_mode::read_only, open_mode::read_write})
            EXPECT_EQ(error_within_two_seconds([&] { database::open(file(c.name), mode); }),
                      file(c.name).string() + " is " + c.kind + ", not a tuning database");
    // SQLite's files beside a database, which it opens the same way.
    create_database();
    for (const char* suffix : {"-journal", "-wal", "-shm"}) {
        const fs::path beside = file().string() + suffix;
        ASSERT_EQ(mkfifo(beside.c_str(), 0644), 0);
        for (const open_mode mode : {open_mode::read_only, open_mode::read_write})
            EXPECT_EQ(error_within_two_seconds([&] { database::open(file(), mode); }),
                      beside.string() + " is a FIFO, not a file SQLite can use beside " + file().string());
        fs::remove(beside);
    }
    EXPECT_EQ(database::open(file(), open_mode::read_only).winners().size(), 1u);
}

// The mode of an application's runtime: rows into a database as it is, nothing else changed.
TEST_F(DbOpen, ReadWriteAsIsWritesRowsIntoTheFileAsItIsAndCreatesOrConvertsNothing) {
    const std::string missing = error_of([&] { database::open(file("missing.db"), open_mode::read_write_as_is); });
    EXPECT_EQ(missing, "no tuning database at " + file("missing.db").string());
    EXPECT_FALSE(fs::exists(file("missing.db")));

    write_bytes(file("empty.db"), "");
    EXPECT_TRUE(contains(error_of([&] { database::open(file("empty.db"), open_mode::read_write_as_is); }),
                         "has no kerntune schema"));
    EXPECT_EQ(bytes_of(file("empty.db")), "");

    create_database();
    ASSERT_EQ(run_sql(file(), "PRAGMA journal_mode = DELETE"), "");
    for (const open_mode mode : {open_mode::read_only, open_mode::read_write_as_is}) {
        const std::string before = bytes_of(file());
        database::open(file(), mode).winners();
        EXPECT_EQ(bytes_of(file()), before) << "opening and reading changed the file";
    }
    database::open(file(), open_mode::read_write_as_is).store_binary({{"h", "c", "f32", "sm_90", "13.0"}, "k", "d", "x"});
    EXPECT_EQ(bytes_of(file()).at(18), 1) << "still in rollback-journal mode";
    EXPECT_TRUE(database::open(file(), open_mode::read_only).find_binary({"h", "c", "f32", "sm_90", "13.0"}));
    EXPECT_FALSE(fs::exists(file().string() + "-wal"));
}

TEST_F(DbOpen, MovedDatabaseKeepsItsConnection) {
    database first = database::open(file("a.db"), open_mode::read_write);
    database second = database::open(file("b.db"), open_mode::read_write);
    second = std::move(first);
    second.upsert_device(sample_device());
    EXPECT_EQ(second.path(), file("a.db"));
    EXPECT_EQ(database::open(file("a.db"), open_mode::read_only).devices().size(), 1u);
}

TEST_F(DbReadOnly, WritesAreRefused) {
    create_database();
    database db = database::open(file(), open_mode::read_only);
    const std::vector<std::string> messages = {
        error_of([&] { db.upsert_device(sample_device()); }),
        error_of([&] { db.record_measurement(sample_measurement("blk512", candidate_status::ok, 1.0)); }),
        error_of([&] { db.record_measurements({sample_measurement("blk512", candidate_status::ok, 1.0)}); }),
        error_of([&] { db.set_winner(sample_winner("blk512")); }),
        error_of([&] {
            db.store_binary({{"h", "c", "f32", "sm_90", "12.4"}, "k", "d", "bytes"});
        }),
    };
    for (const std::string& message : messages) {
        EXPECT_TRUE(contains(message, file().string())) << message;
        EXPECT_TRUE(contains(message, "readonly")) << message;
    }
    EXPECT_EQ(db.measurements(sample_key()).size(), 1u);
}

TEST_F(DbReadOnly, ReadingLeavesTheFileAsItWas) {
    create_database();
    const std::string before = bytes_of(file());
    {
        const database db = database::open(file(), open_mode::read_only);
        EXPECT_EQ(db.winners().size(), 1u);
        EXPECT_EQ(db.integrity_check(), "ok");
    }
    EXPECT_EQ(bytes_of(file()), before);
}

TEST_F(DbReadOnly, ReadsAReadOnlyFileInAReadOnlyFolder) {
    const fs::path path = create_database("tuning db?#%.db");  // characters a file: URI must escape
    fs::permissions(path, fs::perms::owner_read | fs::perms::group_read | fs::perms::others_read);
    fs::permissions(m_folder, fs::perms::owner_read | fs::perms::owner_exec | fs::perms::group_read |
                                  fs::perms::group_exec | fs::perms::others_read | fs::perms::others_exec);
    const int status = exit_status_unprivileged([&] {
        try {
            const database db = database::open(path, open_mode::read_only);
            if (db.winners().size() != 1 || db.measurements(sample_key()).size() != 1) return 1;
        } catch (const error& failure) {
            std::fprintf(stderr, "read-only open failed: %s\n", failure.what());
            return 2;
        }
        const std::string message = error_of([&] { database::open(path, open_mode::read_write); });
        return contains(message, path.string() + " is read-only") ? 0 : 3;
    });
    EXPECT_EQ(status, 0);
}

TEST_F(DbConcurrency, EightProcessesWritingAtOnceLoseNothing) {
    constexpr int writers = 8, rows_each = 200;
    int start[2];
    ASSERT_EQ(pipe(start), 0);
    std::vector<pid_t> children;
    for (int w = 0; w < writers; ++w) {
        const pid_t child = fork();
        ASSERT_GE(child, 0);
        if (child == 0) {
            close(start[1]);
            char go = 0;
            if (read(start[0], &go, 1) != 0) _exit(10);  // returns 0 when the parent lets everyone go
            try {
                // Every child opens (and may create) the file itself, all at the same moment.
                database db = database::open(file(), open_mode::read_write);
                db.upsert_device(sample_device());
                for (int i = 0; i < rows_each; ++i) {
                    const bool ok = i % 5 != 0;
                    db.record_measurement(
                        sample_measurement("w" + std::to_string(w) + ".c" + std::to_string(i),
                                           ok ? candidate_status::ok : candidate_status::runtime_fault,
                                           ok ? 1.0 + i : 0));
                }
            } catch (const error& failure) {
                std::fprintf(stderr, "writer %d: %s\n", w, failure.what());
                _exit(1);
            }
            _exit(0);
        }
        children.push_back(child);
    }
    close(start[0]);
    close(start[1]);  // releases all the children at once
    for (const pid_t child : children) {
        int status = 0;
        ASSERT_EQ(waitpid(child, &status, 0), child);
        EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
            << "a writer failed (see its message above)";
    }

    const database db = database::open(file(), open_mode::read_only);
    const std::vector<measurement> rows = db.measurements(sample_key());
    EXPECT_EQ(rows.size(), static_cast<std::size_t>(writers * rows_each));
    std::set<std::string> configs;
    for (const measurement& m : rows) configs.insert(m.config);
    EXPECT_EQ(configs.size(), static_cast<std::size_t>(writers * rows_each));
    EXPECT_EQ(db.integrity_check(), "ok");
}

/// Sets the variables default_db_path reads for one test and restores them afterwards.
class DbDefaultPath : public ::testing::Test {
protected:
    void SetUp() override {
        for (const char* name : names)
            if (const char* value = std::getenv(name)) m_saved[name] = value;
    }
    void TearDown() override {
        for (const char* name : names) {
            const auto saved = m_saved.find(name);
            if (saved != m_saved.end())
                setenv(name, saved->second.c_str(), 1);
            else
                unsetenv(name);
        }
    }
    static void set(const char* name, const char* value) {
        if (value != nullptr)
            setenv(name, value, 1);
        else
            unsetenv(name);
    }

    static constexpr const char* names[] = {"KERNTUNE_DB", "XDG_DATA_HOME", "HOME"};
    std::map<std::string, std::string> m_saved;
};

TEST_F(DbDefaultPath, KerntuneDbComesFirst) {
    set("KERNTUNE_DB", "/srv/tuning/shared.db");
    set("XDG_DATA_HOME", "/home/ada/.data");
    set("HOME", "/home/ada");
    EXPECT_EQ(default_db_path(), fs::path("/srv/tuning/shared.db"));
}

TEST_F(DbDefaultPath, EmptyKerntuneDbFallsBackToXdgDataHome) {
    set("KERNTUNE_DB", "");
    set("XDG_DATA_HOME", "/home/ada/.data");
    set("HOME", "/home/ada");
    EXPECT_EQ(default_db_path(), fs::path("/home/ada/.data/kerntune/tuning.db"));
}

TEST_F(DbDefaultPath, HomeIsTheLastResort) {
    set("KERNTUNE_DB", nullptr);
    set("XDG_DATA_HOME", "");
    set("HOME", "/home/ada");
    EXPECT_EQ(default_db_path(), fs::path("/home/ada/.local/share/kerntune/tuning.db"));
}

TEST_F(DbDefaultPath, NothingSetIsAnError) {
    set("KERNTUNE_DB", nullptr);
    set("XDG_DATA_HOME", nullptr);
    set("HOME", nullptr);
    EXPECT_TRUE(contains(error_of([] { default_db_path(); }), "KERNTUNE_DB"));
}

} // namespace
} // namespace kerntune
