#include "tune/worker.hpp"

#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <vector>

#include "core/candidate_status.hpp"
#include "core/dtype.hpp"
#include "core/sample_statistics.hpp"
#include "core/text.hpp"
#include "cuda/device.hpp"
#include "cuda/driver.hpp"
#include "cuda/handles.hpp"
#include "cuda/nvrtc.hpp"
#include "tune/worker_protocol.hpp"

namespace kerntune {
namespace {

/// Thrown for a candidate's own failure (wrong_answer, resource_limit, launch_failed): the
/// context is still fine and the worker carries on.
struct candidate_failure {
    candidate_status status;
    std::string message;
};

std::string hex(std::uint64_t value) {
    char text[32];
    std::snprintf(text, sizeof(text), "0x%llx", static_cast<unsigned long long>(value));
    return text;
}

// A signalling NaN of each type: arithmetic never produces one, so an element still holding
// it was not written.
std::uint32_t sentinel_bits(dtype type) {
    switch (type) {
    case dtype::f32: return 0x7fa5a5a5u;
    case dtype::f16: return 0x7d5au;
    case dtype::bf16: return 0x7f85u;
    }
    return 0;
}

struct kernel_launch {
    CUfunction function = nullptr;
    unsigned grid = 1, block = 1;
};

class worker {
public:
    worker_message handle(const worker_message& request) {
        const std::string& op = request.at("op");
        if (op == "hello") return hello(request);
        if (op == "compile") return compile_program(request);  // needs no GPU
        open_context();
        if (!m_context_failure.empty()) throw error(m_context_failure);
        if (op == "measure_copy") return measure_copy();
        if (op == "load") return load(request);
        if (op == "evaluate") return evaluate(request);
        throw error("unknown worker request '" + op + "'");
    }

    /// Makes the device's primary context current and allocates the fixed buffers; a failure is
    /// reported with the next request.
    void open_context() noexcept {
        if (m_context || !m_context_failure.empty() || m_device.name.empty()) return;
        try {
            m_context = std::make_unique<primary_context>(m_device.ordinal);
            // Twice L2, so that nothing a kernel reads can still be cached from the last sample.
            m_flush = device_buffer(static_cast<std::size_t>(2 * m_device.l2_bytes));
            m_compare = device_buffer(2 * sizeof(std::uint64_t));
        } catch (const std::exception& failure) {
            m_context_failure = failure.what();
        }
    }

private:
    std::unique_ptr<primary_context> m_context;
    std::string m_context_failure;
    device_info m_device;
    std::map<std::int64_t, loaded_module> m_modules;
    device_buffer m_flush;    // written before every timed sample, to empty L2
    device_buffer m_compare;  // two counters for compare_bits

    // Buffers for the current problem; reused while n and dtype stay the same.
    dtype m_type = dtype::f32;
    std::int64_t m_n = -1;
    std::vector<device_buffer> m_inputs, m_outputs, m_references;

    worker_message hello(const worker_message& request) {
        const int ordinal = static_cast<int>(request.integer("device"));
        m_device = query_device(ordinal);
        worker_message reply;
        reply.fields = {{"name", m_device.name},
                        {"cc_major", std::to_string(m_device.cc_major)},
                        {"cc_minor", std::to_string(m_device.cc_minor)},
                        {"sm_count", std::to_string(m_device.sm_count)},
                        {"max_threads_per_sm", std::to_string(m_device.max_threads_per_sm)},
                        {"shared_memory_per_sm", std::to_string(m_device.shared_memory_per_sm)},
                        {"max_shared_memory_per_block", std::to_string(m_device.max_shared_memory_per_block)},
                        {"l2_bytes", std::to_string(m_device.l2_bytes)},
                        {"memory_clock_khz", std::to_string(m_device.memory_clock_khz)},
                        {"bus_width_bits", std::to_string(m_device.bus_width_bits)},
                        {"total_memory_bytes", std::to_string(m_device.total_memory_bytes)},
                        {"driver_version", std::to_string(m_device.driver_version)}};
        return reply;
    }

