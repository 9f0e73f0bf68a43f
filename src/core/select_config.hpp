#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/config.hpp"
#include "core/dtype.hpp"
#include "core/kernel_spec.hpp"
#include "core/problem.hpp"
#include "core/regime.hpp"

namespace kerntune {

/// How the config used for a call was found.
enum class config_match { exact, nearest, family, default_config };

/// "exact", "nearest", "default": the one spelling in logs, reports and APIs.
std::string_view to_string(config_match match);

/// One stored winner as read back from a database: every field may have been tampered with.
struct tuned_row {
    std::string template_name, template_hash, dtype, problem_key, gpu_identity, nvrtc_version, label;
    /// From the shipped database (tuning_db/), read beneath the user's: a user's row of the
    /// same problem is tried first.
    bool shipped = false;
    /// The tuning family of the row's template as the reader knows it (kernel_spec::family of a
    /// current template, or what the name says: family_in_name); empty for none.
    std::string family;
};

/// The config a call uses and why.
struct selection {
    config chosen;
    config_match match = config_match::default_config;
    std::string label;                 ///< label(spec, chosen)
    std::vector<std::string> refused;  ///< one line per row that applied but was refused, saying why
    bool shipped = false;              ///< the chosen row is a shipped one (exact or nearest)
    std::optional<std::int64_t> regime;  ///< the wanted problem's (regime_of); none: in no regime
};

/// The lookup chain, as a pure function of its arguments:
/// exact (same template name and source hash, dtype, problem key, GPU identity and NVRTC
/// version), else the nearest tuned problem of the same template, dtype, GPU and NVRTC in log
/// space within the wanted problem's regime (of the same code first), else (for a spec of a
/// family) the nearest tuned problem within that regime of another template of its family with
/// that dtype, GPU and NVRTC, else the spec's default config for the dtype.
///
/// - Regimes (regime_of, with `device`, the caller's GPU: a row applies only when its GPU
///   identity is the caller's, so its problem's regime is computed with the same facts): a
///   tuned problem of another regime is never borrowed, however near; a problem whose regime
///   cannot be computed is in none, so it borrows nothing and lends nothing (exact still works).
/// - Shipped rows (tuned_row::shipped) and the user's are one set, but for one tuned problem
///   the user's rows are tried first and the shipped ones only when all of the user's are
///   refused: a user's row wins, and a shipped exact row beats a user's nearest one.
///   `shipped` says whether the chosen row was a shipped one.
///
/// - A row applies when its template name and hash, dtype, GPU identity and NVRTC version are
///   the caller's and its problem key parses for wanted.axes (parse_problem_key); other rows are
///   stale or foreign and are skipped silently (never an error, never in `refused`). So is a
///   row of the spec whose config the spec's problem constraints leave out at `wanted`
///   (candidate_at, with device.limits): it is no candidate there.
/// - Of the tuned problems in the regime, those whose kernel is the wanted problem's (the same
///   derived values, derive: softmax's held rows of 65 to 128 elements, not those of 33 to 64)
///   are tried before any other, nearest first: a config's speed was measured on its kernel.
///   The others are borrowed only when none of them applies.
/// - Distance is the sum over axes of (ln tuned - ln wanted)^2, so a 2x bigger problem is as far
///   as a 2x smaller one (bandwidth behaviour changes with the ratio, not the difference). Ties
///   go to the problem with more elements, whose config was chosen for more work in flight, then
///   to the larger extents in axis order.
/// - Candidates are tried exact first, then by code and distance: a row whose label does not
///   parse (parse_label) or violates the constraints for `type` is refused with a line in
///   `refused` (`n=1048576 "blk300.vec4" refused: BLOCK must be one of 128, 256`, the label
///   escaped as a JSON string), and the next candidate is tried. Rows farther than the one
///   chosen are not examined.
/// - Family rows (row.family == spec.family, another template): each template's rows are a
///   candidate of their own, tried by distance, then as above, then by template name; any of
///   them gives config_match::family, even at the same problem.
/// - Several rows with the same problem key (a database's primary key forbids them, so they come
///   from tampering or from a caller that merged databases): those that agree count as one; when
///   the valid ones disagree, all of them are refused, because nothing says which one the tuner
///   chose, and the next candidate is tried.
/// - The result depends on the set of rows, not on their order, `refused` included.
///
/// Throws kerntune::error when `wanted` is not a valid problem (see make_problem) or the spec's
/// default is invalid (see default_config); never because of a row.
selection select_config(const kernel_spec& spec, dtype type, const problem& wanted,
                        std::string_view gpu_identity, std::string_view nvrtc_version, const regime_device& device,
                        const std::vector<tuned_row>& rows);

} // namespace kerntune
