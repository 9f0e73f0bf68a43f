#include "build/candidate_compiler.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <exception>
#include <mutex>
#include <thread>

#include <spdlog/spdlog.h>

#include "core/error.hpp"
#include "core/sha256.hpp"

namespace kerntune {
namespace {

/// "batch 3 of 16 (fill<3>, fill<19>)": which batch a message is about.
std::string batch_name(std::size_t index, std::size_t count, const std::vector<std::size_t>& members,
                       const std::vector<std::string>& name_expressions) {
    std::string text = "batch " + std::to_string(index + 1) + " of " + std::to_string(count) + " (";
    for (std::size_t i = 0; i < members.size(); ++i) text += (i ? ", " : "") + name_expressions[members[i]];
    return text + ")";
}

struct batch_result {
    std::vector<compiled_program> programs;
    std::vector<std::pair<std::size_t, compiled_kernel>> kernels;  // (expression index, where)
};

batch_result compile_batch(const compile_request& base, const std::vector<std::size_t>& members,
                           const std::vector<std::string>& name_expressions, const compile_function& compiler,
                           const std::string& name) {
    batch_result result;
    compile_request request = base;
    for (std::size_t member : members) request.name_expressions.push_back(name_expressions[member]);
    compiled_program program = compiler(request);
    // The reply comes from another process (compile_in_worker) or a test's stand-in: its shape
    // is checked before any name is read by position.
    if (program.ok) {
        if (const std::string problem = program_shape_problem(program, members.size()); !problem.empty())
            throw error("compiling " + name + " gave " + problem);
        for (std::size_t i = 0; i < members.size(); ++i)
            result.kernels.push_back({members[i], {true, 0, program.lowered_names[i], {}}});
        result.programs.push_back(std::move(program));
        return result;
    }
    if (members.size() == 1) {
        result.kernels.push_back({members[0], {false, -1, {}, program.options + "\n" + program.log}});
        return result;
    }
    for (std::size_t member : members) {
        batch_result single = compile_batch(base, {member}, name_expressions, compiler,
                                            name_expressions[member] + " (alone, from " + name + ")");
        for (auto& [index, kernel] : single.kernels) {
            if (kernel.ok) kernel.program = static_cast<int>(result.programs.size());
            result.kernels.emplace_back(index, std::move(kernel));
        }
        for (compiled_program& p : single.programs) result.programs.push_back(std::move(p));
    }
    return result;
}

} // namespace

std::string program_shape_problem(const compiled_program& program, std::size_t expressions) {
    if (program.lowered_names.size() != expressions)
        return std::to_string(program.lowered_names.size()) + " lowered names for " + std::to_string(expressions) +
               " instantiations";
    for (std::size_t i = 0; i < expressions; ++i)
        if (program.lowered_names[i].empty()) return "an empty lowered name for instantiation " + std::to_string(i + 1);
    if (program.cubin.empty()) return "no cubin";
    return "";
}

compiled_set compile_kernels(const program_source& source, const std::vector<std::string>& name_expressions, const std::string& arch,
                             const program_cache* cache, const compile_function& compiler) {
    const auto start = std::chrono::steady_clock::now();
    // A fixed number of batches, not one per core: the cache key of a batch must be the same on
    // every machine, so that programs compiled on one are found on another. 16 is the core count
    // of the GPU machines, where tuning time matters; with fewer cores batches queue.
    constexpr std::size_t batch_count = 16;
    const std::size_t batches_used = std::max<std::size_t>(1, std::min(batch_count, name_expressions.size()));
    // Round-robin, so that every batch gets a similar mix of small and large instantiations.
    std::vector<std::vector<std::size_t>> batches(batches_used);
    for (std::size_t i = 0; i < name_expressions.size(); ++i) batches[i % batches_used].push_back(i);

    compile_request base;
    base.source = source;
    base.arch = arch;
    std::vector<batch_result> results(batches_used);
    std::vector<std::string> keys(batches_used);
    std::vector<bool> cached(batches_used, false);
    if (cache != nullptr) {
        const std::string version = nvrtc_version();
        for (std::size_t t = 0; t < batches_used; ++t) {
            std::string identity = arch + "\n" + version + "\n" + source.text;
            for (const source_header& header : source.headers) identity += "\n--\n" + header.name + "\n" + header.text;
            identity += "\n--";
            for (std::size_t member : batches[t]) identity += "\n" + name_expressions[member];
            keys[t] = sha256_hex(identity);
            std::optional<compiled_program> program = cache->find(keys[t]);
            // A stored program of another shape (a tampered or foreign row) is a miss: the batch
            // is compiled again, and the fresh program replaces the row.
            if (program) {
                if (const std::string problem = program_shape_problem(*program, batches[t].size()); !problem.empty()) {
                    spdlog::warn("kerntune: ignoring the cached program of {}: it holds {}; compiling it again",
                                 batch_name(t, batches_used, batches[t], name_expressions), problem);
                    program.reset();
                }
            }
            if (program) {
                for (std::size_t i = 0; i < batches[t].size(); ++i)
                    results[t].kernels.push_back({batches[t][i], {true, 0, program->lowered_names[i], {}}});
                results[t].programs.push_back(std::move(*program));
                cached[t] = true;
            }
        }
    }
    std::vector<std::size_t> to_compile;
    for (std::size_t t = 0; t < batches_used; ++t)
        if (!cached[t]) to_compile.push_back(t);
    std::vector<std::exception_ptr> failures(batches_used);
    std::atomic<std::size_t> next{0};
    std::vector<std::thread> pool;
    const std::size_t threads =
        std::min<std::size_t>(std::max(1u, std::thread::hardware_concurrency()), to_compile.size());
    for (std::size_t worker = 0; worker < threads; ++worker) {
        pool.emplace_back([&] {
            for (std::size_t i = next++; i < to_compile.size(); i = next++) {
                const std::size_t t = to_compile[i];
                try {
                    results[t] = compile_batch(base, batches[t], name_expressions, compiler,
                                               batch_name(t, batches_used, batches[t], name_expressions));
                } catch (...) {
                    failures[t] = std::current_exception();
                }
            }
        });
    }
    for (std::thread& thread : pool) thread.join();
    for (const std::exception_ptr& failure : failures)
        if (failure) std::rethrow_exception(failure);
    // Only batches that compiled whole are kept: a failing one is split and compiled again.
    for (std::size_t t = 0; t < batches_used; ++t)
        if (cache != nullptr && !cached[t] && results[t].programs.size() == 1 &&
            std::all_of(results[t].kernels.begin(), results[t].kernels.end(), [](const auto& k) { return k.second.ok; }))
            cache->store(keys[t], results[t].programs.front());

    compiled_set set;
    set.kernels.resize(name_expressions.size());
    for (batch_result& batch : results) {
        const int offset = static_cast<int>(set.programs.size());
        for (auto& [index, kernel] : batch.kernels) {
            if (kernel.ok) kernel.program += offset;
            set.kernels[index] = std::move(kernel);
        }
        for (compiled_program& program : batch.programs) set.programs.push_back(std::move(program));
    }
    set.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return set;
}

} // namespace kerntune
