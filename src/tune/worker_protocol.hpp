#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "core/candidate_status.hpp"
#include "cuda/device.hpp"

namespace kerntune {

/// One message between the tuner and its GPU worker process: named text fields and an optional
/// binary payload (a cubin). On the wire: two little-endian uint32 lengths, the fields as
/// "key=value\n" lines (values escaped so they hold no newline), then the payload.
struct worker_message {
    std::map<std::string, std::string> fields;
    std::string payload;

    /// The field's text; throws kerntune::error when the field is missing.
    const std::string& at(const std::string& key) const;
    /// The field as a decimal integer: the whole text, an optional '-' then digits, in range of
    /// int64. Throws kerntune::error naming the field and its text otherwise (or when missing).
    std::int64_t integer(const std::string& key) const;
    /// The field as a number: the whole text in std::to_string's or printf's %g form, "inf" and
    /// "nan" included (the decoders below check the ranges). Throws kerntune::error naming the
    /// field and its text otherwise (or when missing, or beyond the range of double).
    double number(const std::string& key) const;
    /// The field's text, or `fallback` when it is missing.
    std::string get(const std::string& key, const std::string& fallback = "") const;
};

/// Writes a whole message; returns false when the peer is gone (never raises SIGPIPE).
bool send_message(int fd, const worker_message& message);

/// Why receive_worker_message gave no message.
enum class receive_status {
    ok,         ///< a whole, well-formed message
    closed,     ///< the peer closed the connection (or it failed) before a message began
    timed_out,  ///< the deadline passed
    malformed,  ///< a length over the bounds, a message cut off part-way, or fields that do not parse
};

/// What receive_worker_message read.
struct received_message {
    receive_status status = receive_status::closed;
    worker_message message;  ///< when status is ok
    std::string problem;     ///< when malformed: what was wrong, for the log and the stored status
};

/// The most bytes of fields one message may have; a header claiming more is refused before
/// anything is allocated. Fields hold numbers, names, options and NVRTC logs: kilobytes, a
/// few megabytes for the log of a whole failing batch. 64 MiB is far above that and small
/// enough to hold on any machine that tunes.
inline constexpr std::uint32_t max_field_bytes = std::uint32_t{64} << 20;
/// The most bytes of payload one message may have, refused the same way. Payloads are kernel
/// source and cubins, megabytes for a batch of kernels; 1 GiB is far above that, while a
/// corrupt header can claim up to 4 GiB.
inline constexpr std::uint32_t max_payload_bytes = std::uint32_t{1} << 30;

/// Reads one whole message, waiting at most timeout_ms (negative: no deadline). The header's
/// lengths are claims: over the bounds above the message is malformed, and buffers grow only as
/// bytes arrive, so a false claim costs no memory.
received_message receive_worker_message(int fd, int timeout_ms);

/// The same, for callers that only tell "a message" from "none": nullopt when the peer closed
/// the connection, the message was malformed, or the deadline passed; timed_out says which.
std::optional<worker_message> receive_message(int fd, int timeout_ms, bool* timed_out = nullptr);

/// The device as the worker's hello reply describes it (worker.cpp writes the fields). Throws
/// kerntune::error naming the field when one is missing, not an integer, out of its type's
/// range or impossible for a GPU (no name, no SMs, compute capability 0, a negative size).
device_info decode_hello(const worker_message& hello, int ordinal);

/// The worker's answer to an evaluate request.
struct evaluation {
    candidate_status status = candidate_status::runtime_fault;
    double median_us = 0, noise = 0;  ///< ok only: median time and relative spread of the samples
    int samples = 0;                  ///< ok only: how many were taken
    std::string message;              ///< why it failed; empty when ok
};

/// How the worker times a candidate (worker.cpp, time()), stored with each measurement and winner
/// (measurement::method): CUDA events around one launch, L2 flushed before every sample,
/// samples until the spread is small or a cap is hit, the median. A change to the worker that
/// makes its medians incomparable with earlier ones (another clock, no flush, several launches
/// a sample) must spell a new method, so that `db merge` never prefers one median over another
/// measured differently.
inline constexpr const char* timing_method = "cuda-events.l2-flushed.median";

/// Decodes an evaluate reply, checking what it reads: a known status, and for ok a finite
/// median_us > 0, a finite noise >= 0 and samples >= 1. Throws kerntune::error otherwise.
evaluation decode_evaluation(const worker_message& reply);

} // namespace kerntune
