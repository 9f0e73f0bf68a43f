#pragma once
// libkerntune's log: what the library has to tell the application (a broken template folder, an
// unusable database, a refused row) and what it did (debug). Never on stdout, which belongs to
// the application: by default warnings and errors go to stderr, one line each
// ("kerntune: warning: ..."); KERNTUNE_LOG_LEVEL, kt_set_log_level and kt_set_log_callback
// change the level and the destination (kerntune.h). The tuner and the CLI keep spdlog.
#include <optional>
#include <sstream>
#include <string>
#include <string_view>

#include "kerntune/kerntune.hpp"

namespace kerntune::detail {

/// What KERNTUNE_LOG_LEVEL may say: off, error, warn (or warning), info, debug, in any case;
/// nullopt for anything else.
std::optional<kt_log_level> parse_log_level(std::string_view text);

/// The level's word in a stderr line: "error", "warning", "info", "debug" ("off" for KT_LOG_OFF).
std::string_view log_level_name(kt_log_level level);

/// Whether a message at `level` is delivered now: one atomic load. The first call in the
/// process reads KERNTUNE_LOG_LEVEL.
bool log_enabled(kt_log_level level) noexcept;

/// Delivers one message (no prefix, no newline) if `level` is enabled: to the callback when one
/// is set, else to stderr as "kerntune: <level>: <message>\n". Never throws.
void log_message(kt_log_level level, const std::string& message) noexcept;

/// Writes the parts into one message, only when `level` is enabled (so that debug messages cost
/// nothing when off). Never throws: a message that cannot be built is dropped.
template <typename... Parts> void log(kt_log_level level, const Parts&... parts) noexcept {
    if (!log_enabled(level)) return;
    try {
        std::ostringstream text;
        (text << ... << parts);
        log_message(level, text.str());
    } catch (...) {
    }
}

template <typename... Parts> void log_error(const Parts&... parts) noexcept { log(KT_LOG_ERROR, parts...); }
template <typename... Parts> void log_warn(const Parts&... parts) noexcept { log(KT_LOG_WARN, parts...); }
template <typename... Parts> void log_info(const Parts&... parts) noexcept { log(KT_LOG_INFO, parts...); }
template <typename... Parts> void log_debug(const Parts&... parts) noexcept { log(KT_LOG_DEBUG, parts...); }

/// kt_set_log_level: throws runtime_error (KT_ERROR_INVALID_ARGUMENT) for a level outside
/// KT_LOG_OFF..KT_LOG_DEBUG, or when called from inside a log callback.
void set_log_level(kt_log_level level);

/// kt_set_log_callback and kerntune::set_log_callback: an empty function restores stderr. Once it
/// returns, the previous callback is not running and is never called again. Throws runtime_error
/// (KT_ERROR_INVALID_ARGUMENT) when called from inside a log callback, which would deadlock.
void set_log_sink(log_callback sink);

} // namespace kerntune::detail
