#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/expression.hpp"

namespace kerntune {

/// A tensor shape as a user writes it, e.g. 4096 x 393216.
struct tensor_shape {
    std::vector<std::int64_t> dims;

    /// Number of elements; throws past int64 (which parse_shape already refuses).
    std::int64_t numel() const;
    /// "4096x393216"
    std::string to_string() const;
};

/// Parses "4096x393216" or "1048576". Empty, non-digit, zero and negative dimensions and
/// products past int64 are errors that quote the text.
tensor_shape parse_shape(std::string_view text);

/// Parses a comma-separated list of shapes.
std::vector<tensor_shape> parse_shape_list(std::string_view csv);

/// The most axes a spec may declare: enough for [outer, reduce, inner] and a batch axis.
inline constexpr std::size_t max_problem_axes = 4;

/// A problem: a positive value bound to each axis a spec declares, in the spec's order
/// (`[n]` for elementwise ops, `[rows, cols]`, `[outer, reduce, inner]`).
struct problem {
    std::vector<std::string> axes;
    std::vector<std::int64_t> extents;  ///< parallel to axes
    std::string shown;                  ///< how the user wrote it ("4096x393216"), for tables

    /// The one spelling of a problem in databases and logs: "axis=value" joined by '.', e.g.
    /// "n=1610612736" or "outer=16.reduce=4194304.inner=1".
    std::string key() const;
    /// `shown`, else the extents joined by 'x'.
    std::string to_string() const;
    /// The product of the extents.
    std::int64_t numel() const;
    /// The extent of `axis`; throws when the problem has no such axis.
    std::int64_t extent(std::string_view axis) const;
    /// Adds every axis and its extent to vars (what launch rules and extents read).
    void bind(variables& vars) const;
};

/// The problem a shape gives for a spec's axes: with one axis, the shape's element count (an
/// elementwise op depends only on it, so 4096x393216 and 1610612736 are one problem); else one
/// dimension per axis. Throws, naming the axes, when the counts differ.
///
/// Reductions (axes [outer, reduce, inner]) also take a tensor shape and the dim it reduces:
/// with `reduce_dim` (negative counts from the end), or when the shape does not have three
/// dimensions (then the last dim), outer is the product of the dims before it and inner of
/// those after: 4096x393216 is outer 4096, reduce 393216, inner 1; 8x64x32x32 with dim 1 is
/// outer 8, reduce 64, inner 1024.
problem make_problem(const std::vector<std::string>& axes, const tensor_shape& shape,
                     std::optional<std::int64_t> reduce_dim = std::nullopt);

/// True for the axes of a reduction over one dim, [outer, reduce, inner].
bool is_reduction(const std::vector<std::string>& axes);

/// The problem with these extents (one per axis, each >= 1, product within int64); throws
/// otherwise, and when the axes are not 1 to max_problem_axes distinct identifiers.
problem make_problem(const std::vector<std::string>& axes, const std::vector<std::int64_t>& extents);

/// The strict inverse of problem::key() for these axes: anything else is an error (keys come
/// back from databases, which may be tampered with).
problem parse_problem_key(const std::vector<std::string>& axes, std::string_view key);

} // namespace kerntune
