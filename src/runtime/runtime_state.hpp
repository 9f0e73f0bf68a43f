#pragma once
#include <cuda.h>

#include <array>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "catalog/catalog.hpp"
#include "core/config.hpp"
#include "core/kernel_arguments.hpp"
#include "core/select_config.hpp"
#include "cuda/device.hpp"
#include "cuda/handles.hpp"
#include "db/database.hpp"
#include "kerntune/kerntune.hpp"

namespace kerntune::detail {

/// One cached launch: everything a hot call needs.
struct launch_entry {
    std::shared_ptr<const kernel_spec> spec;
    CUfunction function = nullptr;
    launch_geometry geometry;
    std::vector<bound_arg> args;  ///< axis scalars computed, caller scalars at their defaults
    int caller_scalars = 0;
    kt_match match = KT_MATCH_DEFAULT;
    std::string label;
    std::string binary_source;  ///< where its cubin came from: memory, database or compiled
    bool shipped = false;       ///< its config is a shipped row's (tuning_db/), not the user's database's
};

/// The runtime behind the C++ and C APIs (kerntune.hpp, kerntune.h).
class runtime_state {
public:
    explicit runtime_state(const std::string& db_path);

    /// Adds a folder of templates (catalog::add_folder); throws runtime_error on failure, the
    /// catalogue unchanged.
    void add_templates(const std::filesystem::path& folder);

    /// Registers an elementwise expression's template (catalog::add_expression); its op name.
    /// Throws runtime_error (KT_ERROR_INVALID_ARGUMENT) when its template cannot be made.
    std::string add_expression(const elementwise_expression& expression);

    /// The cached launch for (op, dtype, problem extents) in the current context, made on first
    /// use. Hot path: a shared lock and a hash lookup. Throws runtime_error for an unknown op, a
    /// dtype it lacks or extents that do not fit its axes. `launch_stream` is the stream the
    /// caller will launch on (none for a query): an entry is never made while it captures a CUDA
    /// graph, because loading a module or compiling is not a capturable operation.
    const launch_entry& entry(const std::string& op, dtype type, const std::int64_t* extents, std::size_t axes,
                              std::optional<CUstream> launch_stream = std::nullopt);

private:
    struct launch_key {
        std::string op;
        dtype type;
        std::array<std::int64_t, max_problem_axes> extents;
        std::size_t axes;
        CUcontext context;
        bool operator==(const launch_key& other) const {
            return op == other.op && type == other.type && axes == other.axes && extents == other.extents &&
                   context == other.context;
        }
    };
    struct launch_key_hash {
        std::size_t operator()(const launch_key& key) const noexcept;
    };
    /// What a context's device is, and the stored winners for it.
    struct context_facts {
        device_info device;
        std::vector<tuned_row> tuned;
    };

    catalog m_catalog;  // read and changed under m_cold_mutex
    std::string m_nvrtc_version;
    std::optional<database> m_db;
    bool m_db_writable = false;
    std::vector<winner> m_shipped;           // the shipped winners (tuning_db/), read once, beneath m_db's
    std::set<std::string> m_stale_reported;  // GPU identities whose stale shipped rows were said

    std::shared_mutex m_launches_mutex;
    std::unordered_map<launch_key, launch_entry, launch_key_hash> m_launches;

    std::mutex m_cold_mutex;  // one cold key at a time compiles or loads; the others wait
    std::map<CUcontext, context_facts> m_contexts;
    struct loaded_kernel {
        loaded_module module;
        std::string lowered_name;
    };
    std::map<std::pair<CUcontext, std::string>, loaded_kernel> m_kernels;  // by (context, binary key)

    /// Stops using a database that failed to read (warned once): calls go on with defaults.
    void forget_database(const std::string& why);
    CUcontext current_context();
    context_facts& facts(CUcontext context);
    launch_entry make_entry(const launch_key& key);
    /// The kernel for `chosen` and `derived` in `context`: already loaded, else from the
    /// database's binary cache (digest checked), else compiled with NVRTC (and cached if the
    /// database is writable).
    CUfunction load_function(const kernel_spec& spec, const config& chosen, const derived_values& derived, dtype type,
                             CUcontext context, const device_info& device, std::string& source);
};

/// The tuning database a runtime reads its winners from and caches compiled kernels in.
struct runtime_database {
    std::optional<database> db;  ///< none: every call uses the template's default config
    bool writable = false;       ///< whether compiled kernels may be stored in it
};

/// Opens the database at `db_path` (default_db_path() when empty) for a runtime, never failing:
/// a missing file is no database (a debug message), one that cannot be used is none with one
/// warning. Needs no GPU (runtime_state opens it once the device is found).
runtime_database open_runtime_database(const std::string& db_path);

/// The usable winners of the shipped tuning files (shipped_files from libkerntune's folder, or
/// $KERNTUNE_SHIPPED_DB), each bad line or row one warning; labels checked against `templates`.
std::vector<winner> read_runtime_shipped_winners(const catalog& templates);

/// Inside a catch block: rethrows the exception in flight as runtime_error with the matching
/// C status, so that every API entry point reports failures the same way.
[[noreturn]] void rethrow_as_runtime_error();

} // namespace kerntune::detail
