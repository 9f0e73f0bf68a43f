#include "runtime/runtime_log.hpp"

#include <atomic>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <type_traits>

namespace kerntune::detail {
namespace {

struct log_state {
    std::atomic<int> level{KT_LOG_WARN};  // the default: warnings and errors
    std::mutex mutex;                     // guards sink; held while a message is delivered
    log_callback sink;                    // empty: stderr
};

/// True on a thread while it runs the application's callback: a message logged from inside it
/// is dropped (kerntune called from the callback would otherwise lock the mutex it holds), and
/// the setters refuse.
thread_local bool in_callback = false;

void write_to_stderr(kt_log_level level, const std::string& message) noexcept {
    try {
        // One write per line, so that lines from several threads (or from the application) do
        // not interleave within a line.
        const std::string line = "kerntune: " + std::string(log_level_name(level)) + ": " + message + "\n";
        std::fwrite(line.data(), 1, line.size(), stderr);
        std::fflush(stderr);
    } catch (...) {
    }
}

void deliver(log_state& state, kt_log_level level, const std::string& message) noexcept {
    if (in_callback) return;
    std::lock_guard<std::mutex> lock(state.mutex);
    if (!state.sink) {
        write_to_stderr(level, message);
        return;
    }
    in_callback = true;
    try {
        state.sink(level, message);
    } catch (...) {
        // An exception must not cross into kerntune's callers (or a C frame): it is dropped.
    }
    in_callback = false;
}

log_state& make_state() {
    auto* state = new log_state;
    const char* text = std::getenv("KERNTUNE_LOG_LEVEL");
    if (text != nullptr && *text != '\0') {
        if (const std::optional<kt_log_level> parsed = parse_log_level(text)) {
            state->level = *parsed;
        } else {
            // Said once, on stderr (no callback can be set yet: setting one reads this first).
            deliver(*state, KT_LOG_WARN,
                    "unknown KERNTUNE_LOG_LEVEL '" + std::string(text) +
                        "' (expected off, error, warn, info or debug); logging warnings and errors");
        }
    }
    return *state;
}

/// The process's log state, made on first use (reading KERNTUNE_LOG_LEVEL once). Never
/// destroyed: the application's static destructors may still call kerntune at exit.
log_state& state() {
    static log_state& made = make_state();
    return made;
}

void refuse_inside_callback(const char* setter) {
    if (in_callback)
        throw runtime_error(KT_ERROR_INVALID_ARGUMENT,
                            std::string(setter) + " was called from inside a log callback, which must not change "
                                                  "kerntune's logging");
}

} // namespace

std::optional<kt_log_level> parse_log_level(std::string_view text) {
    std::string word;
    for (char c : text) word += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (word == "off") return KT_LOG_OFF;
    if (word == "error") return KT_LOG_ERROR;
    if (word == "warn" || word == "warning") return KT_LOG_WARN;
    if (word == "info") return KT_LOG_INFO;
    if (word == "debug") return KT_LOG_DEBUG;
    return std::nullopt;
}

std::string_view log_level_name(kt_log_level level) {
    switch (level) {
    case KT_LOG_OFF: return "off";
    case KT_LOG_ERROR: return "error";
    case KT_LOG_WARN: return "warning";
    case KT_LOG_INFO: return "info";
    case KT_LOG_DEBUG: return "debug";
    }
    return "unknown";
}

bool log_enabled(kt_log_level level) noexcept {
    // Relaxed: a level set on another thread is seen soon enough; nothing else is published by it.
    return level != KT_LOG_OFF && static_cast<int>(level) <= state().level.load(std::memory_order_relaxed);
}

void log_message(kt_log_level level, const std::string& message) noexcept {
    if (log_enabled(level)) deliver(state(), level, message);
}

void set_log_level(kt_log_level level) {
    // Through the underlying type: a C caller may pass any int, and a value outside the
    // enumerators must be refused, not assumed away.
    const auto value = static_cast<long long>(static_cast<std::underlying_type_t<kt_log_level>>(level));
    if (value < KT_LOG_OFF || value > KT_LOG_DEBUG)
        throw runtime_error(KT_ERROR_INVALID_ARGUMENT, "kt_set_log_level: " + std::to_string(value) +
                                                           " is not a log level (KT_LOG_OFF 0 to KT_LOG_DEBUG 4)");
    refuse_inside_callback("kt_set_log_level");
    state().level.store(static_cast<int>(value), std::memory_order_relaxed);
}

void set_log_sink(log_callback sink) {
    refuse_inside_callback("kt_set_log_callback");
    log_state& current = state();
    log_callback previous;
    {
        std::lock_guard<std::mutex> lock(current.mutex);
        previous.swap(current.sink);
        current.sink = std::move(sink);
    }
    // `previous` (and what it holds) is destroyed here, outside the lock.
}

} // namespace kerntune::detail
