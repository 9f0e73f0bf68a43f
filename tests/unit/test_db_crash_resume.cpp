// The tuning database under crashes and concurrency, without a GPU: a simulated tuner writes
// through kerntune::database exactly as src/tune/tuner.cpp does (the device, then one
// record_measurement per candidate not yet measured, then set_winner and the winner's binary),
// with made-up but deterministic results. It is killed with SIGKILL at random moments and
// resumed; and it runs in 8 processes at once beside 4 application processes of 16 threads
// that read winners and binaries and store binaries, as the runtime does.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <optional>
#include <random>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/config.hpp"
#include "core/error.hpp"
#include "core/sha256.hpp"
#include "db/database.hpp"
#include "../support/temp_folder.hpp"
#include "catalog/catalog.hpp"
#include "catalog/spec_loader.hpp"

namespace kerntune {
namespace {

namespace fs = std::filesystem;

const std::string gpu = "NVIDIA H100 80GB HBM3|sm_90|132 SMs";
const std::string nvrtc = "13.0.48";
const std::string arch = "sm_90";

device_record simulated_device() {
    return {gpu, "NVIDIA H100 80GB HBM3", 9, 0, 132, 2'619'000, 5120, 52'428'800, 3352.3, 2890.5, "13.0"};
}

/// FNV-1a: a stable hash, so that every run simulates the same result for a candidate.
std::uint64_t stable_hash(const std::string& text) {
    std::uint64_t h = 14695981039346656037ull;
    for (const unsigned char c : text) h = (h ^ c) * 1099511628211ull;
    return h;
}

/// One tuning key and the labels of its candidates, in the order the tuner tries them.
struct simulated_key {
    tuning_key key;
    std::vector<std::string> configs;
};

/// Candidates per key at most, so that the test's run time does not grow with the template's
/// space (144 per dtype when this was written: a whole run then takes about 60 ms here).
constexpr std::size_t max_candidates = 144;

/// What one `kerntune tune` would tune: the leaky_relu space for each dtype and problem (its
/// first max_candidates configs), under a template hash of its own (so that separate runs never
/// share keys unless meant to).
std::vector<simulated_key> plan(const std::string& template_hash, const std::vector<dtype>& dtypes,
                                const std::vector<std::string>& problems) {
    static const kernel_spec spec = *catalog().at("leaky_relu");
    std::vector<simulated_key> keys;
    for (const dtype type : dtypes)
        for (const std::string& problem : problems) {
            simulated_key k{{spec.name, template_hash, std::string(to_string(type)), problem, gpu, nvrtc},
                            {}};
            for (const config& c : enumerate_space(spec, type))
                if (k.configs.size() < max_candidates) k.configs.push_back(label(spec, c));
            keys.push_back(std::move(k));
        }
    return keys;
}

/// The result the simulated worker gives a candidate: most are ok with a distinct median, the
/// others fail in one of the ways a real candidate can.
measurement simulated_result(const tuning_key& key, const std::string& config) {
    const std::uint64_t h = stable_hash(key.template_hash + key.dtype + key.problem_key + config);
    measurement m{key, config, candidate_status::ok, 0, 0, 0, 0, "", ""};
    static const candidate_status failures[] = {candidate_status::compile_failed, candidate_status::resource_limit,
                                                candidate_status::runtime_fault, candidate_status::timeout,
                                                candidate_status::wrong_answer};
    if (h % 6 == 0) {
        m.status = failures[(h >> 8) % 5];
        m.message = "simulated " + std::string(to_string(m.status)) + " of " + config;
        return m;
    }
    m.median_us = 10.0 + static_cast<double>(h % 1'000'003) / 1000.0;
    m.noise = 0.004 + static_cast<double>(h % 7) / 1000.0;
    m.samples = 5 + static_cast<int>(h % 26);
    m.gbps = 8.0e6 / m.median_us;
    return m;
}

/// The winner's cubin as the tuner stores it: bytes, their digest and a mangled name.
kernel_binary simulated_binary(const tuning_key& key, const std::string& config) {
    std::mt19937_64 bytes(stable_hash(key.template_hash + config + key.dtype));
    std::string cubin(4096 + stable_hash(config) % 4096, '\0');
    for (char& c : cubin) c = static_cast<char>(bytes());
    return {{key.template_hash, config, key.dtype, arch, key.nvrtc_version},
            "_ZN2kt10leaky_reluI" + config + "EEvPKT_PS1_xf",
            sha256_hex(cubin),
            cubin};
}

binary_key binary_key_of(const winner& best) {
    return {best.key.template_hash, best.config, best.key.dtype, arch, best.key.nvrtc_version};
}

/// Every field of a measurement but the time it was written, to compare rows.
std::string describe(const measurement& m) {
    char figures[160];
    std::snprintf(figures, sizeof(figures), "%.17g %.17g %.17g %d", m.median_us, m.noise, m.gbps, m.samples);
    return m.key.template_name + "|" + m.key.template_hash + "|" + m.key.dtype + "|" + m.key.problem_key +
           "|" + m.key.gpu_identity + "|" + m.key.nvrtc_version + "|" + m.config + "|" +
           std::string(to_string(m.status)) + "|" + figures + "|" + m.message;
}

/// Every field of a winner but the time it was written.
std::string describe(const winner& w) {
    char figures[200];
    std::snprintf(figures, sizeof(figures), "%.17g %.17g %.17g %.17g %d %d %.17g", w.median_us, w.gbps,
                  w.pct_theoretical, w.pct_copy, w.candidates_ok, w.candidates_failed, w.tune_seconds);
    return w.key.template_name + "|" + w.key.template_hash + "|" + w.key.dtype + "|" + w.key.problem_key +
           "|" + w.key.gpu_identity + "|" + w.key.nvrtc_version + "|" + w.config + "|" + figures;
}

/// The winner the tuner derives from the key's stored measurements (tuner.cpp: the fastest ok,
/// counting ok and failed candidates).
std::optional<winner> winner_of(const std::vector<measurement>& rows, const device_record& device) {
    int ok = 0, failed = 0;
    std::optional<measurement> fastest;
    for (const measurement& m : rows) {
        if (m.status != candidate_status::ok) {
            ++failed;
            continue;
        }
        ++ok;
        if (!fastest || m.median_us < fastest->median_us) fastest = m;
    }
    if (!fastest) return std::nullopt;
    return winner{fastest->key,
                  fastest->config,
                  fastest->median_us,
                  fastest->gbps,
                  100.0 * fastest->gbps / device.theoretical_gbps,
                  100.0 * fastest->gbps / device.copy_gbps,
                  ok,
                  failed,
                  1.5,
                  ""};
}

/// The winner a complete tune of `k` must leave.
winner expected_winner(const simulated_key& k) {
    std::vector<measurement> rows;
    for (const std::string& config : k.configs) rows.push_back(simulated_result(k.key, config));
    return winner_of(rows, simulated_device()).value();
}

/// Runs the simulated tuner on `keys` as tuner.cpp does; returns how many candidates it
/// skipped because they were already measured.
int run_simulated_tuner(const fs::path& path, const std::vector<simulated_key>& keys) {
    database db = database::open(path, open_mode::read_write);
    db.upsert_device(simulated_device());
    int skipped = 0;
    for (const simulated_key& k : keys) {
        std::set<std::string> measured;
        for (const measurement& earlier : db.measurements(k.key)) measured.insert(earlier.config);
        for (const std::string& config : k.configs) {
            if (measured.count(config)) {
                ++skipped;
                continue;
            }
            db.record_measurement(simulated_result(k.key, config));
        }
        if (const std::optional<winner> best = winner_of(db.measurements(k.key), simulated_device())) {
            db.set_winner(*best);
            if (!db.find_binary(binary_key_of(*best))) db.store_binary(simulated_binary(k.key, best->config));
        }
    }
    return skipped;
}

bool is_utc_time(const std::string& text) {
    static const std::regex format(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)");
    return std::regex_match(text, format);
}

/// Expects the key's rows to be complete, correct results of its own candidates (a row cut
/// short or mixed up would differ), and its winner, if any, to be the one a complete tune
/// leaves, with its binary, if any, intact. Returns how many rows the key has.
std::size_t expect_consistent(const database& db, const simulated_key& k, bool complete) {
    const std::vector<measurement> rows = db.measurements(k.key);
    const std::set<std::string> configs(k.configs.begin(), k.configs.end());
    for (const measurement& row : rows) {
        EXPECT_TRUE(configs.count(row.config)) << "a row of a config that was never tried: " << row.config;
        EXPECT_EQ(describe(row), describe(simulated_result(k.key, row.config)));
        EXPECT_TRUE(is_utc_time(row.measured_at)) << row.measured_at;
    }
    const std::optional<winner> best = db.find_winner(k.key);
    if (complete) {
        EXPECT_EQ(rows.size(), k.configs.size()) << k.key.template_hash << " " << k.key.dtype;
        EXPECT_TRUE(best.has_value()) << k.key.template_hash << " " << k.key.dtype;
    }
    if (best) {
        EXPECT_EQ(rows.size(), k.configs.size()) << "a winner before every candidate was measured";
        EXPECT_EQ(describe(*best), describe(expected_winner(k)));
        EXPECT_TRUE(is_utc_time(best->tuned_at)) << best->tuned_at;
        const bool found_ok = std::any_of(rows.begin(), rows.end(), [&](const measurement& m) {
            return m.config == best->config && m.status == candidate_status::ok;
        });
        EXPECT_TRUE(found_ok) << "the winner " << best->config << " has no ok measurement";
        const std::optional<kernel_binary> binary = db.find_binary(binary_key_of(*best));
        if (complete) {
            EXPECT_TRUE(binary.has_value()) << "the winner's binary is missing";
        }
        if (binary) {
            const kernel_binary expected = simulated_binary(k.key, best->config);
            EXPECT_EQ(binary->digest, sha256_hex(binary->cubin)) << "a binary that fails its digest";
            EXPECT_EQ(binary->cubin, expected.cubin);
            EXPECT_EQ(binary->lowered_name, expected.lowered_name);
        }
    }
    return rows.size();
}

/// Every row of the keys with the time it was written: a resumed tune must leave them as they were.
std::map<std::string, std::string> snapshot(const database& db, const std::vector<simulated_key>& keys) {
    std::map<std::string, std::string> rows;
    for (const simulated_key& k : keys)
        for (const measurement& m : db.measurements(k.key)) rows[describe(m)] = m.measured_at;
    return rows;
}

void remove_database(const fs::path& path) {
    for (const char* suffix : {"", "-wal", "-shm", "-journal"}) fs::remove(path.string() + suffix);
}

/// A fresh temporary folder per test, removed afterwards.
class reliability_db_test : public testing::temp_folder_test {
protected:
    reliability_db_test() : temp_folder_test("kerntune-crash") {}
};

/// Forks a child that runs `body` and exits with what it returns (1 on a kerntune::error, 3
/// when that error mentions a locked or busy database, which no caller may ever see).
template <typename Body>
pid_t fork_child(Body&& body) {
    const pid_t child = fork();
    if (child != 0) return child;
    int code = 0;
    try {
        code = body();
    } catch (const std::exception& failure) {
        const std::string message = failure.what();
        std::fprintf(stderr, "child %d: %s\n", static_cast<int>(getpid()), message.c_str());
        const bool locked =
            message.find("locked") != std::string::npos || message.find("busy") != std::string::npos;
        code = locked ? 3 : 1;
    }
    std::fflush(stderr);
    _exit(code);
}

/// The exit status of a child that exited, or -signal if a signal ended it.
int wait_for(pid_t child) {
    int status = 0;
    if (waitpid(child, &status, 0) != child) return -1000;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
}

class ReliabilityCrash : public reliability_db_test {};
class ReliabilityConcurrency : public reliability_db_test {};

TEST_F(ReliabilityCrash, KilledTunesLeaveASoundDatabaseAndResumeSkippingWhatWasMeasured) {
    // 60 kills, each followed by a check and a resume; a fresh file every 10 kills so that some
    // land while the file and its schema are being created. Seeded: the same moments each run
    // (as far as the scheduler allows).
    constexpr int iterations = 60, fresh_file_every = 10;
    const std::vector<dtype> dtypes{dtype::f32, dtype::f16};
    const std::vector<std::string> problems{"n=1048576", "n=16777216"};
    const fs::path path = m_folder / "tuning.db";

    // How long a whole run on a new file takes here (the fastest of 3), so that the kills
    // spread over all of it. Measured again before every fresh file: under a parallel test run
    // the machine's load changes, and a stale figure put most kills after the run had ended.
    long whole_run_us = 0;
    auto calibrate = [&] {
        for (int run = 0; run < 3; ++run) {
            const std::vector<simulated_key> keys = plan("timing", dtypes, problems);
            const fs::path timing = m_folder / ("timing" + std::to_string(run) + ".db");
            remove_database(timing);
            const auto started = std::chrono::steady_clock::now();
            ASSERT_EQ(wait_for(fork_child([&] {
                          run_simulated_tuner(timing, keys);
                          return 0;
                      })),
                      0);
            const long us = static_cast<long>(
                std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - started)
                    .count());
            whole_run_us = run == 0 ? us : std::min(whole_run_us, us);
        }
    };

