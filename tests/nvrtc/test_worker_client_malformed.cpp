// nvrtc label (links kerntune_tune), no GPU: a worker that answers with a malformed message
// (tests/fixtures/fake_worker.cpp plays one) costs the candidate in flight a runtime_fault and
// the worker its life; the tuner carries on with a fresh one and never crashes.
#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "../support/peak_memory.hpp"
#include "../support/temp_folder.hpp"
#include "core/error.hpp"
#include "core/problem.hpp"
#include "catalog/spec_loader.hpp"
#include "build/binary_cache.hpp"
#include "build/candidate_compiler.hpp"
#include "core/config.hpp"
#include "core/sha256.hpp"
#include "cuda/nvrtc.hpp"
#include "tune/tuner.hpp"
#include "tune/worker_client.hpp"

namespace kerntune {
namespace {

namespace fs = std::filesystem;

bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

/// Runs the fake worker in a mode; each worker it starts records its pid in m_folder/pids.
class fake_worker_test : public testing::temp_folder_test {
protected:
    void use_mode(const std::string& mode) {
        setenv("KERNTUNE_FAKE_WORKER_MODE", mode.c_str(), 1);
        setenv("KERNTUNE_FAKE_WORKER_PIDS", pids_file().c_str(), 1);
    }
    void TearDown() override {
        unsetenv("KERNTUNE_FAKE_WORKER_MODE");
        unsetenv("KERNTUNE_FAKE_WORKER_PIDS");
        temp_folder_test::TearDown();
    }
    fs::path pids_file() const { return m_folder / "pids"; }
    /// The pids of the workers started so far, in order.
    std::vector<pid_t> started_pids() const {
        std::vector<pid_t> pids;
        std::ifstream in(pids_file());
        for (pid_t pid = 0; in >> pid;) pids.push_back(pid);
        return pids;
    }
    static bool alive(pid_t pid) { return kill(pid, 0) == 0 || errno != ESRCH; }
};

class FakeWorker : public fake_worker_test {};

worker_message some_request() {
    worker_message request;
    request.fields = {{"module", "0"}, {"function", "_Z6kernelv"}, {"grid", "1"}, {"block", "256"}};
    return request;
}

constexpr int timeout_ms = 10'000;  // the fake answers at once; this only bounds a broken test

TEST_F(FakeWorker, WellFormedRepliesDecodeAndKeepTheWorker) {
    use_mode("good");
    worker_client worker(KERNTUNE_FAKE_WORKER_PATH, 0);
    EXPECT_EQ(worker.device_facts().at("name"), "NVIDIA H100 80GB HBM3 (fake)");
    const std::int64_t module = worker.add_module("not really a cubin");
    for (int i = 0; i < 2; ++i) {
        const evaluation result = worker.evaluate(some_request(), {module}, timeout_ms);
        EXPECT_EQ(result.status, candidate_status::ok) << result.message;
        EXPECT_EQ(result.median_us, 12.5);
        EXPECT_EQ(result.samples, 7);
    }
    EXPECT_EQ(worker.starts(), 1);
    EXPECT_DOUBLE_EQ(worker.measure_copy_gbps(), 2890.5);
    ASSERT_EQ(started_pids().size(), 1u);
    EXPECT_TRUE(alive(started_pids()[0]));
}

/// The row_sum kernels (not its reference) of the programs a tune stored in the database at `path`.
std::vector<std::string> stored_row_sum_kernels(const fs::path& path) {
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    sqlite3_stmt* select = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db, "SELECT lowered_names FROM programs", -1, &select, nullptr), SQLITE_OK);
    std::vector<std::string> names;
    while (sqlite3_step(select) == SQLITE_ROW) {
        std::istringstream lines(reinterpret_cast<const char*>(sqlite3_column_text(select, 0)));
        for (std::string name; std::getline(lines, name);)
            if (contains(name, "7row_sumIf")) names.push_back(name);
    }
    sqlite3_finalize(select);
    sqlite3_close(db);
    return names;
}

