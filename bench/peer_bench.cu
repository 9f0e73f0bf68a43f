// peer_bench: kerntune's LeakyReLU against its peers, in one process on one GPU, with one method.
//
// This is the one .cu file outside templates/: it needs nvcc, because its peers are compiled
// ahead of time (cub::DeviceTransform from CUB, and the naive seed kernel). It is an application
// built next to kerntune (bench/CMakeLists.txt, only when nvcc is present), never part of the
// library: it calls kerntune through the public C++ API like any user, and links the CUDA
// runtime and driver itself.
//
// Contenders, for each dtype (f32, f16, bf16), case and n:
//   kerntune  kerntune::runtime::leaky_relu with the tuned config (the DB of --db), on our stream
//   cub       cub::DeviceTransform::Transform with the same LeakyReLU functor
//   memcpy    cuMemcpyDtoDAsync of the same bytes: the copy limit (the Async form of cuMemcpyDtoD,
//             so that it runs on the stream the events are recorded on)
//   naive     the one-element-per-thread kernel of shared/seeds/ (fmaxf formula; NOT bit-exact
//             for NaN, -0 and +inf: a speed peer only, its output is not required to match)
//
// Method, identical for every contender: buffers allocated once per (dtype, n); input filled on
// the device with random bit patterns (every sign, NaN payloads, infinities, subnormals); before
// every sample L2 is flushed (cudaMemsetAsync of 2x the L2 size) and a short spin kernel gives the
// host time to queue the launch, then start event, launch, stop event. 3 warm-up launches; at
// least 10 samples, until IQR/median < 1 %, 200 samples or 2 s of samples per contender; the
// contenders are interleaved sample by sample so that clock and thermal drift hit all alike.
// Reported: median, noise (IQR/median), GB/s = (bytes read + written) / median, % of the
// theoretical peak (memory clock x bus width x 2) and % of the copy at the same n.
//
// Every contender's output (but the naive one's) is checked once per (dtype, case, n), bit for
// bit, against kerntune's; kerntune's own output against an independent reference kernel; any
// mismatch is printed loudly and makes the exit status 1.
//
//   peer_bench [--dtypes f32,f16,bf16] [--max-n N|2^K] [--db PATH] [--json PATH] [--commit SHA]
//              [--min-samples 10] [--max-samples 200] [--max-seconds 2]
#include <cub/device/device_transform.cuh>
#include <cub/version.cuh>
#include <cuda.h>
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <nvrtc.h>

#include <algorithm>
#include <chrono>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <functional>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/sample_statistics.hpp"
#include "core/text.hpp"
#include "kerntune/kerntune.hpp"

// The template itself, for its per-element function (its kernels are never instantiated here).
#include "../templates/leaky_relu.cu"

