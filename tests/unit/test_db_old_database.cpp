// A database written by kerntune before the catalogue (main 662010a, the dump in
// tests/fixtures/databases/main_662010a.sql, schema 1) opens and reads: problem keys keep their
// spelling and its labels are still configs of today's leaky_relu, while its winners, measured
// with the leaky_relu.cu of before the elementwise skeleton, are stale for today's source hash and
// never served. Read-only it is read as it is; opened for writing it is migrated to the newest
// schema in one transaction, every row kept.
#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <map>
#include <thread>

#include "catalog/catalog.hpp"
#include "core/select_config.hpp"
#include "core/version.hpp"
#include "db/database.hpp"
#include "db/schema.hpp"
#include "test_db_support.hpp"
#include "../support/temp_folder.hpp"

namespace kerntune {
namespace {

constexpr const char* fixture = KERNTUNE_TEST_FIXTURE_DIR "/../databases/main_662010a.sql";

/// A new file made from the dump: a database of schema 1 exactly as kerntune wrote it.
std::filesystem::path database_from_dump() {
    std::ifstream in(fixture);
    const std::string sql{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    EXPECT_FALSE(sql.empty()) << fixture;
    const std::filesystem::path path = testing::scratch_path("main_662010a.db");
    for (const char* suffix : {"-wal", "-shm", "-journal"}) std::filesystem::remove(path.string() + suffix);
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    char* message = nullptr;
    EXPECT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &message), SQLITE_OK) << (message ? message : "");
    sqlite3_free(message);
    sqlite3_close(db);
    return path;
}

TEST(OldDatabase, WinnersOfMain662010aParseButAreStaleForTodaysSource) {
    const database db = database::open(database_from_dump(), open_mode::read_only);
    const kernel_spec spec = *catalog().at("leaky_relu");
    std::vector<tuned_row> rows;
    for (const winner& w : db.winners())
        rows.push_back({w.key.template_name, w.key.template_hash, w.key.dtype, w.key.problem_key, w.key.gpu_identity,
                        w.key.nvrtc_version, w.config});
    ASSERT_EQ(rows.size(), 4u);
    const std::string gpu = "NVIDIA H200|sm_90|132 SMs";
    const regime_device h200{{132, 2048, 233472, 232448, 16}, 62914560};
    struct expected_row {
        dtype type;
        std::int64_t n;
        const char* label;
    };
    for (const expected_row& e : {expected_row{dtype::f32, 1048576, "blk512.vec1.unr4.plain.stride.w4"},
                                  expected_row{dtype::f32, 1610612736, "blk256.vec4.unr1.bulk.tile.w0"},
                                  expected_row{dtype::f16, 1048576, "blk128.vec8.unr8.bulk.stride.w1"},
                                  expected_row{dtype::bf16, 1610612736, "blk256.vec8.unr1.bulk.tile.w0"}}) {
        const problem shape = make_problem(spec.axes, tensor_shape{{e.n}});
        // Served exactly with the hash they were stored under: keys and labels read as today's.
        kernel_spec as_then = spec;
        as_then.source_hash = rows.front().template_hash;
        const selection then = select_config(as_then, e.type, shape, gpu, "13.0", h200, rows);
        EXPECT_EQ(then.match, config_match::exact) << shape.key();
        EXPECT_EQ(then.label, e.label) << shape.key();
        EXPECT_TRUE(then.refused.empty());
        // Today's source is another kernel: its rows are stale, a miss and not a refusal.
        EXPECT_NE(rows.front().template_hash, spec.source_hash);
        const selection now = select_config(spec, e.type, shape, gpu, "13.0", h200, rows);
        EXPECT_EQ(now.match, config_match::default_config) << shape.key();
        EXPECT_TRUE(now.refused.empty());
    }
    // The same file's measurements are found under the keys as today's tuner spells them.
    const tuning_key key{spec.name, rows.front().template_hash, "f32",
                         make_problem(spec.axes, tensor_shape{{4096, 393216}}).key(), gpu, "13.0"};
    EXPECT_EQ(db.measurements(key).size(), 2u);
}

using namespace db_testing;

/// Every row of every table of the closed file `path` as text (each value quote()d), by table,
/// in the columns schema 1 has: what a migration must keep.
std::map<std::string, std::vector<std::string>> rows_of(const fs::path& path) {
    const std::map<std::string, std::vector<std::string>> columns = {
        {"devices", {"identity", "name", "cc_major", "cc_minor", "sm_count", "memory_clock_khz", "bus_width_bits",
                     "l2_bytes", "theoretical_gbps", "copy_gbps", "driver_version", "updated_at"}},
        {"measurements", {"template_name", "template_hash", "dtype", "problem_key", "gpu_identity", "nvrtc_version",
                          "config", "status", "median_us", "noise", "gbps", "samples", "message", "measured_at"}},
        {"winners", {"template_name", "template_hash", "dtype", "problem_key", "gpu_identity", "nvrtc_version",
                     "config", "median_us", "gbps", "pct_theoretical", "pct_copy", "candidates_ok",
                     "candidates_failed", "tune_seconds", "tuned_at"}},
        {"binaries", {"template_hash", "config", "dtype", "arch", "nvrtc_version", "lowered_name", "digest", "cubin",
                      "stored_at"}},
        {"programs", {"cache_key", "lowered_names", "digest", "cubin", "stored_at"}}};
    sqlite3* db = nullptr;
    sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
    std::map<std::string, std::vector<std::string>> rows;
    for (const auto& [table, names] : columns) {
        std::string row_sql;
        for (const std::string& name : names) row_sql += (row_sql.empty() ? "quote(" : " || ',' || quote(") + name + ")";
        sqlite3_stmt* query = nullptr;
        EXPECT_EQ(sqlite3_prepare_v2(db, ("SELECT " + row_sql + " FROM " + table + " ORDER BY 1").c_str(), -1, &query,
                                     nullptr),
                  SQLITE_OK)
            << sqlite3_errmsg(db);
        while (sqlite3_step(query) == SQLITE_ROW) rows[table].emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(query, 0)));
        sqlite3_finalize(query);
    }
    sqlite3_close(db);
    return rows;
}

