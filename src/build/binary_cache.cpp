#include "build/binary_cache.hpp"

#include "build/stored_code_trust.hpp"
#include "core/error.hpp"
#include "core/sha256.hpp"
#include "cuda/nvrtc.hpp"

namespace kerntune {

program_source source_of(const kernel_spec& spec) { return {spec.source_name, spec.source, spec.headers}; }

binary_key binary_key_for(const kernel_spec& spec, const config& c, const derived_values& derived, dtype type,
                          const std::string& arch, const std::string& nvrtc_version) {
    return {spec.source_hash, kernel_label(spec, c, derived), std::string(to_string(type)), arch, nvrtc_version};
}

kernel_binary compile_binary(const kernel_spec& spec, const config& c, const derived_values& derived, dtype type,
                             const std::string& arch) {
    const std::string expression = name_expression(spec, c, derived, type);
    const compiled_program program = compile({source_of(spec), {expression}, arch});
    if (!program.ok) throw error("NVRTC failed on " + expression + " (" + program.options + "):\n" + program.log);
    return {binary_key_for(spec, c, derived, type, arch, nvrtc_version()), program.lowered_names.front(),
            sha256_hex(program.cubin), program.cubin};
}

std::optional<kernel_binary> find_stored_binary(const database& db, const binary_key& key, const warning_sink& warn) {
    if (!stored_code_allowed(db.path(), "compiling kernels from source (tuned configs are still used)", warn))
        return std::nullopt;
    return db.find_binary(key);
}

bool digest_matches(const kernel_binary& binary) { return sha256_hex(binary.cubin) == binary.digest; }

} // namespace kerntune