    std::mt19937 random(20240517);
    std::vector<std::vector<simulated_key>> finished;  // earlier runs on the current file
    int killed = 0, killed_mid_key = 0, killed_with_some_winners = 0, killed_before_any_row = 0;
    int unfinished_files = 0;
    for (int i = 0; i < iterations; ++i) {
        SCOPED_TRACE("iteration " + std::to_string(i));
        if (i % fresh_file_every == 0) {
            remove_database(path);
            finished.clear();
            calibrate();
            if (HasFatalFailure()) return;
        }
        const std::vector<simulated_key> keys = plan("run" + std::to_string(i), dtypes, problems);
        // One kill in five in the first 3 ms (opening, creating the schema), the rest anywhere.
        const long delay_us = random() % 5 == 0 ? static_cast<long>(random() % 3000)
                                                : static_cast<long>(random() % (whole_run_us * 6 / 5 + 1));
        const pid_t child = fork_child([&] {
            run_simulated_tuner(path, keys);
            return 0;
        });
        std::this_thread::sleep_for(std::chrono::microseconds(delay_us));
        kill(child, SIGKILL);
        const int status = wait_for(child);
        ASSERT_TRUE(status == 0 || status == -SIGKILL) << "the simulated tuner failed: " << status;
        killed += status == -SIGKILL;

        // `kerntune db show` after the crash (read-only) reads a sound file, or, killed before the
        // schema was committed, says there is no database or no schema yet. (The database
        // switches to WAL before creating the schema, so no kill leaves a rollback journal that
        // only a writer could recover.)
        try {
            EXPECT_EQ(database::open(path, open_mode::read_only).integrity_check(), "ok");
        } catch (const error& failure) {
            const std::string message = failure.what();
            EXPECT_TRUE(message == "no tuning database at " + path.string() ||
                        message == path.string() + " has no kerntune schema (open it for writing to create one)")
                << message;
            ++unfinished_files;
        }
        std::size_t rows_before = 0, winners_before = 0;
        bool mid_key = false;
        std::map<std::string, std::string> kept;
        {
            // The database opens as the resumed tune opens it, is sound, and every key holds
            // either nothing, or complete rows, or a complete winner.
            database db = database::open(path, open_mode::read_write);
            ASSERT_EQ(db.integrity_check(), "ok");
            for (const std::vector<simulated_key>& earlier : finished)
                for (const simulated_key& k : earlier) expect_consistent(db, k, true);
            for (const simulated_key& k : keys) {
                const std::size_t rows = expect_consistent(db, k, false);
                rows_before += rows;
                winners_before += db.find_winner(k.key).has_value();
                mid_key = mid_key || (rows > 0 && rows < k.configs.size());
            }
            kept = snapshot(db, keys);
        }
        killed_mid_key += status == -SIGKILL && mid_key;
        killed_before_any_row += status == -SIGKILL && rows_before == 0;
        killed_with_some_winners += status == -SIGKILL && winners_before > 0 && winners_before < keys.size();

        // Resuming skips exactly the candidates already stored, leaves their rows as they were,
        // and completes every key.
        EXPECT_EQ(static_cast<std::size_t>(run_simulated_tuner(path, keys)), rows_before);
        database db = database::open(path, open_mode::read_only);
        EXPECT_EQ(db.integrity_check(), "ok");
        for (const simulated_key& k : keys) expect_consistent(db, k, true);
        const std::map<std::string, std::string> after = snapshot(db, keys);
        for (const auto& [row, written_at] : kept) {
            const auto found = after.find(row);
            ASSERT_NE(found, after.end()) << "a stored row disappeared: " << row;
            EXPECT_EQ(found->second, written_at) << "a stored row was measured again: " << row;
        }
        finished.push_back(keys);
        if (HasFatalFailure()) return;
    }
    // The kills must have landed where it matters, or this test proves nothing.
    std::printf(
        "%d of %d runs killed: %d before the schema was committed, %d before any row, %d in the middle "
        "of a key, %d between winners\n",
        killed, iterations, unfinished_files, killed_before_any_row,
        killed_mid_key, killed_with_some_winners);
    EXPECT_GE(killed_mid_key, iterations / 5);
    EXPECT_GE(killed_before_any_row, 1);
    EXPECT_GE(killed_with_some_winners, 1);
}

TEST_F(ReliabilityConcurrency, EightTunersAndFourAppsOfSixteenThreadsShareOneNewFile) {
    constexpr int tuners = 8, apps = 4, threads_per_app = 16, rounds = 12, binaries_per_thread = 4;
    const fs::path path = m_folder / "shared.db";
    // Every tuner tunes one key that all of them share (as 8 `kerntune tune` of the same op
    // would) and one of its own.
    const std::vector<simulated_key> shared = plan("shared", {dtype::f32}, {"n=1048576"});
    auto own_keys = [](int tuner) { return plan("tuner" + std::to_string(tuner), {dtype::f16}, {"n=4096"}); };
    // An application thread's binaries: its own, and one every thread writes with the same bytes.
    auto app_binary = [](int app, int thread, int index) {
        const tuning_key key{"leaky_relu", "app" + std::to_string(app), "bf16", "", gpu, nvrtc};
        return simulated_binary(
            key, "blk256.vec8.unr" + std::to_string(thread) + ".tile.w" + std::to_string(index));
    };
    const kernel_binary common = simulated_binary(shared.front().key, "blk128.vec4.unr1.tile.w0");

    int start[2];
    ASSERT_EQ(pipe(start), 0);
    auto wait_for_start = [&] {
        close(start[1]);
        char go = 0;
        return read(start[0], &go, 1) == 0;  // 0: the parent closed its end, everyone goes
    };
    std::vector<pid_t> children;
    for (int t = 0; t < tuners; ++t)
        children.push_back(fork_child([&, t] {
            if (!wait_for_start()) return 10;
            std::vector<simulated_key> keys = shared;
            for (simulated_key& k : own_keys(t)) keys.push_back(std::move(k));
            run_simulated_tuner(path, keys);
            return 0;
        }));
    for (int a = 0; a < apps; ++a)
        children.push_back(fork_child([&, a] {
            if (!wait_for_start()) return 10;
            std::atomic<int> failures{0}, locked{0};
            std::vector<std::thread> threads;
            for (int t = 0; t < threads_per_app; ++t)
                threads.emplace_back([&, t] {
                    try {
                        // Each thread has its own connection: more contention than one runtime's.
                        database db = database::open(path, open_mode::read_write);
                        for (int r = 0; r < rounds; ++r) {
                            db.winners();
                            if (const std::optional<winner> best = db.find_winner(shared.front().key))
                                if (const std::optional<kernel_binary> b =
                                        db.find_binary(binary_key_of(*best)))
                                    if (b->digest != sha256_hex(b->cubin)) ++failures;
                            if (const std::optional<kernel_binary> b = db.find_binary(common.key))
                                if (b->cubin != common.cubin || b->digest != common.digest) ++failures;
                            db.store_binary(r % 2 ? common : app_binary(a, t, r / 2 % binaries_per_thread));
                        }
                        for (int index = 0; index < binaries_per_thread; ++index) {
                            const kernel_binary mine = app_binary(a, t, index);
                            const std::optional<kernel_binary> b = db.find_binary(mine.key);
                            if (!b || b->cubin != mine.cubin || b->digest != mine.digest) ++failures;
                        }
                    } catch (const std::exception& failure) {
                        const std::string message = failure.what();
                        std::fprintf(stderr, "app %d thread %d: %s\n", a, t, message.c_str());
                        const bool busy = message.find("locked") != std::string::npos ||
                                          message.find("busy") != std::string::npos;
                        ++(busy ? locked : failures);
                    }
                });
            for (std::thread& thread : threads) thread.join();
            return locked > 0 ? 3 : failures > 0 ? 1 : 0;
        }));
    close(start[0]);
    close(start[1]);  // releases everyone at once

    for (std::size_t c = 0; c < children.size(); ++c) {
        const int status = wait_for(children[c]);
        const std::string who =
            c < tuners ? "tuner " + std::to_string(c) : "app " + std::to_string(c - tuners);
        EXPECT_NE(status, 3) << who << " saw a locked or busy database (see its message above)";
        EXPECT_EQ(status, 0) << who << " failed (see its message above)";
    }

    const database db = database::open(path, open_mode::read_only);
    EXPECT_EQ(db.integrity_check(), "ok");
    expect_consistent(db, shared.front(), true);
    for (int t = 0; t < tuners; ++t) expect_consistent(db, own_keys(t).front(), true);
    EXPECT_EQ(db.winners().size(), static_cast<std::size_t>(1 + tuners));
    for (int a = 0; a < apps; ++a)
        for (int t = 0; t < threads_per_app; ++t)
            for (int index = 0; index < binaries_per_thread; ++index) {
                const kernel_binary mine = app_binary(a, t, index);
                const std::optional<kernel_binary> b = db.find_binary(mine.key);
                ASSERT_TRUE(b.has_value()) << "app " << a << " thread " << t << " binary " << index;
                EXPECT_EQ(b->cubin, mine.cubin);
                EXPECT_EQ(b->digest, sha256_hex(b->cubin));
            }
}

} // namespace
} // namespace kerntune
