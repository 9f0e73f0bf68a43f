#pragma once
#include <optional>
#include <string>

#include "core/config.hpp"
#include "core/kernel_spec.hpp"
#include "cuda/nvrtc.hpp"
#include "build/stored_code_trust.hpp"
#include "db/database.hpp"

namespace kerntune {

/// The spec's source and headers, as NVRTC compiles them.
program_source source_of(const kernel_spec& spec);

/// The key a config's kernel compiled with `derived` is cached under (its kernel_label).
binary_key binary_key_for(const kernel_spec& spec, const config& c, const derived_values& derived, dtype type,
                          const std::string& arch, const std::string& nvrtc_version);

/// Compiles one config's kernel alone with NVRTC into a cubin holding just that kernel, with its
/// digest. Used by the runtime on a cache miss (the tuner stores the cubin it measured). Throws
/// kerntune::error with the NVRTC log when it does not compile.
kernel_binary compile_binary(const kernel_spec& spec, const config& c, const derived_values& derived, dtype type,
                             const std::string& arch);

/// The binary stored under `key` in `db`, when this process may use code stored there
/// (stored_code_allowed: the file and its folder are owned by this user or root and writable by
/// no one else); none otherwise, so that the caller compiles from source. The digest is the
/// caller's to check. Throws what database::find_binary throws.
std::optional<kernel_binary> find_stored_binary(const database& db, const binary_key& key, const warning_sink& warn);

/// Whether the cubin still has the digest it was stored with (guards against corruption and
/// tampering before anything is loaded).
bool digest_matches(const kernel_binary& binary);

} // namespace kerntune
