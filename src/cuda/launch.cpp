#include "cuda/launch.hpp"

#include "cuda/driver.hpp"

namespace kerntune {

void allow_dynamic_shared_memory(CUfunction function, std::int64_t shared_bytes) {
    // 48 KiB: what every arch allows a block without opting in.
    if (shared_bytes <= 48 * 1024) return;
    KERNTUNE_CU(cuFuncSetAttribute(function, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
                                   static_cast<int>(shared_bytes)));
}

CUresult launch_kernel(CUfunction function, const launch_geometry& geometry, CUstream stream, void** params) {
    return driver().cuLaunchKernel(function, static_cast<unsigned>(geometry.grid[0]), static_cast<unsigned>(geometry.grid[1]),
                                   static_cast<unsigned>(geometry.grid[2]), static_cast<unsigned>(geometry.block[0]),
                                   static_cast<unsigned>(geometry.block[1]), static_cast<unsigned>(geometry.block[2]),
                                   static_cast<unsigned>(geometry.shared_bytes), stream, params, nullptr);
}

} // namespace kerntune
