// Tests of export, import and merge in src/db (database::records and merge, db/jsonl, the merge
// rules): the JSON Lines round trip byte for byte, every line import refuses (with its line
// number, nothing imported), the merge rules, idempotence, provenance, and a merge racing a
// writer. Each test works in a fresh temp folder.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "core/version.hpp"
#include "db/database.hpp"
#include "db/jsonl.hpp"
#include "db/merge_rules.hpp"
#include "test_db_support.hpp"

namespace kerntune {
namespace {

using namespace db_testing;
using json = nlohmann::ordered_json;
using testing::lines_of;

// SHA-256 hex digests, as spec_loader makes template hashes.
const std::string hash_a = "8f791a378ebdd3fd706310c91ba3b52e6e41a8ea4519909e318cb9932fb56d20";
const std::string hash_b = "0c3726f11825a7e8046ddc4369ff16cd8f791a378ebdd3fd706310c91ba3b52e";
const std::string h200 = "NVIDIA H200|sm_90|132 SMs";
constexpr const char* method = "cuda-events.l2-flushed.median";

tuning_key key_of(const std::string& problem, const std::string& type = "f32", const std::string& hash = hash_a,
                  const std::string& gpu_identity = gpu) {
    return {"leaky_relu", hash, type, problem, gpu_identity, "13.0"};
}

measurement ok_row(const tuning_key& key, const std::string& config, double median_us, const std::string& how = method) {
    measurement m{key, config, candidate_status::ok, median_us, 0.004, 1000.0 / median_us, 7, "", ""};
    m.method = how;
    m.driver_version = "13.0";
    return m;
}

winner winner_of(const measurement& m, int ok, int failed) {
    winner w{m.key, m.config, m.median_us, m.gbps, 31.25, 35.5, ok, failed, 2.5, ""};
    w.method = m.method;
    w.driver_version = m.driver_version;
    return w;
}

/// `records` as export writes them.
std::string jsonl_of(const record_set& records) {
    std::ostringstream text;
    write_jsonl(records, text);
    return text.str();
}

/// The records of `text`, read as import reads them (no label check).
record_set records_of(const std::string& text, const std::string& origin = "in.jsonl") {
    std::istringstream in(text);
    return read_jsonl(in, origin, {});
}

std::string joined_lines(const std::vector<std::string>& lines) {
    std::string text;
    for (const std::string& line : lines) text += line + "\n";
    return text;
}

class DbExchange : public db_test {
protected:
    /// A database with two GPUs, ok and failed measurements (a message of several lines, text
    /// that JSON escapes, numbers that print long), winners, a binary and a program.
    fs::path create_rich_database(const std::string& name = "rich.db") const {
        database db = database::open(file(name), open_mode::read_write);
        db.upsert_device(sample_device());
        device_record other = sample_device(h200);
        other.name = "NVIDIA H200";
        other.theoretical_gbps = 4916.7;
        other.copy_gbps = 4225.123456789012;
        db.upsert_device(other);
        std::vector<measurement> rows;
        for (const std::string problem : {"n=1048576", "n=16777216"})
            for (const std::string type : {"f32", "bf16"}) {
                const tuning_key key = key_of(problem, type);
                rows.push_back(ok_row(key, "blk256.vec4.unr2.plain.tile.w0", 9.25));
                rows.push_back(ok_row(key, "blk128.vec8.unr1.bulk.stride.w4", 0.1 + 0.2));
                measurement failed{key, "blk1024.vec8.unr8.plain.tile.w0", candidate_status::compile_failed, 0, 0, 0, 0,
                                   "ptxas: too many registers\nline two\t\"quoted\" \\ \x1b[31m é", ""};
                failed.method = method;
                failed.driver_version = "13.0";
                rows.push_back(failed);
            }
        rows.push_back(ok_row(key_of("n=1048576", "f16", hash_a, h200), "blk512.vec1.unr4.plain.stride.w4", 1e-300));
        for (const measurement& m : rows) db.record_measurement(m);
        db.set_winner(winner_of(rows[1], 2, 1));
        db.set_winner(winner_of(rows.back(), 1, 0));
        db.store_binary({{hash_a, "blk256.vec4.unr2.plain.tile.w0", "f32", "sm_90", "13.0"}, "_Z1kv", "d", "cubin"});
        db.store_program({"k", "a\nb", "d", "cubin"});
        return file(name);
    }

