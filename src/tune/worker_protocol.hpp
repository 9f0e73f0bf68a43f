#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <string>

namespace kerntune {

/// One message between the tuner and its GPU worker process: named text fields and an optional
/// binary payload (a cubin). On the wire: two little-endian uint32 lengths, the fields as
/// "key=value\n" lines (values escaped so they hold no newline), then the payload.
struct worker_message {
    std::map<std::string, std::string> fields;
    std::string payload;

    const std::string& at(const std::string& key) const;  ///< throws when the field is missing
    std::int64_t integer(const std::string& key) const;
    double number(const std::string& key) const;
    std::string get(const std::string& key, const std::string& fallback = "") const;
};

/// Writes a whole message; returns false when the peer is gone (never raises SIGPIPE).
bool send_message(int fd, const worker_message& message);

/// Reads one whole message. Returns nullopt when the peer closed the connection or the
/// deadline (milliseconds from now; negative: none) passed; timed_out says which.
std::optional<worker_message> receive_message(int fd, int timeout_ms, bool* timed_out = nullptr);

} // namespace kerntune
