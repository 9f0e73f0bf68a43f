// A kerntune consumer: LeakyReLU on the GPU through the C++ API, checked on the host.
// Build against an installed kerntune: see CMakeLists.txt beside this file.
#include <kerntune/kerntune.hpp>

#include <cstring>
#include <cstdio>
#include <vector>

int main() {
    try {
        kerntune::runtime rt;  // $KERNTUNE_DB, else the default database; none is fine too
        const std::int64_t n = 1 << 20;
        std::vector<float> host(n);
        for (std::int64_t i = 0; i < n; ++i) host[i] = static_cast<float>(i % 2001 - 1000) / 7.0f;

        CUdeviceptr x = 0;
        if (cuMemAlloc(&x, n * sizeof(float)) != CUDA_SUCCESS) throw std::runtime_error("cuMemAlloc failed");
        cuMemcpyHtoD(x, host.data(), n * sizeof(float));
        rt.leaky_relu(KT_F32, reinterpret_cast<void*>(x), reinterpret_cast<void*>(x), n, 0.01f);  // in place
        std::vector<float> result(n);
        cuMemcpyDtoH(result.data(), x, n * sizeof(float));  // synchronous: waits for the kernel
        cuMemFree(x);

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
        return wrong == 0 ? 0 : 1;
    } catch (const kerntune::runtime_error& failure) {
        std::fprintf(stderr, "kerntune: %s\n", failure.what());
        return 1;
    }
}
