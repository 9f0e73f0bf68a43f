#include "cuda/handles.hpp"

#include <utility>

#include "cuda/driver.hpp"

namespace kerntune {

device_buffer::device_buffer(std::size_t bytes) : m_bytes(bytes) {
    if (bytes > 0) KERNTUNE_CU(cuMemAlloc(&m_pointer, bytes));
}

device_buffer::~device_buffer() {
    if (m_pointer != 0) driver().cuMemFree(m_pointer);  // destructors never throw
}

device_buffer::device_buffer(device_buffer&& other) noexcept
    : m_pointer(std::exchange(other.m_pointer, 0)), m_bytes(std::exchange(other.m_bytes, 0)) {}

device_buffer& device_buffer::operator=(device_buffer&& other) noexcept {
    std::swap(m_pointer, other.m_pointer);
    std::swap(m_bytes, other.m_bytes);
    return *this;
}

loaded_module::loaded_module(const std::string& cubin) {
    KERNTUNE_CU(cuModuleLoadData(&m_module, cubin.data()));
}

loaded_module::~loaded_module() {
    if (m_module != nullptr) driver().cuModuleUnload(m_module);
}

loaded_module::loaded_module(loaded_module&& other) noexcept
    : m_module(std::exchange(other.m_module, nullptr)) {}

loaded_module& loaded_module::operator=(loaded_module&& other) noexcept {
    std::swap(m_module, other.m_module);
    return *this;
}

CUfunction loaded_module::function(const std::string& lowered_name) const {
    CUfunction function = nullptr;
    KERNTUNE_CU(cuModuleGetFunction(&function, m_module, lowered_name.c_str()));
    return function;
}

event::event() { KERNTUNE_CU(cuEventCreate(&m_event, CU_EVENT_DEFAULT)); }

event::~event() {
    if (m_event != nullptr) driver().cuEventDestroy(m_event);
}

float elapsed_ms(const event& start, const event& stop) {
    KERNTUNE_CU(cuEventSynchronize(stop.get()));
    float ms = 0;
    KERNTUNE_CU(cuEventElapsedTime(&ms, start.get(), stop.get()));
    return ms;
}

} // namespace kerntune
