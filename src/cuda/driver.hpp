#pragma once
#include <cuda.h>

#include <string>

#include "core/error.hpp"

namespace kerntune {

/// A CUDA driver call that failed; result() tells faults (which poison the context) apart.
class cuda_error : public error {
public:
    cuda_error(CUresult result, const std::string& message) : error(message), m_result(result) {}
    CUresult result() const noexcept { return m_result; }

private:
    CUresult m_result;
};

/// The driver entry points kerntune uses, resolved from libcuda.so.1 with dlopen so that every
/// binary starts, and every non-GPU path works, on a machine without a driver.
struct driver_api {
#define KERNTUNE_DRIVER_FUNCTIONS(X)                                                               \
    X(cuInit) X(cuDriverGetVersion) X(cuGetErrorName) X(cuGetErrorString) X(cuDeviceGetCount)      \
    X(cuDeviceGet) X(cuDeviceGetName) X(cuDeviceGetAttribute) X(cuDeviceTotalMem)                  \
    X(cuDevicePrimaryCtxRetain) X(cuDevicePrimaryCtxRelease) X(cuCtxSetCurrent) X(cuCtxGetCurrent) \
    X(cuCtxGetDevice) X(cuCtxSynchronize) X(cuModuleLoadData) X(cuModuleUnload)                    \
    X(cuModuleGetFunction) X(cuFuncGetAttribute) X(cuFuncSetAttribute) X(cuLaunchKernel) X(cuLaunchKernelEx) X(cuOccupancyMaxActiveClusters) X(cuOccupancyMaxActiveBlocksPerMultiprocessor) X(cuMemAlloc) X(cuMemFree)      \
    X(cuMemPoolCreate) X(cuMemPoolSetAttribute) X(cuMemAllocFromPoolAsync) X(cuMemFreeAsync)      \
    X(cuMemcpyHtoD) X(cuMemcpyDtoH) X(cuMemcpyDtoDAsync) X(cuMemsetD8Async) X(cuMemsetD16Async)    \
    X(cuMemsetD32Async)                                                                            \
    X(cuEventCreate) X(cuEventDestroy) X(cuEventRecord) X(cuEventSynchronize)                      \
    X(cuEventElapsedTime) X(cuStreamCreate) X(cuStreamDestroy) X(cuStreamSynchronize) X(cuStreamIsCapturing)
#define KERNTUNE_DECLARE_DRIVER_FUNCTION(name) decltype(&::name) name = nullptr;
    KERNTUNE_DRIVER_FUNCTIONS(KERNTUNE_DECLARE_DRIVER_FUNCTION)
#undef KERNTUNE_DECLARE_DRIVER_FUNCTION
};

/// The driver, opened and initialised (cuInit) on first use. Throws kerntune::error with a
/// clear message when there is no driver or no usable GPU.
const driver_api& driver();

/// True when libcuda.so.1 can be opened and cuInit succeeds; never throws.
bool driver_available() noexcept;

namespace detail {
[[noreturn]] void throw_cuda_error(CUresult result, const char* call, const char* file, int line);
} // namespace detail

} // namespace kerntune

/// Calls a driver function through the dlopen'ed table and throws cuda_error on failure, e.g.
/// KERNTUNE_CU(cuMemAlloc(&pointer, bytes)). Never compiled out: every driver call is checked.
#define KERNTUNE_CU(call)                                                                         \
    do {                                                                                          \
        const CUresult kerntune_cu_result = ::kerntune::driver().call;                            \
        if (kerntune_cu_result != CUDA_SUCCESS)                                                   \
            ::kerntune::detail::throw_cuda_error(kerntune_cu_result, #call, __FILE__, __LINE__);  \
    } while (0)

/// Throws cuda_error unless `result_expression`, a CUresult, is CUDA_SUCCESS (for results of
/// helpers such as launch_kernel that return the driver's result).
#define KERNTUNE_CU_RESULT(result_expression)                                                     \
    do {                                                                                          \
        const CUresult kerntune_cu_result = (result_expression);                                  \
        if (kerntune_cu_result != CUDA_SUCCESS)                                                   \
            ::kerntune::detail::throw_cuda_error(kerntune_cu_result, #result_expression, __FILE__, \
                                                 __LINE__);                                       \
    } while (0)
