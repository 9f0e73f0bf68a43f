// Measures libkerntune's own costs on the GPU (no correctness or kernel speed here):
//   kerntune-bench-runtime cold [--db PATH] [--n N] [--expr TEXT] [--idle-ms MS]
//       first call in this fresh process: of leaky_relu, or of an elementwise expression of one
//       input (its registration, which parses it and generates its template, timed apart);
//       --idle-ms: the application's other work between creating the runtime and that call
//   kerntune-bench-runtime overhead [--n N] [--calls K]  host time per call vs a bare cuLaunchKernel
//   kerntune-bench-runtime stress --db PATH [--threads T] [--seconds S]
//       an application hammering one database: T threads call leaky_relu on many sizes (cold
//       keys read and write the binary cache) and check every result; exits 1 on any error
// Prints one JSON object per run.
#include <atomic>
#include <chrono>
#include <filesystem>
#include <optional>
#include <random>
#include <thread>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "cuda/device.hpp"
#include "cuda/driver.hpp"
#include "cuda/handles.hpp"
#include "kerntune/kerntune.hpp"
#include "build/binary_cache.hpp"
#include "catalog/catalog.hpp"
#include "cuda/launch.hpp"
#include "core/sample_statistics.hpp"

namespace {

using namespace kerntune;
using clock_type = std::chrono::steady_clock;

double since_us(clock_type::time_point start) {
    return std::chrono::duration<double, std::micro>(clock_type::now() - start).count();
}

std::string option(int argc, char** argv, const char* name, const char* fallback) {
    for (int i = 2; i + 1 < argc; ++i)
        if (std::strcmp(argv[i], name) == 0) return argv[i + 1];
    return fallback;
}

int cold(int argc, char** argv) {
    const std::string db = option(argc, argv, "--db", "");
    const std::int64_t n = std::atoll(option(argc, argv, "--n", "1048576").c_str());
    const auto start = clock_type::now();
    primary_context context(0);  // what the application (or PyTorch) has done before calling us
    const double context_us = since_us(start);
    device_buffer x(static_cast<std::size_t>(n) * 4);
    const auto created = clock_type::now();
    runtime rt(db);
    const double create_us = since_us(created);
    const int idle_ms = std::atoi(option(argc, argv, "--idle-ms", "0").c_str());
    std::this_thread::sleep_for(std::chrono::milliseconds(idle_ms));
    const std::string text = option(argc, argv, "--expr", "");
    void* pointer = reinterpret_cast<void*>(x.get());
    const auto registered = clock_type::now();
    const std::optional<elementwise> expression =
        text.empty() ? std::nullopt : std::optional<elementwise>(rt.elementwise(text));
    const double register_us = since_us(registered);
    const auto first = clock_type::now();
    const void* inputs[] = {pointer};
    if (expression)
        expression->launch(KT_F32, n, inputs, 1, pointer);
    else
        rt.leaky_relu(KT_F32, pointer, pointer, n, 0.01f);
    KERNTUNE_CU(cuCtxSynchronize());
    const double first_call_us = since_us(first);
    const launch_choice choice = expression ? expression->query(KT_F32, n) : rt.query("leaky_relu", KT_F32, n);
    std::printf("{\"mode\": \"cold\", \"db\": \"%s\", \"op\": \"%s\", \"n\": %lld, \"context_us\": %.0f, "
                "\"runtime_create_us\": %.0f, \"idle_ms\": %d, \"expression_register_us\": %.0f, \"first_call_us\": %.0f, "
                "\"binary_from\": \"%s\", \"config\": \"%s\"}\n",
                db.c_str(), expression ? expression->op().c_str() : "leaky_relu", static_cast<long long>(n), context_us,
                create_us, idle_ms, register_us, first_call_us, choice.binary_source.c_str(), choice.label.c_str());
    return 0;
}

// Host time per launch of `batch` back-to-back launches; the stream is drained between
// batches (untimed) so that a full launch queue never makes the host wait for the GPU.
template <typename F> double batch_ns(F&& launch) {
    constexpr int batch = 200;
    const auto start = clock_type::now();
    for (int i = 0; i < batch; ++i) launch();
    const double ns = std::chrono::duration<double, std::nano>(clock_type::now() - start).count() / batch;
    KERNTUNE_CU(cuCtxSynchronize());
    return ns;
}

int overhead(int argc, char** argv) {
    const std::int64_t n = std::atoll(option(argc, argv, "--n", "1024").c_str());
    const int calls = std::atoi(option(argc, argv, "--calls", "100000").c_str());
    primary_context context(0);
    device_buffer x(static_cast<std::size_t>(n) * 4);
    runtime rt;
    void* pointer = reinterpret_cast<void*>(x.get());
    rt.leaky_relu(KT_F32, pointer, pointer, n, 0.01f);  // the cold call
    const launch_choice choice = rt.query("leaky_relu", KT_F32, n);

    // The same kernel and geometry, launched bare.
    const kernel_spec spec = *catalog().at("leaky_relu");
    const config chosen = parse_label(spec, choice.label);
    const device_info device = query_device(0);
    const problem shape = make_problem(spec.axes, std::vector<std::int64_t>{n});
    const kernel_binary binary = compile_binary(spec, chosen, derive(spec, dtype::f32, shape), dtype::f32, device.arch());
    const loaded_module module(binary.cubin);
    const CUfunction function = module.function(binary.lowered_name);
    const launch_geometry geometry = candidate_launch(spec, chosen, dtype::f32, shape, device.limits());
    CUdeviceptr x_arg = x.get(), y_arg = x.get();
    long long n_arg = n;
    float slope = 0.01f;
    void* args[] = {&x_arg, &y_arg, &n_arg, &slope};

    auto bare = [&] {
        KERNTUNE_CU_RESULT(launch_kernel(function, geometry, nullptr, args));
    };
    auto through_kerntune = [&] { rt.leaky_relu(KT_F32, pointer, pointer, n, 0.01f); };
    // Alternate the two in batches, so that clock and driver drift hit both alike.
    std::vector<double> bare_samples, kerntune_samples;
    for (int done = 0; done < calls; done += 200) {
        bare_samples.push_back(batch_ns(bare));
        kerntune_samples.push_back(batch_ns(through_kerntune));
    }
    const double bare_ns = summarize(bare_samples).median;
    const double kerntune_ns = summarize(kerntune_samples).median;
    std::printf("{\"mode\": \"overhead\", \"n\": %lld, \"config\": \"%s\", \"bare_cuLaunchKernel_ns\": %.0f, "
                "\"kt_leaky_relu_ns\": %.0f, \"overhead_ns\": %.0f}\n",
                static_cast<long long>(n), choice.label.c_str(), bare_ns, kerntune_ns, kerntune_ns - bare_ns);
    return 0;
}


int stress(int argc, char** argv) {
    const std::string db = option(argc, argv, "--db", "");
    const int threads = std::atoi(option(argc, argv, "--threads", "16").c_str());
    const double seconds = std::atof(option(argc, argv, "--seconds", "10").c_str());
    // Started together with the tuners that create the database: wait for it to appear.
    for (int i = 0; i < 100 && !std::filesystem::exists(db); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    primary_context context(0);
    runtime rt(db);
    std::atomic<long> calls{0}, wrong{0}, failures{0};
    std::vector<std::thread> pool;
    const auto stop = clock_type::now() + std::chrono::duration_cast<clock_type::duration>(std::chrono::duration<double>(seconds));
    for (int t = 0; t < threads; ++t)
        pool.emplace_back([&, t] {
            try {
                primary_context thread_context(0);
                std::mt19937 rng(static_cast<unsigned>(t));
                std::uniform_real_distribution<float> value(-100.0f, 100.0f);
                while (clock_type::now() < stop) {
                    const std::int64_t n = 1000 + static_cast<std::int64_t>(rng() % 64) * 997;  // 64 sizes: cold keys
                    std::vector<float> host(static_cast<std::size_t>(n)), result(host.size());
                    for (float& v : host) v = value(rng);
                    device_buffer x(host.size() * 4);
                    KERNTUNE_CU(cuMemcpyHtoD(x.get(), host.data(), host.size() * 4));
                    rt.leaky_relu(KT_F32, reinterpret_cast<void*>(x.get()), reinterpret_cast<void*>(x.get()), n, 0.01f);
                    KERNTUNE_CU(cuMemcpyDtoH(result.data(), x.get(), host.size() * 4));
                    for (std::size_t i = 0; i < host.size(); ++i) {
                        const float want = host[i] > 0 ? host[i] : host[i] * 0.01f;
                        if (std::memcmp(&want, &result[i], 4) != 0) {
                            ++wrong;
                            break;
                        }
                    }
                    ++calls;
                }
            } catch (const std::exception& failure) {
                std::fprintf(stderr, "thread %d: %s\n", t, failure.what());
                ++failures;
            }
        });
    for (std::thread& thread : pool) thread.join();
    std::printf("{\"mode\": \"stress\", \"threads\": %d, \"calls\": %ld, \"wrong\": %ld, \"failures\": %ld}\n", threads,
                calls.load(), wrong.load(), failures.load());
    return wrong == 0 && failures == 0 ? 0 : 1;
}

} // namespace

int main(int argc, char** argv) {
    try {
        if (argc >= 2 && std::strcmp(argv[1], "cold") == 0) return cold(argc, argv);
        if (argc >= 2 && std::strcmp(argv[1], "overhead") == 0) return overhead(argc, argv);
        if (argc >= 2 && std::strcmp(argv[1], "stress") == 0) return stress(argc, argv);
        std::fprintf(stderr, "usage: kerntune-bench-runtime cold [--db PATH] [--n N] | overhead [--n N] [--calls K] | stress --db PATH "
                     "[--threads T] [--seconds S]\n");
        return 2;
    } catch (const std::exception& failure) {
        std::fprintf(stderr, "kerntune-bench-runtime: %s\n", failure.what());
        return 1;
    }
}
