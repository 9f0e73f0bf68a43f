#include "tune/tuner.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>

#include <spdlog/spdlog.h>

#include "core/config.hpp"
#include "core/error.hpp"
#include "core/sha256.hpp"
#include "core/text.hpp"
#include "cuda/device.hpp"
#include "cuda/nvrtc.hpp"
#include "build/binary_cache.hpp"
#include "build/candidate_compiler.hpp"
#include "build/stored_code_trust.hpp"
#include "catalog/template_folder.hpp"
#include "core/kernel_arguments.hpp"
#include "tune/device_lanes.hpp"
#include "tune/lane_pool.hpp"
#include "tune/worker_client.hpp"

namespace kerntune {
namespace {

/// Which (config, derived values) pairs of a space to compile, the derived values as an index
/// into the space's; empty: all of them.
using kernel_filter = std::function<bool(const config& candidate, std::size_t derived)>;

/// The whole space of one dtype, compiled with each of some derived values: every config, the
/// kernel each one runs with each (where the filter kept the pair), and the reference (the last
/// expression).
struct compiled_space {
    static constexpr std::size_t not_compiled = static_cast<std::size_t>(-1);
    std::vector<config> configs;
    std::vector<derived_values> derived;  // the derived values compiled, each for every config
    std::vector<std::size_t> kernels;     // by config, then derived values: an index into expressions, or not_compiled
    std::vector<std::string> expressions;
    compiled_set compiled;
    std::size_t reference() const { return expressions.size() - 1; }
    /// The kernel config c runs with the derived values at `d` (an index into `derived`).
    std::size_t kernel_of(std::size_t c, std::size_t d) const {
        const std::size_t kernel = kernels[c * derived.size() + d];
        if (kernel == not_compiled)
            throw error("internal: config " + std::to_string(c) + " was not compiled with derived values " +
                        std::to_string(d) + " (it is a candidate at none of the tune's problems)");
        return kernel;
    }
    /// Where `values` are in `derived`; they were compiled for every problem of the tune.
    std::size_t derived_index(const derived_values& values) const {
        return static_cast<std::size_t>(std::find(derived.begin(), derived.end(), values) - derived.begin());
    }
};

compiled_space build_space(const kernel_spec& spec, dtype type, std::vector<derived_values> derived,
                           const std::string& arch, const program_cache* cache, const kernel_filter& wanted = {}) {
    compiled_space space;
    space.configs = enumerate_space(spec, type);
    space.derived = std::move(derived);
    std::map<std::string, std::size_t> index_of;
    for (std::size_t c = 0; c < space.configs.size(); ++c)
        for (std::size_t d = 0; d < space.derived.size(); ++d) {
            if (wanted && !wanted(space.configs[c], d)) {
                space.kernels.push_back(compiled_space::not_compiled);
                continue;
            }
            const std::string expression = name_expression(spec, space.configs[c], space.derived[d], type);
            const auto [it, added] = index_of.emplace(expression, space.expressions.size());
            if (added) space.expressions.push_back(expression);
            space.kernels.push_back(it->second);
        }
    space.expressions.push_back(reference_name_expression(spec, type));
    space.compiled = compile_kernels(source_of(spec), space.expressions, arch, cache, compile_in_worker);
    return space;
}

std::string bits_type(dtype type) {
    const std::size_t size = dtype_size(type);
    return size == 2 ? "unsigned short" : size == 4 ? "unsigned int" : "unsigned long long";
}

// The validation kernels (templates/support/validation.cu) for one element type under the
// spec's policy; integer buffers are always filled with random bits and compared bit for bit.
std::string fill_expression(dtype type, const fill_policy& policy) {
    const bool finite = policy.kind == fill_policy::finite && is_floating(type);
    return std::string("kt_validation::") + (finite ? "fill_finite<" : "fill_random<") + std::string(cuda_type_name(type)) + ">";
}

std::string compare_expression(dtype type, const compare_policy& policy) {
    if (!is_floating(type) || policy.kind == compare_policy::bits) return "kt_validation::compare_bits<" + bits_type(type) + ">";
    return std::string("kt_validation::") + (policy.kind == compare_policy::ulp ? "compare_ulp<" : "compare_tolerance<") +
           std::string(cuda_type_name(type)) + ">";
}

/// The element types of the spec's buffers when instantiated for `type`, without repeats.
std::vector<dtype> buffer_types(const kernel_spec& spec, dtype type) {
    std::vector<dtype> types;
    for (const kernel_arg& argument : spec.arguments)
        if (argument.kind == arg_kind::buffer &&
            std::find(types.begin(), types.end(), argument.element_type(type)) == types.end())
            types.push_back(argument.element_type(type));
    return types;
}

/// A compiled kernel as the worker knows it: a module id and a mangled name.
struct worker_kernel {
    std::int64_t module = -1;
    std::string function;
};

void add_launch(worker_message& request, const std::string& prefix, const worker_kernel& kernel,
                const launch_geometry& geometry) {
    request.fields[prefix + "module"] = std::to_string(kernel.module);
    request.fields[prefix + "function"] = kernel.function;
    request.fields[prefix + "geometry"] = to_string(geometry);
}

device_record record_of(const device_info& info, double copy_gbps) {
    device_record record;
    record.identity = info.identity();
    record.name = info.name;
    record.cc_major = info.cc_major;
    record.cc_minor = info.cc_minor;
    record.sm_count = info.sm_count;
    record.memory_clock_khz = info.memory_clock_khz;
    record.bus_width_bits = info.bus_width_bits;
    record.l2_bytes = info.l2_bytes;
    record.theoretical_gbps = info.theoretical_gbps();
    record.copy_gbps = copy_gbps;
    record.driver_version = info.driver_version_text();
    return record;
}

} // namespace

device_record to_device_record(const worker_message& hello, int ordinal, double copy_gbps) {
    return record_of(decode_hello(hello, ordinal), copy_gbps);
}

std::vector<compile_outcome> compile_space(const kernel_spec& spec, const std::vector<dtype>& dtypes,
                                           const std::string& arch) {
    std::vector<compile_outcome> outcomes;
    for (dtype type : dtypes) {
        const compiled_space space = build_space(spec, type, every_derived(spec), arch, nullptr);
        compile_outcome outcome{type};
        outcome.candidates = static_cast<int>(space.configs.size());
        outcome.kernels = static_cast<int>(space.expressions.size()) - 1;
        outcome.programs = static_cast<int>(space.compiled.programs.size());
        outcome.seconds = space.compiled.seconds;
        for (std::size_t i = 0; i < space.expressions.size(); ++i) {
            if (space.compiled.kernels[i].ok) continue;
            ++outcome.failed;
            outcome.failures.push_back({space.expressions[i], space.compiled.kernels[i].log});
        }
        outcomes.push_back(std::move(outcome));
    }
    return outcomes;
}

namespace {

/// Compiled candidate programs kept in the tuning database, digest-checked when read back, and
/// read only from a database no one else can write (stored_code_allowed): a program read back
/// becomes candidates and the stored winner's cubin. Safe to call from several threads (the
/// validation kernels compile beside the candidates).
program_cache database_program_cache(database& db) {
    auto serial = std::make_shared<std::mutex>();  // one connection: one transaction at a time
    program_cache cache;
    cache.find = [&db, serial](const std::string& key) -> std::optional<compiled_program> {
        if (!stored_code_allowed(db.path(), "compiling every candidate again (the programs cache is ignored)",
                                 [](const std::string& message) { spdlog::warn("kerntune: {}", message); }))
            return std::nullopt;
        std::optional<cached_program> stored;
        {
            std::lock_guard<std::mutex> lock(*serial);
            stored = db.find_program(key);
        }
        if (!stored || sha256_hex(stored->cubin) != stored->digest) return std::nullopt;
        compiled_program program;
        program.ok = true;
        program.cubin = stored->cubin;
        for (std::string_view name : split(stored->lowered_names, '\n')) program.lowered_names.emplace_back(name);
        return program;
    };
    cache.store = [&db, serial](const std::string& key, const compiled_program& program) {
        std::lock_guard<std::mutex> lock(*serial);
        std::string names;
        for (const std::string& name : program.lowered_names) names += (names.empty() ? "" : "\n") + name;
        db.store_program({key, names, sha256_hex(program.cubin), program.cubin});
    };
    return cache;
}

/// What one arch compiles, once for every lane of that arch: each dtype's space and the
/// validation kernels.
struct arch_build {
    std::string arch;
    std::map<dtype, compiled_space> spaces;
    std::map<dtype, std::vector<compile_failure>> failures;  // the candidates of each space that did not compile
    std::vector<dtype> validation_types;  // validation.kernels[2i], [2i+1]: fill and compare for type i
    compiled_set validation;
};

/// What every candidate a lane measures shares: its GPU, its worker and its connection to the
/// database, the arch's compiled kernels and their module ids in this worker.
struct tune_session {
    const kernel_spec& spec;
    const tune_options& options;
    database& db;
    worker_client& worker;
    const arch_build& build;
    device_record device;
    device_limits limits;
    std::string nvrtc;
    std::vector<std::int64_t> validation_modules;
    std::map<dtype, std::vector<std::int64_t>> modules;  // per dtype: per program of its space
    std::mt19937_64 seeds{std::random_device{}()};
    std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
    /// Whether a worker that died without answering fails the lane, so that the key goes to
    /// another lane of the group; none or false: it is the candidate's runtime_fault.
    std::function<bool()> may_hand_over;

