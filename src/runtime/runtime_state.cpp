#include "runtime/runtime_state.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <limits>

#include <dlfcn.h>

#include "build/binary_cache.hpp"
#include "catalog/expression_template.hpp"
#include "cuda/driver.hpp"
#include "cuda/launch.hpp"
#include "cuda/nvrtc.hpp"
#include "db/label_domain.hpp"
#include "db/shipped_rows.hpp"
#include "runtime/call_arguments.hpp"
#include "runtime/runtime_log.hpp"

namespace kerntune::detail {
[[noreturn]] void rethrow_as_runtime_error() {
    try {
        throw;
    } catch (const runtime_error&) {
        throw;
    } catch (const cuda_error& failure) {
        throw runtime_error(KT_ERROR_CUDA, failure.what());
    } catch (const error& failure) {
        throw runtime_error(KT_ERROR_INTERNAL, failure.what());
    } catch (const std::bad_alloc&) {
        throw runtime_error(KT_ERROR_INTERNAL, "out of host memory");
    } catch (const std::exception& failure) {
        throw runtime_error(KT_ERROR_INTERNAL, failure.what());
    } catch (...) {
        throw runtime_error(KT_ERROR_INTERNAL, "unknown failure");
    }
}

std::size_t runtime_state::launch_key_hash::operator()(const launch_key& key) const noexcept {
    std::size_t h = std::hash<std::string>()(key.op);
    auto mix = [&h](std::size_t value) { h ^= value + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2); };
    for (std::size_t i = 0; i < key.axes; ++i) mix(std::hash<std::int64_t>()(key.extents[i]));
    mix(std::hash<const void*>()(key.context));
    mix(static_cast<std::size_t>(key.type));
    return h;
}

runtime_state::runtime_state(const std::string& db_path) {
    // Folders named by $KERNTUNE_TEMPLATES: one that fails to load is skipped with a warning,
    // so that a broken user folder never takes the built-in ops down with it. Read before the
    // device is looked for, like the built-in catalogue (m_catalog), which needs no GPU either:
    // a broken folder is reported on every machine, with or without a GPU.
    for (const std::filesystem::path& folder : template_folders_from_environment()) {
        try {
            m_catalog.add_folder(folder);
        } catch (const error& failure) {
            log_warn("ignoring the template folder ", folder.string(), " from KERNTUNE_TEMPLATES: ", failure.what());
        }
    }
    if (!driver_available()) {
        try {
            driver();
        } catch (const error& failure) {
            throw runtime_error(KT_ERROR_NO_DEVICE, failure.what());
        }
    }
    if (device_count() == 0) throw runtime_error(KT_ERROR_NO_DEVICE, "no GPU: the CUDA driver sees no device");
    m_nvrtc_version = nvrtc_version();
    warm_up_nvrtc_in_background(query_device(0).arch());

    runtime_database tuning = open_runtime_database(db_path);
    m_db = std::move(tuning.db);
    m_db_writable = tuning.writable;
    m_shipped = read_runtime_shipped_winners(m_catalog);
}

namespace {

/// The folder of the binary this code is in: libkerntune.so, or a program linking its objects.
std::filesystem::path own_folder() {
    Dl_info info{};
    if (dladdr(reinterpret_cast<void*>(&read_runtime_shipped_winners), &info) == 0 || info.dli_fname == nullptr) return {};
    std::error_code ec;
    return std::filesystem::weakly_canonical(std::filesystem::path(info.dli_fname), ec).parent_path();
}

} // namespace

std::vector<winner> read_runtime_shipped_winners(const catalog& templates) {
    const shipped_location where{KERNTUNE_BUILD_TREE, KERNTUNE_SOURCE_TUNING_DB, KERNTUNE_SHIPPED_RELATIVE};
    const std::vector<std::filesystem::path> files = shipped_files(own_folder(), where);
    std::vector<winner> winners =
        read_shipped_winners(files, declared_domain(templates.specs()), [](const std::string& message) { log_warn(message); });
    std::string names;
    for (const std::filesystem::path& file : files) names += (names.empty() ? "" : ", ") + file.string();
    log_debug(winners.size(), " shipped winners from ", files.empty() ? std::string("no shipped file") : names);
    return winners;
}

