#pragma once
#include <cuda.h>

#include <cstdint>

#include "core/config.hpp"
#include "core/kernel_arguments.hpp"

namespace kerntune {

/// Sets what `function` must allow before it can launch with `geometry` (function attributes,
/// so once per function and geometry): more than 48 KiB of dynamic shared memory per block, and
/// clusters of more than 8 blocks (the portable size). Throws cuda_error.
void allow_geometry(CUfunction function, const launch_geometry& geometry);

/// Whether `geometry` (after allow_geometry) can run on the device of `sm_count` SMs: a cluster
/// fits in a GPC, and a cooperative launch's blocks all fit at once. A config tuned where its
/// blocks took less shared memory may ask, on another problem, for what the launch refuses.
/// True without a cluster or a workspace.
bool geometry_fits(CUfunction function, const launch_geometry& geometry, int sm_count);

/// Launches with the geometry's grid, block, dynamic shared memory and cluster on `stream`
/// (cuLaunchKernel, or cuLaunchKernelEx for a cluster or a cooperative launch). A geometry with
/// workspace bytes gets them zeroed on `stream` (from kerntune's memory pool, cuMemsetD8Async;
/// freed there after the kernel, cuMemFreeAsync), pointed to by the arguments' workspace, and launches
/// cooperatively: the driver refuses a grid whose blocks cannot all be resident at once. The one
/// launch helper of the runtime, the tuner's worker and the tests; returns the driver's result.
CUresult launch_kernel(CUfunction function, const launch_geometry& geometry, CUstream stream, packed_args& args);

/// The same for kernels without a workspace (the tuner's fill and compare kernels), given their
/// parameter array.
CUresult launch_kernel(CUfunction function, const launch_geometry& geometry, CUstream stream, void** params);

} // namespace kerntune