    std::string export_of(const fs::path& path) const {
        return jsonl_of(database::open(path, open_mode::read_only).records());
    }
};

TEST_F(DbExchange, ImportThenExportGivesTheFileBackByteForByte) {
    const std::string exported = export_of(create_rich_database());
    ASSERT_FALSE(exported.empty());

    const fs::path copy = file("copy.db");
    const merge_report imported = database::open(copy, open_mode::read_write).merge({records_of(exported)});
    EXPECT_EQ(imported.devices.added, 2);
    EXPECT_EQ(imported.measurements.added, 13);
    EXPECT_EQ(imported.winners.added, 2);
    EXPECT_TRUE(imported.conflicts.empty());
    EXPECT_EQ(export_of(copy), exported);

    // Every field as it was, provenance included: the times and the kerntune are the source's.
    const record_set before = database::open(file("rich.db"), open_mode::read_only).records();
    const record_set after = database::open(copy, open_mode::read_only).records();
    ASSERT_EQ(after.measurements.size(), before.measurements.size());
    for (std::size_t i = 0; i < before.measurements.size(); ++i) {
        EXPECT_EQ(after.measurements[i].measured_at, before.measurements[i].measured_at);
        EXPECT_EQ(after.measurements[i].message, before.measurements[i].message);
        EXPECT_EQ(after.measurements[i].median_us, before.measurements[i].median_us) << "exactly, not nearly";
        EXPECT_EQ(after.measurements[i].method, method);
        EXPECT_EQ(after.measurements[i].driver_version, "13.0");
    }
    EXPECT_EQ(after.winners.at(0).tuned_at, before.winners.at(0).tuned_at);

    // A file of records that were not written by this kerntune keeps their kerntune too.
    std::string older = exported;
    for (std::size_t at; (at = older.find("\"kerntune_version\":\"" + std::string(kerntune_build()))) != std::string::npos;)
        older.replace(at, 20 + kerntune_build().size(), "\"kerntune_version\":\"0.1.9");
    const fs::path third = file("third.db");
    database::open(third, open_mode::read_write).merge({records_of(older)});
    EXPECT_EQ(export_of(third), older);
}

TEST_F(DbExchange, TheFileIsAHeaderThenOneRecordALineInKeyOrderWithoutBinaries) {
    const std::vector<std::string> lines = lines_of(export_of(create_rich_database()));
    ASSERT_EQ(lines.size(), 1u + 2 + 13 + 2);
    EXPECT_EQ(lines[0], "{\"format\":\"kerntune-tuning-db\",\"format_version\":1}");
    std::vector<std::string> tables;
    for (std::size_t i = 1; i < lines.size(); ++i) tables.push_back(json::parse(lines[i]).at("table"));
    std::vector<std::string> expected(2, "devices");
    expected.insert(expected.end(), 13, "measurements");
    expected.insert(expected.end(), 2, "winners");
    EXPECT_EQ(tables, expected);
    const json measurement_line = json::parse(lines[3]);
    std::vector<std::string> names;
    for (const auto& item : measurement_line.items()) names.push_back(item.key());
    EXPECT_EQ(names, (std::vector<std::string>{"table", "template_name", "template_hash", "dtype", "problem_key",
                                               "gpu_identity", "nvrtc_version", "config", "status", "median_us", "noise",
                                               "gbps", "samples", "message", "measured_at", "kerntune_version", "method",
                                               "driver_version"}));
    // By key then config, not by median: bf16 before f32, and within a key the configs in order.
    EXPECT_EQ(measurement_line.at("dtype"), "bf16");
    EXPECT_EQ(measurement_line.at("config"), "blk1024.vec8.unr8.plain.tile.w0");
    // 0.1 + 0.2 is written so that it reads back as the same double.
    EXPECT_NE(lines[4].find("\"median_us\":0.30000000000000004"), std::string::npos) << lines[4];
    for (const std::string& line : lines) {
        EXPECT_EQ(line.find("cubin"), std::string::npos) << "compiled code is not exported: " << line;
        EXPECT_EQ(line.find('\x1b'), std::string::npos) << "control characters are escaped: " << line;
    }
}

TEST_F(DbExchange, AnEmptyDatabaseExportsItsHeaderOnly) {
    database::open(file(), open_mode::read_write);
    const std::string exported = export_of(file());
    EXPECT_EQ(exported, "{\"format\":\"kerntune-tuning-db\",\"format_version\":1}\n");
    const record_set read = records_of(exported);
    EXPECT_TRUE(read.devices.empty() && read.measurements.empty() && read.winners.empty());
}

TEST_F(DbExchange, EveryBadLineIsRefusedWithItsNumberAndNothingIsImported) {
    const std::vector<std::string> good = lines_of(export_of(create_rich_database()));
    // Line numbers count from 1: 1 is the header, 2 and 3 the devices, 4 on the measurements.
    const json measurement_line = json::parse(good[4]);
    const std::string first_gpu = json::parse(good[1]).at("identity");
    auto with = [&](const char* field, const json& value) {
        json changed = measurement_line;
        changed[field] = value;
        return changed.dump();
    };
    auto without = [&](const char* field) {
        json changed = measurement_line;
        changed.erase(field);
        return changed.dump();
    };
    struct bad_line {
        std::size_t line;      // 1-based
        std::string text;      // what replaces it
        std::string message;   // what follows "<origin>:<line>: "
    };
    const std::vector<bad_line> cases = {
        {5, "{\"table\":\"measurements\",", "not JSON (at byte 25 of the line)"},
        {5, "", "not JSON (at byte 1 of the line)"},
        {5, "[1, 2]", "not a JSON object"},
        {5, "{\"median_us\":1e999}", "not JSON kerntune reads: number overflow parsing '1e999'"},
        {5, with("template_hash", "3f2a9c"), "template_hash '3f2a9c' is not a SHA-256 hex digest (64 digits 0-9a-f)"},
        {5, with("template_hash", std::string(64, 'A')), "template_hash '" + std::string(64, 'A') + "' is not a SHA-256"},
        {5, with("config", "blk256..tile"), "config 'blk256..tile' is not a label"},
        {5, with("config", "blk256;DROP"), "config 'blk256;DROP' is not a label"},
        {5, with("dtype", "f64"), "unknown dtype 'f64'"},
        {5, with("status", "exploded"), "unknown candidate status 'exploded'"},
        {5, with("median_us", -1), "median_us is -1, not a finite number >= 0"},
        {5, with("median_us", "fast"), "median_us must be a number"},
        {5, with("samples", 40.5), "samples must be a whole number"},
        {5, with("samples", 1099511627776), "samples is 1099511627776, more than an int holds"},
        {5, with("samples", 18446744073709551615u), "samples is 18446744073709551615, more than an integer column holds"},
        {5, with("measured_at", "yesterday"), "measured_at 'yesterday' is not a UTC time as the database writes them"},
        {5, with("kerntune_version", "0.2.0 evil"), "kerntune_version '0.2.0 evil' is not a version"},
        {5, with("problem_key", ""), "problem_key is empty"},
        {5, with("gpu_identity", "NVIDIA B200|sm_100|148 SMs"), "GPU NVIDIA B200|sm_100|148 SMs has no line in table devices"},
        {5, with("colour", "blue"), "unknown field 'colour' for table measurements"},
        {5, without("noise"), "missing field 'noise'"},
        {5, with("table", "binaries"), "unknown table 'binaries' (expected devices, measurements or winners)"},
        {5, without("table"), "no \"table\": every line after the first names its table"},
        {6, good[4], "the measurement of leaky_relu bf16 n=1048576 config blk128.vec8.unr1.bulk.stride.w4 on " + gpu +
                         " is given twice (first on line 5)"},
        {3, good[1], "the device " + first_gpu + " is given twice (first on line 2)"},
        {1, "{\"format\":\"kerntune-tuning-db\",\"format_version\":2}",
         "format version 2 is newer than this kerntune reads (1): export it again with this kerntune, or update it"},
        {1, "{\"format\":\"someone-elses-db\",\"format_version\":1}", "not a kerntune export: the first line must be"},
        {1, good[4], "not a kerntune export: the first line must be"},
        {1, "{\"format\":\"kerntune-tuning-db\",\"format_version\":1,\"x\":0}",
         "the header holds fields besides format and format_version"},
    };
    const fs::path target = file("target.db");
    {
        database db = database::open(target, open_mode::read_write);
        db.upsert_device(sample_device());
        db.record_measurement(ok_row(key_of("n=4096"), "blk256.vec4.unr2.plain.tile.w0", 3.5));
    }
    const std::string before = export_of(target);
    for (const bad_line& c : cases) {
        SCOPED_TRACE(c.text);
        std::vector<std::string> lines = good;
        lines[c.line - 1] = c.text;
        const std::string problem = error_of([&] {
            database::open(target, open_mode::read_write).merge({records_of(joined_lines(lines), "bad.jsonl")});
        });
        const std::string expected = "bad.jsonl:" + std::to_string(c.line) + ": " + c.message;
        EXPECT_EQ(problem.substr(0, expected.size()), expected) << problem;
        EXPECT_EQ(problem.find('\n'), std::string::npos) << problem;
        EXPECT_EQ(export_of(target), before) << "something was imported";
    }
    EXPECT_EQ(error_of([] { records_of(""); }), "in.jsonl: empty: not a kerntune export");
}

TEST_F(DbExchange, ALabelCheckRefusesAConfigOutsideItsTemplatesDomain) {
    const std::string exported = export_of(create_rich_database());
    const label_check only_blk256 = [](const tuning_key& key, const std::string& config) -> std::string {
        if (key.template_hash != hash_a || config.rfind("blk256.", 0) == 0) return "";
        return "'" + config + "' is not a config of leaky_relu: BLOCK must be 256 here";
    };
    std::istringstream in(exported);
    EXPECT_EQ(error_of([&] { read_jsonl(in, "in.jsonl", only_blk256); }),
              "in.jsonl:4: 'blk1024.vec8.unr8.plain.tile.w0' is not a config of leaky_relu: BLOCK must be 256 here");
    // The same check on the way out: what export would write, import would take.
    EXPECT_EQ(error_of([&] { database::open(file("rich.db"), open_mode::read_only).records(only_blk256); }),
              file("rich.db").string() + ": cannot take its rows: its measurement of leaky_relu bf16 n=1048576 config "
                                          "blk1024.vec8.unr8.plain.tile.w0 on " + gpu +
                  ": 'blk1024.vec8.unr8.plain.tile.w0' is not a config of leaky_relu: BLOCK must be 256 here");
}

TEST_F(DbExchange, ADatabaseWithARowImportWouldRefuseIsNotExported) {
    {
        database db = database::open(file(), open_mode::read_write);
        db.upsert_device(sample_device());
        db.record_measurement(ok_row(key_of("n=1"), "blk256", 1.0));
        db.record_measurement(ok_row(key_of("n=2", "f32", "3f2a9c"), "blk256", 1.0));  // a hash no template has
    }
    EXPECT_EQ(error_of([&] { database::open(file(), open_mode::read_only).records(); }),
              file().string() + ": cannot take its rows: its measurement of leaky_relu f32 n=2 config blk256 on " + gpu +
                  ": template_hash '3f2a9c' is not a SHA-256 hex digest (64 digits 0-9a-f)");
    // A row reads leave out (a median of -1, written with the CHECKs off) is no exception.
    ASSERT_EQ(run_sql(file(), "DELETE FROM measurements WHERE problem_key = 'n=2'; PRAGMA ignore_check_constraints = ON; "
                              "UPDATE measurements SET median_us = -1"),
              "");
    EXPECT_EQ(error_of([&] { database::open(file(), open_mode::read_only).records(); }),
              file().string() + ": cannot take its rows: its measurement of leaky_relu f32 n=1 config blk256 on " + gpu +
                  ": median_us is -1, not a finite number >= 0 (kerntune db check lists such rows, db forget removes them)");
}

// ---- the merge rules, pure ----

TEST(DbMergeRules, AMeasurementIsAddedKeptAsItIsOrReplacedOnlyByALowerMedianOfTheSameMethod) {
    using detail::decide;
    using detail::merge_action;
    const measurement here = ok_row(key_of("n=1"), "blk256", 10.0);
    EXPECT_EQ(decide(std::nullopt, here).action, merge_action::add);
    EXPECT_EQ(decide(here, here).action, merge_action::unchanged);
    EXPECT_TRUE(decide(here, here).why.empty());

    const detail::merge_decision lower = decide(here, ok_row(key_of("n=1"), "blk256", 8.5));
    EXPECT_EQ(lower.action, merge_action::replace);
    EXPECT_EQ(lower.why, "a lower median by the same method (8.5 us against 10 us here)");
    const detail::merge_decision higher = decide(here, ok_row(key_of("n=1"), "blk256", 12.0));
    EXPECT_EQ(higher.action, merge_action::keep);
    EXPECT_EQ(higher.why, "its median is not lower (12 us against 10 us here; they differ in median_us, gbps)");
    measurement same_median = here;
    same_median.samples = 30;
    EXPECT_EQ(decide(here, same_median).action, merge_action::keep) << "a tie keeps the target's";

    const detail::merge_decision other_method = decide(here, ok_row(key_of("n=1"), "blk256", 1.0, "nsight.kernel-time"));
    EXPECT_EQ(other_method.action, merge_action::keep);
    EXPECT_EQ(other_method.why, "medians of different methods are not compared ('" + std::string(method) +
                                    "' here, 'nsight.kernel-time' in the source; '' is a kerntune before schema 3)");
    // A method of '' (a row from before schema 3) equals no method, not even another ''.
    EXPECT_EQ(decide(ok_row(key_of("n=1"), "blk256", 10.0, ""), ok_row(key_of("n=1"), "blk256", 1.0, "")).action,
              merge_action::keep);

    measurement timed_out = here;
    timed_out.status = candidate_status::timeout;
    timed_out.median_us = 0;
    EXPECT_EQ(decide(here, timed_out).action, merge_action::keep);
    EXPECT_EQ(decide(here, timed_out).why, "status ok here, timeout in the source");
    EXPECT_EQ(decide(timed_out, here).action, merge_action::keep) << "only a median replaces a row";
    measurement other_message = timed_out;
    other_message.message = "no answer in 20 s";
    EXPECT_EQ(decide(timed_out, other_message).why, "both timeout, differing in message");
    measurement later = here;
    later.measured_at = "2027-01-01T00:00:00.000Z";
    EXPECT_EQ(decide(here, later).action, merge_action::keep);
}

TEST(DbMergeRules, AWinnerByTheSameRuleAndADeviceIsNeverReplaced) {
    using detail::decide;
    using detail::merge_action;
    const winner here = winner_of(ok_row(key_of("n=1"), "blk256", 10.0), 5, 1);
    EXPECT_EQ(decide(std::nullopt, here).action, merge_action::add);
    EXPECT_EQ(decide(here, here).action, merge_action::unchanged);
    EXPECT_EQ(decide(here, winner_of(ok_row(key_of("n=1"), "blk128", 9.0), 3, 0)).action, merge_action::replace);
    EXPECT_EQ(decide(here, winner_of(ok_row(key_of("n=1"), "blk128", 11.0), 3, 0)).action, merge_action::keep);
    EXPECT_EQ(decide(here, winner_of(ok_row(key_of("n=1"), "blk128", 9.0, "other"), 3, 0)).action, merge_action::keep);

    const device_record device = sample_device();
    device_record measured_elsewhere = device;
    measured_elsewhere.copy_gbps = 2901.25;
    EXPECT_EQ(decide(std::nullopt, device).action, merge_action::add);
    EXPECT_EQ(decide(device, device).action, merge_action::unchanged);
    EXPECT_EQ(decide(device, measured_elsewhere).action, merge_action::keep);
    EXPECT_EQ(decide(device, measured_elsewhere).why, "the device as recorded here is kept (it differs in copy_gbps)");
}

// ---- merging databases ----

class DbMerge : public db_test {
protected:
    /// A shard's database: the device, and for each problem two measurements and the winner.
    fs::path shard(const std::string& name, const std::vector<std::string>& problems, double base_us) const {
        database db = database::open(file(name), open_mode::read_write);
        db.upsert_device(sample_device());
        for (const std::string& problem : problems) {
            const measurement fast = ok_row(key_of(problem), "blk128.vec4", base_us);
            db.record_measurements({fast, ok_row(key_of(problem), "blk256.vec4", base_us + 1)}, winner_of(fast, 2, 0));
        }
        return file(name);
    }
    record_set records_in(const fs::path& path) const { return database::open(path, open_mode::read_only).records(); }
    std::string export_of(const fs::path& path) const { return jsonl_of(records_in(path)); }
};

TEST_F(DbMerge, ShardsOfDisjointKeysMergeIntoTheirUnionAsRecorded) {
    const fs::path a = shard("a.db", {"n=1", "n=3"}, 5.0), b = shard("b.db", {"n=2", "n=4"}, 6.0);
    const fs::path into = file("all.db");
    const merge_report report = database::open(into, open_mode::read_write).merge({records_in(a), records_in(b)});
    EXPECT_EQ(report.devices.added, 1);
    EXPECT_EQ(report.devices.unchanged, 1) << "both shards recorded the same device";
    EXPECT_EQ(report.measurements.added, 8);
    EXPECT_EQ(report.winners.added, 4);
    EXPECT_TRUE(report.conflicts.empty());
    const record_set merged = records_in(into);
    EXPECT_EQ(merged.measurements.size(), 8u);
    EXPECT_EQ(merged.winners.size(), 4u);
    // Provenance is the shards': each row's time is the one its shard wrote.
    std::map<std::string, std::string> measured_at;
    for (const fs::path& source : {a, b})
        for (const measurement& m : records_in(source).measurements) measured_at[m.key.problem_key + m.config] = m.measured_at;
    for (const measurement& m : merged.measurements) EXPECT_EQ(m.measured_at, measured_at.at(m.key.problem_key + m.config));
}

TEST_F(DbMerge, MergingAgainOrADatabaseIntoItselfChangesNothing) {
    const fs::path a = shard("a.db", {"n=1", "n=2"}, 5.0), b = shard("b.db", {"n=2", "n=3"}, 4.0);
    const fs::path into = file("all.db");
    database::open(into, open_mode::read_write).merge({records_in(a), records_in(b)});
    const std::string once = export_of(into);
    const merge_report again = database::open(into, open_mode::read_write).merge({records_in(a), records_in(b)});
    EXPECT_EQ(export_of(into), once);
    EXPECT_EQ(again.measurements.added + again.measurements.replaced, 0);
    EXPECT_EQ(again.winners.added + again.winners.replaced, 0);
    // a's rows of n=2 lost to b's lower medians the first time; again they are conflicts, kept.
    EXPECT_EQ(again.measurements.kept, 2);
    EXPECT_EQ(again.winners.kept, 1);

    const merge_report itself = database::open(into, open_mode::read_write).merge({records_in(into)});
    EXPECT_EQ(export_of(into), once);
    EXPECT_EQ(itself.measurements.unchanged, 6);
    EXPECT_EQ(itself.winners.unchanged, 3);
    EXPECT_EQ(itself.devices.unchanged, 1);
    EXPECT_TRUE(itself.conflicts.empty());
}

TEST_F(DbMerge, ALowerMedianWinsOnlyByTheSameMethodAndEveryConflictIsReported) {
    const fs::path into = shard("into.db", {"n=1"}, 10.0);
    record_set incoming;
    incoming.origin = "retune.db";
    incoming.devices = {sample_device()};
    measurement faster = ok_row(key_of("n=1"), "blk128.vec4", 8.0);
    measurement other_method = ok_row(key_of("n=1"), "blk256.vec4", 2.0, "wall-clock");
    incoming.measurements = {faster, other_method};
    incoming.winners = {winner_of(faster, 2, 0)};
    const merge_report report = database::open(into, open_mode::read_write).merge({incoming});
    EXPECT_EQ(report.measurements.replaced, 1);
    EXPECT_EQ(report.measurements.kept, 1);
    EXPECT_EQ(report.winners.replaced, 1);
    ASSERT_EQ(report.conflicts.size(), 3u);
    EXPECT_EQ(report.conflicts[0].origin, "retune.db");
    EXPECT_EQ(report.conflicts[0].record, "measurement of leaky_relu f32 n=1 config blk128.vec4 on " + gpu);
    EXPECT_TRUE(report.conflicts[0].replaced);
    EXPECT_EQ(report.conflicts[0].why, "a lower median by the same method (8 us against 10 us here)");
    EXPECT_FALSE(report.conflicts[1].replaced);
    EXPECT_EQ(report.conflicts[2].record, "winner of leaky_relu f32 n=1 on " + gpu);

    const database db = database::open(into, open_mode::read_only);
    for (const measurement& m : db.measurements(key_of("n=1")))
        EXPECT_EQ(m.median_us, m.config == "blk128.vec4" ? 8.0 : 11.0) << m.config;
    EXPECT_EQ(db.find_winner(key_of("n=1"))->median_us, 8.0);
}

TEST_F(DbMerge, NoMeasurementOfAnyInputIsLost) {
    const fs::path a = shard("a.db", {"n=1", "n=2"}, 5.0), b = shard("b.db", {"n=2", "n=3"}, 7.0);
    {
        database db = database::open(b, open_mode::read_write);
        measurement failed{key_of("n=2"), "blk512.vec1", candidate_status::wrong_answer, 0, 0, 0, 0, "index 7", ""};
        db.record_measurement(failed);
    }
    const fs::path into = file("all.db");
    database::open(into, open_mode::read_write).merge({records_in(a), records_in(b)});
    std::set<std::string> merged;
    for (const measurement& m : records_in(into).measurements) merged.insert(m.key.problem_key + " " + m.config);
    for (const fs::path& source : {a, b})
        for (const measurement& m : records_in(source).measurements)
            EXPECT_TRUE(merged.count(m.key.problem_key + " " + m.config)) << m.key.problem_key << " " << m.config;
}

TEST_F(DbMerge, ATargetRowThatReadsLeaveOutIsAnErrorAndNothingIsMerged) {
    const fs::path into = shard("into.db", {"n=1"}, 10.0);
    ASSERT_EQ(run_sql(into, "PRAGMA ignore_check_constraints = ON; UPDATE measurements SET noise = -1 WHERE config = "
                            "'blk256.vec4'"),
              "");
    const fs::path source = shard("source.db", {"n=1", "n=2"}, 9.0);
    const std::string problem = error_of([&] { database::open(into, open_mode::read_write).merge({records_in(source)}); });
    EXPECT_EQ(problem, into.string() + ": cannot merge into it: its measurement of leaky_relu f32 n=1 config blk256.vec4 on " +
                           gpu + ": noise is -1, not a finite number >= 0 (kerntune db check lists such rows, db forget "
                                 "removes them)");
    EXPECT_EQ(database::open(into, open_mode::read_only).find_measurements({}).size(), 1u) << "n=2 was merged";
}

TEST_F(DbMerge, AMergeIntoADatabaseATuneIsWritingWaitsForItsTurnAndLosesNothing) {
    const fs::path into = shard("into.db", {"n=0"}, 5.0);
    record_set incoming = records_in(shard("source.db", {"n=1", "n=2", "n=3", "n=4", "n=5"}, 6.0));
    // A writer as the tuner writes (one short transaction a measurement), and a transaction held
    // for half a second right when the merge begins.
    int ready[2];
    ASSERT_EQ(pipe(ready), 0);
    const pid_t writer = fork();
    if (writer == 0) {
        close(ready[0]);
        int status = 0;
        try {
            database db = database::open(into, open_mode::read_write);
            {
                sqlite3* raw = nullptr;
                sqlite3_open(into.c_str(), &raw);
                sqlite3_exec(raw, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr);
                if (write(ready[1], "x", 1) != 1) status = 2;
                std::this_thread::sleep_for(std::chrono::milliseconds(500));
                sqlite3_exec(raw, "COMMIT", nullptr, nullptr, nullptr);
                sqlite3_close(raw);
            }
            for (int i = 0; i < 200; ++i)
                db.record_measurement(ok_row(key_of("n=tuning"), "blk" + std::to_string(i), 1.0 + i));
        } catch (const std::exception& failure) {
            std::fprintf(stderr, "writer: %s\n", failure.what());
            status = 1;
        }
        _exit(status);
    }
    close(ready[1]);
    char go = 0;
    ASSERT_EQ(read(ready[0], &go, 1), 1);
    close(ready[0]);
    const auto started = std::chrono::steady_clock::now();
    const merge_report report = database::open(into, open_mode::read_write).merge({incoming});
    const auto waited = std::chrono::steady_clock::now() - started;
    int status = 0;
    waitpid(writer, &status, 0);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0);
    EXPECT_GE(waited, std::chrono::milliseconds(300)) << "the merge did not wait for the held transaction";
    EXPECT_EQ(report.measurements.added, 10);

    const database db = database::open(into, open_mode::read_only);
    EXPECT_EQ(db.integrity_check(), "ok");
    EXPECT_EQ(db.find_measurements({}).size(), 2u + 10 + 200);
    EXPECT_EQ(db.winners().size(), 6u);
}

} // namespace
} // namespace kerntune