// A tune compiles each config with the derived values of the problems it tunes, and only those;
// each winner's stored cubin is the kernel of its problem's values, under the kernel's label.
TEST_F(FakeWorker, TheTunerCompilesTheDerivedValuesOfItsProblemsAndStoresEachWinnersKernel) {
    use_mode("good");
    const kernel_spec spec = load_spec(fs::path(KERNTUNE_TEST_FIXTURE_DIR) / "row_sum.yaml");
    const fs::path path = m_folder / "tune.db";
    const auto tune_shapes = [&](const std::vector<std::string>& shapes) {
        tune_options options;
        options.dtypes = {dtype::f32};
        for (const std::string& shape : shapes) options.problems.push_back(make_problem(spec.axes, parse_shape(shape)));
        database db = database::open(path, open_mode::read_write);
        worker_client worker(KERNTUNE_FAKE_WORKER_PATH, 0);
        const std::vector<tune_outcome> outcomes = tune(spec, options, worker, db, nullptr);
        std::vector<std::string> names;  // each winner's kernel, as its stored cubin names it
        for (const tune_outcome& outcome : outcomes) {
            EXPECT_EQ(outcome.ok, 12) << outcome.shape.key();
            if (!outcome.best) return std::vector<std::string>{"no winner"};
            const config best = parse_label(spec, outcome.best->config);
            const derived_values derived = derive(spec, dtype::f32, outcome.shape);
            const std::optional<kernel_binary> binary =
                db.find_binary(binary_key_for(spec, best, derived, dtype::f32, "sm_90", nvrtc_version()));
            names.push_back(binary ? binary->key.config + " " + binary->lowered_name : "no binary");
        }
        return names;
    };
    // row_sum<float, ROWS, LANES, STEP>: STEP 2 for rows of even length, 1 for odd; the winner
    // is the first config measured (the fake times every candidate alike), the default.
    const std::vector<std::string> names = tune_shapes({"300x1000", "5x3"});
    ASSERT_EQ(names.size(), 2u);
    EXPECT_EQ(names[0], "r1.l32.pad0.s2 _ZN10kt_fixture7row_sumIfLi1ELi32ELi2EEEvPKT_Pfxif");
    EXPECT_EQ(names[1], "r1.l32.pad0.s1 _ZN10kt_fixture7row_sumIfLi1ELi32ELi1EEEvPKT_Pfxif");
    EXPECT_EQ(stored_row_sum_kernels(path).size(), 12u) << "6 kernels, each with STEP 1 and 2";
    // A tune of one problem compiles its values only: 6 kernels, all with STEP 2.
    fs::remove(path);
    const std::vector<std::string> even = tune_shapes({"64x64"});
    ASSERT_EQ(even.size(), 1u);
    EXPECT_EQ(even[0], "r1.l32.pad0.s2 _ZN10kt_fixture7row_sumIfLi1ELi32ELi2EEEvPKT_Pfxif");
    const std::vector<std::string> compiled = stored_row_sum_kernels(path);
    EXPECT_EQ(compiled.size(), 6u);
    for (const std::string& name : compiled) EXPECT_TRUE(contains(name, "Li2EEEv")) << name;
}

// A config its problem constraints leave out at a problem is neither measured nor stored there.
TEST_F(FakeWorker, TheTunerMeasuresOnlyTheCandidatesAtEachProblem) {
    use_mode("good");
    kernel_spec spec = load_spec(fs::path(KERNTUNE_TEST_FIXTURE_DIR) / "row_sum.yaml");
    spec.problem_constraints.push_back({expression::parse("LANES <= max(32, cols)"), 1});  // 64 lanes: rows of 64 or more
    tune_options options;
    options.dtypes = {dtype::f32};
    for (const char* shape : {"300x1000", "300x33"}) options.problems.push_back(make_problem(spec.axes, parse_shape(shape)));
    database db = database::open(m_folder / "tune.db", open_mode::read_write);
    worker_client worker(KERNTUNE_FAKE_WORKER_PATH, 0);
    const std::vector<tune_outcome> outcomes = tune(spec, options, worker, db, nullptr);
    ASSERT_EQ(outcomes.size(), 2u);
    EXPECT_EQ(outcomes[0].candidates, 12);
    EXPECT_EQ(outcomes[0].ok, 12);
    EXPECT_EQ(outcomes[1].candidates, 6);
    EXPECT_EQ(outcomes[1].ok, 6);
    EXPECT_EQ(outcomes[1].unmeasured, 0);
    ASSERT_TRUE(outcomes[1].best);
    const std::vector<measurement> rows = db.measurements(outcomes[1].best->key);
    EXPECT_EQ(rows.size(), 6u);
    for (const measurement& row : rows) EXPECT_TRUE(contains(row.config, ".l32.")) << row.config;
}