    /// The fill or compare kernel for buffers of `type`, as the worker names it: "MODULE:NAME".
    std::string validation_kernel(dtype type, bool compare) const {
        std::size_t i = 0;
        while (build.validation_types[i] != type) ++i;
        const compiled_kernel& kernel = build.validation.kernels[2 * i + (compare ? 1 : 0)];
        return std::to_string(validation_modules.at(static_cast<std::size_t>(kernel.program))) + ":" + kernel.lowered_name;
    }
};

void check_request(const kernel_spec& spec, const tune_options& options, std::int64_t memory) {
    for (dtype type : options.dtypes)
        if (std::find(spec.dtypes.begin(), spec.dtypes.end(), type) == spec.dtypes.end())
            throw error("template " + spec.name + " does not support dtype " + std::string(to_string(type)));
    for (const problem& shape : options.problems)
        for (dtype type : options.dtypes) {
            // The worker holds every buffer once, and a second copy of each out and inout buffer
            // for the reference. Exact: bind_arguments caps each buffer at max_buffer_bytes.
            std::int64_t bytes = 0;
            for (const bound_arg& arg : bind_arguments(spec, type, shape))
                if (arg.kind == arg_kind::buffer) bytes += arg.bytes() * (arg.access == buffer_access::in ? 1 : 2);
            if (static_cast<double>(bytes) > 0.9 * static_cast<double>(memory))
                throw error("shape " + shape.to_string() + " in " + std::string(to_string(type)) + " needs " +
                            std::to_string(bytes) + " bytes of buffers: more than this GPU's memory");
        }
}

/// The validation kernels of every buffer type `dtypes` use, for build.arch.
void compile_validation(const kernel_spec& spec, const std::vector<dtype>& dtypes, arch_build& build,
                        const program_cache* programs) {
    std::vector<std::string> expressions;
    for (dtype tuned : dtypes)
        for (dtype type : buffer_types(spec, tuned)) {
            if (std::find(build.validation_types.begin(), build.validation_types.end(), type) != build.validation_types.end())
                continue;
            build.validation_types.push_back(type);
            expressions.push_back(fill_expression(type, spec.validation.fill));
            expressions.push_back(compare_expression(type, spec.validation.compare));
        }
    const std::optional<std::string> validation_source = template_folder::support().read("validation.cu");
    if (!validation_source) throw error("this kerntune was built without templates/support/validation.cu");
    build.validation =
        compile_kernels({"validation.cu", *validation_source, {}}, expressions, build.arch, programs, compile_in_worker);
    for (std::size_t i = 0; i < expressions.size(); ++i)
        if (!build.validation.kernels[i].ok)
            throw error("cannot compile " + expressions[i] + ": " + build.validation.kernels[i].log);
}

/// Compiles for `arch` the space of each of `dtypes` with the derived values of each problem of
/// `work` in that dtype, and the validation kernels while the spaces compile. Of each config it
/// compiles only the kernels of the problems where it is a candidate on one of the arch's GPUs
/// (`limits`: theirs): a softmax tune at one shape compiled about twice the kernels it measured.
arch_build build_arch(const kernel_spec& spec, const std::vector<dtype>& dtypes, const std::vector<work_item>& work,
                      const std::string& arch, const std::vector<device_limits>& limits, const program_cache* programs) {
    arch_build build;
    build.arch = arch;
    // It writes build.validation_types and build.validation only, which the loop leaves alone.
    std::future<void> validation =
        std::async(std::launch::async, [&] { compile_validation(spec, dtypes, build, programs); });
    try {
        for (dtype type : dtypes) {
            std::vector<derived_values> derived;
            std::vector<std::vector<problem>> problems_of;  // by derived values: the problems that run them
            for (const work_item& item : work)
                if (item.type == type) {
                    derived_values values = derive(spec, type, item.shape);
                    const auto at = std::find(derived.begin(), derived.end(), values);
                    if (at == derived.end()) {
                        derived.push_back(std::move(values));
                        problems_of.push_back({item.shape});
                    } else {
                        problems_of[static_cast<std::size_t>(at - derived.begin())].push_back(item.shape);
                    }
                }
            const kernel_filter wanted = [&](const config& candidate, std::size_t d) {
                for (const problem& shape : problems_of[d])
                    for (const device_limits& gpu : limits)
                        if (candidate_at(spec, candidate, type, shape, gpu)) return true;
                return false;
            };
            compiled_space space = build_space(spec, type, std::move(derived), arch, programs, wanted);
            spdlog::debug("{} {} space: {} kernels in {} programs ready in {:.3f} s", arch, to_string(type),
                          space.expressions.size(), space.compiled.programs.size(), space.compiled.seconds);
            const compiled_kernel& reference = space.compiled.kernels[space.reference()];
            if (!reference.ok) throw error("cannot compile the reference " + space.expressions.back() + ": " + reference.log);
            std::vector<compile_failure>& failures = build.failures[type];
            for (std::size_t i = 0; i < space.reference(); ++i)
                if (!space.compiled.kernels[i].ok) failures.push_back({space.expressions[i], space.compiled.kernels[i].log});
            build.spaces.emplace(type, std::move(space));
        }
    } catch (...) {
        validation.wait();  // it writes into `build`, which the exception destroys
        throw;
    }
    validation.get();
    return build;
}

/// A lane's session: the arch's programs registered with the lane's worker.
std::unique_ptr<tune_session> open_session(const kernel_spec& spec, const tune_options& options, database& db,
                                           worker_client& worker, const arch_build& build, const device_info& gpu,
                                           const device_record& device) {
    auto session = std::unique_ptr<tune_session>(new tune_session{spec, options, db, worker, build, device, gpu.limits()});
    session->nvrtc = nvrtc_version();
    for (const compiled_program& program : build.validation.programs)
        session->validation_modules.push_back(worker.add_module(program.cubin));
    for (const auto& [type, space] : build.spaces)
        for (const compiled_program& program : space.compiled.programs)
            session->modules[type].push_back(worker.add_module(program.cubin));
    return session;
}

/// `gbps` as a percentage of `peak`; 0 for a peak that is not known (0: a device that reported
/// no memory clock, a copy that could not be measured), where a division would give inf or NaN,
/// which the database refuses to store.
double percent_of(double gbps, double peak) { return peak > 0 ? 100.0 * gbps / peak : 0; }

winner best_of(tune_session& session, const tuning_key& key, const measurement& fastest, int ok, int failed,
               double seconds) {
    winner best;
    best.key = key;
    best.config = fastest.config;
    best.median_us = fastest.median_us;
    best.gbps = fastest.gbps;
    best.pct_theoretical = percent_of(fastest.gbps, session.device.theoretical_gbps);
    best.pct_copy = percent_of(fastest.gbps, session.device.copy_gbps);
    best.candidates_ok = ok;
    best.candidates_failed = failed;
    best.tune_seconds = seconds;
    best.method = fastest.method;
    best.driver_version = fastest.driver_version;
    return best;
}

/// Validates and times every candidate of its dtype's space not yet measured for `shape`, storing each
/// result at once, then stores the winner among all measurements of the key.
/// `measure_again`: labels measured again whatever the resume policy keeps (what a failed lane
/// stored of this key in this tune); `stored` gets the label of every row this call stores.
tune_outcome tune_problem(tune_session& session, dtype type, const problem& shape,
                          const std::set<std::string>& measure_again, std::set<std::string>& stored,
                          const progress_callback& progress) {
    const auto started = std::chrono::steady_clock::now();
    const kernel_spec& spec = session.spec;
    const compiled_space& space = session.build.spaces.at(type);
    const std::vector<std::int64_t>& modules = session.modules.at(type);
    const tuning_key key{spec.name, spec.source_hash, std::string(to_string(type)), shape.key(),
                         session.device.identity, session.nvrtc};
    const std::size_t derived_at = space.derived_index(derive(spec, type, shape));  // what this problem runs
    auto kernel_at = [&](std::size_t index) {
        const compiled_kernel& kernel = space.compiled.kernels[index];
        return worker_kernel{modules.at(static_cast<std::size_t>(kernel.program)), kernel.lowered_name};
    };
    tune_outcome outcome{type, shape};
    outcome.compile_seconds = space.compiled.seconds;
    // The configs that are candidates at this problem (candidate_at: the spec's problem
    // constraints leave out, e.g., more threads for a row than it has elements, which took
    // seconds a launch on a million short rows), the default config first, so that a tune cut
    // short by the budget still has the config the runtime would otherwise use measured.
    std::vector<std::size_t> order;
    for (std::size_t c = 0; c < space.configs.size(); ++c)
        if (candidate_at(spec, space.configs[c], type, shape, session.limits)) order.push_back(c);
    if (order.empty())
        spdlog::warn("kerntune: no config of {} is a candidate at {} in {} (its problem_constraints)", spec.name,
                     shape.to_string(), to_string(type));
    const config default_one = default_config(spec, type);
    const auto first =
        std::find_if(order.begin(), order.end(), [&](std::size_t c) { return space.configs[c] == default_one; });
    if (first != order.end()) std::rotate(order.begin(), first, first + 1);
    // Only rows whose label is a candidate here count: a tampered or foreign row, or one of a
    // config that is no candidate at this problem (whose kernel this tune did not compile), is
    // neither resumed from nor ever a winner.
    std::set<std::string> labels;
    for (std::size_t c : order) labels.insert(label(spec, space.configs[c]));
    auto stored_rows = [&] {
        std::vector<measurement> rows = session.db.measurements(key);
        rows.erase(std::remove_if(rows.begin(), rows.end(), [&](const measurement& m) { return !labels.count(m.config); }),
                   rows.end());
        return rows;
    };
    // What is kept counts as measured and is skipped; the rest is measured again.
    const resume_policy policy = session.options.resume;
    auto kept = [policy, &measure_again](const measurement& earlier) {
        if (measure_again.count(earlier.config)) return false;
        switch (policy) {
        case resume_policy::keep_all: return true;
        case resume_policy::retry_failed: return !may_be_environmental(earlier.status);
        case resume_policy::remeasure_all: return false;
        }
        return true;
    };
    std::set<std::string> measured;
    double best_us = 0;
    for (const measurement& earlier : stored_rows()) {
        if (!kept(earlier)) continue;
        measured.insert(earlier.config);
        if (earlier.status == candidate_status::ok && (best_us == 0 || earlier.median_us < best_us))
            best_us = earlier.median_us;
    }
    outcome.resumed = static_cast<int>(measured.size());

    const worker_kernel reference = kernel_at(space.reference());
    worker_message base;
    add_launch(base, "ref_", reference, reference_launch(spec, type, shape, session.limits));
    for (dtype element : buffer_types(spec, type)) {
        base.fields["fill." + std::string(to_string(element))] = session.validation_kernel(element, false);
        base.fields["compare." + std::string(to_string(element))] = session.validation_kernel(element, true);
    }
    base.fields["args"] = to_string(bind_arguments(spec, type, shape));
    base.fields["fill"] = to_string(spec.validation.fill);
    base.fields["compare"] = to_string(spec.validation.compare);
    base.fields["min_samples"] = std::to_string(session.options.min_samples);
    base.fields["max_samples"] = std::to_string(session.options.max_samples);
    base.fields["hopeless_factor"] = std::to_string(session.options.hopeless_factor);
    base.fields["contender_factor"] = std::to_string(session.options.contender_factor);
    // One seed for the problem's candidates: each is checked on the same random inputs, against
    // one run of the reference, which the worker keeps for them.
    base.fields["seed"] = std::to_string(session.seeds() >> 1);
    base.fields["target_noise"] = std::to_string(session.options.target_noise);
    base.fields["max_seconds"] = std::to_string(session.options.max_seconds_per_candidate);

    const double bytes = static_cast<double>(bytes_moved(spec, type, shape));
    // Configs that differ only in launch parameters this problem does not read (e.g. SPLIT past
    // a row per SM) launch the same kernel with the same geometry: the first one's measurement
    // is stored for each of the others, saying so, instead of running the same launch again.
    std::map<std::string, measurement> by_launch;
    for (std::size_t step = 0; step < order.size(); ++step) {
        const std::size_t c = order[step];
        measurement result;
        result.key = key;
        result.config = label(spec, space.configs[c]);
        result.method = timing_method;
        result.driver_version = session.device.driver_version;
        if (measured.count(result.config)) continue;
        if (std::chrono::steady_clock::now() >= session.deadline && outcome.resumed + outcome.ok + outcome.failed > 0)
            break;
        const compiled_kernel& kernel = space.compiled.kernels[space.kernel_of(c, derived_at)];
        // Its launch at this problem, or why the launch rule gives none (stored below).
        std::optional<launch_geometry> geometry;
        std::string no_launch;
        try {
            geometry = candidate_launch(spec, space.configs[c], type, shape, session.limits);
        } catch (const error& failure) {
            no_launch = failure.what();
        }
        const std::string launch_key =
            geometry ? std::to_string(space.kernel_of(c, derived_at)) + " " + to_string(*geometry) : std::string();
        const auto same = launch_key.empty() ? by_launch.end() : by_launch.find(launch_key);
        if (same != by_launch.end()) {
            const std::string config = result.config;
            result = same->second;
            result.config = config;
            result.message = "the same kernel and launch as " + same->second.config + " at this problem, whose measurement this is" +
                             (same->second.message.empty() ? "" : ": " + same->second.message);
        } else if (!kernel.ok) {
            result.status = candidate_status::compile_failed;
            result.message = kernel.log;
        } else if (!geometry) {  // e.g. a grid past CUDA's limits
            result.status = candidate_status::launch_failed;
            result.message = no_launch;
        } else {
            try {
                worker_message request = base;
                request.fields["best_us"] = std::to_string(best_us);
                const worker_kernel candidate = kernel_at(space.kernel_of(c, derived_at));
                add_launch(request, "", candidate, *geometry);
                std::vector<std::int64_t> used = session.validation_modules;
                used.push_back(reference.module);
                used.push_back(candidate.module);
                const evaluation reply = session.worker.evaluate(request, used, session.options.candidate_timeout_ms);
                // Nothing is stored of it: the lane that takes the key over measures it.
                if (session.worker.worker_lost() && session.may_hand_over && session.may_hand_over())
                    throw lane_lost(reply.message + " during " + std::string(to_string(type)) + " " + shape.to_string() +
                                    " " + result.config);
                result.status = reply.status;
                result.message = reply.message;
                if (result.status == candidate_status::ok) {
                    result.median_us = reply.median_us;
                    result.noise = reply.noise;
                    result.samples = reply.samples;
                    result.gbps = bytes / (result.median_us * 1e-6) / 1e9;
                    if (best_us == 0 || result.median_us < best_us) best_us = result.median_us;
                }
            } catch (const lane_lost&) {
                throw;
            } catch (const worker_unavailable&) {  // the GPU, not the candidate
                throw;
            } catch (const error& failure) {  // the request could not be made or answered
                result.status = candidate_status::launch_failed;
                result.message = failure.what();
            }
        }
        if (same == by_launch.end() && !launch_key.empty()) by_launch.emplace(launch_key, result);
        spdlog::debug("{} {} {}: {} {:.2f} us {}", to_string(type), shape.to_string(), result.config,
                      to_string(result.status), result.median_us, result.message);
        (result.status == candidate_status::ok ? outcome.ok : outcome.failed) += 1;
        session.db.record_measurement(result);
        stored.insert(result.config);
        if (progress) progress({type, &shape, static_cast<int>(step + 1), static_cast<int>(order.size()), result.config});
    }

    outcome.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    outcome.candidates = static_cast<int>(order.size());
    outcome.unmeasured = std::max(0, outcome.candidates - outcome.resumed - outcome.ok - outcome.failed);
    spdlog::debug("{} {}: {} candidates validated and timed in {:.3f} s", to_string(type), shape.to_string(),
                  outcome.ok + outcome.failed, outcome.seconds);
    int ok = 0, failed = 0;
    std::optional<measurement> fastest;
    for (const measurement& m : stored_rows()) {
        if (m.status != candidate_status::ok) {
            ++failed;
            continue;
        }
        ++ok;
        if (!fastest || m.median_us < fastest->median_us) fastest = m;
    }
    if (!fastest) {
        // A winner stored by an earlier run that no ok row supports any more (the rows were
        // measured again and failed) must not be served.
        session.db.remove_winner(key);
    } else {
        outcome.best = best_of(session, key, *fastest, ok, failed, outcome.seconds + outcome.compile_seconds);
        session.db.set_winner(*outcome.best);
        // As stored: the database fills in tuned_at.
        if (std::optional<winner> stored = session.db.find_winner(key)) outcome.best = std::move(*stored);
        // The cubin the winner was measured from, so that applications run exactly that code
        // without calling NVRTC (it also holds the other kernels of its batch).
        const config best = parse_label(spec, fastest->config);
        const auto position = std::find(space.configs.begin(), space.configs.end(), best);
        const compiled_kernel& kernel =
            space.compiled.kernels[space.kernel_of(static_cast<std::size_t>(position - space.configs.begin()), derived_at)];
        const std::string& cubin = space.compiled.programs[static_cast<std::size_t>(kernel.program)].cubin;
        session.db.store_binary({binary_key_for(spec, best, space.derived[derived_at], type, session.build.arch, session.nvrtc),
                                 kernel.lowered_name, sha256_hex(cubin), cubin});
    }
    return outcome;
}

} // namespace

std::vector<work_item> work_of_shard(const tune_options& options) {
    std::vector<work_item> items;
    std::vector<std::string> keys;
    for (dtype type : options.dtypes)
        for (const problem& shape : options.problems) {
            items.push_back({type, shape});
            keys.push_back(shape.key() + " " + std::string(to_string(type)));
        }
    std::vector<work_item> taken;
    for (const std::size_t i : shard_positions(keys, options.part)) taken.push_back(items[i]);
    return taken;
}

std::vector<tune_outcome> tune(const kernel_spec& spec, const tune_options& options, database& db,
                               const progress_callback& progress) {
    worker_client worker(options.worker.empty() ? default_worker_executable() : options.worker, options.device);
    return tune(spec, options, worker, db, progress);
}

std::vector<tune_outcome> tune(const kernel_spec& spec, const tune_options& options, worker_client& worker,
                               database& db, const progress_callback& progress) {
    tune_report report = tune_lanes(spec, options, {{options.device, &worker}}, db, progress);
    if (!report.lost.empty()) {
        const lost_gpu& lost = report.lost.front();
        throw error("GPU " + std::to_string(lost.device) + " was lost mid-tune (" + lost.reason + "): " +
                    std::to_string(report.unmeasured_keys()) + " of " + std::to_string(report.outcomes.size()) +
                    " keys not measured; the same tune again resumes from the rows stored");
    }
    return std::move(report.outcomes);
}

std::size_t tune_report::unmeasured_keys() const {
    return static_cast<std::size_t>(
        std::count_if(outcomes.begin(), outcomes.end(), [](const tune_outcome& o) { return !o.lane; }));
}

double estimated_cost(const kernel_spec& spec, const work_item& item) {
    return static_cast<double>(bytes_moved(spec, item.type, item.shape)) *
           static_cast<double>(enumerate_space(spec, item.type).size());
}

tune_report tune_lanes(const kernel_spec& spec, const tune_options& options, const std::vector<tune_lane>& lanes,
                       database& db, const progress_callback& progress) {
    if (lanes.empty()) throw error("a tune needs at least one GPU");
    auto deadline = std::chrono::steady_clock::time_point::max();
    if (options.budget_seconds > 0)
        deadline = std::chrono::steady_clock::now() + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                                          std::chrono::duration<double>(options.budget_seconds));
    // The GPUs as their workers describe them. The groups' and schedules' "devices" are lane
    // numbers, which are distinct even where two lanes share a GPU (the tests' two lanes on a
    // machine of one); report.devices maps them back to GPU indices.
    std::vector<device_info> gpus;
    std::vector<device_description> described;
    for (std::size_t lane = 0; lane < lanes.size(); ++lane) {
        const worker_message& facts = lanes[lane].worker->device_facts();
        check_request(spec, options, facts.integer("total_memory_bytes"));
        gpus.push_back(decode_hello(facts, lanes[lane].device));
        described.push_back({static_cast<int>(lane), gpus.back().identity(), gpus.back().arch()});
    }
    const std::vector<device_group> groups = group_devices(described);
    tune_report report;
    for (const tune_lane& lane : lanes) report.devices.push_back(lane.device);
    for (const device_group& group : groups) {
        tune_group lanes_of{group.identity, {}};
        for (int lane : group.devices) lanes_of.lanes.push_back(static_cast<std::size_t>(lane));
        report.groups.push_back(std::move(lanes_of));
    }
    // Each lane's GPU as stored; one a shard with nothing to tune never stored: as its worker
    // describes it, no copy measured.
    auto stored_records = [&] {
        for (const device_info& gpu : gpus) report.records.push_back(db.find_device(gpu.identity()).value_or(record_of(gpu, 0)));
    };
    const std::vector<work_item> work = work_of_shard(options);
    if (work.empty()) {  // a shard of more shards than keys: nothing here
        stored_records();
        return report;
    }

