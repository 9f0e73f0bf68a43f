#pragma once
#include <cuda.h>

#include <cstddef>
#include <string>

namespace kerntune {

/// Owns device memory in the current context.
class device_buffer {
public:
    device_buffer() = default;
    explicit device_buffer(std::size_t bytes);
    ~device_buffer();
    device_buffer(device_buffer&& other) noexcept;
    device_buffer& operator=(device_buffer&& other) noexcept;
    device_buffer(const device_buffer&) = delete;
    device_buffer& operator=(const device_buffer&) = delete;

    CUdeviceptr get() const { return m_pointer; }
    std::size_t size() const { return m_bytes; }

private:
    CUdeviceptr m_pointer = 0;
    std::size_t m_bytes = 0;
};

/// Owns a module loaded from a cubin in the current context.
class loaded_module {
public:
    loaded_module() = default;
    explicit loaded_module(const std::string& cubin);
    ~loaded_module();
    loaded_module(loaded_module&& other) noexcept;
    loaded_module& operator=(loaded_module&& other) noexcept;
    loaded_module(const loaded_module&) = delete;
    loaded_module& operator=(const loaded_module&) = delete;

    /// The kernel with this mangled (lowered) name; throws cuda_error when absent.
    CUfunction function(const std::string& lowered_name) const;

private:
    CUmodule m_module = nullptr;
};

/// Owns a CUDA event (with timing).
class event {
public:
    event();
    ~event();
    event(const event&) = delete;
    event& operator=(const event&) = delete;
    CUevent get() const { return m_event; }

private:
    CUevent m_event = nullptr;
};

/// Milliseconds between two recorded events (waits for the second).
float elapsed_ms(const event& start, const event& stop);

} // namespace kerntune