// A tune compiles a config's kernel only for the problems where it is a candidate: of row_sum's
// 6 kernels with STEP 1 (rows of odd length), the 3 of 64 lanes are no candidates at rows of 33.
// A row of a config that is no candidate there (as a tampered database could hold) is neither
// resumed from nor the winner, whose kernel was not compiled.
TEST_F(FakeWorker, TheTunerCompilesOnlyTheKernelsOfEachProblemsCandidates) {
    use_mode("good");
    kernel_spec spec = load_spec(fs::path(KERNTUNE_TEST_FIXTURE_DIR) / "row_sum.yaml");
    spec.problem_constraints.push_back({expression::parse("LANES <= max(32, cols)"), 1});
    tune_options options;
    options.dtypes = {dtype::f32};
    options.problems.push_back(make_problem(spec.axes, parse_shape("5x33")));
    const fs::path path = m_folder / "tune.db";
    const auto tune_once = [&] {
        database db = database::open(path, open_mode::read_write);
        worker_client worker(KERNTUNE_FAKE_WORKER_PATH, 0);
        return tune(spec, options, worker, db, nullptr).at(0);
    };
    const tune_outcome first = tune_once();
    EXPECT_EQ(first.ok, 6);
    const std::vector<std::string> compiled = stored_row_sum_kernels(path);
    EXPECT_EQ(compiled.size(), 3u);
    for (const std::string& name : compiled) EXPECT_TRUE(contains(name, "Li32ELi1EEEv")) << name;

    ASSERT_TRUE(first.best);
    measurement foreign;
    foreign.key = first.best->key;
    foreign.config = "r1.l64.pad0.s1";
    foreign.status = candidate_status::ok;
    foreign.median_us = first.best->median_us / 10;
    foreign.samples = 7;
    foreign.gbps = 1;
    database::open(path, open_mode::read_write).record_measurement(foreign);
    const tune_outcome again = tune_once();
    EXPECT_EQ(again.resumed, 6);
    ASSERT_TRUE(again.best);
    EXPECT_EQ(again.best->config, first.best->config);
}

struct malformed_case {
    const char* mode;
    const char* problem;  ///< what the stored message must say after "malformed worker reply: "
};

/// Names the case in gtest's output.
void PrintTo(const malformed_case& c, std::ostream* out) { *out << c.mode; }

class FakeWorkerMalformedReply : public fake_worker_test,
                                 public ::testing::WithParamInterface<malformed_case> {};

TEST_P(FakeWorkerMalformedReply, IsARuntimeFaultAndTheNextRequestStartsAFreshWorker) {
    use_mode(GetParam().mode);
    const std::int64_t before = testing::start_peak_measurement();
    worker_client worker(KERNTUNE_FAKE_WORKER_PATH, 0);
    const std::int64_t module = worker.add_module("not really a cubin");
    for (int attempt = 1; attempt <= 2; ++attempt) {
        const evaluation result = worker.evaluate(some_request(), {module}, timeout_ms);
        EXPECT_EQ(result.status, candidate_status::runtime_fault) << result.message;
        EXPECT_EQ(result.message.rfind("malformed worker reply: ", 0), 0u) << result.message;
        EXPECT_TRUE(contains(result.message, GetParam().problem)) << result.message;
        EXPECT_EQ(worker.starts(), attempt) << "each evaluate after a malformed reply needs a fresh worker";
        const std::vector<pid_t> pids = started_pids();
        ASSERT_EQ(pids.size(), static_cast<std::size_t>(attempt));
        EXPECT_FALSE(alive(pids.back())) << "the worker that sent it was left running";
    }
    // The claims go up to 4 GiB; the test's own use is a few MiB.
    EXPECT_LT(testing::peak_rss_bytes() - before, std::int64_t{64} << 20);
}

