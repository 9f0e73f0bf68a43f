#include "tune/worker_protocol.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstring>
#include <limits>

#include "core/error.hpp"

namespace kerntune {
namespace {

std::string escape(const std::string& value) {
    std::string out;
    for (char c : value) {
        if (c == '\\') out += "\\\\";
        else if (c == '\n') out += "\\n";
        else out += c;
    }
    return out;
}

std::string unescape(const std::string& value) {
    std::string out;
    for (std::size_t i = 0; i < value.size(); ++i) {
        if (value[i] == '\\' && i + 1 < value.size()) {
            ++i;
            out += value[i] == 'n' ? '\n' : value[i];
        } else {
            out += value[i];
        }
    }
    return out;
}

bool write_all(int fd, const char* data, std::size_t size) {
    while (size > 0) {
        const ssize_t written = send(fd, data, size, MSG_NOSIGNAL);
        if (written < 0 && errno == EINTR) continue;
        if (written <= 0) return false;
        data += written;
        size -= static_cast<std::size_t>(written);
    }
    return true;
}

enum class read_result { ok, closed, timed_out };

/// Waits until `fd` is readable or the deadline passes.
read_result wait_readable(int fd, std::chrono::steady_clock::time_point deadline, bool has_deadline) {
    while (true) {
        int wait_ms = -1;
        if (has_deadline) {
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                deadline - std::chrono::steady_clock::now());
            if (left.count() <= 0) return read_result::timed_out;
            wait_ms = static_cast<int>(left.count());
        }
        pollfd waiting{fd, POLLIN, 0};
        const int ready = poll(&waiting, 1, wait_ms);
        if (ready < 0 && errno == EINTR) continue;
        if (ready < 0) return read_result::closed;
        if (ready == 0) return read_result::timed_out;
        return read_result::ok;
    }
}

/// Reads until `out` holds `size` bytes. The string grows as bytes arrive (std::string at least
/// doubles its capacity when it grows, so this is amortised linear), never to the size a header
/// claims before the bytes are there.
read_result read_growing(int fd, std::string& out, std::size_t size,
                         std::chrono::steady_clock::time_point deadline, bool has_deadline) {
    // 64 KiB per read: a Unix socket rarely holds more at once (its default buffer is about
    // 200 KiB), and it is small enough for the stack of any thread.
    char buffer[64 << 10];
    while (out.size() < size) {
        if (const read_result ready = wait_readable(fd, deadline, has_deadline); ready != read_result::ok)
            return ready;
        const ssize_t got = read(fd, buffer, std::min(sizeof(buffer), size - out.size()));
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) return read_result::closed;
        out.append(buffer, static_cast<std::size_t>(got));
    }
    return read_result::ok;
}

/// The "key=value\n" lines of a field block; false (and `problem` says why) when a line has no
/// '=', a key comes twice, or the block does not end with a newline.
bool parse_fields(const std::string& text, std::map<std::string, std::string>& fields, std::string& problem) {
    std::size_t start = 0;
    while (start < text.size()) {
        const std::size_t end = text.find('\n', start);
        if (end == std::string::npos) {
            problem = "the fields do not end with a newline";
            return false;
        }
        const std::string line = text.substr(start, end - start);
        const std::size_t equals = line.find('=');
        if (equals == std::string::npos) {
            problem = "a field line without '=': '" + line.substr(0, 80) + "'";
            return false;
        }
        if (!fields.emplace(line.substr(0, equals), unescape(line.substr(equals + 1))).second) {
            problem = "the field '" + line.substr(0, equals) + "' comes twice";
            return false;
        }
        start = end + 1;
    }
    return true;
}

/// The field's text for an error message: quoted, and cut short when long.
std::string quoted(const std::string& text) {
    // Enough to recognise any number or short word; a field may hold a whole NVRTC log.
    constexpr std::size_t shown = 40;
    return "'" + (text.size() > shown ? text.substr(0, shown) + "..." : text) + "'";
}

} // namespace

const std::string& worker_message::at(const std::string& key) const {
    const auto it = fields.find(key);
    if (it == fields.end()) throw error("worker message lacks field '" + key + "'");
    return it->second;
}

std::int64_t worker_message::integer(const std::string& key) const {
    const std::string& text = at(key);
    std::int64_t value = 0;
    const auto [end, failure] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (failure == std::errc::result_out_of_range)
        throw error("worker message field '" + key + "' is out of range for an integer: " + quoted(text));
    if (failure != std::errc() || end != text.data() + text.size())
        throw error("worker message field '" + key + "' is not an integer: " + quoted(text));
    return value;
}

double worker_message::number(const std::string& key) const {
    const std::string& text = at(key);
    double value = 0;
    const auto [end, failure] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (failure == std::errc::result_out_of_range)
        throw error("worker message field '" + key + "' is out of range for a number: " + quoted(text));
    if (failure != std::errc() || end != text.data() + text.size())
        throw error("worker message field '" + key + "' is not a number: " + quoted(text));
    return value;
}

std::string worker_message::get(const std::string& key, const std::string& fallback) const {
    const auto it = fields.find(key);
    return it == fields.end() ? fallback : it->second;
}

bool send_message(int fd, const worker_message& message) {
    std::string text;
    for (const auto& [key, value] : message.fields) text += key + "=" + escape(value) + "\n";
    const std::uint32_t lengths[2] = {static_cast<std::uint32_t>(text.size()),
                                      static_cast<std::uint32_t>(message.payload.size())};
    return write_all(fd, reinterpret_cast<const char*>(lengths), sizeof(lengths)) &&
           write_all(fd, text.data(), text.size()) &&
           write_all(fd, message.payload.data(), message.payload.size());
}

