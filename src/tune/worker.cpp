#include "tune/worker.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <limits>
#include <map>
#include <memory>
#include <vector>

#include "core/candidate_status.hpp"
#include "core/dtype.hpp"
#include "core/kernel_arguments.hpp"
#include "core/sample_statistics.hpp"
#include "core/text.hpp"
#include "cuda/device.hpp"
#include "cuda/driver.hpp"
#include "cuda/handles.hpp"
#include "cuda/launch.hpp"
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

// A signalling NaN of each floating type: arithmetic never produces one, so an element still
// holding it was not written. Integer buffers get a pattern that is merely unlikely.
std::uint32_t sentinel_bits(dtype type) {
    switch (type) {
    case dtype::f32: return 0x7fa5a5a5u;
    case dtype::f16: return 0x7d5au;
    case dtype::bf16: return 0x7f85u;
    case dtype::i32:
    case dtype::i64: return 0xa5a5a5a5u;
    }
    return 0;
}

struct kernel_launch {
    CUfunction function = nullptr;
    launch_geometry geometry;
};

/// A validation kernel per element type, as the tuner names them: "fill.f32" = "MODULE:NAME".
struct validation_kernels {
    std::map<dtype, CUfunction> fill, compare;
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

    // Buffers for the current problem, one per buffer argument, reused while the bound
    // arguments stay the same; the reference's copies of out and inout buffers (empty for in).
    std::string m_args_text;
    std::vector<bound_arg> m_args;
    std::vector<device_buffer> m_buffers, m_references;
    /// What the reference's outputs in m_references were computed from (its kernel, launch,
    /// fill and seed), empty when they hold none: the candidates of a problem share one seed,
    /// so the reference runs once for all of them (at 4096 x 393216 floats it and the poison
    /// before it took 4.5 ms of each expression candidate's 14 ms of validation on the H200).
    std::string m_reference_inputs;

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
        compile_request compile_job{{request.at("source_name"), request.payload, {}}, {}, request.at("arch")};
        const std::int64_t headers = request.integer("header_count");
        for (std::int64_t i = 0; i < headers; ++i)
            compile_job.source.headers.push_back(
                {request.at("header_name." + std::to_string(i)), request.at("header_text." + std::to_string(i))});
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

    CUfunction function_named(const std::string& module_text, const std::string& name) {
        std::int64_t id = -1;
        try {
            id = std::stoll(module_text);
        } catch (const std::exception&) {
        }
        const auto module = m_modules.find(id);
        if (module == m_modules.end()) throw error("worker has no module " + module_text);
        return module->second.function(name);
    }

    kernel_launch function_of(const worker_message& request, const std::string& prefix) {
        kernel_launch launch;
        launch.function = function_named(request.at(prefix + "module"), request.at(prefix + "function"));
        launch.geometry = parse_launch_geometry(request.at(prefix + "geometry"));
        return launch;
    }

    // "fill.f32" = "MODULE:NAME" and "compare.f32" likewise, for each element type of the buffers.
    validation_kernels validation_of(const worker_message& request) {
        validation_kernels kernels;
        for (const auto& [key, value] : request.fields) {
            const bool fill = key.rfind("fill.", 0) == 0, compare = key.rfind("compare.", 0) == 0;
            if (!fill && !compare) continue;
            const std::size_t colon = value.find(':');
            if (colon == std::string::npos) throw error("bad validation kernel '" + value + "'");
            const dtype type = parse_dtype(key.substr(key.find('.') + 1));
            (fill ? kernels.fill : kernels.compare)[type] = function_named(value.substr(0, colon), value.substr(colon + 1));
        }
        return kernels;
    }

    void prepare_buffers(const std::string& args_text) {
        if (args_text == m_args_text) return;
        m_args.clear();
        m_buffers.clear();
        m_references.clear();
        m_args_text.clear();
        m_reference_inputs.clear();
        m_args = parse_bound_args(args_text);
        for (const bound_arg& arg : m_args) {
            if (arg.kind != arg_kind::buffer) continue;
            // Every buffer gets at least one element, so that a pointer is never null.
            const std::size_t bytes = static_cast<std::size_t>(std::max<std::int64_t>(arg.bytes(), 16));
            m_buffers.emplace_back(bytes);
            m_references.emplace_back(arg.access == buffer_access::in ? 0 : bytes);
        }
        m_args_text = args_text;
    }

    /// Device pointers of the buffers in argument order: the candidate's, or the reference's
    /// copies of its out and inout buffers.
    std::vector<std::uint64_t> pointers(bool reference) const {
        std::vector<std::uint64_t> out;
        std::size_t b = 0;
        for (const bound_arg& arg : m_args) {
            if (arg.kind != arg_kind::buffer) continue;
            out.push_back(reference && arg.access != buffer_access::in ? m_references[b].get() : m_buffers[b].get());
            ++b;
        }
        return out;
    }