class DbMigration : public testing::temp_folder_test {
protected:
    DbMigration() : temp_folder_test("kerntune-migration") {}
};

// Read-only (db show, db check, a runtime's lookups) a schema 1 file is read as it is.
TEST_F(DbMigration, AVersionOneFileReadOnlyIsReadAsItIsAndLeftUntouched) {
    const fs::path path = database_from_dump();
    const std::string before = bytes_of(path);
    {
        const database db = database::open(path, open_mode::read_only);
        EXPECT_EQ(db.schema_version(), 1);
        ASSERT_EQ(db.winners().size(), 4u);
        for (const winner& w : db.winners()) EXPECT_EQ(w.kerntune_version, "") << "unknown in schema 1";
        ASSERT_EQ(db.find_measurements({}).size(), 8u);
        for (const measurement& m : db.find_measurements({})) EXPECT_EQ(m.kerntune_version, "");
        EXPECT_EQ(db.integrity_check(), "ok");
    }
    EXPECT_EQ(bytes_of(path), before);
    EXPECT_FALSE(fs::exists(path.string() + "-wal"));
    EXPECT_FALSE(fs::exists(path.string() + "-journal"));
    // Nor does the runtime's writing mode touch it: only a tune (read_write) migrates.
    EXPECT_EQ(error_of([&] { database::open(path, open_mode::read_write_as_is); }),
              path.string() + " is of schema 1: only a tune writes it (and migrates it to schema " +
                  std::to_string(known_schema_version()) + " first)");
    EXPECT_EQ(bytes_of(path), before);
}

