#pragma once

namespace kerntune {

/// The GPU side of tuning, run in its own process (tools/kerntune_worker.cpp) so that a
/// candidate that faults or hangs costs only this process: a faulting kernel poisons its CUDA
/// context for the life of the process, and a data-center GPU has no watchdog.
///
/// Serves requests from the tuner on `fd` (worker_protocol.hpp) until the tuner closes it:
/// compile (NVRTC only, no GPU: see compile_in_worker), hello (the device's facts; the context
/// is opened right after answering), measure_copy (a
/// device-to-device copy's bandwidth), load (a cubin), evaluate (validate a candidate bit for
/// bit against the reference, then time it). After a fault it answers runtime_fault and exits.
/// Returns the process exit code.
int run_worker(int fd);

} // namespace kerntune
