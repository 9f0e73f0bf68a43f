#include "cuda/launch.hpp"

#include "cuda/driver.hpp"

#include <cstdint>
#include <map>
#include <mutex>

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

/// The attributes of an extended launch: a cluster dimension and cooperative, as the geometry asks.
struct launch_attributes {
    CUlaunchAttribute values[2] = {};
    unsigned count = 0;

    explicit launch_attributes(const launch_geometry& geometry) {
        if (geometry.cluster > 1) {
            CUlaunchAttribute& cluster = values[count++];
            cluster.id = CU_LAUNCH_ATTRIBUTE_CLUSTER_DIMENSION;
            cluster.value.clusterDim.x = static_cast<unsigned>(geometry.cluster);
            cluster.value.clusterDim.y = 1;
            cluster.value.clusterDim.z = 1;
        }
        if (geometry.workspace_bytes > 0) {
            CUlaunchAttribute& cooperative = values[count++];
            cooperative.id = CU_LAUNCH_ATTRIBUTE_COOPERATIVE;
            cooperative.value.cooperative = 1;
        }
    }
};

/// The configuration of an extended launch; `attributes` must outlive it.
CUlaunchConfig extended_config(const launch_geometry& geometry, CUstream stream, launch_attributes& attributes) {
    CUlaunchConfig config{};
    config.gridDimX = static_cast<unsigned>(geometry.grid[0]);
    config.gridDimY = static_cast<unsigned>(geometry.grid[1]);
    config.gridDimZ = static_cast<unsigned>(geometry.grid[2]);
    config.blockDimX = static_cast<unsigned>(geometry.block[0]);
    config.blockDimY = static_cast<unsigned>(geometry.block[1]);
    config.blockDimZ = static_cast<unsigned>(geometry.block[2]);
    config.sharedMemBytes = static_cast<unsigned>(geometry.shared_bytes);
    config.hStream = stream;
    config.attrs = attributes.values;
    config.numAttrs = attributes.count;
    return config;
}

/// kerntune's own stream-ordered memory pool on the current context's device, made once per
/// device and kept for the process. Its release threshold keeps what is freed for the next
/// launch's workspace; the device's default pool (threshold 0) hands freed memory back to the
/// driver at every synchronisation, so that each launch would map memory again.
CUmemoryPool workspace_pool() {
    static std::mutex mutex;
    static std::map<CUdevice, CUmemoryPool> pools;
    CUdevice device = 0;
    KERNTUNE_CU(cuCtxGetDevice(&device));
    const std::lock_guard<std::mutex> lock(mutex);
    const auto found = pools.find(device);
    if (found != pools.end()) return found->second;
    CUmemPoolProps properties{};
    properties.allocType = CU_MEM_ALLOCATION_TYPE_PINNED;
    properties.handleTypes = CU_MEM_HANDLE_TYPE_NONE;
    properties.location.type = CU_MEM_LOCATION_TYPE_DEVICE;
    properties.location.id = device;
    CUmemoryPool pool = nullptr;
    KERNTUNE_CU(cuMemPoolCreate(&pool, &properties));
    cuuint64_t keep_everything = UINT64_MAX;
    KERNTUNE_CU(cuMemPoolSetAttribute(pool, CU_MEMPOOL_ATTR_RELEASE_THRESHOLD, &keep_everything));
    return pools.emplace(device, pool).first->second;
}

} // namespace

bool geometry_fits(CUfunction function, const launch_geometry& geometry, int sm_count) {
    if (geometry.workspace_bytes > 0) {
        int per_sm = 0;
        const int threads = static_cast<int>(geometry.block[0] * geometry.block[1] * geometry.block[2]);
        KERNTUNE_CU(cuOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, function, threads,
                                                                static_cast<std::size_t>(geometry.shared_bytes)));
        if (std::int64_t{per_sm} * sm_count < geometry.grid[0] * geometry.grid[1] * geometry.grid[2]) return false;
    }
    if (geometry.cluster <= 1) return true;
    launch_attributes attributes(geometry);
    const CUlaunchConfig config = extended_config(geometry, nullptr, attributes);
    int clusters = 0;
    KERNTUNE_CU(cuOccupancyMaxActiveClusters(&clusters, function, &config));
    return clusters > 0;
}

CUresult launch_kernel(CUfunction function, const launch_geometry& geometry, CUstream stream, void** params) {
    if (geometry.cluster > 1 || geometry.workspace_bytes > 0) {
        launch_attributes attributes(geometry);
        const CUlaunchConfig config = extended_config(geometry, stream, attributes);
        return driver().cuLaunchKernelEx(&config, function, params, nullptr);
    }
    return driver().cuLaunchKernel(function, static_cast<unsigned>(geometry.grid[0]), static_cast<unsigned>(geometry.grid[1]),
                                   static_cast<unsigned>(geometry.grid[2]), static_cast<unsigned>(geometry.block[0]),
                                   static_cast<unsigned>(geometry.block[1]), static_cast<unsigned>(geometry.block[2]),
                                   static_cast<unsigned>(geometry.shared_bytes), stream, params, nullptr);
}

CUresult launch_kernel(CUfunction function, const launch_geometry& geometry, CUstream stream, packed_args& args) {
    if (geometry.workspace_bytes == 0) return launch_kernel(function, geometry, stream, args.slots());
    // Stream-ordered, so that launches on other streams never share a workspace, and cheap
    // after the first (workspace_pool keeps what is freed).
    CUmemoryPool pool = nullptr;
    try {
        pool = workspace_pool();
    } catch (const cuda_error& failure) {
        return failure.result();
    }
    const driver_api& api = driver();
    const std::size_t bytes = static_cast<std::size_t>(geometry.workspace_bytes);
    CUdeviceptr workspace = 0;
    CUresult result = api.cuMemAllocFromPoolAsync(&workspace, bytes, pool, stream);
    if (result != CUDA_SUCCESS) return result;
    result = api.cuMemsetD8Async(workspace, 0, bytes, stream);
    if (result == CUDA_SUCCESS) {
        args.set_workspace(workspace);
        result = launch_kernel(function, geometry, stream, args.slots());
        args.set_workspace(0);
    }
    const CUresult freed = api.cuMemFreeAsync(workspace, stream);
    return result != CUDA_SUCCESS ? result : freed;
}

} // namespace kerntune