    static worker_message compile_program(const worker_message& request) {
        compile_request compile_job{request.payload, request.at("source_name"), {}, request.at("arch")};
        for (std::string_view e : split(request.at("expressions"), '\n')) compile_job.name_expressions.emplace_back(e);
        compiled_program program = compile(compile_job);
        std::string names;
        for (const std::string& name : program.lowered_names) names += (names.empty() ? "" : "\n") + name;
        worker_message reply;
        reply.fields = {{"ok", program.ok ? "1" : "0"}, {"log", program.log}, {"options", program.options},
                        {"seconds", std::to_string(program.seconds)}, {"lowered_names", names}};
        reply.payload = std::move(program.cubin);
        return reply;
    }

    worker_message measure_copy() {
        worker_message reply;
        reply.fields = {{"copy_gbps", std::to_string(measure_copy_gbps())}};
        return reply;
    }

    // A device-to-device copy of 1 GiB (large enough to stream from DRAM at full rate on
    // every GPU we know, small enough for any of them), median of 10, bytes read + written.
    double measure_copy_gbps() {
        const std::size_t bytes = std::size_t{1} << 30;
        device_buffer from(bytes), to(bytes);
        KERNTUNE_CU(cuMemsetD8Async(from.get(), 0x3c, bytes, nullptr));
        event start, stop;
        std::vector<double> samples;
        for (int i = 0; i < 12; ++i) {
            KERNTUNE_CU(cuEventRecord(start.get(), nullptr));
            KERNTUNE_CU(cuMemcpyDtoDAsync(to.get(), from.get(), bytes, nullptr));
            KERNTUNE_CU(cuEventRecord(stop.get(), nullptr));
            const double ms = elapsed_ms(start, stop);
            if (i >= 2) samples.push_back(ms);  // the first copies warm up
        }
        return 2.0 * static_cast<double>(bytes) / (summarize(samples).median * 1e-3) / 1e9;
    }

    worker_message load(const worker_message& request) {
        m_modules[request.integer("module")] = loaded_module(request.payload);
        return {};
    }

    kernel_launch function_of(const worker_message& request, const std::string& prefix) {
        kernel_launch launch;
        const auto module = m_modules.find(request.integer(prefix + "module"));
        if (module == m_modules.end()) throw error("worker has no module " + request.at(prefix + "module"));
        launch.function = module->second.function(request.at(prefix + "function"));
        launch.grid = static_cast<unsigned>(request.integer(prefix + "grid"));
        launch.block = static_cast<unsigned>(request.integer(prefix + "block"));
        return launch;
    }

    void prepare_buffers(dtype type, std::int64_t n, const std::string& kinds) {
        if (type == m_type && n == m_n) return;
        m_inputs.clear();
        m_outputs.clear();
        m_references.clear();
        m_n = -1;
        const std::size_t bytes = static_cast<std::size_t>(n) * dtype_size(type);
        for (std::string_view kind : split(kinds, ',')) {
            if (kind == "input") m_inputs.emplace_back(bytes);
            if (kind == "output") {
                m_outputs.emplace_back(bytes);
                m_references.emplace_back(bytes);
            }
        }
        m_type = type;
        m_n = n;
    }

    // Kernel arguments in the order the spec declares them; outputs point at `outputs`.
    struct argument_values {
        std::vector<CUdeviceptr> pointers;
        std::vector<float> floats;
        long long n = 0;
        std::vector<void*> slots;
    };

    void bind_arguments(const std::string& kinds, const std::vector<device_buffer>& outputs,
                        argument_values& values) const {
        values.n = m_n;
        const std::vector<std::string_view> list = split(kinds, ',');
        // Reserve first: slots hold addresses into these vectors.
        values.pointers.reserve(list.size());
        values.floats.reserve(list.size());
        std::size_t input = 0, output = 0;
        for (std::string_view kind : list) {
            if (kind == "input") {
                values.pointers.push_back(m_inputs[input++].get());
                values.slots.push_back(&values.pointers.back());
            } else if (kind == "output") {
                values.pointers.push_back(outputs[output++].get());
                values.slots.push_back(&values.pointers.back());
            } else if (kind == "count") {
                values.slots.push_back(&values.n);
            } else if (kind.substr(0, 4) == "f32:") {
                values.floats.push_back(std::stof(std::string(kind.substr(4))));
                values.slots.push_back(&values.floats.back());
            } else {
                throw error("unknown argument kind '" + std::string(kind) + "'");
            }
        }
    }

