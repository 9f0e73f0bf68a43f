#include "cuda/launch.hpp"

#include "cuda/driver.hpp"

namespace kerntune {

void allow_geometry(CUfunction function, const launch_geometry& geometry) {
    // 48 KiB of static and dynamic shared memory together: what every arch allows a block
    // without opting in (softmax's 48 KiB row cache beside its 4 KiB of static scratch failed
    // to launch when only the dynamic part was compared).
    if (geometry.shared_bytes > 0) {
        int static_bytes = 0;
        KERNTUNE_CU(cuFuncGetAttribute(&static_bytes, CU_FUNC_ATTRIBUTE_SHARED_SIZE_BYTES, function));
        if (geometry.shared_bytes + static_bytes > 48 * 1024)
            KERNTUNE_CU(cuFuncSetAttribute(function, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
                                           static_cast<int>(geometry.shared_bytes)));
    }
    if (geometry.cluster > 8) KERNTUNE_CU(cuFuncSetAttribute(function, CU_FUNC_ATTRIBUTE_NON_PORTABLE_CLUSTER_SIZE_ALLOWED, 1));
}

CUresult launch_kernel(CUfunction function, const launch_geometry& geometry, CUstream stream, void** params) {
    if (geometry.cluster > 1) {
        CUlaunchAttribute cluster{};
        cluster.id = CU_LAUNCH_ATTRIBUTE_CLUSTER_DIMENSION;
        cluster.value.clusterDim.x = static_cast<unsigned>(geometry.cluster);
        cluster.value.clusterDim.y = 1;
        cluster.value.clusterDim.z = 1;
        CUlaunchConfig config{};
        config.gridDimX = static_cast<unsigned>(geometry.grid[0]);
        config.gridDimY = static_cast<unsigned>(geometry.grid[1]);
        config.gridDimZ = static_cast<unsigned>(geometry.grid[2]);
        config.blockDimX = static_cast<unsigned>(geometry.block[0]);
        config.blockDimY = static_cast<unsigned>(geometry.block[1]);
        config.blockDimZ = static_cast<unsigned>(geometry.block[2]);
        config.sharedMemBytes = static_cast<unsigned>(geometry.shared_bytes);
        config.hStream = stream;
        config.attrs = &cluster;
        config.numAttrs = 1;
        return driver().cuLaunchKernelEx(&config, function, params, nullptr);
    }
    return driver().cuLaunchKernel(function, static_cast<unsigned>(geometry.grid[0]), static_cast<unsigned>(geometry.grid[1]),
                                   static_cast<unsigned>(geometry.grid[2]), static_cast<unsigned>(geometry.block[0]),
                                   static_cast<unsigned>(geometry.block[1]), static_cast<unsigned>(geometry.block[2]),
                                   static_cast<unsigned>(geometry.shared_bytes), stream, params, nullptr);
}

} // namespace kerntune
