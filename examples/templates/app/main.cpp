// An application that uses a user template: axpby (../axpby.yaml) through the C++ API.
//
//   axpby_example <template folder> [n]      e.g. axpby_example examples/templates
//
// Adds the folder to the runtime's catalogue, runs y = 2 * x - 0.5 * z on the GPU with the config
// tuned for this GPU (or the template's default), checks every element bit for bit against the
// same computation on the host and prints the config the call used. Exit status: 0 when every
// element matches, 1 on a mismatch or any failure (message on stderr), 2 on a bad command line.
// Build against an installed kerntune: see CMakeLists.txt beside this file.
#include <kerntune/kerntune.hpp>

#include <cuda.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
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
#define CHECK_CU(call) check((call), #call)

/// Device 0's primary context, current on this thread while the object lives. It is made current
/// before anything is allocated: cuMemAlloc needs a current context (without one it fails with
/// CUDA_ERROR_INVALID_CONTEXT). kerntune launches in the context current on the calling thread.
class current_primary_context {
public:
    current_primary_context() {
        CHECK_CU(cuInit(0));
        CHECK_CU(cuDeviceGet(&m_device, 0));
        CHECK_CU(cuDevicePrimaryCtxRetain(&m_context, m_device));
        const CUresult made_current = cuCtxSetCurrent(m_context);
        if (made_current != CUDA_SUCCESS) {
            cuDevicePrimaryCtxRelease(m_device);
            check(made_current, "cuCtxSetCurrent(m_context)");
        }
    }
    ~current_primary_context() {
        cuCtxSetCurrent(nullptr);
        cuDevicePrimaryCtxRelease(m_device);
    }
    current_primary_context(const current_primary_context&) = delete;
    current_primary_context& operator=(const current_primary_context&) = delete;

private:
    CUdevice m_device = 0;
    CUcontext m_context = nullptr;
};

/// Device memory in the current context.
class device_memory {
public:
    explicit device_memory(std::size_t bytes) { CHECK_CU(cuMemAlloc(&m_pointer, bytes)); }
    ~device_memory() { cuMemFree(m_pointer); }
    device_memory(const device_memory&) = delete;
    device_memory& operator=(const device_memory&) = delete;
    CUdeviceptr get() const { return m_pointer; }
    void* pointer() const { return reinterpret_cast<void*>(m_pointer); }

private:
    CUdeviceptr m_pointer = 0;
};

/// What the kernel computes for f32: each product rounded to float, then their sum (the kernel
/// uses __fmul_rn and __fadd_rn). volatile keeps the compiler from fusing the products and the
/// sum into an fma, whatever -ffp-contract says (CMakeLists.txt also turns contraction off).
float axpby_host(float a, float x, float b, float z) {
    volatile float ax = a * x;
    volatile float bz = b * z;
    return ax + bz;
}

const char* match_name(kt_match match) {
    return match == KT_MATCH_EXACT ? "exact" : match == KT_MATCH_NEAREST ? "nearest" : "default";
}

int run(const std::string& folder, std::int64_t n) {
    // The context first, so that it outlives the runtime (whose kernels are loaded in it) and the
    // buffers (destroyed in the reverse order of construction).
    current_primary_context context;
    kerntune::runtime rt;       // $KERNTUNE_DB, else the default database; none at all is fine too
    rt.add_templates(folder);   // axpby.yaml and axpby.cu; an error names the file and line

    const std::size_t bytes = static_cast<std::size_t>(n) * sizeof(float);
    std::vector<float> x(static_cast<std::size_t>(n)), z(x.size());
    // Finite values of both signs and many magnitudes, so that most sums round (with a = 2 and
    // b = -0.5 the products are exact).
    std::uint32_t state = 12345u;
    auto next = [&state] {
        state = state * 1664525u + 1013904223u;  // a 32-bit LCG (Numerical Recipes): reproducible
        return state;
    };
    for (std::size_t i = 0; i < x.size(); ++i) {
        x[i] = static_cast<float>(static_cast<std::int32_t>(next())) / 4096.0f;
        z[i] = static_cast<float>(static_cast<std::int32_t>(next())) / 65536.0f;
    }

    device_memory x_device(bytes), z_device(bytes), y_device(bytes);
    CHECK_CU(cuMemcpyHtoD(x_device.get(), x.data(), bytes));
    CHECK_CU(cuMemcpyHtoD(z_device.get(), z.data(), bytes));

    // The spec's buffers in declaration order (x, z, y) and its caller scalars in order (a, b).
    void* buffers[] = {x_device.pointer(), z_device.pointer(), y_device.pointer()};
    const float scalars[] = {2.0f, -0.5f};
    rt.launch("axpby", KT_F32, n, buffers, 3, scalars, 2);  // on the legacy default stream
    CHECK_CU(cuCtxSynchronize());                         // a failure of the kernel shows here

    std::vector<float> y(x.size());
    CHECK_CU(cuMemcpyDtoH(y.data(), y_device.get(), bytes));
    std::int64_t wrong = 0;
    for (std::size_t i = 0; i < y.size(); ++i) {
        const float want = axpby_host(scalars[0], x[i], scalars[1], z[i]);
        if (std::memcmp(&want, &y[i], sizeof(float)) == 0) continue;
        if (++wrong <= 5)
            std::fprintf(stderr, "element %zu: 2 * %.9g - 0.5 * %.9g gave %.9g, expected %.9g\n", i, x[i], z[i], y[i],
                         want);
    }

    const kerntune::launch_choice choice = rt.query("axpby", KT_F32, n);
    std::printf("axpby f32 n=%lld with %s (%s match, kernel from %s): %lld of %lld elements wrong\n",
                static_cast<long long>(n), choice.label.c_str(), match_name(choice.match), choice.binary_source.c_str(),
                static_cast<long long>(wrong), static_cast<long long>(n));
    if (wrong != 0) {
        std::fprintf(stderr, "axpby_example: %lld elements differ from the host computation\n",
                     static_cast<long long>(wrong));
        return 1;
    }
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    if (argc < 2 || argc > 3) {
        std::fprintf(stderr, "usage: %s TEMPLATE_FOLDER [N]   (e.g. %s examples/templates)\n", argv[0], argv[0]);
        return 2;
    }
    std::int64_t n = 1000003;  // odd: the vector body leaves a tail for every VEC above 1
    if (argc == 3) {
        char* end = nullptr;
        const long long parsed = std::strtoll(argv[2], &end, 10);
        if (*argv[2] == '\0' || *end != '\0' || parsed < 1 || parsed > (std::int64_t{1} << 31)) {
            std::fprintf(stderr, "%s: N must be an integer from 1 to 2^31, not '%s'\n", argv[0], argv[2]);
            return 2;
        }
        n = parsed;
    }
    try {
        return run(argv[1], n);
    } catch (const kerntune::runtime_error& failure) {
        std::fprintf(stderr, "axpby_example: kerntune: %s\n", failure.what());
        return 1;
    } catch (const std::exception& failure) {
        std::fprintf(stderr, "axpby_example: %s\n", failure.what());
        return 1;
    }
}