namespace {

// ---- error checks: every CUDA call, never compiled out -----------------------------------------

[[noreturn]] void fail(const std::string& what, const char* call, const char* file, int line) {
    throw std::runtime_error(std::string(call) + " failed at " + file + ":" + std::to_string(line) + ": " + what);
}

void check_cuda(cudaError_t result, const char* call, const char* file, int line) {
    if (result != cudaSuccess)
        fail(std::string(cudaGetErrorName(result)) + ": " + cudaGetErrorString(result), call, file, line);
}

void check_cu(CUresult result, const char* call, const char* file, int line) {
    if (result == CUDA_SUCCESS) return;
    const char* name = nullptr;
    const char* text = nullptr;
    if (cuGetErrorName(result, &name) != CUDA_SUCCESS) name = "unknown CUresult";
    if (cuGetErrorString(result, &text) != CUDA_SUCCESS) text = "";
    fail(std::string(name) + " (" + std::to_string(static_cast<int>(result)) + "): " + text, call, file, line);
}

#define CUDA_CHECK(call) check_cuda((call), #call, __FILE__, __LINE__)
#define CU_CHECK(call) check_cu((call), #call, __FILE__, __LINE__)
// After every <<<...>>>: launch errors (bad geometry, no kernel image) surface here.
#define LAUNCH_CHECK(what) check_cuda(cudaGetLastError(), what, __FILE__, __LINE__)

// ---- RAII --------------------------------------------------------------------------------------

class device_memory {
public:
    explicit device_memory(std::size_t bytes) : m_bytes(bytes) { CUDA_CHECK(cudaMalloc(&m_pointer, bytes)); }
    ~device_memory() {
        if (m_pointer != nullptr && cudaFree(m_pointer) != cudaSuccess)
            std::fprintf(stderr, "peer_bench: cudaFree failed (ignored in a destructor)\n");
    }
    device_memory(const device_memory&) = delete;
    device_memory& operator=(const device_memory&) = delete;
    template <typename T> T* as() const { return static_cast<T*>(m_pointer); }
    std::size_t bytes() const { return m_bytes; }

private:
    void* m_pointer = nullptr;
    std::size_t m_bytes = 0;
};

class event {
public:
    event() { CUDA_CHECK(cudaEventCreate(&m_event)); }
    ~event() {
        if (m_event != nullptr) (void)cudaEventDestroy(m_event);
    }
    event(const event&) = delete;
    event& operator=(const event&) = delete;
    cudaEvent_t get() const { return m_event; }

private:
    cudaEvent_t m_event = nullptr;
};

class stream_handle {
public:
    // Non-blocking: nothing on the legacy default stream orders against it, so a contender that
    // launched on another stream than the one it is given would time as (nearly) zero and race
    // with the output check instead of passing silently.
    stream_handle() { CUDA_CHECK(cudaStreamCreateWithFlags(&m_stream, cudaStreamNonBlocking)); }
    ~stream_handle() {
        if (m_stream != nullptr) (void)cudaStreamDestroy(m_stream);
    }
    stream_handle(const stream_handle&) = delete;
    stream_handle& operator=(const stream_handle&) = delete;
    cudaStream_t get() const { return m_stream; }

private:
    cudaStream_t m_stream = nullptr;
};

// ---- element types ----------------------------------------------------------------------------

template <typename T> struct dtype_traits;
template <> struct dtype_traits<float> {
    using bits = std::uint32_t;
    static constexpr kt_dtype kt = KT_F32;
    static constexpr const char* name = "f32";
};
template <> struct dtype_traits<__half> {
    using bits = std::uint16_t;
    static constexpr kt_dtype kt = KT_F16;
    static constexpr const char* name = "f16";
};
template <> struct dtype_traits<__nv_bfloat16> {
    using bits = std::uint16_t;
    static constexpr kt_dtype kt = KT_BF16;
    static constexpr const char* name = "bf16";
};

/// The LeakyReLU functor given to CUB: the very per-element function of kerntune's template
/// (PyTorch's semantics: computed in float, rounded once), so only the data movement differs.
template <typename T> struct leaky_relu_op {
    float slope;
    __device__ __forceinline__ T operator()(T x) const { return kt::from_float<T>(kt::leaky_relu_op{slope}(kt::to_float(x))); }
};

// ---- kernels ----------------------------------------------------------------------------------

/// The naive peer: shared/seeds/' one-element-per-thread kernel, `out[idx] = max_val + slope *
/// (x - max_val)` with fmaxf, as written there (__restrict__, __ldg, 256 threads per block),
/// with two changes: a 64-bit index (the seed's `int` overflows past 2^31 elements) and, for
/// f16/bf16, a load and store of T around the same float arithmetic. In the in-place case in ==
/// out, which __restrict__ formally forbids; each element is read and then written by the same
/// thread only, so it is still correct. Not bit-exact: +inf becomes NaN (inf - inf), and -0 and
/// negative results that underflow to -0 come out as +0.
template <typename T>
__global__ void naive_leaky_relu(const T* __restrict__ in, T* __restrict__ out, float slope, long long size) {
    const long long idx = static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (idx < size) {
        const float x = kt::to_float(__ldg(in + idx));
        const float max_val = fmaxf(x, 0.f);
        out[idx] = kt::from_float<T>(max_val + slope * (x - max_val));
    }
}
constexpr int naive_block = 256;  // the seed's block size

/// The reference kerntune is checked against: nothing clever, one element at a time.
template <typename T> __global__ void reference_leaky_relu(const T* x, T* y, long long n, float slope) {
    const leaky_relu_op<T> op{slope};
    for (long long i = static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
         i += static_cast<long long>(gridDim.x) * blockDim.x)
        y[i] = op(x[i]);
}

__device__ __forceinline__ unsigned long long splitmix64(unsigned long long z) {
    z += 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/// Random bit patterns, a pure function of (seed, i): refilling gives the same input again.
template <typename Bits> __global__ void fill_random_bits(Bits* p, long long n, unsigned long long seed) {
    for (long long i = static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
         i += static_cast<long long>(gridDim.x) * blockDim.x)
        p[i] = static_cast<Bits>(splitmix64(seed ^ (static_cast<unsigned long long>(i) * 0xd1342543de82ef95ull)));
}

/// counters[0] += elements whose bits differ; counters[1] = min(counters[1], first such index).
template <typename Bits>
__global__ void count_mismatches(const Bits* a, const Bits* b, long long n, unsigned long long* counters) {
    unsigned long long count = 0, first = ~0ull;
    for (long long i = static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
         i += static_cast<long long>(gridDim.x) * blockDim.x) {
        if (a[i] != b[i]) {
            if (count == 0) first = static_cast<unsigned long long>(i);
            ++count;
        }
    }
    if (count != 0) {  // one pair of atomics per thread, not per element: a fully wrong output stays fast
        atomicAdd(&counters[0], count);
        atomicMin(&counters[1], first);
    }
}

/// Keeps the GPU busy for about `cycles` clocks after the flush, so that the host has queued the
/// start event, the launch and the stop event before the GPU reaches them: the samples then time
/// the GPU's work, not the host's launch path (PyTorch's Python dispatch in bench_torch.py would
/// otherwise show up at small n). 50000 cycles is 25-50 us at 1-2 GHz, more than any launch path
/// here takes to queue.
__global__ void spin(long long cycles) {
    const long long start = clock64();
    while (clock64() - start < cycles) {
    }
}
constexpr long long spin_cycles = 50000;

// ---- statistics and JSON: kerntune's own (src/core), so both programs mean the same ----------

using kerntune::json_string;
using kerntune::summarize;
using summary = kerntune::sample_summary;

// ---- options, device facts, records -------------------------------------------------------------

struct options {
    std::vector<std::string> dtypes{"f32", "f16", "bf16"};
    std::int64_t max_n = std::numeric_limits<std::int64_t>::max();
    std::string db, json, commit = "unknown";
    int min_samples = 10, max_samples = 200;
    double max_seconds = 2.0, target_noise = 0.01;
    float slope = 0.01f;
    int warmup = 3;
    std::string command_line;
};

struct device_facts {
    int ordinal = 0;
    std::string name;
    int cc_major = 0, cc_minor = 0, sm_count = 0, memory_clock_khz = 0, bus_width_bits = 0, l2_bytes = 0;
    int driver_api_version = 0, runtime_version = 0, nvrtc_major = 0, nvrtc_minor = 0;
    std::string driver_version;
    double theoretical_gbps() const {
        return memory_clock_khz > 0 && bus_width_bits > 0 ? 2.0 * memory_clock_khz * 1e3 * (bus_width_bits / 8.0) / 1e9
                                                          : std::nan("");
    }
};

/// One (dtype, case, n, contender) measurement: the JSON record format shared with
/// tools/bench_torch.py and read by bench/plot.py.
struct record {
    std::string dtype, case_name, label, contender;
    std::int64_t n = 0;
    double bytes = 0;
    summary time_us;
    double gbps = 0, pct_theoretical = 0, pct_copy = std::nan("");
    std::string check;  // "ok", "MISMATCH", "copy ok", "not required"
    unsigned long long mismatches = 0;
    std::string config, match, binary_source;  // kerntune only
};

std::string json_number(double value) {
    if (!std::isfinite(value)) return "null";
    char text[64];
    std::snprintf(text, sizeof text, "%.9g", value);
    return text;
}

/// "2^20", "2^31+5", "4096x393216": how the sweep names its sizes.
struct sweep_point {
    std::int64_t n;
    std::string label;
};

std::vector<sweep_point> sweep() {
    std::vector<sweep_point> points;
    for (int k = 10; k <= 30; k += 2) points.push_back({std::int64_t{1} << k, "2^" + std::to_string(k)});
    points.push_back({std::int64_t{4096} * 393216, "4096x393216"});  // the seed problem's shape
    points.push_back({(std::int64_t{1} << 31) + 5, "2^31+5"});       // past int32 indexing, odd tail
    return points;
}
constexpr std::int64_t special_cases_n = std::int64_t{1} << 24;  // misaligned and in-place run here

std::int64_t parse_count(const std::string& text) {
    // "N" or "2^K" (optionally "2^K+M")
    try {
        std::size_t used = 0;
        if (text.rfind("2^", 0) == 0) {
            const int k = std::stoi(text.substr(2), &used);
            if (k < 0 || k > 62) throw std::invalid_argument("exponent");
            std::int64_t value = std::int64_t{1} << k;
            const std::string rest = text.substr(2 + used);
            if (!rest.empty()) {
                if (rest[0] != '+') throw std::invalid_argument("suffix");
                value += std::stoll(rest.substr(1), &used);
                if (used != rest.size() - 1) throw std::invalid_argument("suffix");
            }
            return value;
        }
        const long long value = std::stoll(text, &used);
        if (used != text.size() || value < 1) throw std::invalid_argument("count");
        return value;
    } catch (const std::exception&) {
        throw std::runtime_error("not a count: '" + text + "' (write N or 2^K)");
    }
}

std::vector<std::string> split(const std::string& text, char separator) {
    std::vector<std::string> parts;
    std::stringstream stream(text);
    for (std::string part; std::getline(stream, part, separator);)
        if (!part.empty()) parts.push_back(part);
    return parts;
}

const char* const usage =
    "usage: peer_bench [--dtypes f32,f16,bf16] [--max-n N|2^K] [--db PATH] [--json PATH] [--commit SHA]\n"
    "                  [--min-samples 10] [--max-samples 200] [--max-seconds 2]\n"
    "Times kerntune's leaky_relu against cub::DeviceTransform, a device copy and the naive seed kernel\n"
    "over n = 2^10..2^30 (x4), 4096x393216 and 2^31+5, plus misaligned and in-place cases at 2^24.\n"
    "Markdown table on stdout, progress on stderr, records in --json. Exit 1 on any error or mismatch.\n";

options parse_options(int argc, char** argv) {
    options o;
    for (int i = 0; i < argc; ++i) o.command_line += (i ? " " : "") + std::string(argv[i]);
    for (int i = 1; i < argc; ++i) {
        const std::string name = argv[i];
        if (name == "--help" || name == "-h") {
            std::fputs(usage, stdout);
            std::exit(0);
        }
        if (i + 1 >= argc) throw std::runtime_error("unknown option or missing value: " + name + "\n" + usage);
        const std::string value = argv[++i];
        if (name == "--dtypes") {
            o.dtypes = split(value, ',');
            for (const std::string& d : o.dtypes)
                if (d != "f32" && d != "f16" && d != "bf16") throw std::runtime_error("unknown dtype '" + d + "'");
        } else if (name == "--max-n") {
            o.max_n = parse_count(value);
        } else if (name == "--db") {
            o.db = value;
        } else if (name == "--json") {
            o.json = value;
        } else if (name == "--commit") {
            o.commit = value;
        } else if (name == "--min-samples") {
            o.min_samples = std::max(3, static_cast<int>(parse_count(value)));
        } else if (name == "--max-samples") {
            o.max_samples = static_cast<int>(parse_count(value));
        } else if (name == "--max-seconds") {
            o.max_seconds = std::stod(value);
        } else {
            throw std::runtime_error("unknown option " + name + "\n" + usage);
        }
    }
    o.max_samples = std::max(o.max_samples, o.min_samples);
    return o;
}

std::string nvidia_driver_version() {
    // "NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  580.159.04  Release Build ..."
    // -> "580.159.04": the first word that starts with a digit.
    std::ifstream file("/proc/driver/nvidia/version");
    std::string line;
    if (!std::getline(file, line)) return "unknown";
    std::stringstream words(line);
    for (std::string word; words >> word;)
        if (!word.empty() && word[0] >= '0' && word[0] <= '9') return word;
    return line;
}

device_facts query_device(int ordinal) {
    device_facts d;
    d.ordinal = ordinal;
    cudaDeviceProp properties{};
    CUDA_CHECK(cudaGetDeviceProperties(&properties, ordinal));
    d.name = properties.name;
    CUDA_CHECK(cudaDeviceGetAttribute(&d.cc_major, cudaDevAttrComputeCapabilityMajor, ordinal));
    CUDA_CHECK(cudaDeviceGetAttribute(&d.cc_minor, cudaDevAttrComputeCapabilityMinor, ordinal));
    CUDA_CHECK(cudaDeviceGetAttribute(&d.sm_count, cudaDevAttrMultiProcessorCount, ordinal));
    CUDA_CHECK(cudaDeviceGetAttribute(&d.memory_clock_khz, cudaDevAttrMemoryClockRate, ordinal));
    CUDA_CHECK(cudaDeviceGetAttribute(&d.bus_width_bits, cudaDevAttrGlobalMemoryBusWidth, ordinal));
    CUDA_CHECK(cudaDeviceGetAttribute(&d.l2_bytes, cudaDevAttrL2CacheSize, ordinal));
    CUDA_CHECK(cudaDriverGetVersion(&d.driver_api_version));
    CUDA_CHECK(cudaRuntimeGetVersion(&d.runtime_version));
    if (nvrtcVersion(&d.nvrtc_major, &d.nvrtc_minor) != NVRTC_SUCCESS) throw std::runtime_error("nvrtcVersion failed");
    d.driver_version = nvidia_driver_version();
    if (d.l2_bytes <= 0) throw std::runtime_error("the device reports no L2 size: cannot size the L2 flush");
    if (d.memory_clock_khz <= 0 || d.bus_width_bits <= 0)  // then every % of theoretical is null, not a failure
        std::fprintf(stderr, "peer_bench: WARNING: the device reports memory clock %d kHz, bus width %d bits: no "
                             "theoretical peak\n", d.memory_clock_khz, d.bus_width_bits);
    return d;
}

const char* match_name(kt_match match) {
    return match == KT_MATCH_EXACT ? "exact" : match == KT_MATCH_NEAREST ? "nearest" : "default";
}

// ---- the benchmark ----------------------------------------------------------------------------

struct context {
    const options& opts;
    const device_facts& device;
    kerntune::runtime& rt;
    cudaStream_t stream;
    const device_memory& flush;
    const device_memory& counters;  // two unsigned long long for count_mismatches
    std::vector<record>& records;
    std::vector<std::string>& problems;  // every mismatch and error, repeated at the end
};

/// A grid for the helper kernels (fill, reference, compare): grid-stride, a few waves.
unsigned helper_grid(const device_facts& device, std::int64_t n) {
    const std::int64_t blocks = (n + 255) / 256;
    return static_cast<unsigned>(std::max<std::int64_t>(1, std::min<std::int64_t>(blocks, std::int64_t{device.sm_count} * 16)));
}

struct contender {
    std::string name;
    std::function<void()> launch;  // one launch on the benchmark's stream
    summary result;
    std::vector<double> samples_us;
    double total_ms = 0;
    bool done = false;
};

/// Times every contender by the method in the header comment, interleaved sample by sample.
void time_contenders(const context& ctx, std::vector<contender>& contenders) {
    for (int i = 0; i < ctx.opts.warmup; ++i)
        for (contender& c : contenders) c.launch();
    CUDA_CHECK(cudaStreamSynchronize(ctx.stream));

    std::vector<event> starts(contenders.size()), stops(contenders.size());
    for (int round = 0;; ++round) {
        std::vector<std::size_t> active;
        for (std::size_t k = 0; k < contenders.size(); ++k) {
            const std::size_t c = (k + static_cast<std::size_t>(round)) % contenders.size();  // rotate the order
            if (!contenders[c].done) active.push_back(c);
        }
        if (active.empty()) break;
        for (const std::size_t c : active) {
            // A different byte each time, so that no layer can skip the write as redundant.
            CUDA_CHECK(cudaMemsetAsync(ctx.flush.as<void>(), round & 0xff, ctx.flush.bytes(), ctx.stream));
            spin<<<1, 1, 0, ctx.stream>>>(spin_cycles);
            LAUNCH_CHECK("spin<<<>>>");
            CUDA_CHECK(cudaEventRecord(starts[c].get(), ctx.stream));
            contenders[c].launch();
            CUDA_CHECK(cudaEventRecord(stops[c].get(), ctx.stream));
        }
        CUDA_CHECK(cudaStreamSynchronize(ctx.stream));
        for (const std::size_t c : active) {
            float ms = 0;
            CUDA_CHECK(cudaEventElapsedTime(&ms, starts[c].get(), stops[c].get()));
            contender& one = contenders[c];
            one.samples_us.push_back(1e3 * ms);
            one.total_ms += ms;
            one.result = summarize(one.samples_us);
            const int count = one.result.count;
            if (count >= ctx.opts.min_samples &&
                (one.result.noise < ctx.opts.target_noise || count >= ctx.opts.max_samples ||
                 one.total_ms >= 1e3 * ctx.opts.max_seconds))
                one.done = true;
        }
    }
}

template <typename T> class dtype_bench {
public:
    using bits = typename dtype_traits<T>::bits;

    dtype_bench(const context& ctx, const sweep_point& point)
        : m_ctx(ctx), m_point(point), m_n(point.n),
          // n + 1 elements: the misaligned case uses x + 1 and y + 1.
          m_x(static_cast<std::size_t>(m_n + 1) * sizeof(T)), m_y(static_cast<std::size_t>(m_n + 1) * sizeof(T)),
          m_expect(static_cast<std::size_t>(m_n) * sizeof(T)) {}

    void run_case(const std::string& case_name) {
        T* const x = m_x.as<T>() + (case_name == "misaligned" ? 1 : 0);
        T* const y = case_name == "inplace" ? x : m_y.as<T>() + (case_name == "misaligned" ? 1 : 0);
        // The copy reads x and writes as many bytes elsewhere (a copy onto itself measures nothing).
        T* const copy_to = case_name == "inplace" ? m_y.as<T>() : y;
        const std::int64_t n = m_n;
        const float slope = m_ctx.opts.slope;
        const cudaStream_t stream = m_ctx.stream;
        kerntune::runtime& rt = m_ctx.rt;

        std::vector<contender> contenders(4);
        contenders[0].name = "kerntune";
        contenders[0].launch = [&rt, x, y, n, slope, stream] {
            rt.leaky_relu(dtype_traits<T>::kt, x, y, n, slope, stream);
        };
        contenders[1].name = "cub";
        contenders[1].launch = [x, y, n, slope, stream] {
            // CUB picks its offset type from num_items' type: int where n fits (its fastest
            // path), int64_t beyond (choose_signed_offset; checked to accept 2^31 + 5).
            if (n <= std::numeric_limits<int>::max())
                CUDA_CHECK(cub::DeviceTransform::Transform(x, y, static_cast<int>(n), leaky_relu_op<T>{slope}, stream));
            else
                CUDA_CHECK(cub::DeviceTransform::Transform(x, y, static_cast<std::int64_t>(n), leaky_relu_op<T>{slope},
                                                           stream));
        };
        contenders[2].name = "memcpy";
        contenders[2].launch = [x, copy_to, n, stream] {
            CU_CHECK(cuMemcpyDtoDAsync(reinterpret_cast<CUdeviceptr>(copy_to), reinterpret_cast<CUdeviceptr>(x),
                                       static_cast<std::size_t>(n) * sizeof(T), stream));
        };
        contenders[3].name = "naive";
        contenders[3].launch = [x, y, n, slope, stream] {
            const long long blocks = (n + naive_block - 1) / naive_block;
            if (blocks > 2147483647LL) throw std::runtime_error("naive: n too large for a 1-D grid");
            naive_leaky_relu<T><<<static_cast<unsigned>(blocks), naive_block, 0, stream>>>(x, y, slope, n);
            LAUNCH_CHECK("naive_leaky_relu<<<>>>");
        };

        // ---- correctness, once per (dtype, case, n) ----
        // kerntune's output becomes the expectation; kerntune itself is checked against the
        // independent reference kernel, the others against kerntune, the copy against its input.
        prepare(y);
        contenders[0].launch();
        CUDA_CHECK(cudaMemcpyAsync(m_expect.as<T>(), y, static_cast<std::size_t>(n) * sizeof(T), cudaMemcpyDeviceToDevice,
                                   stream));
        prepare(y);
        reference_leaky_relu<T><<<helper_grid(m_ctx.device, n), 256, 0, stream>>>(x, y, n, slope);
        LAUNCH_CHECK("reference_leaky_relu<<<>>>");
        const unsigned long long kerntune_wrong = compare("kerntune vs reference", case_name, y, m_expect.as<T>());
        prepare(y);
        contenders[1].launch();
        const unsigned long long cub_wrong = compare("cub vs kerntune", case_name, y, m_expect.as<T>());
        prepare(copy_to);
        contenders[2].launch();
        const unsigned long long copy_wrong = compare("memcpy vs its input", case_name, copy_to, x);
        prepare(y);
        contenders[3].launch();
        const unsigned long long naive_differ = compare(nullptr, case_name, y, m_expect.as<T>());

        // ---- timing ----
        fill(m_x.as<T>(), n + 1);
        time_contenders(m_ctx, contenders);

        const kerntune::launch_choice choice = rt.query("leaky_relu", dtype_traits<T>::kt, n);
        const double bytes = 2.0 * static_cast<double>(n) * sizeof(T);  // read + write, for every contender
        const double copy_us = contenders[2].result.median;
        const unsigned long long wrong[] = {kerntune_wrong, cub_wrong, copy_wrong, naive_differ};
        std::fprintf(stderr, "[%-4s %-10s n=%-11s] ", dtype_traits<T>::name, case_name.c_str(), m_point.label.c_str());
        for (std::size_t c = 0; c < contenders.size(); ++c) {
            record r;
            r.dtype = dtype_traits<T>::name;
            r.case_name = case_name;
            r.label = m_point.label;
            r.contender = contenders[c].name;
            r.n = n;
            r.bytes = bytes;
            r.time_us = contenders[c].result;
            r.gbps = bytes / (r.time_us.median * 1e-6) / 1e9;
            r.pct_theoretical = 100.0 * r.gbps / m_ctx.device.theoretical_gbps();
            r.pct_copy = 100.0 * copy_us / r.time_us.median;
            r.mismatches = wrong[c];
            r.check = c == 3 ? "not required" : wrong[c] != 0 ? "MISMATCH" : c == 2 ? "copy ok" : "ok";
            if (c == 0) {
                r.config = choice.label;
                r.match = match_name(choice.match);
                r.binary_source = choice.binary_source;
            }
            // Above the theoretical peak with more bytes than L2 holds, the events did not cover
            // the work: the contender ran on another stream, or did not run at all.
            if (r.pct_theoretical > 105.0 && bytes > 2.0 * m_ctx.device.l2_bytes) {
                const std::string problem = std::string("IMPOSSIBLE BANDWIDTH: ") + r.contender + " " + r.dtype + " " +
                                            case_name + " n=" + m_point.label + ": " + std::to_string(r.gbps) +
                                            " GB/s; the timing does not cover its work (wrong stream?)";
                std::fprintf(stderr, "\n!!! %s\n", problem.c_str());
                m_ctx.problems.push_back(problem);
            }
            std::fprintf(stderr, "%s %.1f us %.0f GB/s (%.1f%%, %d)%s", r.contender.c_str(), r.time_us.median, r.gbps,
                         100.0 * r.time_us.noise, r.time_us.count, c + 1 < contenders.size() ? " | " : "\n");
            m_ctx.records.push_back(r);
        }
        if (choice.match != KT_MATCH_EXACT)
            std::fprintf(stderr, "     NOTE: kerntune used a %s config: nothing tuned for this size in the database on this "
                                 "GPU with this NVRTC and template\n", match_name(choice.match));
        std::fprintf(stderr, "     kerntune config %s (%s match, binary from %s)%s\n", choice.label.c_str(),
                     match_name(choice.match), choice.binary_source.c_str(),
                     naive_differ != 0 ? (", naive differs on " + std::to_string(naive_differ) +
                                          " elements (its fmaxf formula turns +inf into NaN and some -0 into +0: expected)").c_str()
                                       : "");
    }

private:
    const context& m_ctx;
    sweep_point m_point;
    std::int64_t m_n;
    device_memory m_x, m_y, m_expect;

    void fill(T* p, std::int64_t count) {
        fill_random_bits<bits><<<helper_grid(m_ctx.device, count), 256, 0, m_ctx.stream>>>(
            reinterpret_cast<bits*>(p), count, 0x6b657274756e65ull /* "kertune" */ + sizeof(T));
        LAUNCH_CHECK("fill_random_bits<<<>>>");
    }

    /// Poisons the output (0xff bytes: a NaN that no LeakyReLU output can be), then fills the
    /// whole input buffer, in that order so that an in-place output ends up holding the input.
    void prepare(T* output) {
        CUDA_CHECK(cudaMemsetAsync(output, 0xff, static_cast<std::size_t>(m_n) * sizeof(T), m_ctx.stream));
        fill(m_x.as<T>(), m_n + 1);
    }

    /// Elements of got that differ bit for bit from want (the first n). what == nullptr: only
    /// count (the naive peer); else a mismatch is reported loudly.
    unsigned long long compare(const char* what, const std::string& case_name, const T* got, const T* want) {
        const unsigned long long initial[2] = {0ull, ~0ull};
        unsigned long long result[2] = {0, 0};
        CUDA_CHECK(cudaMemcpyAsync(m_ctx.counters.as<void>(), initial, sizeof initial, cudaMemcpyHostToDevice, m_ctx.stream));
        count_mismatches<bits><<<helper_grid(m_ctx.device, m_n), 256, 0, m_ctx.stream>>>(
            reinterpret_cast<const bits*>(got), reinterpret_cast<const bits*>(want), m_n,
            m_ctx.counters.as<unsigned long long>());
        LAUNCH_CHECK("count_mismatches<<<>>>");
        CUDA_CHECK(cudaMemcpyAsync(result, m_ctx.counters.as<void>(), sizeof result, cudaMemcpyDeviceToHost, m_ctx.stream));
        CUDA_CHECK(cudaStreamSynchronize(m_ctx.stream));
        if (result[0] != 0 && what != nullptr) {
            bits got_bits = 0, want_bits = 0;
            const std::size_t at = static_cast<std::size_t>(result[1]);
            CUDA_CHECK(cudaMemcpy(&got_bits, reinterpret_cast<const bits*>(got) + at, sizeof(bits), cudaMemcpyDeviceToHost));
            CUDA_CHECK(cudaMemcpy(&want_bits, reinterpret_cast<const bits*>(want) + at, sizeof(bits), cudaMemcpyDeviceToHost));
            char text[512];
            std::snprintf(text, sizeof text,
                          "MISMATCH: %s, %s %s n=%s: %llu of %lld elements differ; first at %llu: got 0x%0*llx, "
                          "want 0x%0*llx",
                          what, dtype_traits<T>::name, case_name.c_str(), m_point.label.c_str(), result[0],
                          static_cast<long long>(m_n), result[1], static_cast<int>(2 * sizeof(bits)),
                          static_cast<unsigned long long>(got_bits), static_cast<int>(2 * sizeof(bits)),
                          static_cast<unsigned long long>(want_bits));
            std::fprintf(stderr, "\n!!!!!!!! %s\n\n", text);
            m_ctx.problems.push_back(text);
        }
        return result[0];
    }
};

template <typename T> void bench_point(const context& ctx, const sweep_point& point) {
    dtype_bench<T> bench(ctx, point);
    bench.run_case("contiguous");
    if (point.n == special_cases_n) {
        bench.run_case("misaligned");
        bench.run_case("inplace");
    }
}

void write_json(const options& o, const device_facts& d, const std::vector<record>& records,
                const std::vector<std::string>& problems, const std::string& started, double seconds) {
    // Written beside, then renamed over: a run killed mid-write leaves the last whole file.
    const std::string temporary = o.json + ".tmp";
    std::ofstream out(temporary);
    if (!out) throw std::runtime_error("cannot write " + temporary);
    out << "{\n  \"metadata\": {\n";
    out << "    \"program\": \"peer_bench\",\n";
    out << "    \"device\": " << json_string(d.name) << ",\n";
    out << "    \"compute_capability\": \"" << d.cc_major << "." << d.cc_minor << "\",\n";
    out << "    \"sm_count\": " << d.sm_count << ",\n";
    out << "    \"l2_bytes\": " << d.l2_bytes << ",\n";
    out << "    \"memory_clock_khz\": " << d.memory_clock_khz << ",\n";
    out << "    \"bus_width_bits\": " << d.bus_width_bits << ",\n";
    out << "    \"theoretical_gbps\": " << json_number(d.theoretical_gbps()) << ",\n";
    out << "    \"driver_version\": " << json_string(d.driver_version) << ",\n";
    out << "    \"cuda_driver_api_version\": " << d.driver_api_version << ",\n";
    out << "    \"cuda_runtime_version\": " << d.runtime_version << ",\n";
    out << "    \"nvrtc_version\": \"" << d.nvrtc_major << "." << d.nvrtc_minor << "\",\n";
    out << "    \"cub_version\": " << CUB_VERSION << ",\n";
    out << "    \"git_commit\": " << json_string(o.commit) << ",\n";
    out << "    \"command_line\": " << json_string(o.command_line) << ",\n";
    out << "    \"db\": " << json_string(o.db.empty() ? "(runtime default: $KERNTUNE_DB, else ~/.local/share)" : o.db) << ",\n";
    out << "    \"started_utc\": " << json_string(started) << ",\n";
    out << "    \"wall_seconds\": " << json_number(seconds) << ",\n";
    out << "    \"method\": {\"timer\": \"cuda events\", \"l2_flush_bytes\": " << 2LL * d.l2_bytes
        << ", \"spin_cycles\": " << spin_cycles << ", \"warmup\": " << o.warmup << ", \"min_samples\": " << o.min_samples
        << ", \"max_samples\": " << o.max_samples << ", \"target_noise\": " << json_number(o.target_noise)
        << ", \"max_seconds_per_contender\": " << json_number(o.max_seconds)
        << ", \"interleaved\": true, \"statistic\": \"median\", \"noise\": \"IQR/median\", \"bytes\": \"read + write\""
        << ", \"negative_slope\": " << json_number(o.slope) << "},\n";
    out << "    \"problems\": [";
    for (std::size_t i = 0; i < problems.size(); ++i) out << (i ? ", " : "") << json_string(problems[i]);
    out << "]\n  },\n  \"records\": [\n";
    for (std::size_t i = 0; i < records.size(); ++i) {
        const record& r = records[i];
        out << "    {\"program\": \"peer_bench\", \"dtype\": " << json_string(r.dtype) << ", \"case\": " << json_string(r.case_name)
            << ", \"n\": " << r.n << ", \"label\": " << json_string(r.label) << ", \"contender\": " << json_string(r.contender)
            << ", \"median_us\": " << json_number(r.time_us.median) << ", \"noise\": " << json_number(r.time_us.noise)
            << ", \"samples\": " << r.time_us.count << ", \"bytes\": " << static_cast<long long>(r.bytes)
            << ", \"gbps\": " << json_number(r.gbps) << ", \"pct_theoretical\": " << json_number(r.pct_theoretical)
            << ", \"pct_copy\": " << json_number(r.pct_copy) << ", \"check\": " << json_string(r.check)
            << ", \"mismatches\": " << r.mismatches;
        if (!r.config.empty())
            out << ", \"config\": " << json_string(r.config) << ", \"match\": " << json_string(r.match)
                << ", \"binary_source\": " << json_string(r.binary_source);
        out << "}" << (i + 1 < records.size() ? "," : "") << "\n";
    }
    out << "  ]\n}\n";
    out.close();
    if (!out) throw std::runtime_error("error writing " + temporary);
    if (std::rename(temporary.c_str(), o.json.c_str()) != 0)
        throw std::runtime_error("cannot rename " + temporary + " to " + o.json + ": " + std::strerror(errno));
}

void print_table(const device_facts& d, const std::vector<record>& records) {
    std::printf("\n%s (cc %d.%d, %d SMs), theoretical %.0f GB/s; times are medians, L2 flushed before each sample\n\n",
                d.name.c_str(), d.cc_major, d.cc_minor, d.sm_count, d.theoretical_gbps());
    std::printf("| dtype | case | n | kerntune config (match) | kerntune us | noise | GB/s | %% theor | %% copy | "
                "kt/CUB | kt/memcpy | kt/naive | check |\n");
    std::printf("|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|\n");
    for (std::size_t i = 0; i < records.size(); ++i) {
        const record& kt = records[i];
        if (kt.contender != "kerntune") continue;
        auto peer = [&](const char* name) -> const record* {
            for (const record& r : records)
                if (r.contender == name && r.dtype == kt.dtype && r.case_name == kt.case_name && r.n == kt.n) return &r;
            return nullptr;
        };
        auto ratio = [&](const char* name) {
            const record* r = peer(name);
            return r != nullptr && r->time_us.median > 0 ? kt.time_us.median / r->time_us.median : std::nan("");
        };
        std::string check = "ok";
        for (const record& r : records)
            if (r.dtype == kt.dtype && r.case_name == kt.case_name && r.n == kt.n && r.check == "MISMATCH")
                check = "**MISMATCH: " + r.contender + "**";
        std::printf("| %s | %s | %s | %s (%s) | %.1f | %.1f%% | %.0f | %.1f | %.1f | %.3f | %.3f | %.3f | %s |\n",
                    kt.dtype.c_str(), kt.case_name.c_str(), kt.label.c_str(), kt.config.c_str(), kt.match.c_str(),
                    kt.time_us.median, 100.0 * kt.time_us.noise, kt.gbps, kt.pct_theoretical, kt.pct_copy, ratio("cub"),
                    ratio("memcpy"), ratio("naive"), check.c_str());
    }
    std::printf("\nkt/X: kerntune's median time over X's (< 1: kerntune is faster). %% copy: the copy's time over "
                "kerntune's.\n");
}

std::string utc_now() {
    const std::time_t now = std::time(nullptr);
    std::tm utc{};
    gmtime_r(&now, &utc);
    char text[32];
    std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
    return text;
}

} // namespace

int main(int argc, char** argv) {
    std::vector<record> records;
    std::vector<std::string> problems;
    options opts;
    device_facts device;
    const std::string started = utc_now();
    const auto start = std::chrono::steady_clock::now();
    const auto elapsed = [&start] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(); };
    bool have_device = false;
    try {
        opts = parse_options(argc, argv);
        CUDA_CHECK(cudaSetDevice(0));
        CUDA_CHECK(cudaFree(nullptr));  // creates the primary context and makes it current: kerntune uses it
        device = query_device(0);
        have_device = true;
        std::fprintf(stderr, "peer_bench on %s (cc %d.%d, %d SMs, L2 %d MiB, theoretical %.0f GB/s), driver %s, NVRTC %d.%d\n",
                     device.name.c_str(), device.cc_major, device.cc_minor, device.sm_count, device.l2_bytes >> 20,
                     device.theoretical_gbps(), device.driver_version.c_str(), device.nvrtc_major, device.nvrtc_minor);

        stream_handle stream;
        // Twice L2, so that nothing a contender reads can still be cached from before (as the tuner does).
        const device_memory flush(2 * static_cast<std::size_t>(device.l2_bytes));
        const device_memory counters(2 * sizeof(unsigned long long));
        kerntune::runtime rt(opts.db);
        const context ctx{opts, device, rt, stream.get(), flush, counters, records, problems};
        if (!opts.json.empty()) write_json(opts, device, records, problems, started, elapsed());  // fail fast

        for (const std::string& dtype : opts.dtypes) {
            for (const sweep_point& point : sweep()) {
                if (point.n > opts.max_n) continue;
                try {
                    if (dtype == "f32") bench_point<float>(ctx, point);
                    if (dtype == "f16") bench_point<__half>(ctx, point);
                    if (dtype == "bf16") bench_point<__nv_bfloat16>(ctx, point);
                    // Rewritten after every point: a run killed by a time limit keeps what it measured.
                    if (!opts.json.empty()) write_json(opts, device, records, problems, started, elapsed());
                } catch (const std::exception& failure) {
                    const std::string problem = "ERROR: " + dtype + " n=" + point.label + ": " + failure.what();
                    std::fprintf(stderr, "\n!!!!!!!! %s\n\n", problem.c_str());
                    problems.push_back(problem);
                    // An out-of-memory is not sticky and the sweep goes on; a fault poisons the
                    // context for the life of the process, so stop and keep what was measured.
                    (void)cudaGetLastError();
                    if (cudaStreamSynchronize(stream.get()) != cudaSuccess || cudaDeviceSynchronize() != cudaSuccess) {
                        problems.push_back("the CUDA context is unusable after that error: sweep stopped");
                        throw std::runtime_error(problems.back());
                    }
                }
            }
        }
    } catch (const std::exception& failure) {
        if (problems.empty() || problems.back() != failure.what()) problems.push_back(std::string("FATAL: ") + failure.what());
        std::fprintf(stderr, "peer_bench: %s\n", failure.what());
    }
    const double seconds = elapsed();
    if (have_device) print_table(device, records);
    if (!opts.json.empty() && have_device) {
        try {
            write_json(opts, device, records, problems, started, seconds);
            std::fprintf(stderr, "peer_bench: wrote %s (%zu records, %.0f s)\n", opts.json.c_str(), records.size(), seconds);
        } catch (const std::exception& failure) {
            problems.push_back(failure.what());
            std::fprintf(stderr, "peer_bench: %s\n", failure.what());
        }
    }
    if (!problems.empty()) {
        std::fprintf(stderr, "\npeer_bench: %zu PROBLEM(S):\n", problems.size());
        for (const std::string& problem : problems) std::fprintf(stderr, "  %s\n", problem.c_str());
        std::printf("\n**peer_bench: %zu problem(s), see stderr: %s**\n", problems.size(), problems.front().c_str());
        return 1;
    }
    std::fprintf(stderr, "peer_bench: every output check passed\n");
    return 0;
}