    static void launch(const kernel_launch& kernel, argument_values& values) {
        const CUresult result = driver().cuLaunchKernel(kernel.function, kernel.grid, 1, 1, kernel.block,
                                                        1, 1, 0, nullptr, values.slots.data(), nullptr);
        if (result == CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES)
            throw candidate_failure{candidate_status::resource_limit,
                                    "cuLaunchKernel: too many resources requested"};
        if (result == CUDA_SUCCESS) return;
        // A launch the driver refuses leaves the context usable; if it does not (an earlier
        // fault surfacing here), the synchronisation throws and the worker restarts.
        KERNTUNE_CU(cuCtxSynchronize());
        const char* name = nullptr;
        driver().cuGetErrorName(result, &name);
        throw candidate_failure{candidate_status::launch_failed,
                                std::string("cuLaunchKernel: ") + (name != nullptr ? name : "?")};
    }

    void check_resources(const kernel_launch& kernel) const {
        int max_threads = 0, registers = 0;
        KERNTUNE_CU(cuFuncGetAttribute(&max_threads, CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK, kernel.function));
        KERNTUNE_CU(cuFuncGetAttribute(&registers, CU_FUNC_ATTRIBUTE_NUM_REGS, kernel.function));
        if (static_cast<unsigned>(max_threads) < kernel.block)
            throw candidate_failure{candidate_status::resource_limit,
                                    "block of " + std::to_string(kernel.block) +
                                        " threads exceeds the kernel's limit of " + std::to_string(max_threads) +
                                        " (" + std::to_string(registers) + " registers per thread)"};
    }

    void poison(const std::vector<device_buffer>& buffers) const {
        for (const device_buffer& buffer : buffers) {
            if (dtype_size(m_type) == 4)
                KERNTUNE_CU(cuMemsetD32Async(buffer.get(), sentinel_bits(m_type), static_cast<std::size_t>(m_n), nullptr));
            else
                KERNTUNE_CU(cuMemsetD16Async(buffer.get(), static_cast<unsigned short>(sentinel_bits(m_type)),
                            static_cast<std::size_t>(m_n), nullptr));
        }
    }

    void validate(const worker_message& request, const kernel_launch& candidate, argument_values& candidate_args) {
        const kernel_launch reference = function_of(request, "ref_");
        const kernel_launch fill = function_of(request, "fill_");
        const kernel_launch compare = function_of(request, "compare_");
        std::uint64_t seed = static_cast<std::uint64_t>(request.integer("seed"));
        for (const device_buffer& input : m_inputs) {
            long long n = m_n;
            CUdeviceptr pointer = input.get();
            void* fill_args[] = {&pointer, &n, &seed};
            KERNTUNE_CU(cuLaunchKernel(fill.function, fill.grid, 1, 1, fill.block, 1, 1, 0, nullptr, fill_args, nullptr));
            ++seed;
        }
        poison(m_outputs);
        poison(m_references);
        argument_values reference_args;
        bind_arguments(request.at("args"), m_references, reference_args);
        launch(reference, reference_args);
        launch(candidate, candidate_args);
        KERNTUNE_CU(cuCtxSynchronize());

        const std::size_t element = dtype_size(m_type);
        for (std::size_t k = 0; k < m_outputs.size(); ++k) {
            std::uint64_t counters[2] = {0, static_cast<std::uint64_t>(m_n)};
            KERNTUNE_CU(cuMemcpyHtoD(m_compare.get(), counters, sizeof(counters)));
            CUdeviceptr actual = m_outputs[k].get(), expected = m_references[k].get(), result = m_compare.get();
            long long n = m_n;
            void* compare_args[] = {&actual, &expected, &n, &result};
            KERNTUNE_CU(cuLaunchKernel(compare.function, compare.grid, 1, 1, compare.block, 1, 1, 0, nullptr,
                        compare_args, nullptr));
            KERNTUNE_CU(cuMemcpyDtoH(counters, m_compare.get(), sizeof(counters)));
            if (counters[0] == 0) continue;
            std::uint32_t got = 0, want = 0;
            KERNTUNE_CU(cuMemcpyDtoH(&got, actual + counters[1] * element, element));
            KERNTUNE_CU(cuMemcpyDtoH(&want, expected + counters[1] * element, element));
            throw candidate_failure{candidate_status::wrong_answer,
                                    std::to_string(counters[0]) + " of " + std::to_string(m_n) +
                                        " elements differ from the reference; first at index " +
                                        std::to_string(counters[1]) + ": got " + hex(got) + ", expected " +
                                        hex(want)};
        }
    }

