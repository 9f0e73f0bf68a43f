#pragma once
#include <cuda.h>

#include <cstdint>

#include "core/config.hpp"

namespace kerntune {

/// Lets `function` take `shared_bytes` of dynamic shared memory per block. Launches of more
/// than 48 KiB fail unless the function's limit is raised first (a function attribute, so
/// once per function and size); smaller sizes need nothing. Throws cuda_error.
void allow_dynamic_shared_memory(CUfunction function, std::int64_t shared_bytes);

/// cuLaunchKernel with the geometry's grid, block and dynamic shared memory on `stream`. The one
/// launch helper of the runtime, the tuner's worker and the tests; returns the driver's result.
CUresult launch_kernel(CUfunction function, const launch_geometry& geometry, CUstream stream, void** params);

} // namespace kerntune
