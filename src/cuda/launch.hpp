#pragma once
#include <cuda.h>

#include <cstdint>

#include "core/config.hpp"

namespace kerntune {

/// Sets what `function` must allow before it can launch with `geometry` (function attributes,
/// so once per function and geometry): more than 48 KiB of dynamic shared memory per block, and
/// clusters of more than 8 blocks (the portable size). Throws cuda_error.
void allow_geometry(CUfunction function, const launch_geometry& geometry);

/// Whether a cluster of `geometry` (shared memory and cluster size, after allow_geometry) can be
/// resident on the device at all: a config tuned where its blocks took less shared memory may
/// ask, on another problem, for clusters no GPC holds, which the launch refuses. True without a
/// cluster.
bool clusters_fit(CUfunction function, const launch_geometry& geometry);

/// Launches with the geometry's grid, block, dynamic shared memory and cluster on `stream`
/// (cuLaunchKernel, or cuLaunchKernelEx for a cluster). The one launch helper of the runtime,
/// the tuner's worker and the tests; returns the driver's result.
CUresult launch_kernel(CUfunction function, const launch_geometry& geometry, CUstream stream, void** params);

} // namespace kerntune
