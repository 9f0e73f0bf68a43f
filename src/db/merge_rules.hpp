#pragma once
// Internal to src/db: what database::merge does with one incoming row, given the row the target
// holds under the same key (docs/FLEET.md, "Merge rules"). Pure: unit-tested without a file.
#include <optional>
#include <string>

#include "db/database.hpp"

namespace kerntune::detail {

/// What becomes of an incoming row.
enum class merge_action {
    add,        ///< the target has no row of its key: the incoming row is written, as recorded
    unchanged,  ///< the target holds the same row, every field equal: nothing is written
    replace,    ///< a conflict the incoming row wins (a lower median by the same method)
    keep,       ///< a conflict the target's row wins: nothing is written
};

/// The action, and for a conflict (replace, keep) why, e.g. "a lower median by the same method
/// (8.5 us against 9.25 us here)".
struct merge_decision {
    merge_action action = merge_action::add;
    std::string why;
};

/// A measurement replaces the target's only when both are ok, were measured by the same,
/// known method (a method of "", from a kerntune before schema 3, is known to equal no other)
/// and its median is strictly lower; the GPU identity is part of the key, so both are of the
/// same GPU. Any other difference keeps the target's row: a different status, method or
/// provenance.
merge_decision decide(const std::optional<measurement>& here, const measurement& incoming);

/// A winner by the same rule as a measurement (winners have no status: both are ok).
merge_decision decide(const std::optional<winner>& here, const winner& incoming);

/// A device is added when the target lacks it and otherwise kept as the target has it: each
/// machine measures its own copy bandwidth, so the devices of shards of one GPU model differ,
/// and that is no conflict of results.
merge_decision decide(const std::optional<device_record>& here, const device_record& incoming);

} // namespace kerntune::detail
