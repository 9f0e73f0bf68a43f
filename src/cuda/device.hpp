#pragma once
#include <cuda.h>

#include <cstdint>
#include <string>

#include "core/config.hpp"
#include "core/regime.hpp"

namespace kerntune {

/// What the tuner and the runtime need to know about a GPU.
struct device_info {
    int ordinal = 0;
    std::string name;
    int cc_major = 0, cc_minor = 0;
    int sm_count = 0;
    int max_threads_per_sm = 0;
    std::int64_t shared_memory_per_sm = 0;
    /// The most dynamic shared memory one block may opt in to (cuFuncSetAttribute with
    /// CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES); more than the 48 KiB a block gets
    /// without opting in on every GPU since Volta.
    std::int64_t max_shared_memory_per_block = 0;
    std::int64_t l2_bytes = 0;
    std::int64_t memory_clock_khz = 0;
    int bus_width_bits = 0;
    std::int64_t total_memory_bytes = 0;
    int driver_version = 0;  // e.g. 13000

    /// What launch rules may read about this GPU.
    device_limits limits() const {
        // Thread-block clusters: sm_90 and later, up to 16 blocks (8, the portable size, and 16
        // with the non-portable opt-in, which Hopper allows).
        return {sm_count, max_threads_per_sm, shared_memory_per_sm, max_shared_memory_per_block, cc_major >= 9 ? 16 : 1};
    }
    /// What regime expressions may read about this GPU (core/regime.hpp).
    regime_device regime_facts() const { return {limits(), l2_bytes}; }
    /// "sm_90": the exact arch NVRTC compiles for.
    std::string arch() const;
    /// name + compute capability + SM count: results are reused only on an identical identity.
    std::string identity() const;
    /// memory clock x bus width x 2 (double data rate), in GB/s.
    double theoretical_gbps() const;
    /// "13.0"
    std::string driver_version_text() const;
};

/// Number of GPUs the driver sees (throws when there is no driver).
int device_count();

/// Queries one GPU; throws kerntune::error when the ordinal does not exist.
device_info query_device(int ordinal);

/// Holds a device's primary context (the one the CUDA runtime and PyTorch use) current on the
/// calling thread for its lifetime.
class primary_context {
public:
    explicit primary_context(int ordinal);
    ~primary_context();
    primary_context(const primary_context&) = delete;
    primary_context& operator=(const primary_context&) = delete;
    CUcontext get() const { return m_context; }

private:
    CUdevice m_device = 0;
    CUcontext m_context = nullptr;
};

} // namespace kerntune