    // Every arch compiles the space of each dtype of the work once, for all of its lanes.
    std::vector<dtype> types;
    for (dtype type : options.dtypes)
        if (std::any_of(work.begin(), work.end(), [type](const work_item& item) { return item.type == type; }))
            types.push_back(type);
    const program_cache programs = database_program_cache(db);
    std::map<std::string, arch_build> builds;
    for (const std::string& arch : distinct_arches(groups)) {
        std::vector<device_limits> limits;  // of the arch's GPUs
        for (const device_group& group : groups)
            if (group.arch == arch)
                for (int lane : group.devices) limits.push_back(gpus[static_cast<std::size_t>(lane)].limits());
        builds.emplace(arch, build_arch(spec, types, work, arch, limits, &programs));
    }

    // Measured once per GPU model and database, so that tuning again pays for no copy benchmark.
    std::vector<device_record> group_records;
    for (const device_group& group : groups) {
        const auto first = static_cast<std::size_t>(group.devices.front());
        const std::optional<device_record> known = db.find_device(group.identity);
        const double copy_gbps = known && known->copy_gbps > 0 ? known->copy_gbps : lanes[first].worker->measure_copy_gbps();
        group_records.push_back(record_of(gpus[first], copy_gbps));
        db.upsert_device(group_records.back());
    }

