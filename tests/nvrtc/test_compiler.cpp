// nvrtc label: the NVRTC wrapper and the batching compiler, without a GPU.
#include <gtest/gtest.h>

#include "core/error.hpp"
#include "cuda/nvrtc.hpp"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <functional>
#include <map>
#include <optional>

#include "build/candidate_compiler.hpp"
#include "tune/worker_client.hpp"
#include "../support/child_process.hpp"
#include "../unit/test_core_support.hpp"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <thread>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace kerntune {
namespace {

const char* const good_source = "template <int N> __global__ void fill(int* out) { out[threadIdx.x] = N; }\n";

TEST(NvrtcCompile, ProducesACubinAndLoweredNamesForEachExpression) {
    const compiled_program program = compile({{"fill.cu", good_source}, {"fill<1>", "fill<2>"}, "sm_90"});
    ASSERT_TRUE(program.ok) << program.log;
    EXPECT_GT(program.cubin.size(), 64u);
    EXPECT_EQ(program.cubin.substr(1, 3), "ELF");  // a cubin, not PTX
    ASSERT_EQ(program.lowered_names.size(), 2u);
    EXPECT_NE(program.lowered_names[0], program.lowered_names[1]);
    EXPECT_NE(program.options.find("-arch=sm_90"), std::string::npos);
}

TEST(NvrtcCompile, ReportsTheLogOfASyntaxError) {
    const compiled_program program = compile({{"broken.cu", "__global__ void broken( {}"}, {}, "sm_90"});
    EXPECT_FALSE(program.ok);
    EXPECT_NE(program.log.find("broken.cu"), std::string::npos) << program.log;
}

TEST(NvrtcCompile, RejectsAnUnknownArchWithAnError) {
    EXPECT_THROW(compile({{"fill.cu", good_source}, {"fill<1>"}, "sm_1"}), error);
}

// The warm-up runs on its own thread while the caller compiles. Asking again, even for an arch
// NVRTC refuses, starts nothing more (a second thread assigned over the first, still joinable,
// would terminate the process) and throws nothing; the process then exits, joining it.
TEST(NvrtcWarmUp, RunsBesideRealCompilesAndOnlyOnce) {
    warm_up_nvrtc_in_background("sm_90");
    const compiled_program program = compile({{"fill.cu", good_source}, {"fill<1>"}, "sm_90"});
    EXPECT_TRUE(program.ok) << program.log;
    EXPECT_NO_THROW(warm_up_nvrtc_in_background("sm_1"));
    EXPECT_TRUE(compile({{"fill.cu", good_source}, {"fill<2>"}, "sm_90"}).ok);
}

// A process that forks while the warm-up runs: the child's exit() joins a thread that exists
// only in its parent, which must not wait for good (glibc marks a child's copies of the other
// threads finished, so the join returns at once). It forks straight after starting the warm-up,
// which is then still compiling (30 ms and more).
TEST(NvrtcWarmUp, AChildForkedWhileItRunsExitsNormally) {
    const std::string text = testing::text_from_child_within(std::chrono::seconds(30), [] {
        warm_up_nvrtc_in_background("sm_90");
        const pid_t child = fork();
        if (child == 0) std::exit(0);  // runs the static destructors, the warm-up's among them
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        int status = 0;
        while (waitpid(child, &status, WNOHANG) == 0) {
            if (std::chrono::steady_clock::now() > deadline) {
                kill(child, SIGKILL);
                waitpid(child, &status, 0);
                return std::string("the forked child still had not exited after 10 s");
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        return std::string(WIFEXITED(status) && WEXITSTATUS(status) == 0 ? "exited" : "ended abnormally");
    });
    EXPECT_EQ(text, "exited");
}

/// The live (not yet reaped) kerntune-worker children of this process, by pid, from /proc.
std::vector<pid_t> live_worker_children() {
    std::vector<pid_t> pids;
    for (const std::filesystem::directory_entry& entry : std::filesystem::directory_iterator("/proc")) {
        const std::string name = entry.path().filename().string();
        if (name.find_first_not_of("0123456789") != std::string::npos) continue;
        std::ifstream stat(entry.path() / "stat");
        std::string line;
        if (!std::getline(stat, line)) continue;  // it has exited meanwhile
        // pid (comm) state ppid ...: comm may hold spaces, so read after its closing parenthesis.
        const std::size_t open = line.find('('), close = line.rfind(')');
        if (open == std::string::npos || close == std::string::npos) continue;
        std::istringstream rest(line.substr(close + 1));
        char state = 0;
        pid_t parent = 0;
        rest >> state >> parent;
        if (line.substr(open + 1, close - open - 1) == "kerntune-worker" && parent == getpid() && state != 'Z')
            pids.push_back(static_cast<pid_t>(std::stol(name)));
    }
    std::sort(pids.begin(), pids.end());
    return pids;
}

// A compile leaves its worker idle for the next one (which then pays no NVRTC start-up); an idle
// worker that died meanwhile is replaced, and the compile that found it dead still succeeds.
TEST(CompileWorkers, ACompileLeavesItsWorkerIdleForTheNextAndReplacesOneThatDied) {
    const program_source source{"fill.cu", good_source};
    ASSERT_TRUE(compile_in_worker({source, {"fill<1>"}, "sm_90"}).ok);
    const std::vector<pid_t> idle = live_worker_children();
    ASSERT_FALSE(idle.empty());
    ASSERT_TRUE(compile_in_worker({source, {"fill<2>"}, "sm_90"}).ok);
    EXPECT_EQ(live_worker_children(), idle) << "a new worker was started though one was idle";

    for (pid_t pid : idle) ASSERT_EQ(kill(pid, SIGKILL), 0);
    const compiled_program program = compile_in_worker({source, {"fill<3>"}, "sm_90"});
    EXPECT_TRUE(program.ok) << program.log;
    const std::vector<pid_t> after = live_worker_children();
    ASSERT_EQ(after.size(), 1u);  // the dead ones reaped, one new one idle
    EXPECT_EQ(std::count(idle.begin(), idle.end(), after[0]), 0);
}

TEST(NvrtcVersion, IsMajorDotMinor) {
    const std::string version = nvrtc_version();
    EXPECT_NE(version.find('.'), std::string::npos);
}

TEST(CandidateCompiler, PinsAFailureOnTheInstantiationThatCausedIt) {
    // fill<0> fails a static_assert; its batch-mates must still compile.
    const std::string source = "template <int N> __global__ void fill(int* out) { static_assert(N != 0, \"N is zero\"); "
                               "out[threadIdx.x] = N; }\n";
    const compiled_set set = compile_kernels({"fill.cu", source}, {"fill<1>", "fill<0>", "fill<2>", "fill<3>"}, "sm_90");
    ASSERT_EQ(set.kernels.size(), 4u);
    EXPECT_TRUE(set.kernels[0].ok);
    EXPECT_FALSE(set.kernels[1].ok);
    EXPECT_NE(set.kernels[1].log.find("N is zero"), std::string::npos) << set.kernels[1].log;
    EXPECT_TRUE(set.kernels[2].ok);
    EXPECT_TRUE(set.kernels[3].ok);
    for (const compiled_kernel& kernel : set.kernels) {
        if (!kernel.ok) continue;
        EXPECT_LT(kernel.program, static_cast<int>(set.programs.size()));
    }
}

TEST(CandidateCompiler, ReusesCachedProgramsAndCachesOnlyWholeBatches) {
    std::map<std::string, compiled_program> stored;
    int finds = 0;
    int stores = 0;
    program_cache cache;
    cache.find = [&](const std::string& key) -> std::optional<compiled_program> {
        ++finds;
        const auto found = stored.find(key);
        if (found == stored.end()) return std::nullopt;
        return found->second;
    };
    cache.store = [&](const std::string& key, const compiled_program& program) {
        ++stores;
        stored[key] = program;
    };
    // Counts the compiles compile_kernels asks for (from its threads, hence atomic).
    std::atomic<int> compiles{0};
    const compile_function counting = [&](const compile_request& request) {
        ++compiles;
        return compile(request);
    };
    const std::vector<std::string> expressions = {"fill<1>", "fill<2>", "fill<3>"};
    const compiled_set first =
        compile_kernels({"fill.cu", good_source}, expressions, "sm_90", &cache, counting);
    EXPECT_GE(compiles.load(), 1);
    ASSERT_FALSE(stored.empty());
    compiles = 0;
    stores = 0;
    const compiled_set second =
        compile_kernels({"fill.cu", good_source}, expressions, "sm_90", &cache, counting);
    EXPECT_EQ(compiles.load(), 0) << "every batch is in the cache: nothing to compile";
    EXPECT_EQ(stores, 0) << "nothing new to store";
    ASSERT_EQ(second.kernels.size(), expressions.size());
    for (std::size_t i = 0; i < expressions.size(); ++i) {
        EXPECT_TRUE(second.kernels[i].ok);
        EXPECT_EQ(second.kernels[i].lowered_name, first.kernels[i].lowered_name);
    }
    const compiled_set other_arch =
        compile_kernels({"fill.cu", good_source}, expressions, "sm_80", &cache, counting);
    EXPECT_NE(other_arch.programs.front().cubin, second.programs.front().cubin) << "another arch is another key";
    EXPECT_GE(compiles.load(), 1) << "another arch is compiled, not taken from the cache";

    stored.clear();
    const std::string failing = "template <int N> __global__ void fill(int* out) { static_assert(N != 0, \"zero\"); }\n";
    compile_kernels({"fill.cu", failing}, {"fill<0>"}, "sm_90", &cache);
    EXPECT_TRUE(stored.empty()) << "a batch that failed is never cached";
    EXPECT_GT(finds, 0);
}

using test::error_of;

/// fill<1> .. fill<count>: 17 make batch 1 of 16 hold fill<1> and fill<17>, the others one each.
std::vector<std::string> fills(int count) {
    std::vector<std::string> expressions;
    for (int i = 1; i <= count; ++i) expressions.push_back("fill<" + std::to_string(i) + ">");
    return expressions;
}

TEST(CandidateCompiler, AnOkCompileWhoseLoweredNamesDoNotMatchItsBatchIsAnErrorNamingTheBatch) {
    // A compile function that says ok but answers `names(asked)` lowered names. Before the
    // check, compile_batch read lowered_names[i] past the end of the vector (SIGSEGV).
    auto replying = [](std::function<std::size_t(std::size_t)> names, std::string name = "_Z4fillv") {
        return compile_function([=](const compile_request& request) {
            compiled_program program;
            program.ok = true;
            program.cubin = "\x7f" "ELF";
            program.lowered_names.assign(names(request.name_expressions.size()), name);
            return program;
        });
    };
    const program_source source{"fill.cu", good_source};
    const std::string short_by_one = error_of(
        [&] { compile_kernels(source, fills(17), "sm_90", nullptr, replying([](std::size_t n) { return n - 1; })); });
    EXPECT_NE(short_by_one.find("compiling batch 1 of 16 (fill<1>, fill<17>) gave 1 lowered names for 2 instantiations"),
              std::string::npos)
        << short_by_one;
    const std::string none = error_of(
        [&] { compile_kernels(source, fills(1), "sm_90", nullptr, replying([](std::size_t) { return 0; })); });
    EXPECT_NE(none.find("compiling batch 1 of 1 (fill<1>) gave 0 lowered names for 1 instantiations"), std::string::npos)
        << none;
    const std::string extra = error_of(
        [&] { compile_kernels(source, fills(2), "sm_90", nullptr, replying([](std::size_t n) { return n + 1; })); });
    EXPECT_NE(extra.find("gave 2 lowered names for 1 instantiations"), std::string::npos) << extra;
    const std::string empty = error_of(
        [&] { compile_kernels(source, fills(1), "sm_90", nullptr, replying([](std::size_t n) { return n; }, "")); });
    EXPECT_NE(empty.find("gave an empty lowered name for instantiation 1"), std::string::npos) << empty;
}

TEST(CandidateCompiler, ACachedProgramWhoseLoweredNamesDoNotMatchItsBatchIsAMissCompiledAgain) {
    std::map<std::string, compiled_program> stored;
    std::atomic<int> stores{0};
    std::mutex lock;
    program_cache cache;
    cache.find = [&](const std::string& key) -> std::optional<compiled_program> {
        std::lock_guard<std::mutex> guard(lock);
        const auto found = stored.find(key);
        if (found == stored.end()) return std::nullopt;
        return found->second;
    };
    cache.store = [&](const std::string& key, const compiled_program& program) {
        std::lock_guard<std::mutex> guard(lock);
        ++stores;
        stored[key] = program;
    };
    std::atomic<int> compiles{0};
    const compile_function counting = [&](const compile_request& request) {
        ++compiles;
        return compile(request);
    };
    const program_source source{"fill.cu", good_source};
    const std::vector<std::string> expressions = fills(17);
    const compiled_set first = compile_kernels(source, expressions, "sm_90", &cache, counting);
    ASSERT_EQ(stored.size(), 16u);
    // Every stored program loses its last lowered name, as a tampered `programs` row would.
    // Before the check, the cached path's .at() threw std::out_of_range.
    for (auto& [key, program] : stored) program.lowered_names.pop_back();
    compiles = 0;
    stores = 0;
    const compiled_set second = compile_kernels(source, expressions, "sm_90", &cache, counting);
    EXPECT_EQ(compiles.load(), 16) << "every batch is a miss and compiled again";
    EXPECT_EQ(stores.load(), 16) << "the fresh programs replace the rows";
    ASSERT_EQ(second.kernels.size(), expressions.size());
    for (std::size_t i = 0; i < expressions.size(); ++i) {
        EXPECT_TRUE(second.kernels[i].ok);
        EXPECT_EQ(second.kernels[i].lowered_name, first.kernels[i].lowered_name);
    }
    for (const auto& [key, program] : stored) EXPECT_EQ(program_shape_problem(program, program.lowered_names.size()), "");
}

TEST(BatchCompiler, BatchesAreTheSameOnEveryMachine) {
    // 20 expressions make 16 batches whatever the core count (2 here, 16 on the GPU machine), so a
    // program cached on one machine is found on another: the batches are the cache keys.
    std::vector<std::string> expressions;
    for (int i = 1; i <= 20; ++i) expressions.push_back("fill<" + std::to_string(i) + ">");
    std::vector<std::size_t> batch_sizes;
    std::mutex sizes;
    const compile_function recording = [&](const compile_request& request) {
        std::lock_guard<std::mutex> lock(sizes);
        batch_sizes.push_back(request.name_expressions.size());
        return compile(request);
    };
    const compiled_set set = compile_kernels({"fill.cu", good_source}, expressions, "sm_90", nullptr, recording);
    EXPECT_EQ(set.programs.size(), 16u);
    std::sort(batch_sizes.begin(), batch_sizes.end());
    EXPECT_EQ(batch_sizes, (std::vector<std::size_t>{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2}));
}

} // namespace
} // namespace kerntune
