#pragma once
#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "cuda/nvrtc.hpp"
#include "tune/worker_protocol.hpp"

namespace kerntune {

/// A worker that cannot be started (or started again after a fault): its executable is missing,
/// its GPU is unusable or gone, or its hello is malformed. The GPU cannot be tuned on for now;
/// no candidate is to blame.
struct worker_unavailable : error {
    using error::error;
};

/// The tuner's handle on its GPU worker process (worker.hpp). Starts the worker, keeps the
/// cubins it was given so that a fresh worker can be loaded again, and turns a worker that
/// dies or answers with a malformed message (runtime_fault; it is killed) or stops answering
/// (timeout: it is killed) into a status for the candidate in flight, after which the next
/// request starts a fresh worker.
class worker_client {
public:
    /// Starts a worker on GPU `device` and waits for its hello (the device's facts); the worker
    /// then opens its context while the caller goes on (compiling, typically). Throws
    /// worker_unavailable when it cannot start, the GPU is unusable or the hello is malformed
    /// (see decode_hello).
    worker_client(std::filesystem::path executable, int device);
    ~worker_client();
    worker_client(const worker_client&) = delete;
    worker_client& operator=(const worker_client&) = delete;

    /// The first worker's hello reply (decode_hello has accepted it).
    const worker_message& device_facts() const { return m_hello; }

    /// A device-to-device copy's bandwidth (GB/s, bytes read + written), measured by the worker.
    double measure_copy_gbps();

    /// Registers a cubin; the returned id names it in requests (field "...module").
    std::int64_t add_module(std::string cubin);

    /// Sends an evaluate request that uses `modules`, loading those the worker lacks, and waits
    /// at most timeout_ms for the answer. A reply that is malformed or fails decode_evaluation
    /// is runtime_fault with the message "malformed worker reply: <what>", and the worker is
    /// killed. Throws worker_unavailable only when a fresh worker is needed and cannot be
    /// started (as the constructor does).
    evaluation evaluate(worker_message request, const std::vector<std::int64_t>& modules, int timeout_ms);

    /// Whether the worker of the last evaluate died without answering: it was killed by a signal
    /// or exited, neither by this client nor after reporting a fault. The evaluation is then a
    /// runtime_fault naming how it died, but the candidate need not be to blame: kill -9, the
    /// OOM killer and a GPU that falls off the bus end a worker the same way. A tune on several
    /// GPUs of one identity hands the key to another GPU instead (docs/MULTI_GPU.md).
    bool worker_lost() const { return m_lost; }

    /// The running worker's process id; -1 between a worker's end and the next start. For tests
    /// that kill it: read it on the thread that uses this client.
    pid_t pid() const { return m_pid; }

    /// How many workers were started (1 + restarts after faults, malformed replies and timeouts).
    int starts() const { return m_starts; }

private:
    std::filesystem::path m_executable;
    int m_device;
    pid_t m_pid = -1;
    int m_fd = -1;
    int m_starts = 0;
    bool m_lost = false;  // the last evaluate's worker died without answering
    worker_message m_hello;
    std::vector<std::string> m_cubins;
    std::set<std::int64_t> m_loaded;  // modules the running worker has

    void start();         // start_worker, its failures as worker_unavailable
    void start_worker();
    int stop(bool kill_first);  // returns the wait status
    worker_message request(const worker_message& message, int timeout_ms);
    evaluation outcome_of(const worker_message& reply);
};

/// The worker program: $KERNTUNE_WORKER, else find_worker_executable(the running program's folder).
std::filesystem::path default_worker_executable();

/// The worker a program in `program_dir` starts: kerntune-worker beside it (the build tree puts
/// both in tools/), else the installed one, <prefix>/libexec/kerntune/kerntune-worker found from
/// <prefix>/bin (`../libexec/kerntune`), else the one in the build tree this was compiled in.
std::filesystem::path find_worker_executable(const std::filesystem::path& program_dir);

/// A started worker process and the socket it serves.
struct spawned_worker {
    pid_t pid = -1;
    int fd = -1;
};

/// Starts `executable` serving the worker protocol on a new socket.
spawned_worker spawn_worker(const std::filesystem::path& executable);

/// Compiles with NVRTC in a worker process: one kept from an earlier compile of this process
/// when one is idle (it has paid NVRTC's start-up), else a new one. NVRTC serialises much of
/// its work inside one process (measured on the H100 machine: 48 kernels took 1.2 s on 16
/// threads, as long as on 2), so batches compiled in separate processes finish several times
/// sooner.
compiled_program compile_in_worker(const compile_request& request);

} // namespace kerntune