    // One connection per lane on threads: a connection runs one transaction at a time, and
    // lanes sharing one would nest theirs (or wait on a lock for every row); connections of
    // their own take turns as the database's writers of other processes do (WAL, BEGIN
    // IMMEDIATE, busy waits). One lane uses `db`, on the calling thread.
    const bool threads = lanes.size() > 1;
    std::vector<std::unique_ptr<database>> connections;
    std::vector<std::unique_ptr<tune_session>> sessions(lanes.size());
    for (std::size_t g = 0; g < groups.size(); ++g)
        for (int number : groups[g].devices) {
            const auto lane = static_cast<std::size_t>(number);
            database* lane_db = &db;
            if (threads) {
                connections.push_back(std::make_unique<database>(database::open(
                    db.path(), open_mode::read_write_as_is, [](const std::string& message) { spdlog::warn("{}", message); })));
                lane_db = connections.back().get();
            }
            sessions[lane] = open_session(spec, options, *lane_db, *lanes[lane].worker, builds.at(groups[g].arch),
                                          gpus[lane], group_records[g]);
            sessions[lane]->deadline = deadline;
        }

    std::vector<lane_work> costs;
    for (std::size_t key = 0; key < work.size(); ++key) costs.push_back({key, estimated_cost(spec, work[key])});
    std::vector<lane_schedule> schedules;
    for (const device_group& group : groups) schedules.emplace_back(costs, group.devices);