    static void launch(const kernel_launch& kernel, packed_args& args) {
        const CUresult result = launch_kernel(kernel.function, kernel.geometry, nullptr, args);
        if (result == CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES)
            throw candidate_failure{candidate_status::resource_limit,
                                    "cuLaunchKernel: too many resources requested"};
        if (result == CUDA_ERROR_COOPERATIVE_LAUNCH_TOO_LARGE)
            throw candidate_failure{candidate_status::resource_limit,
                                    "cuLaunchKernelEx: a cooperative grid larger than the blocks the device holds at once"};
        if (result == CUDA_SUCCESS) return;
        // A launch the driver refuses leaves the context usable; if it does not (an earlier
        // fault surfacing here), the synchronisation throws and the worker restarts.
        KERNTUNE_CU(cuCtxSynchronize());
        const char* name = nullptr;
        driver().cuGetErrorName(result, &name);
        throw candidate_failure{candidate_status::launch_failed,
                                std::string("cuLaunchKernel: ") + (name != nullptr ? name : "?")};
    }

    static void check_resources(const kernel_launch& kernel) {
        int max_threads = 0, registers = 0;
        KERNTUNE_CU(cuFuncGetAttribute(&max_threads, CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK, kernel.function));
        KERNTUNE_CU(cuFuncGetAttribute(&registers, CU_FUNC_ATTRIBUTE_NUM_REGS, kernel.function));
        const std::int64_t threads = kernel.geometry.block[0] * kernel.geometry.block[1] * kernel.geometry.block[2];
        if (max_threads < threads)
            throw candidate_failure{candidate_status::resource_limit, "block of " + std::to_string(threads) +
                                                          " threads exceeds the kernel's limit of " +
                                                          std::to_string(max_threads) + " (" +
                                                          std::to_string(registers) + " registers per thread)"};
        try {
            allow_geometry(kernel.function, kernel.geometry);
        } catch (const cuda_error& failure) {
            throw candidate_failure{candidate_status::resource_limit, failure.what()};
        }
    }

    void poison(const device_buffer& buffer, const bound_arg& arg) const {
        const std::size_t size = dtype_size(arg.element);
        if (size == 2)
            KERNTUNE_CU(cuMemsetD16Async(buffer.get(), static_cast<unsigned short>(sentinel_bits(arg.element)),
                                         buffer.size() / 2, nullptr));
        else
            KERNTUNE_CU(cuMemsetD32Async(buffer.get(), sentinel_bits(arg.element), buffer.size() / 4, nullptr));
    }

    /// The validation kernels use grid-stride loops, so a grid that fills the GPU is enough.
    launch_geometry helper_geometry() const {
        launch_geometry geometry;
        geometry.grid[0] = std::int64_t{m_device.sm_count} * 8;
        geometry.block[0] = 256;
        return geometry;
    }

    void fill(const validation_kernels& kernels, const fill_policy& policy, const bound_arg& arg,
              const device_buffer& buffer, std::uint64_t seed) {
        const auto found = kernels.fill.find(arg.element);
        if (found == kernels.fill.end()) throw error("no fill kernel for " + std::string(to_string(arg.element)));
        CUdeviceptr pointer = buffer.get();
        long long n = arg.count;
        unsigned long long seed_value = seed;
        int low = policy.min_exponent, high = policy.max_exponent;
        void* bits_args[] = {&pointer, &n, &seed_value};
        void* finite_args[] = {&pointer, &n, &seed_value, &low, &high};
        const bool finite = policy.kind == fill_policy::finite && is_floating(arg.element);
        KERNTUNE_CU_RESULT(launch_kernel(found->second, helper_geometry(), nullptr, finite ? finite_args : bits_args));
    }

    // result[0]: mismatches, result[1]: the first mismatching index.
    void compare(const validation_kernels& kernels, const compare_policy& policy, const bound_arg& arg,
                 const device_buffer& actual, const device_buffer& expected, std::size_t which) {
        const auto found = kernels.compare.find(arg.element);
        if (found == kernels.compare.end()) throw error("no compare kernel for " + std::string(to_string(arg.element)));
        std::uint64_t counters[2] = {0, static_cast<std::uint64_t>(arg.count)};
        KERNTUNE_CU(cuMemcpyHtoD(m_compare.get(), counters, sizeof(counters)));
        CUdeviceptr a = actual.get(), e = expected.get(), result = m_compare.get();
        long long n = arg.count, max_ulp = policy.max_ulp;
        double atol = policy.atol, rtol = policy.rtol;
        void* bits_args[] = {&a, &e, &n, &result};
        void* ulp_args[] = {&a, &e, &n, &result, &max_ulp};
        void* tolerance_args[] = {&a, &e, &n, &result, &atol, &rtol};
        void** params = bits_args;
        if (is_floating(arg.element) && policy.kind == compare_policy::ulp) params = ulp_args;
        if (is_floating(arg.element) && policy.kind == compare_policy::tolerance) params = tolerance_args;
        KERNTUNE_CU_RESULT(launch_kernel(found->second, helper_geometry(), nullptr, params));
        KERNTUNE_CU(cuMemcpyDtoH(counters, m_compare.get(), sizeof(counters)));
        if (counters[0] == 0) return;
        const std::size_t element = dtype_size(arg.element);
        std::uint64_t got = 0, want = 0;
        KERNTUNE_CU(cuMemcpyDtoH(&got, a + counters[1] * element, element));
        KERNTUNE_CU(cuMemcpyDtoH(&want, e + counters[1] * element, element));
        throw candidate_failure{candidate_status::wrong_answer, "buffer " + std::to_string(which) + ": " + std::to_string(counters[0]) +
                                                    " of " + std::to_string(arg.count) +
                                                    " elements differ from the reference (" + to_string(policy) +
                                                    "); first at index " + std::to_string(counters[1]) + ": got " +
                                                    hex(got) + ", expected " + hex(want)};
    }

