// nvrtc label: the NVRTC wrapper and the batching compiler, without a GPU.
#include <gtest/gtest.h>

#include "core/error.hpp"
#include "cuda/nvrtc.hpp"
#include "tune/candidate_compiler.hpp"

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

} // namespace
} // namespace kerntune
