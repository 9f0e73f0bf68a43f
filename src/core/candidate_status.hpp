#pragma once
#include <array>
#include <string_view>

namespace kerntune {

/// What became of one tuning candidate. Inside the tuner a failure is one of these, stored with
/// the candidate (a resumed tune skips it), never an exception.
enum class candidate_status {
    ok,              ///< validated and timed
    compile_failed,  ///< NVRTC rejected it (the log is the message)
    resource_limit,  ///< the block needs more registers or threads than the GPU gives it
    launch_failed,   ///< the driver refused the launch, or the launch rule gave no valid grid
    runtime_fault,   ///< the worker faulted, died or answered nonsense; it was restarted
    timeout,         ///< no answer in time; the worker was killed and restarted
    wrong_answer,    ///< its output differs from the reference's
};

/// Every status, in declaration order.
inline constexpr std::array<candidate_status, 7> all_candidate_statuses = {
    candidate_status::ok,            candidate_status::compile_failed, candidate_status::resource_limit,
    candidate_status::launch_failed, candidate_status::runtime_fault,  candidate_status::timeout,
    candidate_status::wrong_answer};

/// "ok", "compile_failed", ...: the one spelling used in the database, the worker protocol and logs.
std::string_view to_string(candidate_status status);

/// Whether a stored status may have been the environment's fault rather than the candidate's:
/// timeout (a loaded machine, a --timeout too short), launch_failed and runtime_fault (a driver or
/// worker that failed, a GPU in a bad state). `tune --retry-failed` measures these again; the
/// others (compile_failed, resource_limit, wrong_answer) follow from the code and the GPU model,
/// and would fail the same way.
bool may_be_environmental(candidate_status status);

/// Parses one of the seven spellings; throws kerntune::error naming the text otherwise.
candidate_status parse_candidate_status(std::string_view text);

} // namespace kerntune
