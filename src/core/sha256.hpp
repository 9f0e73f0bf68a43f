#pragma once
#include <string>
#include <string_view>

namespace kerntune {

/// SHA-256 of `data` as 64 lowercase hex digits (FIPS 180-4). Names template sources in
/// tuning keys and guards cached cubins against corruption and tampering.
std::string sha256_hex(std::string_view data);

} // namespace kerntune