    // The inputs are filled again for every candidate (the same seed gives the same data), so
    // that one that wrote into an input cannot change what the next is given.
    void validate(const worker_message& request, const kernel_launch& candidate) {
        const kernel_launch reference = function_of(request, "ref_");
        check_resources(reference);
        const validation_kernels kernels = validation_of(request);
        const fill_policy fill_with = parse_fill_policy(request.at("fill"));
        const compare_policy compare_with = parse_compare_policy(request.at("compare"));
        std::string reference_inputs;
        for (const auto& [key, value] : request.fields)
            if (key.rfind("ref_", 0) == 0 || key.rfind("fill", 0) == 0 || key == "seed") reference_inputs += key + "=" + value + "\n";
        const bool reference_kept = reference_inputs == m_reference_inputs;
        m_reference_inputs.clear();  // until the reference below has finished
        std::uint64_t seed = static_cast<std::uint64_t>(request.integer("seed"));
        std::size_t b = 0;
        for (const bound_arg& arg : m_args) {
            if (arg.kind != arg_kind::buffer) continue;
            if (arg.access == buffer_access::out) {
                poison(m_buffers[b], arg);
                if (!reference_kept) poison(m_references[b], arg);
            } else {
                fill(kernels, fill_with, arg, m_buffers[b], seed++);
                if (arg.access == buffer_access::inout && !reference_kept)
                    KERNTUNE_CU(cuMemcpyDtoDAsync(m_references[b].get(), m_buffers[b].get(), m_buffers[b].size(), nullptr));
            }
            ++b;
        }
        const std::vector<std::uint64_t> reference_buffers = pointers(true), candidate_buffers = pointers(false);
        packed_args reference_args(m_args, reference_buffers.data(), nullptr);
        packed_args candidate_args(m_args, candidate_buffers.data(), nullptr);
        if (!reference_kept) launch(reference, reference_args);
        KERNTUNE_CU(cuCtxSynchronize());
        m_reference_inputs = std::move(reference_inputs);
        launch(candidate, candidate_args);
        KERNTUNE_CU(cuCtxSynchronize());
        b = 0;
        for (const bound_arg& arg : m_args) {
            if (arg.kind != arg_kind::buffer) continue;
            if (arg.access != buffer_access::in) compare(kernels, compare_with, arg, m_buffers[b], m_references[b], b);
            ++b;
        }
    }

    // Times the candidate: L2 flushed before every sample; stops once the spread is small, at
    // the sample cap or time cap, or early when it cannot be the winner (tune_options'
    // hopeless_factor and contender_factor say when).
    // Each sample is read before the next is queued: samples queued back to back were measured
    // noisier (the flush's write-back overlaps the next kernel), so they took longer to settle.
    sample_summary time(const worker_message& request, const kernel_launch& candidate) {
        const int min_samples = static_cast<int>(request.integer("min_samples"));
        const int max_samples = static_cast<int>(request.integer("max_samples"));
        const double target_noise = request.number("target_noise");
        const double max_seconds = request.number("max_seconds");
        const double best_us = request.number("best_us");
        const double hopeless_factor = request.number("hopeless_factor");  // tune_options says why
        const double contender_factor = request.number("contender_factor");
        const std::vector<std::uint64_t> buffers = pointers(false);
        packed_args args(m_args, buffers.data(), nullptr);
        event start, stop;  // no warm-up launch: validation has just run the candidate
        std::vector<double> samples;
        double fastest = std::numeric_limits<double>::infinity();
        const auto began = std::chrono::steady_clock::now();
        while (true) {
            KERNTUNE_CU(cuMemsetD32Async(m_flush.get(), static_cast<unsigned>(samples.size()), m_flush.size() / 4, nullptr));
            KERNTUNE_CU(cuEventRecord(start.get(), nullptr));
            launch(candidate, args);
            KERNTUNE_CU(cuEventRecord(stop.get(), nullptr));
            samples.push_back(elapsed_ms(start, stop) * 1e3);
            fastest = std::min(fastest, samples.back());
            const int count = static_cast<int>(samples.size());
            if (count == 1 && best_us > 0 && samples.back() > hopeless_factor * best_us) return summarize(samples);
            if (count < min_samples) {
                if (count > 1 && best_us > 0 && fastest > contender_factor * best_us) return summarize(samples);
                continue;
            }
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
            prepare_buffers(request.at("args"));
            validate(request, candidate);
            const sample_summary summary = time(request, candidate);
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