INSTANTIATE_TEST_SUITE_P(
    Modes, FakeWorkerMalformedReply,
    ::testing::Values(malformed_case{"bad_number",
                                     "worker message field 'median_us' is not a number: 'fast'"},
                      malformed_case{"no_status", "worker message lacks field 'status'"},
                      malformed_case{"truncated", "closed after 20 of the 268435520 bytes the header claims"},
                      malformed_case{"huge_payload", "4294967295 bytes of payload, over the bound"},
                      malformed_case{"huge_fields", "67108865 bytes of fields, over the bound"}),
    [](const ::testing::TestParamInfo<malformed_case>& info) { return std::string(info.param.mode); });

TEST_F(FakeWorker, MalformedHelloIsAnErrorFromTheConstructor) {
    use_mode("bad_hello");
    std::string message;
    try {
        worker_client worker(KERNTUNE_FAKE_WORKER_PATH, 0);
    } catch (const error& failure) {
        message = failure.what();
    }
    EXPECT_TRUE(contains(message, "malformed hello from the worker")) << message;
    EXPECT_TRUE(contains(message, "field 'sm_count' is not an integer: 'lots'")) << message;
    ASSERT_EQ(started_pids().size(), 1u);
    EXPECT_FALSE(alive(started_pids()[0]));
}

// A compile worker that says ok with one lowered name fewer than it was asked for. Before the
// check, compile_in_worker returned the short list and compile_kernels read past its end.
TEST_F(FakeWorker, ACompileReplyWithTooFewLoweredNamesIsAnErrorNamingTheBatch) {
    use_mode("short_names");
    const char* saved = std::getenv("KERNTUNE_WORKER");
    const std::string previous = saved != nullptr ? saved : "";
    setenv("KERNTUNE_WORKER", KERNTUNE_FAKE_WORKER_PATH, 1);
    const program_source source{"fill.cu", "template <int N> __global__ void fill(int* out) { out[0] = N; }\n"};
    std::string alone, batched;
    try {
        compile_in_worker({source, {"fill<1>", "fill<2>"}, "sm_90"});
    } catch (const error& failure) {
        alone = failure.what();
    }
    std::vector<std::string> expressions;
    for (int i = 1; i <= 17; ++i) expressions.push_back("fill<" + std::to_string(i) + ">");
    try {
        compile_kernels(source, expressions, "sm_90", nullptr, compile_in_worker);
    } catch (const error& failure) {
        batched = failure.what();
    }
    if (saved != nullptr) setenv("KERNTUNE_WORKER", previous.c_str(), 1);
    else unsetenv("KERNTUNE_WORKER");
    EXPECT_TRUE(contains(alone, "malformed reply from the compile worker to 2 instantiations of fill.cu (first fill<1>): "
                                "1 lowered names for 2 instantiations"))
        << alone;
    EXPECT_TRUE(contains(batched, "malformed reply from the compile worker to 2 instantiations of fill.cu (first fill<1>)"))
        << batched;
    for (pid_t pid : started_pids()) EXPECT_FALSE(alive(pid)) << "a compile worker was left running";
}

// The whole tune: every candidate that compiles gets a malformed reply. Each is stored as a
// runtime_fault, each costs one worker, and the tune finishes with no winner.
TEST_F(FakeWorker, TuneStoresMalformedRepliesAsRuntimeFaultsAndFinishes) {
    use_mode("bad_number");
    const kernel_spec spec = load_spec(fs::path(KERNTUNE_TEST_FIXTURE_DIR) / "faulty.yaml");
    tune_options options;
    options.dtypes = {dtype::f32};
    options.problems = {make_problem({"n"}, parse_shape("100003"))};
    database db = database::open(m_folder / "tune.db", open_mode::read_write);
    worker_client worker(KERNTUNE_FAKE_WORKER_PATH, 0);
    const std::vector<tune_outcome> outcomes = tune(spec, options, worker, db, nullptr);
    ASSERT_EQ(outcomes.size(), 1u);
    EXPECT_FALSE(outcomes[0].best.has_value());
    EXPECT_EQ(outcomes[0].ok, 0);
    EXPECT_EQ(outcomes[0].failed, 14);

    const tuning_key key{spec.name,
                         spec.source_hash,
                         "f32",
                         options.problems[0].key(),
                         decode_hello(worker.device_facts(), 0).identity(),
                         nvrtc_version()};
    const std::vector<measurement> rows = db.measurements(key);
    ASSERT_EQ(rows.size(), 14u);
    int faults = 0;
    for (const measurement& row : rows) {
        if (row.status == candidate_status::compile_failed) continue;  // MODE no_compile
        EXPECT_EQ(row.status, candidate_status::runtime_fault) << row.config << ": " << row.message;
        EXPECT_TRUE(contains(row.message, "malformed worker reply: ")) << row.config << ": " << row.message;
        ++faults;
    }
    EXPECT_EQ(faults, 12);
    // The first worker answers the first candidate; every later one needs a fresh worker.
    EXPECT_EQ(worker.starts(), faults) << "each malformed reply must cost its worker";
}