// Opened for writing (a tune, db forget) it becomes the newest schema before anything is written.
TEST_F(DbMigration, AVersionOneFileOpenedForWritingIsMigratedKeepingEveryRow) {
    const fs::path path = database_from_dump();
    ASSERT_EQ(run_sql(path, "INSERT INTO binaries (template_hash, config, dtype, arch, nvrtc_version, lowered_name, "
                            "digest, cubin) VALUES ('h', 'c', 'f32', 'sm_90', '13.0', '_Z1kv', 'd', x'7f454c4600ff');"
                            "INSERT INTO programs (cache_key, lowered_names, digest, cubin) VALUES ('k', 'a\nb', 'd', x'00')"),
              "");
    const auto before = rows_of(path);
    ASSERT_EQ(before.at("measurements").size(), 8u);
    {
        database db = database::open(path, open_mode::read_write);
        EXPECT_EQ(db.schema_version(), known_schema_version());
        EXPECT_EQ(rows_of(path), before) << "a row was lost or changed";
        for (const winner& w : db.winners()) EXPECT_EQ(w.kerntune_version, "") << "the old rows stay unknown";
        const measurement old = db.find_measurements({}).at(0);
        db.record_measurement({old.key, "blk128.vec4.unr2.plain.tile.w0", candidate_status::ok, 9.0, 0.01, 900, 7, "", ""});
        for (const measurement& m : db.measurements(old.key))
            EXPECT_EQ(m.kerntune_version, m.config == "blk128.vec4.unr2.plain.tile.w0" ? kerntune_build() : "");
        EXPECT_EQ(db.integrity_check(), "ok");
    }
    // The file now holds exactly the newest schema's objects: read_only opens check that.
    const database reread = database::open(path, open_mode::read_only);
    EXPECT_EQ(reread.schema_version(), known_schema_version());
    EXPECT_EQ(reread.find_measurements({}).size(), 9u);
    EXPECT_EQ(reread.winners().size(), 4u);
    EXPECT_EQ(reread.find_binary({"h", "c", "f32", "sm_90", "13.0"})->cubin, std::string("\x7f" "ELF\0\xff", 6));
}

// A file of schema 2 (kerntune_version, but no method or driver) reads with both unknown, and
// opened for writing becomes the newest schema with every row.
TEST_F(DbMigration, AVersionTwoFileIsReadWithoutMethodAndDriverAndMigratedKeepingEveryRow) {
    const fs::path path = m_folder / "schema2.db";
    ASSERT_EQ(run_sql(path, std::string(schema::sql_of(2)) +
                                "INSERT INTO devices (identity, name, cc_major, cc_minor, sm_count, memory_clock_khz, "
                                "bus_width_bits, l2_bytes, theoretical_gbps, copy_gbps, driver_version) VALUES ('g', 'G', "
                                "9, 0, 132, 1, 1, 1, 1.0, 1.0, '13.0');"
                                "INSERT INTO measurements (template_name, template_hash, dtype, problem_key, gpu_identity, "
                                "nvrtc_version, config, status, median_us, noise, gbps, samples, message, "
                                "kerntune_version) VALUES ('t', 'h', 'f32', 'n=1', 'g', '13.0', 'blk1', 'ok', 2.5, 0.01, "
                                "9.0, 7, '', '0.2.0');"
                                "INSERT INTO winners (template_name, template_hash, dtype, problem_key, gpu_identity, "
                                "nvrtc_version, config, median_us, gbps, pct_theoretical, pct_copy, candidates_ok, "
                                "candidates_failed, tune_seconds, kerntune_version) VALUES ('t', 'h', 'f32', 'n=1', 'g', "
                                "'13.0', 'blk1', 2.5, 9.0, 1.0, 1.0, 1, 0, 0.5, '0.2.0')"),
              "");
    const std::string before = bytes_of(path);
    {
        const database db = database::open(path, open_mode::read_only);
        EXPECT_EQ(db.schema_version(), 2);
        const measurement m = db.find_measurements({}).at(0);
        EXPECT_EQ(m.kerntune_version, "0.2.0");
        EXPECT_EQ(m.method, "");
        EXPECT_EQ(m.driver_version, "");
        EXPECT_EQ(db.winners().at(0).method, "");
    }
    EXPECT_EQ(bytes_of(path), before);
    database db = database::open(path, open_mode::read_write);
    EXPECT_EQ(db.schema_version(), known_schema_version());
    const measurement m = db.find_measurements({}).at(0);
    EXPECT_EQ(m.config, "blk1");
    EXPECT_EQ(m.median_us, 2.5);
    EXPECT_EQ(m.kerntune_version, "0.2.0");
    EXPECT_EQ(m.method, "") << "unknown stays unknown";
    EXPECT_EQ(db.winners().at(0).kerntune_version, "0.2.0");
    EXPECT_EQ(db.integrity_check(), "ok");
}

