// nvrtc label: the NVRTC wrapper and the batching compiler, without a GPU.
#include <gtest/gtest.h>

#include "core/error.hpp"
#include "cuda/nvrtc.hpp"

#include <map>
#include "build/candidate_compiler.hpp"

namespace kerntune {
namespace {

const char* const good_source = "template <int N> __global__ void fill(int* out) { out[threadIdx.x] = N; }\n";

TEST(NvrtcCompile, ProducesACubinAndLoweredNamesForEachExpression) {
    const compiled_program program = compile({good_source, "fill.cu", {"fill<1>", "fill<2>"}, "sm_90"});
    ASSERT_TRUE(program.ok) << program.log;
    EXPECT_GT(program.cubin.size(), 64u);
    EXPECT_EQ(program.cubin.substr(1, 3), "ELF");  // a cubin, not PTX
    ASSERT_EQ(program.lowered_names.size(), 2u);
    EXPECT_NE(program.lowered_names[0], program.lowered_names[1]);
    EXPECT_NE(program.options.find("-arch=sm_90"), std::string::npos);
}

TEST(NvrtcCompile, ReportsTheLogOfASyntaxError) {
    const compiled_program program = compile({"__global__ void broken( {}", "broken.cu", {}, "sm_90"});
    EXPECT_FALSE(program.ok);
    EXPECT_NE(program.log.find("broken.cu"), std::string::npos) << program.log;
}

TEST(NvrtcCompile, RejectsAnUnknownArchWithAnError) {
    EXPECT_THROW(compile({good_source, "fill.cu", {"fill<1>"}, "sm_1"}), error);
}

TEST(NvrtcVersion, IsMajorDotMinor) {
    const std::string version = nvrtc_version();
    EXPECT_NE(version.find('.'), std::string::npos);
}

TEST(CandidateCompiler, PinsAFailureOnTheInstantiationThatCausedIt) {
    // fill<0> fails a static_assert; its batch-mates must still compile.
    const std::string source = "template <int N> __global__ void fill(int* out) { static_assert(N != 0, \"N is zero\"); "
                               "out[threadIdx.x] = N; }\n";
    const compiled_set set = compile_kernels(source, "fill.cu", {"fill<1>", "fill<0>", "fill<2>", "fill<3>"}, "sm_90");
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
    program_cache cache;
    cache.find = [&](const std::string& key) -> std::optional<compiled_program> {
        ++finds;
        const auto found = stored.find(key);
        if (found == stored.end()) return std::nullopt;
        return found->second;
    };
    cache.store = [&](const std::string& key, const compiled_program& program) { stored[key] = program; };
    const std::vector<std::string> expressions = {"fill<1>", "fill<2>", "fill<3>"};
    const compiled_set first = compile_kernels(good_source, "fill.cu", expressions, "sm_90", &cache);
    ASSERT_FALSE(stored.empty());
    const std::size_t programs_stored = stored.size();
    const compiled_set second = compile_kernels(good_source, "fill.cu", expressions, "sm_90", &cache);
    EXPECT_EQ(stored.size(), programs_stored) << "nothing new to store";
    ASSERT_EQ(second.kernels.size(), expressions.size());
    for (std::size_t i = 0; i < expressions.size(); ++i) {
        EXPECT_TRUE(second.kernels[i].ok);
        EXPECT_EQ(second.kernels[i].lowered_name, first.kernels[i].lowered_name);
    }
    EXPECT_NE(compile_kernels(good_source, "fill.cu", expressions, "sm_80", &cache).programs.front().cubin,
              second.programs.front().cubin)
        << "another arch is another key";

    stored.clear();
    const std::string failing = "template <int N> __global__ void fill(int* out) { static_assert(N != 0, \"zero\"); }\n";
    compile_kernels(failing, "fill.cu", {"fill<0>"}, "sm_90", &cache);
    EXPECT_TRUE(stored.empty()) << "a batch that failed is never cached";
    EXPECT_GT(finds, 0);
}

} // namespace
} // namespace kerntune
