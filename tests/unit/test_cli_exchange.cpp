// `kerntune db export`, `db import` and `db merge` through the real program (KERNTUNE_CLI_PATH),
// without a GPU: the round trip byte for byte, a tampered line refused with its line number and
// nothing imported, a label outside its template's domain (the built-in catalogue's leaky_relu),
// conflicts reported, a merge into itself changing nothing, and bad input: one line, nothing
// stored lost.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "catalog/catalog.hpp"
#include "db/database.hpp"
#include "../support/cli_run.hpp"
#include "../support/expectations.hpp"
#include "../support/temp_folder.hpp"

namespace kerntune {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using testing::cli_run;
using testing::contains;
using testing::file_bytes;

const std::string h100 = "NVIDIA H100 80GB HBM3|sm_90|132 SMs";

/// The built-in leaky_relu's source hash: a key the catalogue knows, so labels are checked.
const std::string& leaky_relu_hash() {
    static const std::string hash = catalog().at("leaky_relu")->source_hash;
    return hash;
}

class CliExchange : public testing::temp_folder_test {
protected:
    CliExchange() : temp_folder_test("kerntune-cli-exchange") {}

    fs::path file(const std::string& name) const { return m_folder / name; }
    cli_run run_cli(const std::vector<std::string>& args) const { return testing::run_kerntune(m_folder, args); }

    /// A database of leaky_relu f32 results at `problems`, each key with an ok row of `median_us`,
    /// a timeout (its message naming the file) and a winner, every row timed by the tuner's method.
    fs::path create_database(const std::string& name, const std::vector<std::string>& problems, double median_us) const {
        const fs::path path = file(name);
        database db = database::open(path, open_mode::read_write);
        db.upsert_device({h100, "NVIDIA H100 80GB HBM3", 9, 0, 132, 2'619'000, 5120, 52'428'800, 3352.3, 2890.5, "13.0"});
        for (const std::string& problem : problems) {
            const tuning_key key{"leaky_relu", leaky_relu_hash(), "f32", problem, h100, "13.0"};
            measurement ok{key, "blk256.vec4.unr2.plain.tile.w0", candidate_status::ok, median_us, 0.01, 1500, 30, "", ""};
            measurement slow{key, "blk128.vec4.unr2.plain.tile.w0", candidate_status::timeout, 0, 0, 0, 0,
                             "no answer (" + name + ")", ""};
            winner best{key, ok.config, median_us, 1500, 45, 52, 1, 1, 3.5, ""};
            for (measurement* m : {&ok, &slow}) m->method = "cuda-events.l2-flushed.median", m->driver_version = "13.0";
            best.method = ok.method;
            best.driver_version = "13.0";
            db.record_measurements({ok, slow}, best);
        }
        return path;
    }

