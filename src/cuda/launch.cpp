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
        // The limit belongs to the function, which the launches of several problems share (one
        // config's kernel serves every shape that uses it): it is only ever raised, so that a
        // launch prepared later with less shared memory never takes back what an earlier one
        // needs (which made that one's launches fail with CUDA_ERROR_INVALID_VALUE).
        int allowed = 0;
        KERNTUNE_CU(cuFuncGetAttribute(&allowed, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, function));
        if (geometry.shared_bytes + static_bytes > 48 * 1024 && allowed < geometry.shared_bytes)
            KERNTUNE_CU(cuFuncSetAttribute(function, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
                                           static_cast<int>(geometry.shared_bytes)));
    }
    if (geometry.cluster > 8) KERNTUNE_CU(cuFuncSetAttribute(function, CU_FUNC_ATTRIBUTE_NON_PORTABLE_CLUSTER_SIZE_ALLOWED, 1));
}

namespace {

/// The launch configuration of a cluster launch; `attribute` holds its cluster dimension.
CUlaunchConfig cluster_config(const launch_geometry& geometry, CUstream stream, CUlaunchAttribute& attribute) {
    attribute = {};
    attribute.id = CU_LAUNCH_ATTRIBUTE_CLUSTER_DIMENSION;
    attribute.value.clusterDim.x = static_cast<unsigned>(geometry.cluster);
    attribute.value.clusterDim.y = 1;
    attribute.value.clusterDim.z = 1;
    CUlaunchConfig config{};
    config.gridDimX = static_cast<unsigned>(geometry.grid[0]);
    config.gridDimY = static_cast<unsigned>(geometry.grid[1]);
    config.gridDimZ = static_cast<unsigned>(geometry.grid[2]);
    config.blockDimX = static_cast<unsigned>(geometry.block[0]);
    config.blockDimY = static_cast<unsigned>(geometry.block[1]);
    config.blockDimZ = static_cast<unsigned>(geometry.block[2]);
    config.sharedMemBytes = static_cast<unsigned>(geometry.shared_bytes);
    config.hStream = stream;
    config.attrs = &attribute;
    config.numAttrs = 1;
    return config;
}

} // namespace

bool clusters_fit(CUfunction function, const launch_geometry& geometry) {
    if (geometry.cluster <= 1) return true;
    CUlaunchAttribute attribute;
    const CUlaunchConfig config = cluster_config(geometry, nullptr, attribute);
    int clusters = 0;
    KERNTUNE_CU(cuOccupancyMaxActiveClusters(&clusters, function, &config));
    return clusters > 0;
}

CUresult launch_kernel(CUfunction function, const launch_geometry& geometry, CUstream stream, void** params) {
    if (geometry.cluster > 1) {
        CUlaunchAttribute attribute;
        const CUlaunchConfig config = cluster_config(geometry, stream, attribute);
        return driver().cuLaunchKernelEx(&config, function, params, nullptr);
    }
    return driver().cuLaunchKernel(function, static_cast<unsigned>(geometry.grid[0]), static_cast<unsigned>(geometry.grid[1]),
                                   static_cast<unsigned>(geometry.grid[2]), static_cast<unsigned>(geometry.block[0]),
                                   static_cast<unsigned>(geometry.block[1]), static_cast<unsigned>(geometry.block[2]),
                                   static_cast<unsigned>(geometry.shared_bytes), stream, params, nullptr);
}

} // namespace kerntune
