#include "cuda/device.hpp"

#include "cuda/driver.hpp"

namespace kerntune {
namespace {

int attribute(CUdevice device, CUdevice_attribute which) {
    int value = 0;
    KERNTUNE_CU(cuDeviceGetAttribute(&value, which, device));
    return value;
}

} // namespace

std::string device_info::arch() const {
    return "sm_" + std::to_string(cc_major) + std::to_string(cc_minor);
}

std::string device_info::identity() const {
    return name + "|" + arch() + "|" + std::to_string(sm_count) + " SMs";
}

double device_info::theoretical_gbps() const {
    return 2.0 * static_cast<double>(memory_clock_khz) * 1e3 * (bus_width_bits / 8.0) / 1e9;
}

std::string device_info::driver_version_text() const {
    return std::to_string(driver_version / 1000) + "." + std::to_string(driver_version % 1000 / 10);
}

int device_count() {
    int count = 0;
    KERNTUNE_CU(cuDeviceGetCount(&count));
    return count;
}

device_info query_device(int ordinal) {
    const int count = device_count();
    if (ordinal < 0 || ordinal >= count)
        throw error("no GPU with index " + std::to_string(ordinal) + ": this machine has " +
                    std::to_string(count));
    CUdevice device = 0;
    KERNTUNE_CU(cuDeviceGet(&device, ordinal));
    device_info info;
    info.ordinal = ordinal;
    char name[256] = {};
    KERNTUNE_CU(cuDeviceGetName(name, static_cast<int>(sizeof(name)), device));
    info.name = name;
    info.cc_major = attribute(device, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR);
    info.cc_minor = attribute(device, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR);
    info.sm_count = attribute(device, CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT);
    info.max_threads_per_sm = attribute(device, CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_MULTIPROCESSOR);
    info.shared_memory_per_sm = attribute(device, CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_MULTIPROCESSOR);
    info.max_shared_memory_per_block = attribute(device, CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN);
    info.l2_bytes = attribute(device, CU_DEVICE_ATTRIBUTE_L2_CACHE_SIZE);
    info.memory_clock_khz = attribute(device, CU_DEVICE_ATTRIBUTE_MEMORY_CLOCK_RATE);
    info.bus_width_bits = attribute(device, CU_DEVICE_ATTRIBUTE_GLOBAL_MEMORY_BUS_WIDTH);
    size_t total = 0;
    KERNTUNE_CU(cuDeviceTotalMem(&total, device));
    info.total_memory_bytes = static_cast<std::int64_t>(total);
    KERNTUNE_CU(cuDriverGetVersion(&info.driver_version));
    return info;
}

primary_context::primary_context(int ordinal) {
    KERNTUNE_CU(cuDeviceGet(&m_device, ordinal));
    KERNTUNE_CU(cuDevicePrimaryCtxRetain(&m_context, m_device));
    try {
        KERNTUNE_CU(cuCtxSetCurrent(m_context));
    } catch (...) {
        driver().cuDevicePrimaryCtxRelease(m_device);
        throw;
    }
}

primary_context::~primary_context() {
    // Destructors never throw; a failure to release at exit is harmless.
    driver().cuDevicePrimaryCtxRelease(m_device);
}

} // namespace kerntune
