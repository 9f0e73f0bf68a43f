// The real `kerntune` program (KERNTUNE_CLI_PATH) fed bad input: malformed shapes, unknown ops
// and dtypes, broken specs, database paths it cannot use and files that are not kerntune
// databases. Each must give exit status != 0, exactly one line on stderr starting with
// "kerntune:" that names the problem, nothing on stdout, and leave every file as it was.
#include <dlfcn.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "core/sha256.hpp"
#include "db/database.hpp"
#include "test_core_support.hpp"
#include "../support/child_process.hpp"
#include "../support/cli_run.hpp"
#include "../support/sqlite_files.hpp"
#include "../support/temp_folder.hpp"

namespace kerntune {
namespace {

namespace fs = std::filesystem;
using test::contains;

std::string bytes_of(const fs::path& file) {
    std::ifstream in(file, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

/// The file's size and SHA-256, to compare before and after a run (and print short on a failure).
std::string fingerprint(const fs::path& file) {
    const std::string bytes = bytes_of(file);
    return std::to_string(bytes.size()) + " bytes, sha256 " + sha256_hex(bytes);
}

void write_bytes(const fs::path& file, const std::string& bytes) {
    std::ofstream(file, std::ios::binary | std::ios::trunc) << bytes;
}

/// Whether the CUDA driver library loads here. With one, `tune` with valid arguments would
/// really tune instead of failing fast, so the cases that expect "no CUDA driver" skip.
bool has_cuda_driver() {
    void* library = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
    if (library != nullptr) dlclose(library);
    return library != nullptr;
}

using testing::cli_run;
using testing::nobody;

/// Tests that each run the CLI in a fresh temporary folder. The child gets XDG_DATA_HOME inside
/// that folder and no KERNTUNE_DB, so a run can never touch the user's default database.
class ReliabilityCli : public testing::temp_folder_test {
protected:
    ReliabilityCli() : temp_folder_test("kerntune-cli") {}
    void SetUp() override {
        temp_folder_test::SetUp();
        fs::permissions(m_folder, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                                      fs::perms::others_read | fs::perms::others_exec);  // nobody may enter
        fs::create_directory(m_folder / "io");
    }
    /// A path in the folder.
    fs::path file(const std::string& name) const { return m_folder / name; }

    /// Runs `kerntune args...` with extra environment variables (testing::run_kerntune).
    cli_run run_cli(const std::vector<std::string>& args, const std::map<std::string, std::string>& env = {},
                    bool unprivileged = false) const {
        return testing::run_kerntune(m_folder, args, env, unprivileged);
    }

    /// Makes a closed kerntune database with the API: a device, 400 measurements over 40 keys
    /// (several pages, so that cutting the file in half loses rows), their winners and a binary.
    fs::path create_database(const std::string& name) const {
        const fs::path path = file(name);
        database db = database::open(path, open_mode::read_write);
        const std::string gpu = "NVIDIA H100 80GB HBM3|sm_90|132 SMs";
        db.upsert_device(
            {gpu, "NVIDIA H100 80GB HBM3", 9, 0, 132, 2'619'000, 5120, 52'428'800, 3352.3, 2890.5, "12.4"});
        for (int k = 0; k < 40; ++k) {
            const tuning_key key{"leaky_relu", "3f2a9c", "f32", "n=" + std::to_string(1024 * (k + 1)),
                                 gpu,          "12.4.99"};
            for (int c = 0; c < 10; ++c)
                db.record_measurement({key, "blk256.vec4.unr" + std::to_string(c), candidate_status::ok, 5.0 + c,
                                       0.01, 1500, 30, std::string(200, 'm'), ""});
            db.set_winner({key, "blk256.vec4.unr0", 5.0, 1500, 45, 52, 10, 0, 3.5, ""});
        }
        db.store_binary({{"3f2a9c", "blk256.vec4.unr2.tile.w0", "f32", "sm_90", "12.4.99"},
                         "_Z1kv",
                         "d",
                         std::string(20'000, 'c')});
        return path;
    }

    /// The folder's entries, to check that a run created nothing beside a file; SQLite's -wal and
    /// -shm files are left out (reading a WAL database may leave them, see database::open).
    std::set<std::string> listing(const fs::path& folder) const {
        std::set<std::string> names;
        for (const auto& entry : fs::directory_iterator(folder)) {
            const std::string name = entry.path().filename().string();
            const bool sidecar = name.size() > 4 && (name.substr(name.size() - 4) == "-wal" ||
                                                     name.substr(name.size() - 4) == "-shm");
            if (!sidecar) names.insert(name);
        }
        return names;
    }

    /// Expects a failed run: exit status != 0, nothing on stdout, and on stderr exactly one line
    /// that starts with "kerntune:" and contains every one of `expected`.
    static void expect_one_line_error(const cli_run& run, const std::vector<std::string>& expected) {
        EXPECT_NE(run.exit_code, 0);
        EXPECT_NE(run.exit_code, -1) << "the CLI did not exit normally";
        EXPECT_EQ(run.out, "");
        EXPECT_EQ(run.err.rfind("kerntune:", 0), 0u) << run.err;
        ASSERT_FALSE(run.err.empty());
        EXPECT_EQ(run.err.find('\n'), run.err.size() - 1) << "not exactly one line:\n" << run.err;
        for (const std::string& part : expected) EXPECT_TRUE(contains(run.err, part)) << run.err;
    }

    /// Runs the CLI with `args` and expects a one-line error containing `expected`, with the
    /// bytes of `database_file` and the entries of its folder as they were.
    void expect_refused_untouched(const std::vector<std::string>& args, const fs::path& database_file,
                                  const std::vector<std::string>& expected,
                                  const std::map<std::string, std::string>& env = {}) const {
        const std::string before = fingerprint(database_file);
        const std::set<std::string> entries = listing(database_file.parent_path());
        expect_one_line_error(run_cli(args, env), expected);
        EXPECT_EQ(fingerprint(database_file), before) << database_file << " changed";
        EXPECT_EQ(listing(database_file.parent_path()), entries);
        const fs::path wal = database_file.string() + "-wal";
        if (fs::exists(wal)) {
            EXPECT_EQ(fs::file_size(wal), 0u) << "something was written to " << wal;
        }
    }

    /// A copy of templates/leaky_relu.{yaml,cu} in the folder's templates/, with `original`
    /// replaced by `replacement` in the YAML; returns the edited YAML file.
    fs::path edited_templates(const std::string& original, const std::string& replacement) const {
        const fs::path folder = file("templates");
        fs::create_directory(folder);
        const fs::path source(KERNTUNE_TEST_TEMPLATE_DIR);
        fs::copy_file(source / "leaky_relu.cu", folder / "leaky_relu.cu");
        std::string yaml = bytes_of(source / "leaky_relu.yaml");
        const std::size_t at = yaml.find(original);
        EXPECT_NE(at, std::string::npos) << "templates/leaky_relu.yaml no longer holds '" << original << "'";
        if (at != std::string::npos) yaml.replace(at, original.size(), replacement);
        write_bytes(folder / "leaky_relu.yaml", yaml);
        return folder / "leaky_relu.yaml";
    }

    /// The 1-based line of templates/leaky_relu.yaml on which `text` starts.
    static int line_of(const std::string& text) {
        const std::string yaml = bytes_of(fs::path(KERNTUNE_TEST_TEMPLATE_DIR) / "leaky_relu.yaml");
        const std::size_t at = yaml.find(text);
        EXPECT_NE(at, std::string::npos) << text;
        return 1 + static_cast<int>(std::count(yaml.begin(), yaml.begin() + static_cast<long>(at), '\n'));
    }
};

/// `tune` with valid arguments apart from the ones given.
std::vector<std::string> tune_with(const fs::path& db, std::vector<std::string> args) {
    std::vector<std::string> all{"tune", "--op", "leaky_relu", "--dtype", "f32", "--shape", "1048576"};
    for (std::size_t i = 0; i < args.size(); i += 2) {
        const auto it = std::find(all.begin(), all.end(), args[i]);
        if (it != all.end())
            *(it + 1) = args[i + 1];
        else
            all.insert(all.end(), {args[i], args[i + 1]});
    }
    all.insert(all.end(), {"--db", db.string()});
    return all;
}

TEST_F(ReliabilityCli, MalformedZeroAndNegativeShapesAreRefusedLeavingTheDatabaseAsItWas) {
    const fs::path db = create_database("tuning.db");
    for (const std::string shape :
         {"0", "0x5", "-4", "4096x", "abc", "1.5", "99999999999999999999", "4096x0"}) {
        SCOPED_TRACE(shape);
        expect_refused_untouched(tune_with(db, {"--shape", shape}), db, {"bad shape '" + shape + "'"});
    }
}

TEST_F(ReliabilityCli, BudgetThatIsNotAPositiveNumberIsRefusedLeavingTheDatabaseAsItWas) {
    const fs::path db = create_database("tuning.db");
    for (const std::string budget : {"0", "-1", "abc", "nan", "inf", "1e99", "2s", ""}) {
        SCOPED_TRACE(budget);
        expect_refused_untouched(tune_with(db, {"--budget", budget}), db,
                                 {"--budget: must be a positive number of seconds, not '" + budget + "'"});
    }
}

TEST_F(ReliabilityCli, UnknownOpIsRefusedNamingTheKnownOnes) {
    const fs::path db = create_database("tuning.db");
    expect_refused_untouched(tune_with(db, {"--op", "leaky_relux"}), db,
                             {"unknown op 'leaky_relux'", "leaky_relu"});
    expect_refused_untouched({"tune", "--op", "'; DROP TABLE winners; --", "--db", db.string()}, db,
                             {"unknown op ''; DROP TABLE winners; --'"});
}

TEST_F(ReliabilityCli, BadExpressionsAreOneLineNamingTheColumnAndTouchNothing) {
    const fs::path db = create_database("tuning.db");
    const auto expr = [&](std::vector<std::string> args) {
        std::vector<std::string> all{"tune", "--dtype", "f32", "--shape", "1048576", "--db", db.string()};
        all.insert(all.end(), args.begin(), args.end());
        return all;
    };
    expect_refused_untouched(expr({"--expr", "x * sigmoid("}), db, {"x * sigmoid(", "column 13"});
    expect_refused_untouched(expr({"--expr", "x); asm(\"trap\"); //"}), db, {"column 2"});
    expect_refused_untouched(expr({"--expr", "x * alpha"}), db, {"unknown name 'alpha'"});
    expect_refused_untouched(expr({"--expr", "x * n", "--scalar", "n=2"}), db, {"'n'", "generated argument"});
    expect_refused_untouched(expr({"--expr", "x * a", "--scalar", "a=two"}), db, {"--scalar a=two", "NAME=VALUE"});
    expect_refused_untouched(expr({"--expr", "x", "--op", "leaky_relu"}), db, {"--op", "--expr"});
    expect_refused_untouched(expr({"--op", "leaky_relu", "--scalar", "a=1"}), db, {"--scalar", "--expr"});
    expect_refused_untouched(expr({}), db, {"--op", "--expr"});
    const cli_run bad = run_cli(expr({"--expr", "x +* y"}));
    EXPECT_EQ(bad.exit_code, 1) << bad.err;
}

TEST_F(ReliabilityCli, UnknownAndRepeatedDtypesAreRefused) {
    const fs::path db = create_database("tuning.db");
    expect_refused_untouched(tune_with(db, {"--dtype", "f64"}), db, {"unknown dtype 'f64'"});
    expect_refused_untouched(tune_with(db, {"--dtype", "f32,f32"}), db, {"f32 given twice"});
}

TEST_F(ReliabilityCli, DatabaseInAMissingFolderIsNamedAndNothingIsCreated) {
    const fs::path missing = file("absent") / "tuning.db";
    expect_one_line_error(run_cli(tune_with(missing, {})),
                          {"folder " + missing.parent_path().string() + " does not exist"});
    expect_one_line_error(run_cli({"db", "show", "--db", missing.string()}),
                          {"no tuning database at " + missing.string()});
    EXPECT_FALSE(fs::exists(missing.parent_path()));
}

TEST_F(ReliabilityCli, DatabasePathThatIsAFolderIsRefusedEvenForRoot) {
    // Root ignores permissions, but no user can open a folder as a database.
    const fs::path folder = file("a_folder.db");
    fs::create_directory(folder);
    expect_one_line_error(run_cli(tune_with(folder, {})), {folder.string(), "is a folder"});
    expect_one_line_error(run_cli({"db", "show", "--db", folder.string()}), {folder.string(), "is a folder"});
    EXPECT_TRUE(fs::is_empty(folder));
}

// Before database::open checked the file type, `db show` and `db check` of a FIFO blocked in
// SQLite's open(2) until something wrote to the FIFO.
TEST_F(ReliabilityCli, AFifoAsTheDatabaseIsOneLineErrorAtOnce) {
    const fs::path fifo = file("fifo.db");
    ASSERT_EQ(mkfifo(fifo.c_str(), 0644), 0);
    for (const std::vector<std::string>& args : {std::vector<std::string>{"db", "show", "--db", fifo.string()},
                                                 {"db", "show", "--json", "--db", fifo.string()},
                                                 {"db", "check", "--db", fifo.string()},
                                                 {"db", "forget", "--op", "leaky_relu", "--db", fifo.string()},
                                                 tune_with(fifo, {})}) {
        const std::string outcome = testing::text_from_child_within(std::chrono::seconds(5), [&] {
            const cli_run run = run_cli(args);
            return std::to_string(run.exit_code) + " " + run.out + run.err;
        });
        EXPECT_EQ(outcome, "1 kerntune: error: " + fifo.string() + " is a FIFO, not a tuning database\n") << args[1];
    }
}

// Before the database read text as UTF-8 whatever the file's encoding, `db check` of this file
// failed with "integrity check failed: o" (the UTF-16 bytes of "ok" cut at the first NUL).
TEST_F(ReliabilityCli, ASoundUtf16DatabaseIsCheckedAndShownLikeAUtf8One) {
    const fs::path utf16 = file("utf16.db");
    testing::copy_as_utf16(create_database("utf8.db"), utf16);
    const cli_run check = run_cli({"db", "check", "--db", utf16.string()});
    EXPECT_EQ(check.exit_code, 0) << check.err;
    EXPECT_EQ(check.out, utf16.string() + ": schema " + std::to_string(known_schema_version()) + ", integrity ok\n");
    const cli_run show = run_cli({"db", "show", "--json", "--db", utf16.string()});
    EXPECT_EQ(show.exit_code, 0) << show.err;
    EXPECT_TRUE(contains(show.out, "\"gpu\": \"NVIDIA H100 80GB HBM3|sm_90|132 SMs\"")) << show.out;
    EXPECT_TRUE(contains(show.out, "\"config\": \"blk256.vec4.unr0\"")) << show.out;
}

// Before the schema check `db show` ran the view's query, which never ends (killed after 5 s).
TEST_F(ReliabilityCli, AViewInPlaceOfWinnersIsRefusedByEveryCommandWithoutRunningIt) {
    const fs::path db = create_database("view.db");
    ASSERT_EQ(testing::run_sql(db, "ALTER TABLE winners RENAME TO stored_winners; CREATE VIEW winners AS WITH "
                                   "RECURSIVE forever(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM forever) "
                                   "SELECT stored_winners.* FROM forever, stored_winners"),
              "");
    const std::string before = fingerprint(db);
    for (const std::vector<std::string>& args : {std::vector<std::string>{"db", "show", "--db", db.string()},
                                                 {"db", "show", "--json", "--db", db.string()},
                                                 {"db", "check", "--db", db.string()},
                                                 {"db", "forget", "--op", "leaky_relu", "--db", db.string()},
                                                 tune_with(db, {})}) {
        const std::string outcome = testing::text_from_child_within(std::chrono::seconds(5), [&] {
            const cli_run run = run_cli(args);
            return std::to_string(run.exit_code) + " " + run.out + run.err;
        });
        EXPECT_EQ(outcome.rfind("1 kerntune: error: " + db.string() + " is not a ", 0), 0u) << outcome;
        EXPECT_TRUE(contains(outcome, "winners is a view, not a table")) << outcome;
        EXPECT_EQ(std::count(outcome.begin(), outcome.end(), '\n'), 1) << outcome;
    }
    EXPECT_EQ(fingerprint(db), before);
}

// Before, db check ran SQLite's integrity check only and said "integrity ok" (exit 0) for both
// files, and db show listed the negative median.
TEST_F(ReliabilityCli, DbCheckNamesRowsOutOfRangeAndSchemaDifferencesAndDbShowLeavesSuchRowsOut) {
    const fs::path db = create_database("values.db");
    ASSERT_EQ(testing::run_sql(db, "PRAGMA ignore_check_constraints = ON; UPDATE measurements SET median_us = -1 "
                                   "WHERE problem_key = 'n=1024' AND config = 'blk256.vec4.unr3'"),
              "");
    const std::string before = fingerprint(db);
    const std::string row = "measurement of leaky_relu f32 n=1024 config blk256.vec4.unr3 on NVIDIA H100 80GB HBM3|"
                            "sm_90|132 SMs: median_us is -1, not a finite number >= 0";
    const cli_run check = run_cli({"db", "check", "--db", db.string()});
    expect_one_line_error(check, {});
    EXPECT_EQ(check.err, "kerntune: error: " + db.string() + " is not a sound kerntune database: " + row + "\n");
    const cli_run json_check = run_cli({"db", "check", "--json", "--db", db.string()});
    EXPECT_EQ(json_check.exit_code, 1);
    EXPECT_TRUE(contains(json_check.out, "\"bad_rows\": [\n      \"" + row + "\"\n    ]")) << json_check.out;
    EXPECT_TRUE(contains(json_check.out, "\"schema_differences\": []")) << json_check.out;
    EXPECT_TRUE(contains(json_check.out, "\"ok\": false")) << json_check.out;
    const cli_run show = run_cli({"db", "show", "--candidates", "--op", "leaky_relu", "--db", db.string()});
    EXPECT_EQ(show.exit_code, 0) << show.err;
    EXPECT_TRUE(contains(show.err, db.string() + ": ignoring the " + row)) << show.err;
    EXPECT_FALSE(contains(show.out, "-1.0")) << show.out;
    EXPECT_EQ(fingerprint(db), before);

    ASSERT_EQ(testing::run_sql(db, "CREATE TRIGGER t AFTER INSERT ON measurements BEGIN DELETE FROM winners; END"), "");
    const cli_run trigger = run_cli({"db", "check", "--db", db.string()});
    expect_one_line_error(trigger, {});
    EXPECT_EQ(trigger.err, "kerntune: error: " + db.string() +
                               " is not a sound kerntune database: unexpected trigger t on measurements\n");
}

// Before, `db show` and `db check` said "cannot read its schema: attempt to write a readonly
// database": only a writer may roll a hot journal back.
TEST_F(ReliabilityCli, ADatabaseWithAHotJournalIsShownAndCheckedAsLastCommittedAndLeftAsItWas) {
    const fs::path db = create_database("hot.db");
    ASSERT_EQ(testing::run_sql(db, "PRAGMA journal_mode = DELETE"), "");
    testing::leave_hot_journal(db, "DELETE FROM winners; UPDATE measurements SET message = printf('%.*c', 3000, 'x');");
    const fs::path journal = db.string() + "-journal";
    ASSERT_TRUE(fs::exists(journal)) << "the killed writer left no journal";
    const std::string before = fingerprint(db), journal_before = fingerprint(journal);
    const cli_run show = run_cli({"db", "show", "--json", "--db", db.string()});
    EXPECT_EQ(show.exit_code, 0) << show.err;
    int winners = 0;
    for (std::size_t at = show.out.find("\"tuned_at\""); at != std::string::npos; at = show.out.find("\"tuned_at\"", at + 1))
        ++winners;
    EXPECT_EQ(winners, 40) << "the 40 winners committed";
    const cli_run check = run_cli({"db", "check", "--db", db.string()});
    EXPECT_EQ(check.exit_code, 0) << check.err;
    EXPECT_EQ(check.out, db.string() + ": schema " + std::to_string(known_schema_version()) + ", integrity ok\n");
    EXPECT_EQ(fingerprint(db), before);
    EXPECT_EQ(fingerprint(journal), journal_before);
}

TEST_F(ReliabilityCli, ReadOnlyFolderIsRefusedForTuneAndStillReadableByShow) {
    // Run as user nobody when root runs the tests: chmod 0555 does not stop root.
    const fs::path folder = file("read_only");
    fs::create_directory(folder);
    const fs::path db = create_database("read_only/tuning.db");
    fs::permissions(folder, fs::perms::owner_read | fs::perms::owner_exec | fs::perms::group_read |
                                fs::perms::group_exec | fs::perms::others_read | fs::perms::others_exec);
    const std::string before = fingerprint(db);
    const std::set<std::string> entries = listing(folder);

    const fs::path fresh = folder / "new.db";
    expect_one_line_error(run_cli(tune_with(fresh, {}), {}, true),
                          {"folder " + folder.string() + " is read-only"});
    expect_one_line_error(run_cli(tune_with(db, {}), {}, true),
                          {"folder " + folder.string() + " is read-only"});
    const cli_run show = run_cli({"db", "show", "--db", db.string()}, {}, true);
    EXPECT_EQ(show.exit_code, 0) << show.err;
    EXPECT_TRUE(contains(show.out, "blk256.vec4.unr0")) << show.out;

    EXPECT_EQ(fingerprint(db), before);
    EXPECT_EQ(listing(folder), entries);
}

TEST_F(ReliabilityCli, DatabaseInAFolderThatCannotBeEnteredIsNamedByEveryCommand) {
    // Run as user nobody: a folder anyone may read and write but not enter (0666), holding a
    // database, and one holding a folder that holds one. Before, `db show`, `db check` and
    // `db forget` said "no tuning database at <path>" and `tune` "unable to open database file".
    const fs::perms no_search = fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read |
                                fs::perms::group_write | fs::perms::others_read | fs::perms::others_write;
    fs::create_directories(file("closed"));
    fs::create_directories(file("outer/inner"));
    const fs::path here = create_database("closed/tuning.db"), deeper = create_database("outer/inner/tuning.db");
    fs::permissions(file("closed"), no_search);
    fs::permissions(file("outer"), no_search);
    for (const auto& [db, folder] : {std::pair{here, file("closed")}, std::pair{deeper, file("outer")}}) {
        for (const std::vector<std::string>& args :
             {tune_with(db, {}), tune_with(folder / "new.db", {}), std::vector<std::string>{"db", "show", "--db", db.string()},
              {"db", "check", "--db", db.string()}, {"db", "forget", "--op", "leaky_relu", "--db", db.string()}}) {
            SCOPED_TRACE(args[0] + " " + args[1] + " " + args.back());
            expect_one_line_error(run_cli(args, {}, true),
                                  {"cannot use " + args.back() + ": cannot enter folder " + folder.string() +
                                   " (Permission denied)"});
        }
    }
    fs::permissions(file("closed"), fs::perms::owner_all);
    fs::permissions(file("outer"), fs::perms::owner_all);
    EXPECT_EQ(listing(file("closed")), std::set<std::string>{"tuning.db"});
    EXPECT_EQ(listing(file("outer/inner")), std::set<std::string>{"tuning.db"});
}

/// A file in the test's folder that is not a sound kerntune database, and the words its error
/// must contain.
struct spoiled_database {
    std::string name;
    std::vector<std::string> expected;
};

TEST_F(ReliabilityCli, FilesThatAreNotSoundKerntuneDatabasesAreRefusedByEveryCommandUntouched) {
    std::mt19937 random(20240501);
    std::string noise(64 * 1024, '\0');
    for (char& c : noise) c = static_cast<char>(random());

    const std::string whole = bytes_of(create_database("source.db"));
    write_bytes(file("truncated.db"), whole.substr(0, whole.size() / 2));
    write_bytes(file("random.db"), noise);
    write_bytes(file("text.db"), "template: leaky_relu\ndtypes: [f32, f64]\n");
    const fs::path newer = create_database("newer.db");
    {
        // What a newer kerntune would have written: a higher user_version in the header (offset 60).
        std::string bytes = bytes_of(newer);
        bytes[60] = bytes[61] = bytes[62] = 0;
        bytes[63] = 99;
        write_bytes(newer, bytes);
    }
    const std::vector<spoiled_database> files = {
        {"truncated.db", {"malformed"}},
        {"random.db", {"is not a kerntune database"}},
        {"text.db", {"is not a kerntune database"}},
        {"newer.db", {"written by a newer kerntune (schema 99, this build knows " + std::to_string(known_schema_version()) + ")"}},
    };
    for (const spoiled_database& spoiled : files) {
        const fs::path path = file(spoiled.name);
        std::vector<std::string> expected = spoiled.expected;
        expected.push_back(path.string());
        for (const std::vector<std::string>& args :
             {std::vector<std::string>{"db", "show", "--db", path.string()},
              {"db", "show", "--json", "--db", path.string()},
              {"db", "check", "--db", path.string()},
              tune_with(path, {})}) {
            SCOPED_TRACE(spoiled.name + " " + args[0] + " " + args[1]);
            expect_refused_untouched(args, path, expected);
        }
    }
}

TEST_F(ReliabilityCli, EmptyFileIsAnEmptyDatabaseThatShowRefusesWithoutWriting) {
    // SQLite treats a 0-byte file as a new database: kerntune too. `tune` (read_write) would
    // give it the schema; `db show` (read-only) says it has none and writes nothing.
    const fs::path db = file("empty.db");
    write_bytes(db, "");
    for (const char* action : {"show", "check"}) {
        SCOPED_TRACE(action);
        expect_refused_untouched({"db", action, "--db", db.string()}, db,
                                 {db.string(), "has no kerntune schema"});
    }
    EXPECT_EQ(fs::file_size(db), 0u);
}

TEST_F(ReliabilityCli, TuneWithoutAGpuSaysSoBeforeCreatingOrWritingTheDatabase) {
    if (has_cuda_driver()) GTEST_SKIP() << "this machine has a CUDA driver: tune would run";
    const fs::path fresh = file("fresh.db");
    expect_one_line_error(run_cli(tune_with(fresh, {})), {"no CUDA driver"});
    EXPECT_FALSE(fs::exists(fresh)) << "tune created the database before finding no GPU";

    const fs::path empty = file("empty.db");
    write_bytes(empty, "");
    expect_refused_untouched(tune_with(empty, {}), empty, {"no CUDA driver"});

    const fs::path db = create_database("tuning.db");
    expect_refused_untouched(tune_with(db, {}), db, {"no CUDA driver"});
    // A database in rollback-journal mode stays in it, one of schema 1 stays schema 1: nothing
    // changes a file before the work that needs the change can start. (Before, the check opened
    // the file for writing, which switched it to WAL.)
    const fs::path rollback = create_database("rollback.db");
    ASSERT_EQ(testing::run_sql(rollback, "PRAGMA journal_mode = DELETE"), "");
    ASSERT_EQ(bytes_of(rollback).at(18), 1) << "not in rollback-journal mode";
    expect_refused_untouched(tune_with(rollback, {}), rollback, {"no CUDA driver"});
    std::ifstream dump(KERNTUNE_TEST_FIXTURE_DIR "/../databases/main_662010a.sql");
    const fs::path old = file("schema1.db");
    ASSERT_EQ(testing::run_sql(old, std::string(std::istreambuf_iterator<char>(dump), {})), "");
    expect_refused_untouched(tune_with(old, {}), old, {"no CUDA driver"});
    for (const fs::path& untouched : {rollback, old}) {
        EXPECT_FALSE(fs::exists(untouched.string() + "-wal")) << untouched;
        EXPECT_FALSE(fs::exists(untouched.string() + "-journal")) << untouched;
    }
    // The default database's folder is not created either.
    expect_one_line_error(run_cli({"tune", "--op", "leaky_relu"}), {"no CUDA driver"});
    EXPECT_FALSE(fs::exists(file("xdg")));
}

TEST_F(ReliabilityCli, SpecWithAYamlSyntaxErrorIsNamedWithFileAndLine) {
    const fs::path db = create_database("tuning.db");
    const int line = line_of("dtypes: [f32, f16, bf16]");
    const fs::path yaml = edited_templates("dtypes: [f32, f16, bf16]", "dtypes: f32: f16");
    const std::map<std::string, std::string> env{{"KERNTUNE_TEMPLATES", yaml.parent_path().string()}};
    const std::string where = yaml.string() + ":" + std::to_string(line) + ": YAML syntax error";
    expect_refused_untouched(tune_with(db, {}), db, {where}, env);
    expect_one_line_error(run_cli({"list"}, env), {where});
}

TEST_F(ReliabilityCli, SpecWithAMissingFieldIsNamedWithFileLineAndField) {
    const fs::path db = create_database("tuning.db");
    const int line = line_of("{name: BLOCK, short: blk,");
    const fs::path yaml = edited_templates("{name: BLOCK, short: blk,", "{name: BLOCK,");
    const std::map<std::string, std::string> env{{"KERNTUNE_TEMPLATES", yaml.parent_path().string()}};
    const std::string where = yaml.string() + ":" + std::to_string(line) + ": missing field 'short'";
    expect_refused_untouched(tune_with(db, {}), db, {where}, env);
    expect_one_line_error(run_cli({"list"}, env), {where});
}

// Run as user nobody (root reads every folder). Before, a folder that could be listed but not
// entered (0444) was "cannot read <dir>/leaky_relu.yaml: no such file" and one inside a folder
// that cannot be entered was "no template folder at <dir>".
TEST_F(ReliabilityCli, TemplateFoldersThatCannotBeReadAreNamedAsSuch) {
    const fs::path db = create_database("tuning.db");
    const fs::path closed = file("closed");
    fs::create_directory(closed);
    struct unreadable_folder {
        fs::path folder;
        fs::perms mode;  // of the folder; `closed` is 0700 for the last
    };
    const std::vector<unreadable_folder> folders = {
        {file("mode000"), fs::perms::none},
        {file("mode333"), fs::perms::owner_write | fs::perms::owner_exec | fs::perms::group_write |
                              fs::perms::group_exec | fs::perms::others_write | fs::perms::others_exec},
        {file("mode444"), fs::perms::owner_read | fs::perms::group_read | fs::perms::others_read},
        {closed / "templates", fs::perms::all},
    };
    for (const unreadable_folder& f : folders) {
        fs::create_directory(f.folder);
        for (const char* name : {"leaky_relu.yaml", "leaky_relu.cu"}) {
            std::string text = bytes_of(fs::path(KERNTUNE_TEST_TEMPLATE_DIR) / name);
            if (std::string(name) == "leaky_relu.yaml") text.replace(text.find("name: leaky_relu"), 16, "name: leaky_copy");
            write_bytes(f.folder / name, text);
        }
        fs::permissions(f.folder, f.mode);
    }
    fs::permissions(closed, fs::perms::owner_all);
    for (const unreadable_folder& f : folders) {
        SCOPED_TRACE(f.folder.string());
        const std::string expected = "cannot read the template folder " + f.folder.string() + ": Permission denied";
        expect_one_line_error(run_cli({"list"}, {{"KERNTUNE_TEMPLATES", f.folder.string()}}, true), {expected});
        expect_one_line_error(run_cli(tune_with(db, {"--op", "leaky_copy", "--templates", f.folder.string()}), {}, true),
                              {expected});
    }
}

// Specs written to make `kerntune list` crash or stall: before the limits, the expression
// overflowed the stack (exit 139) and the space, two launch parameters of 400 values added to
// leaky_relu (27.8 M configs after constraints), took over 90 s and 2.8 GB to enumerate.
TEST_F(ReliabilityCli, HostileSpecsAreOneLineErrorsForListAndTuneWithinASecond) {
    const fs::path db = create_database("tuning.db");
    const std::string original = bytes_of(fs::path(KERNTUNE_TEST_TEMPLATE_DIR) / "leaky_relu.yaml");
    auto replaced = [](std::string text, const std::string& from, const std::string& to) {
        const std::size_t at = text.find(from);
        EXPECT_NE(at, std::string::npos) << "templates/leaky_relu.yaml no longer holds '" << from << "'";
        return at == std::string::npos ? text : text.replace(at, from.size(), to);
    };
    std::string values;
    for (int i = 0; i < 400; ++i) values += (i ? ", " : "") + std::to_string(i);
    const std::string waves = "  - {name: WAVES,";
    std::string space = replaced(original, waves,
                                 "  - {name: A, short: a, kind: launch, values: [" + values + "]}\n"
                                 "  - {name: B, short: b, kind: launch, values: [" + values + "]}\n" + waves);
    space = replaced(space, "WAVES: 0}", "WAVES: 0, A: 0, B: 0}");
    const std::string constraint = "  - VEC * sizeof(T) <= 16";
    const std::string nesting =
        replaced(original, constraint, "  - \"" + std::string(20'000, '(') + "1" + std::string(20'000, ')') + "\"\n" + constraint);
    const struct {
        std::string yaml, where;
    } cases[] = {
        {space, ":" + std::to_string(line_of("  - {name: BLOCK")) + ": the space of leaky_relu has 122880000 configs"},
        {nesting, ":" + std::to_string(line_of(constraint)) + ": expression '(((("},
    };
    const fs::path folder = file("templates");
    fs::create_directory(folder);
    fs::copy_file(fs::path(KERNTUNE_TEST_TEMPLATE_DIR) / "leaky_relu.cu", folder / "leaky_relu.cu");
    const std::map<std::string, std::string> env{{"KERNTUNE_TEMPLATES", folder.string()}};
    for (const auto& c : cases) {
        write_bytes(folder / "leaky_relu.yaml", c.yaml);
        const std::string where = (folder / "leaky_relu.yaml").string() + c.where;
        const auto started = std::chrono::steady_clock::now();
        expect_one_line_error(run_cli({"list"}, env), {where});
        expect_refused_untouched(tune_with(db, {}), db, {where}, env);
        EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count(), 1.0);
    }
}

} // namespace
} // namespace kerntune