// The migration is one transaction: a writer killed at any moment of it leaves the file of
// schema 1 with every row, or of the newest schema with every row, never between.
TEST_F(DbMigration, AMigrationKilledAtAnyMomentLeavesOneVersionOrTheOtherWithEveryRow) {
    const fs::path original = database_from_dump();
    // 16,000 more rows, so that the migration takes long enough to be killed in the middle.
    ASSERT_EQ(run_sql(original, "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000) "
                                "INSERT INTO measurements SELECT template_name, template_hash, dtype, problem_key, "
                                "gpu_identity, nvrtc_version, config || '.' || i, status, median_us, noise, gbps, "
                                "samples, message, measured_at FROM measurements, n"),
              "");
    const auto rows = rows_of(original);
    const fs::path path = m_folder / "killed.db";
    const auto fresh_copy = [&] {
        for (const char* suffix : {"", "-wal", "-shm", "-journal"}) fs::remove(path.string() + suffix);
        fs::copy_file(original, path);
    };
    // How long a whole migration takes here (0.4 s on the 2-core CI machine): the kills are spread over it.
    fresh_copy();
    const auto started = std::chrono::steady_clock::now();
    database::open(path, open_mode::read_write);
    const auto whole = std::chrono::steady_clock::now() - started;
    constexpr int rounds = 10;
    int versions_seen[3] = {0, 0, 0};
    for (int round = 0; round < rounds; ++round) {
        fresh_copy();
        const pid_t child = fork();
        if (child == 0) {
            database::open(path, open_mode::read_write);
            _exit(0);
        }
        // Kills from at once to twice a whole migration's time; the last round lets it finish.
        std::this_thread::sleep_for(whole * 2 * round / rounds);
        if (round < rounds - 1) kill(child, SIGKILL);
        waitpid(child, nullptr, 0);
        // A kill while switching the file to WAL (a write in rollback-journal mode) leaves a hot
        // journal: a read-only open reads what was committed; rows_of (SQLite's own read-only
        // open) needs a writer to roll it back first, as SQLite's read-write open does.
        const int version = database::open(path, open_mode::read_only).schema_version();
        ASSERT_EQ(run_sql(path, "SELECT count(*) FROM sqlite_schema"), "");
        const database db = database::open(path, open_mode::read_only);
        EXPECT_EQ(db.schema_version(), version);
        ASSERT_TRUE(version == 1 || version == known_schema_version()) << version;
        ++versions_seen[version == 1 ? 1 : 2];
        EXPECT_EQ(db.integrity_check(), "ok");
        EXPECT_EQ(rows_of(path), rows) << "round " << round << ", schema " << version;
    }
    std::printf("a migration took %.0f ms; schema 1 after %d kills, schema %d after %d\n",
                std::chrono::duration<double, std::milli>(whole).count(), versions_seen[1], known_schema_version(),
                versions_seen[2]);
    EXPECT_GT(versions_seen[1], 0) << "no kill came before the migration committed";
    EXPECT_GT(versions_seen[2], 0) << "no migration finished";
}

} // namespace
} // namespace kerntune
