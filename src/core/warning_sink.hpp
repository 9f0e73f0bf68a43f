#pragma once
#include <functional>
#include <string>

namespace kerntune {

/// Where a warning goes: the runtime's log (libkerntune never uses spdlog), the CLI's, or a
/// test's list. Modules below the runtime and the CLI take one instead of logging themselves.
using warning_sink = std::function<void(const std::string& message)>;

} // namespace kerntune