received_message receive_worker_message(int fd, int timeout_ms) {
    const bool has_deadline = timeout_ms >= 0;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    received_message received;
    auto malformed = [&](std::string problem) {
        received.status = receive_status::malformed;
        received.problem = std::move(problem);
        return received;
    };
    auto stopped = [&](read_result why) {
        received.status = why == read_result::timed_out ? receive_status::timed_out : receive_status::closed;
        return received;
    };

    std::string header;
    read_result got = read_growing(fd, header, 2 * sizeof(std::uint32_t), deadline, has_deadline);
    if (got == read_result::closed && !header.empty())
        return malformed("the connection closed " + std::to_string(header.size()) + " bytes into a header");
    if (got != read_result::ok) return stopped(got);
    std::uint32_t lengths[2] = {0, 0};
    std::memcpy(lengths, header.data(), sizeof(lengths));
    if (lengths[0] > max_field_bytes)
        return malformed("the header claims " + std::to_string(lengths[0]) +
                         " bytes of fields, over the bound of " + std::to_string(max_field_bytes));
    if (lengths[1] > max_payload_bytes)
        return malformed("the header claims " + std::to_string(lengths[1]) +
                         " bytes of payload, over the bound of " + std::to_string(max_payload_bytes));

    std::string text;
    worker_message& message = received.message;
    if ((got = read_growing(fd, text, lengths[0], deadline, has_deadline)) == read_result::ok)
        got = read_growing(fd, message.payload, lengths[1], deadline, has_deadline);
    if (got == read_result::closed)
        return malformed("the connection closed after " +
                         std::to_string(text.size() + message.payload.size()) + " of the " +
                         std::to_string(std::uint64_t{lengths[0]} + lengths[1]) + " bytes the header claims");
    if (got != read_result::ok) return stopped(got);
    std::string problem;
    if (!parse_fields(text, message.fields, problem)) return malformed(problem);
    received.status = receive_status::ok;
    return received;
}

std::optional<worker_message> receive_message(int fd, int timeout_ms, bool* timed_out) {
    received_message received = receive_worker_message(fd, timeout_ms);
    if (timed_out != nullptr) *timed_out = received.status == receive_status::timed_out;
    if (received.status != receive_status::ok) return std::nullopt;
    return std::move(received.message);
}

namespace {

/// An integer field that must lie in [minimum, maximum] (the range of the device_info member
/// it fills, or narrower where a GPU cannot have less).
std::int64_t bounded(const worker_message& message, const std::string& key, std::int64_t minimum,
                     std::int64_t maximum) {
    const std::int64_t value = message.integer(key);
    if (value < minimum || value > maximum)
        throw error("worker message field '" + key + "' is " + std::to_string(value) + ", outside [" +
                    std::to_string(minimum) + ", " + std::to_string(maximum) + "]");
    return value;
}

int bounded_int(const worker_message& message, const std::string& key, int minimum) {
    return static_cast<int>(bounded(message, key, minimum, std::numeric_limits<int>::max()));
}

std::int64_t size_field(const worker_message& message, const std::string& key) {
    return bounded(message, key, 0, std::numeric_limits<std::int64_t>::max());
}

} // namespace

device_info decode_hello(const worker_message& hello, int ordinal) {
    device_info info;
    info.ordinal = ordinal;
    info.name = hello.at("name");
    if (info.name.empty()) throw error("worker message field 'name' is empty");
    // Compute capability 1.0 is the lowest there is, and a GPU has at least one SM.
    info.cc_major = bounded_int(hello, "cc_major", 1);
    info.cc_minor = bounded_int(hello, "cc_minor", 0);
    info.sm_count = bounded_int(hello, "sm_count", 1);
    info.max_threads_per_sm = bounded_int(hello, "max_threads_per_sm", 1);
    info.shared_memory_per_sm = size_field(hello, "shared_memory_per_sm");
    info.max_shared_memory_per_block = size_field(hello, "max_shared_memory_per_block");
    info.l2_bytes = size_field(hello, "l2_bytes");
    info.memory_clock_khz = size_field(hello, "memory_clock_khz");
    info.bus_width_bits = bounded_int(hello, "bus_width_bits", 0);
    info.total_memory_bytes = size_field(hello, "total_memory_bytes");
    info.driver_version = bounded_int(hello, "driver_version", 0);
    return info;
}

evaluation decode_evaluation(const worker_message& reply) {
    evaluation result;
    result.status = parse_candidate_status(reply.at("status"));
    result.message = reply.get("message");
    if (result.status != candidate_status::ok) return result;
    result.median_us = reply.number("median_us");
    result.noise = reply.number("noise");
    if (!std::isfinite(result.median_us) || result.median_us <= 0)
        throw error("worker message field 'median_us' is " + quoted(reply.at("median_us")) +
                    ": an ok candidate's must be finite and > 0");
    if (!std::isfinite(result.noise) || result.noise < 0)
        throw error("worker message field 'noise' is " + quoted(reply.at("noise")) +
                    ": an ok candidate's must be finite and >= 0");
    result.samples = static_cast<int>(bounded(reply, "samples", 1, std::numeric_limits<int>::max()));
    return result;
}

} // namespace kerntune
