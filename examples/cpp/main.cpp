// A kerntune consumer: LeakyReLU on the GPU through the C++ API, checked on the host.
// Build against an installed kerntune: see CMakeLists.txt beside this file.
//
// The application owns its CUDA context: it makes device 0's primary context current before it
// allocates (the one the CUDA runtime and PyTorch use), and kerntune launches in the context
// current on the calling thread.
#include <kerntune/kerntune.hpp>

#include <cuda.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

/// Throws with the call's text and the driver's error name unless it succeeded.
void check(CUresult result, const char* call) {
    if (result == CUDA_SUCCESS) return;
    const char* name = nullptr;
    cuGetErrorName(result, &name);
    throw std::runtime_error(std::string(call) + " failed: " + (name != nullptr ? name : "unknown CUDA error"));
}

#define CHECK(call) check(call, #call)

} // namespace

int main() {
    try {
        CHECK(cuInit(0));
        CUdevice device = 0;
        CHECK(cuDeviceGet(&device, 0));
        CUcontext context = nullptr;
        CHECK(cuDevicePrimaryCtxRetain(&context, device));
        CHECK(cuCtxSetCurrent(context));

        kerntune::runtime rt;  // $KERNTUNE_DB, else the default database; none is fine too
        const std::int64_t n = 1 << 20;
        std::vector<float> host(n);
        for (std::int64_t i = 0; i < n; ++i) host[i] = static_cast<float>(i % 2001 - 1000) / 7.0f;

        CUdeviceptr x = 0;
        CHECK(cuMemAlloc(&x, n * sizeof(float)));
        CHECK(cuMemcpyHtoD(x, host.data(), n * sizeof(float)));
        rt.leaky_relu(KT_F32, reinterpret_cast<void*>(x), reinterpret_cast<void*>(x), n, 0.01f);  // in place
        std::vector<float> result(n);
        CHECK(cuMemcpyDtoH(result.data(), x, n * sizeof(float)));  // synchronous: waits for the kernel
        CHECK(cuMemFree(x));

        std::int64_t wrong = 0;
        for (std::int64_t i = 0; i < n; ++i) {
            const float want = host[i] > 0 ? host[i] : host[i] * 0.01f;
            wrong += std::memcmp(&want, &result[i], sizeof(float)) != 0;
        }
        const kerntune::launch_choice choice = rt.query("leaky_relu", KT_F32, n);
        std::printf("leaky_relu f32 n=%lld with %s (%s match): %lld wrong\n", static_cast<long long>(n),
                    choice.label.c_str(),
                    choice.match == KT_MATCH_EXACT ? "exact" : choice.match == KT_MATCH_NEAREST ? "nearest" : "default",
                    static_cast<long long>(wrong));
        cuDevicePrimaryCtxRelease(device);
        return wrong == 0 ? 0 : 1;
    } catch (const std::exception& failure) {  // kerntune::runtime_error is one
        std::fprintf(stderr, "leaky_relu_example: %s\n", failure.what());
        return 1;
    }
}