    // Per group and key: its outcome, written once by the lane that measured it; and the labels
    // stored of it in this tune, read by the lane a failed one hands it to (after the pool's
    // lock has passed the key on).
    std::vector<std::vector<std::optional<tune_outcome>>> measured(groups.size(),
                                                                   std::vector<std::optional<tune_outcome>>(work.size()));
    std::vector<std::vector<std::set<std::string>>> stored(groups.size(), std::vector<std::set<std::string>>(work.size()));
    std::mutex progress_mutex;
    const lane_measure measure = [&](const lane_task& task) {
        const auto lane = static_cast<std::size_t>(groups[task.group].devices[task.lane]);
        tune_session& session = *sessions[lane];
        session.may_hand_over = task.others_alive;
        progress_callback lane_progress;
        if (progress)
            lane_progress = [&, lane](const tune_progress& step) {
                tune_progress shown = step;
                shown.lane = lane;
                shown.device = lanes[lane].device;
                std::lock_guard<std::mutex> lock(progress_mutex);
                progress(shown);
            };
        const work_item& item = work[task.key];
        // A key is handed over only by a failed lane: what it stored of the key is measured
        // again, so that all of the key's candidates are compared on one GPU.
        std::set<std::string>& rows = stored[task.group][task.key];
        const std::set<std::string> again = rows;
        try {
            tune_outcome outcome = tune_problem(session, item.type, item.shape, again, rows, lane_progress);
            outcome.compile_failures = session.build.failures.at(item.type);
            outcome.lane = lane;
            outcome.device = lanes[lane].device;
            outcome.group = task.group;
            measured[task.group][task.key] = std::move(outcome);
        } catch (const worker_unavailable& failure) {
            throw lane_lost(failure.what());
        }
    };
    const std::vector<lost_lane> lost = run_lanes(schedules, measure);

    for (const lost_lane& failed : lost) {
        const auto lane = static_cast<std::size_t>(failed.failure.device);
        lost_gpu gpu{lane, lanes[lane].device, failed.reason};
        if (failed.failure.interrupted) {
            gpu.interrupted = work[*failed.failure.interrupted];
            // Handed back to the schedule is not yet measured: its other lanes may all be gone.
            const std::optional<tune_outcome>& then = measured[failed.group][*failed.failure.interrupted];
            gpu.handed_over = failed.failure.handed_over && then && then->lane != lane;
        }
        report.lost.push_back(std::move(gpu));
    }
    for (std::size_t g = 0; g < groups.size(); ++g)
        for (std::size_t key = 0; key < work.size(); ++key) {
            if (measured[g][key]) {
                report.outcomes.push_back(std::move(*measured[g][key]));
                continue;
            }
            tune_outcome none{work[key].type, work[key].shape};
            none.group = g;
            report.outcomes.push_back(std::move(none));
        }
    stored_records();
    return report;
}

} // namespace kerntune