runtime_database open_runtime_database(const std::string& db_path) {
    // The database is optional: without one (or with one we cannot read) every call uses the
    // template's default config, which is always valid.
    const std::filesystem::path path = db_path.empty() ? default_db_path() : std::filesystem::path(db_path);
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) {
        log_debug("no tuning database at ", path.string(), ": default configs");
        return {};
    }
    // Rows the database leaves out (values out of range) are each one warning. The runtime never
    // creates, migrates or converts a file: it writes compiled kernels only into a database of
    // the newest schema as it is, else reads it.
    const warning_sink warn = [](const std::string& message) { log_warn(message); };
    try {
        return {database::open(path, open_mode::read_write_as_is, warn), true};
    } catch (const error&) {
        try {
            return {database::open(path, open_mode::read_only, warn), false};
        } catch (const error& failure) {
            log_warn("ignoring the tuning database: ", failure.what(), "; using default configs");
        }
    }
    return {};
}

void runtime_state::forget_database(const std::string& why) {
    log_warn("ignoring the tuning database from now on: ", why, "; using default configs");
    m_db.reset();
    m_db_writable = false;
}

void runtime_state::add_templates(const std::filesystem::path& folder) {
    std::lock_guard<std::mutex> cold(m_cold_mutex);
    try {
        m_catalog.add_folder(folder);
    } catch (const error& failure) {
        throw runtime_error(KT_ERROR_INVALID_ARGUMENT, failure.what());
    }
}

std::string runtime_state::add_expression(const elementwise_expression& expression) {
    std::lock_guard<std::mutex> cold(m_cold_mutex);
    try {
        return m_catalog.add_expression(expression)->name;
    } catch (const error& failure) {
        throw runtime_error(KT_ERROR_INVALID_ARGUMENT, failure.what());
    }
}

CUcontext runtime_state::current_context() {
    CUcontext context = nullptr;
    KERNTUNE_CU(cuCtxGetCurrent(&context));
    if (context != nullptr) return context;
    // Nothing current (the CUDA runtime makes a context current lazily): use device 0's
    // primary context, the one the CUDA runtime and PyTorch would use, and leave it current.
    CUdevice device = 0;
    KERNTUNE_CU(cuDeviceGet(&device, 0));
    KERNTUNE_CU(cuDevicePrimaryCtxRetain(&context, device));
    KERNTUNE_CU(cuCtxSetCurrent(context));
    return context;
}

runtime_state::context_facts& runtime_state::facts(CUcontext context) {
    const auto found = m_contexts.find(context);
    if (found != m_contexts.end()) return found->second;
    CUdevice device = 0;
    KERNTUNE_CU(cuCtxGetDevice(&device));
    int ordinal = 0, count = device_count();
    for (; ordinal < count; ++ordinal) {
        CUdevice candidate = 0;
        KERNTUNE_CU(cuDeviceGet(&candidate, ordinal));
        if (candidate == device) break;
    }
    context_facts& facts = m_contexts[context];
    facts.device = query_device(ordinal);
    std::vector<winner> winners;
    try {
        if (m_db) winners = m_db->winners();
    } catch (const error& failure) {
        forget_database(failure.what());
    }
    // select_config decides which rows apply; here they are only read, and each is given the
    // family its template belongs to: a current template's (a named op's rows of an older
    // skeleton are of no family), else what an unnamed expression's name says. The shipped rows
    // go beneath the user's: select_config tries a user's row of a problem first.
    const auto add_rows = [&](const std::vector<winner>& from, bool shipped) {
        for (const winner& w : from) {
            const auto known = m_catalog.find(w.key.template_name);
            std::string family = known ? (known->source_hash == w.key.template_hash ? known->family : std::string())
                                       : family_in_name(w.key.template_name);
            facts.tuned.push_back({w.key.template_name, w.key.template_hash, w.key.dtype, w.key.problem_key,
                                   w.key.gpu_identity, w.key.nvrtc_version, w.config, shipped, std::move(family)});
        }
    };
    add_rows(winners, false);
    add_rows(m_shipped, true);
    if (m_stale_reported.insert(facts.device.identity()).second) {
        const auto current_hash = [this](const std::string& name) -> std::optional<std::string> {
            const std::shared_ptr<const kernel_spec> spec = m_catalog.find(name);
            return spec ? std::optional<std::string>(spec->source_hash) : std::nullopt;
        };
        for (const std::string& line : stale_template_lines(m_shipped, facts.device.identity(), m_nvrtc_version, current_hash))
            log_warn(line);
    }
    return facts;
}