/// Replaces every cubin of the `programs` table with `bytes` and recomputes its digest, as
/// whoever can write the file could.
void replace_stored_programs(const fs::path& path, const std::string& bytes) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    sqlite3_stmt* update = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(db, "UPDATE programs SET cubin = ?1, digest = ?2", -1, &update, nullptr), SQLITE_OK);
    const std::string digest = sha256_hex(bytes);
    sqlite3_bind_blob(update, 1, bytes.data(), static_cast<int>(bytes.size()), SQLITE_TRANSIENT);
    sqlite3_bind_text(update, 2, digest.c_str(), -1, SQLITE_TRANSIENT);
    EXPECT_EQ(sqlite3_step(update), SQLITE_DONE);
    EXPECT_GT(sqlite3_changes(db), 0) << "the first tune stored no programs";
    sqlite3_finalize(update);
    sqlite3_close(db);
}

// The programs cache feeds the tuner's candidates and the winner's stored cubin. Rows replaced
// by whoever can write the database (other bytes, recomputed digest) are used from a database
// only this user can write, and ignored, every program compiled again, from one others can write.
TEST_F(FakeWorker, TheTunerIgnoresStoredProgramsOfADatabaseOthersCanWrite) {
    use_mode("good");
    const kernel_spec spec = load_spec(fs::path(KERNTUNE_TEST_FIXTURE_DIR) / "faulty.yaml");
    tune_options options;
    options.dtypes = {dtype::f32};
    options.problems = {make_problem({"n"}, parse_shape("100003"))};
    const fs::path path = m_folder / "tune.db";
    std::string identity;
    auto tune_once = [&] {
        database db = database::open(path, open_mode::read_write);
        worker_client worker(KERNTUNE_FAKE_WORKER_PATH, 0);
        identity = decode_hello(worker.device_facts(), 0).identity();
        tune(spec, options, worker, db, nullptr);
    };
    // The cubin stored for the winner, which applications load.
    auto winner_cubin = [&]() -> std::string {
        const database db = database::open(path, open_mode::read_only);
        const std::optional<winner> best =
            db.find_winner({spec.name, spec.source_hash, "f32", options.problems[0].key(), identity, nvrtc_version()});
        if (!best) return "no winner";
        const std::optional<kernel_binary> binary =
            db.find_binary(binary_key_for(spec, parse_label(spec, best->config), {}, dtype::f32, "sm_90", nvrtc_version()));
        return binary ? binary->cubin : "no binary";
    };
    tune_once();
    ASSERT_EQ(winner_cubin().substr(0, 4), "\x7f" "ELF");
    const std::string attacker = "\x7f" "ELF an attacker's program";
    replace_stored_programs(path, attacker);
    fs::permissions(path, fs::perms(0644));
    tune_once();
    EXPECT_EQ(winner_cubin(), attacker) << "control: from a file only this user can write, stored programs are used";

    replace_stored_programs(path, attacker);
    fs::permissions(path, fs::perms(0666));
    tune_once();
    const std::string stored = winner_cubin();
    EXPECT_NE(stored, attacker) << "the tampered program became the winner's cubin";
    EXPECT_EQ(stored.substr(0, 4), "\x7f" "ELF");
    EXPECT_GT(stored.size(), 1000u) << "a real cubin, compiled again";
}

}  // namespace
}  // namespace kerntune