    /// Expects a failure: exit 1, nothing on stdout, one line on stderr starting with `expected`.
    static void expect_failure(const cli_run& run, const std::string& expected) {
        EXPECT_EQ(run.exit_code, 1) << run.err;
        EXPECT_EQ(run.out, "");
        EXPECT_EQ(run.err.rfind("kerntune: error: " + expected, 0), 0u) << run.err;
        EXPECT_EQ(run.err.find('\n'), run.err.size() - 1) << "not exactly one line:\n" << run.err;
    }
};

TEST_F(CliExchange, ExportImportExportGivesTheSameBytes) {
    const fs::path db = create_database("tuning.db", {"n=1024", "n=4096"}, 5.0);
    const cli_run exported = run_cli({"db", "export", "--db", db.string()});
    ASSERT_EQ(exported.exit_code, 0) << exported.err;
    EXPECT_EQ(exported.err, "");
    EXPECT_EQ(exported.out.rfind("{\"format\":\"kerntune-tuning-db\",\"format_version\":1}\n", 0), 0u) << exported.out;

    const fs::path file_export = file("tuning.jsonl");
    cli_run run = run_cli({"db", "export", "--db", db.string(), "--output", file_export.string(), "--json"});
    ASSERT_EQ(run.exit_code, 0) << run.err;
    EXPECT_EQ(json::parse(run.out).at("result").at("measurements"), 4);
    EXPECT_EQ(file_bytes(file_export), exported.out);
    EXPECT_FALSE(fs::exists(file_export.string() + ".partial-" + std::to_string(getpid())));

    const fs::path copy = file("copy.db");
    run = run_cli({"db", "import", file_export.string(), "--db", copy.string(), "--json"});
    ASSERT_EQ(run.exit_code, 0) << run.err;
    const json result = json::parse(run.out).at("result");
    EXPECT_EQ(result.at("measurements").at("added"), 4);
    EXPECT_EQ(result.at("winners").at("added"), 2);
    EXPECT_EQ(result.at("conflicts").size(), 0u);
    run = run_cli({"db", "export", "--db", copy.string()});
    ASSERT_EQ(run.exit_code, 0) << run.err;
    EXPECT_EQ(run.out, exported.out);

    // Importing it again changes nothing, and says so.
    run = run_cli({"db", "import", file_export.string(), "--db", copy.string()});
    ASSERT_EQ(run.exit_code, 0) << run.err;
    EXPECT_TRUE(contains(run.out, "measurements  0      0         4          0")) << run.out;
    EXPECT_TRUE(contains(run.out, "\n0 conflicts\n")) << run.out;
    EXPECT_EQ(run_cli({"db", "export", "--db", copy.string()}).out, exported.out);
}

TEST_F(CliExchange, AWinnersExportIsAShippedFileThatImportsAndExportsBackByteForByte) {
    const fs::path db = create_database("tuning.db", {"n=1024", "n=4096"}, 5.0);
    const fs::path shipped = file("h100.jsonl");
    cli_run run = run_cli({"db", "export", "--winners", "--db", db.string(), "--output", shipped.string(), "--json"});
    ASSERT_EQ(run.exit_code, 0) << run.err;
    const json summary = json::parse(run.out).at("result");
    EXPECT_EQ(summary.at("measurements"), 2);  // the winners' own, not the timeouts
    EXPECT_EQ(summary.at("winners"), 2);
    const fs::path copy = file("copy.db");
    ASSERT_EQ(run_cli({"db", "import", shipped.string(), "--db", copy.string()}).exit_code, 0);
    run = run_cli({"db", "export", "--db", copy.string()});
    ASSERT_EQ(run.exit_code, 0) << run.err;
    EXPECT_EQ(run.out, file_bytes(shipped));
    run = run_cli({"db", "merge", copy.string(), "--into", copy.string()});
    ASSERT_EQ(run.exit_code, 0) << run.err;
    EXPECT_EQ(run_cli({"db", "export", "--db", copy.string()}).out, file_bytes(shipped));
}

TEST_F(CliExchange, DbShowListsTheShippedWinnersBeneathTheDatabasesMarked) {
    const fs::path shipped_source = create_database("shipped.db", {"n=1024", "n=4096"}, 5.0);
    const fs::path shipped = file("h100.jsonl");
    ASSERT_EQ(run_cli({"db", "export", "--winners", "--db", shipped_source.string(), "--output", shipped.string()}).exit_code, 0);
    const fs::path mine = create_database("mine.db", {"n=1024"}, 4.0);
    const std::map<std::string, std::string> env = {{"KERNTUNE_SHIPPED_DB", shipped.string()}};
    cli_run run = testing::run_kerntune(m_folder, {"db", "show", "--db", mine.string()}, env);
    ASSERT_EQ(run.exit_code, 0) << run.err;
    EXPECT_TRUE(contains(run.out, "shipped, read beneath the database (" + shipped.string() + "):")) << run.out;
    EXPECT_TRUE(contains(run.out, "under the database's row")) << run.out;  // n=1024: mine wins
    EXPECT_TRUE(contains(run.out, " used")) << run.out;                     // n=4096: the shipped one
    run = testing::run_kerntune(m_folder, {"db", "show", "--json", "--db", mine.string()}, env);
    ASSERT_EQ(run.exit_code, 0) << run.err;
    const json result = json::parse(run.out).at("result");
    EXPECT_EQ(result.at("winners").size(), 1u);
    ASSERT_EQ(result.at("shipped").at("winners").size(), 2u);
    EXPECT_EQ(result.at("shipped").at("winners")[0].at("problem"), "n=1024");
    EXPECT_EQ(result.at("shipped").at("winners")[0].at("shipped"), "under the database's row");
    EXPECT_EQ(result.at("shipped").at("winners")[1].at("shipped"), "used");
    // A filter applies to them too; with the shipped files off there are none.
    run = testing::run_kerntune(m_folder, {"db", "show", "--json", "--shape", "4096", "--op", "leaky_relu", "--db", mine.string()}, env);
    EXPECT_EQ(json::parse(run.out).at("result").at("shipped").at("winners").size(), 1u);
    run = run_cli({"db", "show", "--db", mine.string()});
    EXPECT_FALSE(contains(run.out, "shipped")) << run.out;
}

// A fresh install: no database at the default path yet. show lists the shipped winners, which a
// runtime uses, and creates nothing; a database named by --db must still exist.
TEST_F(CliExchange, DbShowBeforeTheFirstTuneListsTheShippedWinnersAlone) {
    const fs::path shipped_source = create_database("shipped.db", {"n=1024", "n=4096"}, 5.0);
    const fs::path shipped = file("h100.jsonl");
    ASSERT_EQ(run_cli({"db", "export", "--winners", "--db", shipped_source.string(), "--output", shipped.string()}).exit_code, 0);
    const std::map<std::string, std::string> env = {{"KERNTUNE_SHIPPED_DB", shipped.string()}};
    const fs::path default_db = m_folder / "xdg" / "kerntune" / "tuning.db";  // run_kerntune's XDG_DATA_HOME
    cli_run run = testing::run_kerntune(m_folder, {"db", "show"}, env);
    ASSERT_EQ(run.exit_code, 0) << run.err;
    EXPECT_TRUE(contains(run.out, "no tuning database at " + default_db.string() + " yet")) << run.out;
    EXPECT_TRUE(contains(run.out, "shipped, read beneath the database (" + shipped.string() + "):")) << run.out;
    EXPECT_FALSE(contains(run.out, "under the database's row")) << run.out;
    run = testing::run_kerntune(m_folder, {"db", "show", "--json"}, env);
    ASSERT_EQ(run.exit_code, 0) << run.err;
    const json result = json::parse(run.out).at("result");
    EXPECT_TRUE(result.at("schema_version").is_null());
    EXPECT_EQ(result.at("winners").size(), 0u);
    ASSERT_EQ(result.at("shipped").at("winners").size(), 2u);
    for (const json& row : result.at("shipped").at("winners")) EXPECT_EQ(row.at("shipped"), "used");
    EXPECT_FALSE(fs::exists(default_db)) << "show created a database";
    // Named databases and --candidates (the measurements of a database) need the file.
    run = testing::run_kerntune(m_folder, {"db", "show", "--db", file("missing.db").string()}, env);
    EXPECT_EQ(run.exit_code, 1);
    EXPECT_TRUE(contains(run.err, "no tuning database at " + file("missing.db").string())) << run.err;
    run = testing::run_kerntune(m_folder, {"db", "show"}, {{"KERNTUNE_SHIPPED_DB", shipped.string()}, {"KERNTUNE_DB", file("missing.db").string()}});
    EXPECT_EQ(run.exit_code, 1) << run.out;
    run = testing::run_kerntune(m_folder, {"db", "show", "--candidates"}, env);
    EXPECT_EQ(run.exit_code, 1) << run.out;
    EXPECT_TRUE(contains(run.err, "no tuning database at " + default_db.string())) << run.err;
}

TEST_F(CliExchange, ATamperedLineIsRefusedWithItsNumberAndNothingIsImported) {
    const fs::path db = create_database("tuning.db", {"n=1024"}, 5.0);
    std::string text = run_cli({"db", "export", "--db", db.string()}).out;
    const fs::path target = create_database("target.db", {"n=65536"}, 7.0);
    const std::string target_before = file_bytes(target);
    const std::map<std::string, std::pair<std::string, std::string>> tampered = {
        // A label outside leaky_relu's declared domain: BLOCK 999.
        {"label", {"blk256.vec4.unr2.plain.tile.w0", "blk999.vec4.unr2.plain.tile.w0"}},
        // A label of the wrong shape for this template: a part missing.
        {"parts", {"\"blk128.vec4.unr2.plain.tile.w0\"", "\"blk128.vec4.unr2.plain.tile\""}},
        {"hash", {leaky_relu_hash(), leaky_relu_hash().substr(0, 40)}},
        {"json", {"\"status\":\"timeout\"", "\"status\":timeout"}},
        {"version", {"\"format_version\":1", "\"format_version\":7"}},
    };
    const std::map<std::string, std::string> expected = {
        {"label", ":4: 'blk999.vec4.unr2.plain.tile.w0' is not a config of leaky_relu: BLOCK must be one of 128, 256, 512, 1024"},
        {"parts", ":3: 'blk128.vec4.unr2.plain.tile' is not a config of leaky_relu: expected 6 parts separated by '.'"},
        {"hash", ":3: template_hash '" + leaky_relu_hash().substr(0, 40) + "' is not a SHA-256 hex digest"},
        {"json", ":3: not JSON (at byte"},
        {"version", ":1: format version 7 is newer than this kerntune reads (1)"},
    };
    for (const auto& [name, change] : tampered) {
        SCOPED_TRACE(name);
        std::string bad = text;
        const std::size_t at = bad.find(change.first);
        ASSERT_NE(at, std::string::npos);
        bad.replace(at, change.first.size(), change.second);
        const fs::path bad_file = file(name + ".jsonl");
        std::ofstream(bad_file, std::ios::binary) << bad;
        expect_failure(run_cli({"db", "import", bad_file.string(), "--db", target.string()}),
                       bad_file.string() + expected.at(name));
        EXPECT_EQ(file_bytes(target), target_before) << "the database changed";
        // Nor is a new database created for a file that cannot be imported.
        const fs::path fresh = file("fresh-" + name + ".db");
        EXPECT_EQ(run_cli({"db", "import", bad_file.string(), "--db", fresh.string()}).exit_code, 1);
        EXPECT_FALSE(fs::exists(fresh));
    }
}

TEST_F(CliExchange, MergeGathersShardsReportsConflictsAndChangesNothingMergedIntoItself) {
    const fs::path a = create_database("a.db", {"n=1024", "n=4096"}, 5.0);
    const fs::path b = create_database("b.db", {"n=4096", "n=65536"}, 4.0);
    const fs::path all = file("all.db");
    cli_run run = run_cli({"db", "merge", a.string(), b.string(), "--into", all.string()});
    ASSERT_EQ(run.exit_code, 0) << run.err;
    EXPECT_EQ(run.out.rfind("merged " + a.string() + ", " + b.string() + " into " + all.string() + "\n", 0), 0u) << run.out;
    // b's n=4096 is faster by the same method: its ok row and winner replace a's; its timeout
    // differs from a's (in its message), and a's is kept.
    EXPECT_TRUE(contains(run.out, "conflict: measurement of leaky_relu f32 n=4096 config blk256.vec4.unr2.plain.tile.w0 on " +
                                      h100 + " from " + b.string() +
                                      ": replaced: a lower median by the same method (4 us against 5 us here)"))
        << run.out;
    EXPECT_TRUE(contains(run.out, "conflict: winner of leaky_relu f32 n=4096 on " + h100 + " from " + b.string() + ": replaced"))
        << run.out;
    EXPECT_TRUE(contains(run.out, "config blk128.vec4.unr2.plain.tile.w0 on " + h100 + " from " + b.string() +
                                      ": kept this database's: both timeout, differing in message"))
        << run.out;
    EXPECT_TRUE(contains(run.out, "\n3 conflicts\n")) << run.out;
    const database merged = database::open(all, open_mode::read_only);
    EXPECT_EQ(merged.winners().size(), 3u);
    EXPECT_EQ(merged.find_measurements({}).size(), 6u);

    const std::string before = run_cli({"db", "export", "--db", all.string()}).out;
    run = run_cli({"db", "merge", all.string(), "--into", all.string(), "--json"});
    ASSERT_EQ(run.exit_code, 0) << run.err;
    const json result = json::parse(run.out).at("result");
    EXPECT_EQ(result.at("measurements").at("unchanged"), 6);
    EXPECT_EQ(result.at("winners").at("unchanged"), 3);
    EXPECT_EQ(result.at("conflicts").size(), 0u);
    EXPECT_EQ(run_cli({"db", "export", "--db", all.string()}).out, before);
}

TEST_F(CliExchange, AMergeIntoADatabaseAnotherProcessIsWritingWaitsForIt) {
    const fs::path a = create_database("a.db", {"n=1024"}, 5.0);
    const fs::path all = create_database("all.db", {"n=4096"}, 6.0);
    // Another writer holds the database's write lock for a second, as a tune's transaction would
    // (they are much shorter); the merge waits for it, then merges.
    int ready[2];
    ASSERT_EQ(pipe(ready), 0);
    const pid_t holder = fork();
    if (holder == 0) {
        close(ready[0]);
        sqlite3* db = nullptr;
        sqlite3_open(all.c_str(), &db);
        const bool held = sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) == SQLITE_OK;
        if (write(ready[1], held ? "y" : "n", 1) != 1) _exit(2);
        std::this_thread::sleep_for(std::chrono::seconds(1));
        sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr);
        sqlite3_close(db);
        _exit(0);
    }
    close(ready[1]);
    char held = 0;
    ASSERT_EQ(read(ready[0], &held, 1), 1);
    close(ready[0]);
    ASSERT_EQ(held, 'y');
    const auto started = std::chrono::steady_clock::now();
    const cli_run run = run_cli({"db", "merge", a.string(), "--into", all.string()});
    const auto took = std::chrono::steady_clock::now() - started;
    waitpid(holder, nullptr, 0);
    ASSERT_EQ(run.exit_code, 0) << run.err;
    EXPECT_GE(took, std::chrono::milliseconds(500)) << "the merge did not wait for the writer";
    EXPECT_EQ(database::open(all, open_mode::read_only).winners().size(), 2u);
    EXPECT_EQ(database::open(all, open_mode::read_only).integrity_check(), "ok");
}

