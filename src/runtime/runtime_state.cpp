#include "runtime/runtime_state.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <limits>

#include "core/size_lookup.hpp"
#include "cuda/driver.hpp"
#include "cuda/nvrtc.hpp"
#include "build/binary_cache.hpp"
#include "runtime/embedded_specs.hpp"

namespace kerntune::detail {
namespace {

const char* match_name(kt_match match) {
    return match == KT_MATCH_EXACT ? "exact" : match == KT_MATCH_NEAREST ? "nearest" : "default";
}

} // namespace

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
    std::size_t h = std::hash<std::int64_t>()(key.n);
    h ^= std::hash<const void*>()(key.context) + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
    h ^= (key.op << 8 | static_cast<std::size_t>(key.type)) + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
    return h;
}

runtime_state::runtime_state(const std::string& db_path) {
    if (!driver_available()) {
        try {
            driver();
        } catch (const error& failure) {
            throw runtime_error(KT_ERROR_NO_DEVICE, failure.what());
        }
    }
    if (device_count() == 0) throw runtime_error(KT_ERROR_NO_DEVICE, "no GPU: the CUDA driver sees no device");
    m_specs = embedded_specs();
    m_nvrtc_version = nvrtc_version();

    // The database is optional: without one (or with one we cannot read) every call uses the
    // template's default config, which is always valid.
    const std::filesystem::path path = db_path.empty() ? default_db_path() : std::filesystem::path(db_path);
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) {
        spdlog::debug("kerntune: no tuning database at {}: default configs", path.string());
        return;
    }
    try {
        m_db = database::open(path, open_mode::read_write);
        m_db_writable = true;
    } catch (const error&) {
        try {
            m_db = database::open(path, open_mode::read_only);
        } catch (const error& failure) {
            spdlog::warn("kerntune: ignoring the tuning database: {}; using default configs", failure.what());
        }
    }
}

void runtime_state::forget_database(const std::string& why) {
    spdlog::warn("kerntune: ignoring the tuning database from now on: {}; using default configs", why);
    m_db.reset();
    m_db_writable = false;
}

std::size_t runtime_state::op_index(const std::string& op) const {
    for (std::size_t i = 0; i < m_specs.size(); ++i)
        if (m_specs[i].name == op) return i;
    std::string known;
    for (const kernel_spec& spec : m_specs) known += (known.empty() ? "" : ", ") + spec.name;
    throw runtime_error(KT_ERROR_INVALID_ARGUMENT, "unknown op '" + op + "': known ops are " + known);
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
    // Only rows for this GPU, these exact templates and this NVRTC: anything else is stale.
    // Rows that do not parse are skipped; their configs are checked again before any use.
    for (const winner& w : winners) {
        if (w.key.gpu_identity != facts.device.identity() || w.key.nvrtc_version != m_nvrtc_version) continue;
        for (std::size_t op = 0; op < m_specs.size(); ++op) {
            if (w.key.template_name != m_specs[op].name || w.key.template_hash != m_specs[op].source_hash) continue;
            const std::string prefix = "n=";
            if (w.key.problem_key.rfind(prefix, 0) != 0) continue;
            char* end = nullptr;
            const long long n = std::strtoll(w.key.problem_key.c_str() + prefix.size(), &end, 10);
            if (*end != '\0' || n < 1) continue;
            for (dtype type : m_specs[op].dtypes)
                if (to_string(type) == w.key.dtype) facts.tuned[{op, type}].emplace_back(n, w.config);
        }
    }
    return facts;
}

