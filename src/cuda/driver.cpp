#include "cuda/driver.hpp"

#include <dlfcn.h>

#include <mutex>

namespace kerntune {
namespace {

// Expand first, so that e.g. cuMemAlloc becomes the versioned symbol cuda.h maps it to.
#define KERNTUNE_SYMBOL_NAME(name) KERNTUNE_STRINGIFY(name)
#define KERNTUNE_STRINGIFY(name) #name

struct loaded_driver {
    driver_api api;
    std::string failure;  // empty when api is usable
};

loaded_driver load_driver() {
    loaded_driver loaded;
    void* library = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
    if (library == nullptr) {
        const char* why = dlerror();
        loaded.failure = std::string("no CUDA driver: cannot load libcuda.so.1 (") +
                         (why != nullptr ? why : "unknown reason") + "); this needs an NVIDIA GPU";
        return loaded;
    }
#define KERNTUNE_RESOLVE(name)                                                                   \
    loaded.api.name = reinterpret_cast<decltype(&::name)>(dlsym(library, KERNTUNE_SYMBOL_NAME(name))); \
    if (loaded.api.name == nullptr) {                                                            \
        loaded.failure = "CUDA driver too old: libcuda.so.1 lacks " KERNTUNE_SYMBOL_NAME(name);  \
        return loaded;                                                                           \
    }
    KERNTUNE_DRIVER_FUNCTIONS(KERNTUNE_RESOLVE)
#undef KERNTUNE_RESOLVE
    const CUresult result = loaded.api.cuInit(0);
    if (result != CUDA_SUCCESS) {
        const char* name = nullptr;
        loaded.api.cuGetErrorName(result, &name);
        loaded.failure = std::string("no usable GPU: cuInit failed with ") +
                         (name != nullptr ? name : "unknown error");
    }
    return loaded;
}

const loaded_driver& loaded() {
    static const loaded_driver instance = load_driver();
    return instance;
}

} // namespace

const driver_api& driver() {
    const loaded_driver& d = loaded();
    if (!d.failure.empty()) throw error(d.failure);
    return d.api;
}

bool driver_available() noexcept { return loaded().failure.empty(); }

namespace detail {

[[noreturn]] void throw_cuda_error(CUresult result, const char* call, const char* file, int line) {
    const char* name = nullptr;
    const char* text = nullptr;
    const driver_api& api = loaded().api;
    if (api.cuGetErrorName != nullptr) api.cuGetErrorName(result, &name);
    if (api.cuGetErrorString != nullptr) api.cuGetErrorString(result, &text);
    throw cuda_error(result, std::string(call) + " failed: " + (name != nullptr ? name : "?") +
                                 " (" + (text != nullptr ? text : "unknown") + ") at " + file +
                                 ":" + std::to_string(line));
}

} // namespace detail
} // namespace kerntune
