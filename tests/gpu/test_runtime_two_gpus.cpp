// gpu label, 2 GPUs: one process, one kerntune runtime, launching on two GPUs from two threads
// at once (issue 16). The runtime keeps its kernels per CUDA context: a kernel loaded in GPU 0's
// context and launched in GPU 1's fails (CUDA_ERROR_INVALID_HANDLE or _CONTEXT), so both
// threads launch the very same keys, cold and then cached, and every result is checked bit for
// bit. Skipped on a machine with fewer than 2 GPUs.
#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "kernel_harness.hpp"
#include "kerntune/kerntune.hpp"

namespace kerntune::testing {
namespace {

/// Runs rt.leaky_relu in f32 on n random values in the calling thread's current context and
/// returns how many output elements differ from the host reference.
std::size_t wrong_elements(runtime& rt, std::size_t n, std::mt19937& rng) {
    const std::vector<std::uint32_t> input = random_bits(dtype::f32, n, rng);
    device_buffer x(n * 4), y(n * 4);
    KERNTUNE_CU(cuMemcpyHtoD(x.get(), input.data(), n * 4));
    rt.leaky_relu(KT_F32, reinterpret_cast<void*>(x.get()), reinterpret_cast<void*>(y.get()), static_cast<std::int64_t>(n),
                  0.01f, nullptr);
    std::vector<std::uint32_t> output(n);
    KERNTUNE_CU(cuMemcpyDtoH(output.data(), y.get(), n * 4));
    std::size_t wrong = 0;
    for (std::size_t i = 0; i < n; ++i) {
        const std::uint32_t want = leaky_relu_expected(dtype::f32, input[i], 0.01f);
        wrong += is_nan(dtype::f32, want) ? !is_nan(dtype::f32, output[i]) : output[i] != want;
    }
    return wrong;
}

TEST(RuntimeOnTwoGpus, OneRuntimeLaunchesOnTwoGpusFromTwoThreadsWithEachContextsKernels) {
    KERNTUNE_REQUIRE_GPU();
    if (device_count() < 2)
        GTEST_SKIP() << "needs 2 GPUs (a CUDA context on each): this machine has " << device_count();
    runtime rt(scratch_path("two-gpus.db").string());
    std::atomic<std::size_t> wrong{0};
    std::mutex mutex;
    std::vector<std::string> failures;
    // The same sizes in both threads, in the same order: both ask for the same keys at once,
    // cold on the first pass and from the runtime's caches on the second.
    const std::vector<std::size_t> sizes{1, 4097, 65537, 1000003, 1 << 22};
    std::vector<std::thread> threads;
    for (int device = 0; device < 2; ++device)
        threads.emplace_back([&, device] {
            try {
                primary_context context(device);  // current on this thread, as an application's
                std::mt19937 rng(static_cast<unsigned>(device));
                for (int pass = 0; pass < 2; ++pass)
                    for (std::size_t n : sizes) wrong += wrong_elements(rt, n, rng);
                KERNTUNE_CU(cuCtxSynchronize());
            } catch (const std::exception& failure) {
                std::lock_guard<std::mutex> lock(mutex);
                failures.push_back("GPU " + std::to_string(device) + ": " + failure.what());
            }
        });
    for (std::thread& thread : threads) thread.join();
    for (const std::string& failure : failures) ADD_FAILURE() << failure;
    EXPECT_EQ(wrong.load(), 0u);
}

} // namespace
} // namespace kerntune::testing
