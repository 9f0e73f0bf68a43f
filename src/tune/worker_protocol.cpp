#include "tune/worker_protocol.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

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

read_result read_all(int fd, char* data, std::size_t size,
                     std::chrono::steady_clock::time_point deadline, bool has_deadline) {
    while (size > 0) {
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
        const ssize_t got = read(fd, data, size);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) return read_result::closed;
        data += got;
        size -= static_cast<std::size_t>(got);
    }
    return read_result::ok;
}

} // namespace

const std::string& worker_message::at(const std::string& key) const {
    const auto it = fields.find(key);
    if (it == fields.end()) throw error("worker message lacks field '" + key + "'");
    return it->second;
}

std::int64_t worker_message::integer(const std::string& key) const { return std::stoll(at(key)); }

double worker_message::number(const std::string& key) const { return std::stod(at(key)); }

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

std::optional<worker_message> receive_message(int fd, int timeout_ms, bool* timed_out) {
    const bool has_deadline = timeout_ms >= 0;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    if (timed_out != nullptr) *timed_out = false;
    auto fail = [&](read_result why) -> std::optional<worker_message> {
        if (timed_out != nullptr) *timed_out = why == read_result::timed_out;
        return std::nullopt;
    };
    std::uint32_t lengths[2] = {0, 0};
    read_result got = read_all(fd, reinterpret_cast<char*>(lengths), sizeof(lengths), deadline, has_deadline);
    if (got != read_result::ok) return fail(got);
    std::string text(lengths[0], '\0');
    worker_message message;
    message.payload.resize(lengths[1]);
    if ((got = read_all(fd, text.data(), text.size(), deadline, has_deadline)) != read_result::ok ||
        (got = read_all(fd, message.payload.data(), message.payload.size(), deadline, has_deadline)) !=
            read_result::ok)
        return fail(got);
    std::size_t start = 0;
    while (start < text.size()) {
        const std::size_t end = text.find('\n', start);
        const std::string line = text.substr(start, end - start);
        const std::size_t equals = line.find('=');
        if (equals != std::string::npos)
            message.fields[line.substr(0, equals)] = unescape(line.substr(equals + 1));
        start = end == std::string::npos ? text.size() : end + 1;
    }
    return message;
}

} // namespace kerntune
