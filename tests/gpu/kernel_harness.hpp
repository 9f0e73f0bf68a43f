#pragma once
// Runs a template's kernels in this process on GPU 0, for tests that check what the kernels
// compute (the tuner runs them in its worker instead).
#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <random>
#include <vector>

#include "core/config.hpp"
#include "catalog/spec_loader.hpp"
#include "cuda/device.hpp"
#include "cuda/driver.hpp"
#include "cuda/handles.hpp"
#include "../support/temp_folder.hpp"
#include "float_bits.hpp"
#include "build/binary_cache.hpp"
#include "build/candidate_compiler.hpp"
#include "core/kernel_arguments.hpp"
#include "cuda/launch.hpp"

namespace kerntune::testing {

/// Skips the calling test when there is no usable GPU.
#define KERNTUNE_REQUIRE_GPU()                                                          \
    do {                                                                                \
        if (!::kerntune::driver_available() || ::kerntune::device_count() == 0)         \
            GTEST_SKIP() << "no GPU: this test needs a CUDA device";                    \
    } while (0)

/// A test that needs GPU 0: skipped without one, else it holds GPU 0's primary context for
/// its length (what the runtime launches in). A fixture that sets up more checks IsSkipped()
/// after calling this SetUp.
class gpu_context_test : public ::testing::Test {
protected:
    void SetUp() override {
        KERNTUNE_REQUIRE_GPU();
        m_context = std::make_unique<primary_context>(0);
    }
    std::unique_ptr<primary_context> m_context;
};

/// LeakyReLU's expected output bits for input bits `x`, computed on the host in float and
/// rounded once; NaN inputs give NaN (compared as a class: GPUs return a canonical NaN).
inline std::uint32_t leaky_relu_expected(dtype type, std::uint32_t x, float slope) {
    auto leaky = [slope](float v) { return v > 0.0f ? v : v * slope; };
    switch (type) {
    case dtype::f32: return bits_of(leaky(float_of(x)));
    case dtype::f16: return float_to_half(leaky(half_to_float(static_cast<std::uint16_t>(x))));
    case dtype::bf16: return float_to_bf16(leaky(bf16_to_float(static_cast<std::uint16_t>(x))));
    case dtype::i32:
    case dtype::i64: break;  // leaky_relu is a floating-point template
    }
    return 0;
}

inline bool is_nan(dtype type, std::uint32_t bits) {
    switch (type) {
    case dtype::f32: return (bits & 0x7fffffffu) > 0x7f800000u;
    case dtype::f16: return (bits & 0x7fffu) > 0x7c00u;
    case dtype::bf16: return (bits & 0x7fffu) > 0x7f80u;
    case dtype::i32:
    case dtype::i64: break;  // integers have no NaN
    }
    return false;
}

/// Every kernel of one elementwise template's space (one axis, no derived parameters) for one
/// dtype, compiled for GPU 0 and loaded.
class kernel_harness {
public:
    kernel_harness(const kernel_spec& spec, dtype type)
        : m_spec(spec), m_type(type), m_device(query_device(0)), m_context(std::make_unique<primary_context>(0)) {
        if (!spec.derived.empty()) throw error("kernel_harness runs templates without derived parameters");
        m_configs = enumerate_space(spec, type);
        for (const config& c : m_configs) m_expressions.push_back(name_expression(spec, c, {}, type));
        const compiled_set set = compile_kernels(source_of(spec), m_expressions, m_device.arch());
        for (const compiled_program& program : set.programs) m_modules.emplace_back(program.cubin);
        for (const compiled_kernel& kernel : set.kernels) {
            if (!kernel.ok) throw error("kernel failed to compile: " + kernel.log);
            m_functions.push_back(m_modules[static_cast<std::size_t>(kernel.program)].function(kernel.lowered_name));
        }
    }

    const std::vector<config>& configs() const { return m_configs; }

    /// Runs config `index` on `input` (element bits) with x and y placed `x_offset` and
    /// `y_offset` elements past a 256-byte boundary (y == x when in_place) and returns y.
    std::vector<std::uint32_t> run(std::size_t index, const std::vector<std::uint32_t>& input, int x_offset,
                                   int y_offset, bool in_place, float slope = 0.01f) {
        const std::size_t size = dtype_size(m_type);
        const auto n = static_cast<std::int64_t>(input.size());
        std::vector<unsigned char> host(input.size() * size);
        for (std::size_t i = 0; i < input.size(); ++i) std::memcpy(&host[i * size], &input[i], size);
        device_buffer x_buffer(host.size() + 256), y_buffer(host.size() + 256);
        const CUdeviceptr x = x_buffer.get() + static_cast<CUdeviceptr>(x_offset) * size;
        const CUdeviceptr y = in_place ? x : y_buffer.get() + static_cast<CUdeviceptr>(y_offset) * size;
        if (!host.empty()) KERNTUNE_CU(cuMemcpyHtoD(x, host.data(), host.size()));
        if (n > 0) {
            const problem shape = make_problem(m_spec.axes, std::vector<std::int64_t>{n});
            const launch_geometry geometry = candidate_launch(m_spec, m_configs[index], m_type, shape, m_device.limits());
            const std::uint64_t buffers[] = {x, y};
            const double scalars[] = {slope};
            packed_args args(bind_arguments(m_spec, m_type, shape), buffers, scalars);
            KERNTUNE_CU_RESULT(launch_kernel(m_functions[index], geometry, nullptr, args));
            KERNTUNE_CU(cuCtxSynchronize());
            KERNTUNE_CU(cuMemcpyDtoH(host.data(), y, host.size()));
        }
        std::vector<std::uint32_t> output(input.size(), 0);
        for (std::size_t i = 0; i < input.size(); ++i) std::memcpy(&output[i], &host[i * size], size);
        return output;
    }

    /// Number of elements whose output differs from leaky_relu_expected; prints the first few.
    std::size_t count_mismatches(const std::vector<std::uint32_t>& input, const std::vector<std::uint32_t>& output,
                                 float slope = 0.01f) const {
        std::size_t mismatches = 0;
        for (std::size_t i = 0; i < input.size(); ++i) {
            const std::uint32_t want = leaky_relu_expected(m_type, input[i], slope);
            const bool same = is_nan(m_type, want) ? is_nan(m_type, output[i]) : output[i] == want;
            if (!same && ++mismatches <= 3)
                ADD_FAILURE() << "element " << i << " of " << input.size() << ": input 0x" << std::hex << input[i]
                              << " gave 0x" << output[i] << ", expected 0x" << want << std::dec;
        }
        return mismatches;
    }

private:
    const kernel_spec& m_spec;
    dtype m_type;
    device_info m_device;
    std::unique_ptr<primary_context> m_context;
    std::vector<config> m_configs;
    std::vector<std::string> m_expressions;
    std::vector<loaded_module> m_modules;
    std::vector<CUfunction> m_functions;
};

/// n random element bit patterns of `type`.
inline std::vector<std::uint32_t> random_bits(dtype type, std::size_t n, std::mt19937& rng) {
    std::vector<std::uint32_t> bits(n);
    for (std::uint32_t& b : bits) b = dtype_size(type) == 4 ? rng() : rng() & 0xffffu;
    return bits;
}

} // namespace kerntune::testing