TEST_F(CliExchange, BadInputIsOneLineAndNothingStoredIsLost) {
    const fs::path db = create_database("tuning.db", {"n=1024"}, 5.0);
    const std::string before = file_bytes(db);
    // Malformed command lines: exit 2.
    for (const std::vector<std::string>& args :
         {std::vector<std::string>{"db", "export", "--db", db.string(), "--format", "csv"},
          std::vector<std::string>{"db", "export", "--db", db.string(), "--json"},
          std::vector<std::string>{"db", "merge", db.string()},
          std::vector<std::string>{"db", "merge", "--into", db.string()},
          std::vector<std::string>{"db", "import"}}) {
        const cli_run run = run_cli(args);
        EXPECT_EQ(run.exit_code, 2) << run.err;
        EXPECT_EQ(run.err.find('\n'), run.err.size() - 1) << run.err;
        EXPECT_TRUE(contains(run.err, "--help")) << run.err;
    }
    // Failures: exit 1, the database as it was, nothing created.
    expect_failure(run_cli({"db", "merge", file("missing.db").string(), "--into", db.string()}),
                   "no tuning database at " + file("missing.db").string());
    expect_failure(run_cli({"db", "merge", db.string(), "--into", file("absent/all.db").string()}),
                   "cannot create " + file("absent/all.db").string());
    expect_failure(run_cli({"db", "import", file("missing.jsonl").string(), "--db", db.string()}),
                   "cannot read " + file("missing.jsonl").string() + ": No such file or directory");
    expect_failure(run_cli({"db", "import", m_folder.string(), "--db", db.string()}),
                   m_folder.string() + " is a folder, not an export");
    expect_failure(run_cli({"db", "export", "--db", db.string(), "--output", db.string()}),
                   "--output " + db.string() + " is the database itself");
    expect_failure(run_cli({"db", "export", "--db", db.string(), "--output", file("absent/x.jsonl").string()}),
                   "cannot write " + file("absent/x.jsonl").string());
    std::ofstream(file("text.txt")) << "hello\n";
    expect_failure(run_cli({"db", "import", file("text.txt").string(), "--db", db.string()}),
                   file("text.txt").string() + ":1: not JSON");
    EXPECT_EQ(file_bytes(db), before);
    EXPECT_FALSE(fs::exists(file("missing.db")));
    EXPECT_FALSE(fs::exists(file("absent")));
}

} // namespace
} // namespace kerntune