CUfunction runtime_state::load_function(const kernel_spec& spec, const config& chosen, const derived_values& derived,
                                        dtype type, CUcontext context, const device_info& device, std::string& source) {
    const binary_key key = binary_key_for(spec, chosen, derived, type, device.arch(), m_nvrtc_version);
    const std::string cache_key = key.template_hash + "|" + key.config + "|" + key.dtype + "|" + key.arch;
    auto loaded = m_kernels.find({context, cache_key});
    if (loaded != m_kernels.end()) {
        source = "memory";
        return loaded->second.module.function(loaded->second.lowered_name);
    }
    std::optional<kernel_binary> binary;
    try {
        // Only from a database no one else can write (stored_code_allowed); else compiled.
        if (m_db) binary = find_stored_binary(*m_db, key, [](const std::string& message) { log_warn(message); });
    } catch (const error& failure) {
        forget_database(failure.what());
    }
    source = "database";
    if (binary && !digest_matches(*binary)) {
        log_warn("the cached binary of ", spec.name, " ", key.config, " fails its digest check; compiling it again");
        binary.reset();
    }
    if (!binary) {
        try {
            binary = compile_binary(spec, chosen, derived, type, key.arch);
        } catch (const error& failure) {
            throw runtime_error(KT_ERROR_COMPILE, failure.what());
        }
        source = "compiled";
        if (m_db_writable) {
            try {
                m_db->store_binary(*binary);
            } catch (const error& failure) {
                log_debug("could not cache the binary: ", failure.what());
            }
        }
    }
    loaded = m_kernels.emplace(std::make_pair(context, cache_key), loaded_kernel{loaded_module(binary->cubin), binary->lowered_name})
                 .first;
    return loaded->second.module.function(loaded->second.lowered_name);
}

launch_entry runtime_state::make_entry(const launch_key& key) {
    launch_entry entry;
    try {
        entry.spec = m_catalog.at(key.op);
    } catch (const error& failure) {
        throw runtime_error(KT_ERROR_INVALID_ARGUMENT, failure.what());
    }
    const kernel_spec& spec = *entry.spec;
    bound_call call = bind_call(spec, key.type, key.extents.data(), key.axes);
    const problem& shape = call.shape;
    entry.args = std::move(call.args);
    entry.caller_scalars = spec.caller_scalar_count();
    context_facts& context_info = facts(key.context);
    const selection chosen = select_config(spec, key.type, shape, context_info.device.identity(), m_nvrtc_version,
                                           context_info.device.regime_facts(), context_info.tuned);
    for (const std::string& refused : chosen.refused) log_warn("ignoring tuned config ", refused);
    entry.match = chosen.match == config_match::exact     ? KT_MATCH_EXACT
                  : chosen.match == config_match::nearest ? KT_MATCH_NEAREST
                  : chosen.match == config_match::family  ? KT_MATCH_FAMILY
                                                          : KT_MATCH_DEFAULT;
    entry.label = chosen.label;
    entry.shipped = chosen.shipped;
    config used = chosen.chosen;
    config_match how = chosen.match;
    // A config tuned for another problem may not launch on this one (a grid past CUDA's limits,
    // a cluster the device lacks, clusters whose blocks' shared memory no GPC holds): the
    // default config is used instead.
    const auto use_default = [&](const std::string& why) {
        log_debug(why, "; using the default config");
        used = default_config(spec, key.type);
        how = config_match::default_config;
        entry.match = KT_MATCH_DEFAULT;
        entry.shipped = false;
        entry.label = label(spec, used);
    };
    if (how != config_match::default_config) {
        try {
            entry.geometry = candidate_launch(spec, used, key.type, shape, context_info.device.limits());
        } catch (const error& failure) {
            use_default(failure.what());
        }
    }
    // The problem decides the derived template arguments, whichever config runs.
    derived_values derived;
    try {
        derived = derive(spec, key.type, shape);
    } catch (const error& failure) {
        throw runtime_error(KT_ERROR_INVALID_ARGUMENT, failure.what());
    }
    const auto load = [&] {
        // The default config: a problem it cannot launch is the caller's invalid argument.
        if (how == config_match::default_config)
            entry.geometry = call_geometry(spec, used, key.type, shape, context_info.device.limits());
        entry.function = load_function(spec, used, derived, key.type, key.context, context_info.device, entry.binary_source);
        allow_geometry(entry.function, entry.geometry);
    };
    load();
    if (how != config_match::default_config &&
        !geometry_fits(entry.function, entry.geometry, static_cast<int>(context_info.device.limits().sm_count))) {
        use_default(entry.label + (entry.geometry.cluster > 1
                                       ? ": no cluster of " + std::to_string(entry.geometry.cluster) + " blocks of " +
                                             std::to_string(entry.geometry.shared_bytes) + " bytes of shared memory fits on the device"
                                       : ": its " + std::to_string(entry.geometry.grid[0] * entry.geometry.grid[1]) +
                                             " blocks of " + std::to_string(entry.geometry.shared_bytes) +
                                             " bytes of shared memory cannot all be resident at once (a cooperative launch)"));
        load();
    }
    log_debug(spec.name, " ", to_string(key.type), " ", shape.key(), " on ", context_info.device.name, ": ", entry.label,
              " (", to_string(how), " match", entry.shipped ? " of a shipped row" : "", ", binary from ",
              entry.binary_source, ")");
    return entry;
}

