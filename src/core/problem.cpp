#include "core/problem.hpp"

#include "core/error.hpp"
#include "core/text.hpp"

namespace kerntune {
namespace {

std::string axes_text(const std::vector<std::string>& axes) {
    std::string text;
    for (const std::string& axis : axes) text += (text.empty() ? "" : ", ") + axis;
    return "[" + text + "]";
}

// A positive decimal integer with no sign, no leading zero and no overflow, or -1.
std::int64_t positive_integer(std::string_view text) {
    if (text.empty() || text.size() > 19 || text[0] == '0') return -1;
    std::int64_t value = 0;
    for (char c : text) {
        if (c < '0' || c > '9') return -1;
        if (__builtin_mul_overflow(value, 10, &value) || __builtin_add_overflow(value, c - '0', &value)) return -1;
    }
    return value;
}

bool is_identifier(const std::string& name) {
    if (name.empty() || (name[0] >= '0' && name[0] <= '9')) return false;
    for (char c : name)
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'))
            return false;
    return true;
}

} // namespace

std::int64_t tensor_shape::numel() const {
    // parse_shape proved the product fits, but shapes can also be built by hand: overflow would be
    // undefined behaviour, so it is an error here too.
    std::int64_t n = 1;
    for (std::int64_t dim : dims)
        if (__builtin_mul_overflow(n, dim, &n))
            throw error("shape " + to_string() + " has more than 2^63 elements");
    return n;
}

std::string tensor_shape::to_string() const {
    std::string text;
    for (std::int64_t dim : dims) text += (text.empty() ? "" : "x") + std::to_string(dim);
    return text;
}

tensor_shape parse_shape(std::string_view text) {
    auto fail = [&](const std::string& why) -> tensor_shape {
        throw error("bad shape '" + std::string(text) + "': " + why + " (expected e.g. 4096x393216 or 1048576)");
    };
    if (text.empty()) return fail("empty");
    tensor_shape parsed;
    std::int64_t product = 1;
    for (std::string_view dim : split(text, 'x')) {
        if (dim.empty()) return fail("empty dimension");
        std::int64_t value = 0;
        for (char c : dim) {
            if (c < '0' || c > '9') return fail(c == '-' ? "dimensions must be positive" : "not a number: '" + std::string(dim) + "'");
            if (__builtin_mul_overflow(value, 10, &value) || __builtin_add_overflow(value, c - '0', &value))
                return fail("dimension too large");
        }
        if (value == 0) return fail("dimensions must be positive");
        if (__builtin_mul_overflow(product, value, &product)) return fail("too many elements");
        parsed.dims.push_back(value);
    }
    return parsed;
}

std::vector<tensor_shape> parse_shape_list(std::string_view csv) {
    std::vector<tensor_shape> shapes;
    for (std::string_view item : split(csv, ',')) shapes.push_back(parse_shape(item));
    return shapes;
}

std::string problem::key() const {
    std::string text;
    for (std::size_t i = 0; i < axes.size(); ++i) text += (i ? "." : "") + axes[i] + "=" + std::to_string(extents[i]);
    return text;
}

std::string problem::to_string() const {
    if (!shown.empty()) return shown;
    return tensor_shape{extents}.to_string();
}

std::int64_t problem::numel() const {
    std::int64_t n = 1;
    for (std::int64_t extent : extents)
        if (__builtin_mul_overflow(n, extent, &n)) throw error("problem " + key() + " has more than 2^63 elements");
    return n;
}

std::int64_t problem::extent(std::string_view axis) const {
    for (std::size_t i = 0; i < axes.size(); ++i)
        if (axes[i] == axis) return extents[i];
    throw error("problem " + key() + " has no axis '" + std::string(axis) + "'");
}

void problem::bind(variables& vars) const {
    for (std::size_t i = 0; i < axes.size(); ++i) vars[axes[i]] = extents[i];
}

problem make_problem(const std::vector<std::string>& axes, const std::vector<std::int64_t>& extents) {
    if (axes.empty() || axes.size() > max_problem_axes)
        throw error("a problem has 1 to " + std::to_string(max_problem_axes) + " axes, not " +
                    std::to_string(axes.size()));
    // Axes are variables of launch rules and extents, and key() must parse back: an axis named
    // "a.b", "n=1" or "" would break both, and a repeated one would make extent() ambiguous.
    for (std::size_t i = 0; i < axes.size(); ++i) {
        if (!is_identifier(axes[i])) throw error("problem axis '" + axes[i] + "' is not an identifier");
        for (std::size_t j = 0; j < i; ++j)
            if (axes[j] == axes[i])
                throw error("problem axes " + axes_text(axes) + " name " + axes[i] + " twice");
    }
    if (extents.size() != axes.size())
        throw error("the problem axes are " + axes_text(axes) + ": " + std::to_string(axes.size()) + " values, not " +
                    std::to_string(extents.size()));
    for (std::size_t i = 0; i < axes.size(); ++i)
        if (extents[i] < 1) throw error("axis " + axes[i] + " must be >= 1, not " + std::to_string(extents[i]));
    problem made{axes, extents, {}};
    made.numel();  // refuses products past int64
    return made;
}

bool is_reduction(const std::vector<std::string>& axes) {
    return axes == std::vector<std::string>{"outer", "reduce", "inner"};
}

namespace {

problem reduction_problem(const std::vector<std::string>& axes, const tensor_shape& shape, std::int64_t dim) {
    const auto rank = static_cast<std::int64_t>(shape.dims.size());
    if (rank == 0) throw error("an empty shape has no dimension to reduce");
    if (dim < -rank || dim >= rank)
        throw error("dim " + std::to_string(dim) + " is out of range for shape " + shape.to_string() + " (expected " +
                    std::to_string(-rank) + " to " + std::to_string(rank - 1) + ")");
    const std::size_t reduced = static_cast<std::size_t>(dim < 0 ? dim + rank : dim);
    // Shapes come from parse_shape: positive dims whose product, so every partial one, fits int64.
    std::vector<std::int64_t> extents = {1, shape.dims[reduced], 1};
    for (std::size_t i = 0; i < shape.dims.size(); ++i)
        if (i != reduced) extents[i < reduced ? 0 : 2] *= shape.dims[i];
    problem made = make_problem(axes, extents);
    made.shown = shape.to_string() + (reduced + 1 == shape.dims.size() ? "" : " dim " + std::to_string(reduced));
    return made;
}

} // namespace

problem make_problem(const std::vector<std::string>& axes, const tensor_shape& shape, std::optional<std::int64_t> reduce_dim) {
    if (reduce_dim && !is_reduction(axes))
        throw error("a dim to reduce applies to ops whose problem axes are [outer, reduce, inner], not " + axes_text(axes));
    if (is_reduction(axes) && (reduce_dim || shape.dims.size() != axes.size()))
        return reduction_problem(axes, shape, reduce_dim.value_or(-1));
    if (axes.size() == 1) {
        // Checked here, not by numel(): a product of negative dimensions can be positive.
        if (shape.dims.empty()) throw error("an empty shape has no elements");
        for (std::int64_t dim : shape.dims)
            if (dim < 1) throw error("shape " + shape.to_string() + ": dimensions must be positive");
        problem made = make_problem(axes, std::vector<std::int64_t>{shape.numel()});
        made.shown = shape.to_string();
        return made;
    }
    if (shape.dims.size() != axes.size())
        throw error("shape " + shape.to_string() + " has " + std::to_string(shape.dims.size()) +
                    " dimensions; this op's problem axes are " + axes_text(axes));
    problem made = make_problem(axes, shape.dims);
    made.shown = shape.to_string();
    return made;
}

problem parse_problem_key(const std::vector<std::string>& axes, std::string_view key) {
    const std::vector<std::string_view> parts = split(key, '.');
    if (parts.size() != axes.size()) throw error("problem key '" + std::string(key) + "' does not name the axes " + axes_text(axes));
    std::vector<std::int64_t> extents;
    for (std::size_t i = 0; i < axes.size(); ++i) {
        const std::string prefix = axes[i] + "=";
        const std::int64_t value =
            parts[i].substr(0, prefix.size()) == prefix ? positive_integer(parts[i].substr(prefix.size())) : -1;
        if (value < 1) throw error("problem key '" + std::string(key) + "' does not name the axes " + axes_text(axes));
        extents.push_back(value);
    }
    return make_problem(axes, extents);
}

} // namespace kerntune