CUfunction runtime_state::load_function(const kernel_spec& spec, const config& chosen, dtype type, CUcontext context,
                                        const device_info& device, std::string& source) {
    const binary_key key = binary_key_for(spec, chosen, type, device.arch(), m_nvrtc_version);
    const std::string cache_key = key.template_hash + "|" + key.config + "|" + key.dtype + "|" + key.arch;
    auto loaded = m_kernels.find({context, cache_key});
    if (loaded != m_kernels.end()) {
        source = "memory";
        return loaded->second.module.function(loaded->second.lowered_name);
    }
    std::optional<kernel_binary> binary;
    try {
        if (m_db) binary = m_db->find_binary(key);
    } catch (const error& failure) {
        forget_database(failure.what());
    }
    source = "database";
    if (binary && !digest_matches(*binary)) {
        spdlog::warn("kerntune: the cached binary of {} {} fails its digest check; compiling it again", spec.name, key.config);
        binary.reset();
    }
    if (!binary) {
        try {
            binary = compile_binary(spec, chosen, type, key.arch);
        } catch (const error& failure) {
            throw runtime_error(KT_ERROR_COMPILE, failure.what());
        }
        source = "compiled";
        if (m_db_writable) {
            try {
                m_db->store_binary(*binary);
            } catch (const error& failure) {
                spdlog::debug("kerntune: could not cache the binary: {}", failure.what());
            }
        }
    }
    loaded = m_kernels.emplace(std::make_pair(context, cache_key), loaded_kernel{loaded_module(binary->cubin), binary->lowered_name})
                 .first;
    return loaded->second.module.function(loaded->second.lowered_name);
}

launch_entry runtime_state::make_entry(std::size_t op, dtype type, std::int64_t n, CUcontext context) {
    const kernel_spec& spec = m_specs[op];
    context_facts& context_info = facts(context);
    launch_entry entry;
    config chosen = default_config(spec, type);
    entry.match = KT_MATCH_DEFAULT;
    std::vector<tuned_size> tuned;
    for (const auto& [size, label_text] : context_info.tuned[{op, type}]) tuned.push_back({size, label_text});
    while (const std::optional<tuned_size> nearest = nearest_tuned_size(n, tuned)) {
        // A row whose config is outside the template's domain or constraints is never used.
        try {
            const config candidate = parse_label(spec, nearest->label);
            if (!satisfies_constraints(spec, candidate, type)) throw error("violates the template's constraints");
            chosen = candidate;
            entry.match = nearest->n == n ? KT_MATCH_EXACT : KT_MATCH_NEAREST;
            break;
        } catch (const error& failure) {
            spdlog::warn("kerntune: ignoring tuned config '{}' for {}: {}", nearest->label, spec.name, failure.what());
            tuned.erase(std::remove_if(tuned.begin(), tuned.end(),
                                       [&](const tuned_size& t) { return t.n == nearest->n; }),
                        tuned.end());
        }
    }
    entry.label = label(spec, chosen);
    entry.function = load_function(spec, chosen, type, context, context_info.device, entry.binary_source);
    const launch_geometry geometry = candidate_launch(spec, chosen, type, n, context_info.device.limits());
    entry.grid = static_cast<unsigned>(geometry.grid_x);
    entry.block = static_cast<unsigned>(geometry.block_x);
    spdlog::debug("kerntune: {} {} n={} on {}: {} ({} match, binary from {})", spec.name, to_string(type), n,
                  context_info.device.name, entry.label, match_name(entry.match), entry.binary_source);
    return entry;
}

const launch_entry& runtime_state::entry(std::size_t op, dtype type, std::int64_t n) {
    const CUcontext context = current_context();
    const launch_key key{op, type, n, context};
    {
        std::shared_lock<std::shared_mutex> lock(m_launches_mutex);
        const auto found = m_launches.find(key);
        if (found != m_launches.end()) return found->second;
    }
    std::lock_guard<std::mutex> cold(m_cold_mutex);
    {
        std::shared_lock<std::shared_mutex> lock(m_launches_mutex);
        const auto found = m_launches.find(key);
        if (found != m_launches.end()) return found->second;  // another thread made it meanwhile
    }
    launch_entry made = make_entry(op, type, n, context);
    std::unique_lock<std::shared_mutex> lock(m_launches_mutex);
    // unordered_map never moves its elements, so the reference stays valid for later readers.
    return m_launches.emplace(key, std::move(made)).first->second;
}

} // namespace kerntune::detail