namespace {

/// A cold key met on a stream that is capturing a CUDA graph: a clear error, before anything
/// (a module load, NVRTC) runs that would invalidate the capture or fail inside it.
void refuse_cold_key_in_capture(CUstream stream, const std::string& op, dtype type, const std::int64_t* extents,
                                std::size_t axes) {
    CUstreamCaptureStatus capture = CU_STREAM_CAPTURE_STATUS_NONE;
    KERNTUNE_CU(cuStreamIsCapturing(stream, &capture));
    if (capture == CU_STREAM_CAPTURE_STATUS_NONE) return;
    const tensor_shape shape{std::vector<std::int64_t>(extents, extents + axes)};
    throw runtime_error(KT_ERROR_INVALID_ARGUMENT,
                        op + " " + std::string(to_string(type)) + " " + shape.to_string() +
                            " is not loaded on this device yet, and its stream is capturing a CUDA graph: call it "
                            "once before the capture, or prepare it with kt_query (kerntune.torch.prepare)");
}

} // namespace

const launch_entry& runtime_state::entry(const std::string& op, dtype type, const std::int64_t* extents,
                                         std::size_t axes, std::optional<CUstream> launch_stream) {
    if (axes < 1 || axes > max_problem_axes)
        throw runtime_error(KT_ERROR_INVALID_ARGUMENT, "a problem has 1 to " + std::to_string(max_problem_axes) +
                                                           " extents, not " + std::to_string(axes));
    launch_key key{op, type, {}, axes, current_context()};
    std::copy(extents, extents + axes, key.extents.begin());
    {
        std::shared_lock<std::shared_mutex> lock(m_launches_mutex);
        const auto found = m_launches.find(key);
        if (found != m_launches.end()) return found->second;
    }
    if (launch_stream) refuse_cold_key_in_capture(*launch_stream, op, type, extents, axes);
    std::lock_guard<std::mutex> cold(m_cold_mutex);
    {
        std::shared_lock<std::shared_mutex> lock(m_launches_mutex);
        const auto found = m_launches.find(key);
        if (found != m_launches.end()) return found->second;  // another thread made it meanwhile
    }
    launch_entry made = make_entry(key);
    std::unique_lock<std::shared_mutex> lock(m_launches_mutex);
    // unordered_map never moves its elements, so the reference stays valid for later readers.
    return m_launches.emplace(std::move(key), std::move(made)).first->second;
}

} // namespace kerntune::detail