    // Times the candidate: L2 flushed before every sample; stops once the spread is small, at
    // the sample cap or time cap, or early when it is clearly slower than the best so far.
    // Each sample is read before the next is queued: samples queued back to back were measured
    // noisier (the flush's write-back overlaps the next kernel), so they took longer to settle.
    sample_summary time(const worker_message& request, const kernel_launch& candidate, argument_values& args) {
        const int min_samples = static_cast<int>(request.integer("min_samples"));
        const int max_samples = static_cast<int>(request.integer("max_samples"));
        const double target_noise = request.number("target_noise");
        const double max_seconds = request.number("max_seconds");
        const double best_us = request.number("best_us");
        event start, stop;  // no warm-up launch: validation has just run the candidate
        std::vector<double> samples;
        const auto began = std::chrono::steady_clock::now();
        while (true) {
            KERNTUNE_CU(cuMemsetD32Async(m_flush.get(), static_cast<unsigned>(samples.size()), m_flush.size() / 4, nullptr));
            KERNTUNE_CU(cuEventRecord(start.get(), nullptr));
            launch(candidate, args);
            KERNTUNE_CU(cuEventRecord(stop.get(), nullptr));
            samples.push_back(elapsed_ms(start, stop) * 1e3);
            const int count = static_cast<int>(samples.size());
            if (count < min_samples) continue;
            const sample_summary summary = summarize(samples);
            const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();
            // Slower than the best by 1 % plus its own spread (about three standard errors of the
            // difference at five samples): more samples would not make it the winner.
            const bool clearly_slower = best_us > 0 && summary.median > (1.01 + summary.noise) * best_us;
            if (summary.noise <= target_noise || clearly_slower || count >= max_samples || seconds >= max_seconds)
                return summary;
        }
    }

    worker_message evaluate(const worker_message& request) {
        worker_message reply;
        try {
            const kernel_launch candidate = function_of(request, "");
            check_resources(candidate);
            prepare_buffers(parse_dtype(request.at("dtype")), request.integer("n"), request.at("args"));
            argument_values args;
            bind_arguments(request.at("args"), m_outputs, args);
            validate(request, candidate, args);
            const sample_summary summary = time(request, candidate, args);
            reply.fields = {{"status", std::string(to_string(candidate_status::ok))},
                            {"median_us", std::to_string(summary.median)},
                            {"noise", std::to_string(summary.noise)},
                            {"samples", std::to_string(summary.count)}};
        } catch (const candidate_failure& failure) {
            reply.fields = {{"status", std::string(to_string(failure.status))}, {"message", failure.message}};
        }
        return reply;
    }
};

} // namespace

int run_worker(int fd) {
    worker state;
    while (std::optional<worker_message> request = receive_message(fd, -1)) {
        worker_message reply;
        bool fatal = false;
        try {
            reply = state.handle(*request);
        } catch (const cuda_error& failure) {
            // A fault poisons the context for the life of this process: report and exit, the
            // tuner starts a fresh worker.
            reply.fields = {{"status", std::string(to_string(candidate_status::runtime_fault))},
                            {"message", failure.what()}};
            fatal = true;
        } catch (const std::exception& failure) {
            reply.fields = {{"error", failure.what()}};
        }
        if (!send_message(fd, reply) || fatal) return fatal ? 3 : 1;
        // After hello: open the context now, while the tuner compiles.
        state.open_context();
    }
    return 0;
}

} // namespace kerntune
