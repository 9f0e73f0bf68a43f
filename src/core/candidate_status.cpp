#include "core/candidate_status.hpp"

#include <string>

#include "core/error.hpp"

namespace kerntune {

std::string_view to_string(candidate_status status) {
    switch (status) {
    case candidate_status::ok: return "ok";
    case candidate_status::compile_failed: return "compile_failed";
    case candidate_status::resource_limit: return "resource_limit";
    case candidate_status::launch_failed: return "launch_failed";
    case candidate_status::runtime_fault: return "runtime_fault";
    case candidate_status::timeout: return "timeout";
    case candidate_status::wrong_answer: return "wrong_answer";
    }
    return "?";
}

bool may_be_environmental(candidate_status status) {
    return status == candidate_status::timeout || status == candidate_status::launch_failed ||
           status == candidate_status::runtime_fault;
}

candidate_status parse_candidate_status(std::string_view text) {
    for (candidate_status status : all_candidate_statuses)
        if (text == to_string(status)) return status;
    throw error("unknown candidate status '" + std::string(text) +
                "': expected ok, compile_failed, resource_limit, launch_failed, runtime_fault, timeout or "
                "wrong_answer");
}

} // namespace kerntune
