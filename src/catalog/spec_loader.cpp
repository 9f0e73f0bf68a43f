#include "catalog/spec_loader.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <functional>
#include <map>
#include <set>

#include "core/config.hpp"
#include "core/kernel_arguments.hpp"
#include "core/error.hpp"
#include "core/problem.hpp"
#include "core/regime.hpp"
#include "core/sha256.hpp"
#include "core/text.hpp"
#include "core/cuda_include_dir.hpp"

namespace kerntune {
namespace {

bool is_identifier(const std::string& text) {
    if (text.empty() || !(std::isalpha(static_cast<unsigned char>(text[0])) || text[0] == '_')) return false;
    return std::all_of(text.begin(), text.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; });
}

/// A C++ qualified name, as kernels are named: identifiers joined by "::" (kt::leaky_relu). The
/// names go into NVRTC name expressions, one per line to the compile worker, so nothing else
/// (no newline, no template arguments, no punctuation) may be in one.
bool is_qualified_identifier(const std::string& text) {
    if (text.empty() || text.size() > 255) return false;
    for (std::size_t start = 0;;) {
        const std::size_t end = text.find("::", start);
        if (!is_identifier(text.substr(start, end == std::string::npos ? std::string::npos : end - start))) return false;
        if (end == std::string::npos) return true;
        start = end + 2;
    }
}

/// The most characters of a value a message quotes (printable: escaped, then cut): a message
/// stays one line a reader can take in.
constexpr std::size_t quoted_length = 80;

/// A file name a spec or source may refer to: relative, inside the folder, one line of
/// ordinary characters.
bool is_inside_name(const std::string& name) {
    if (name.empty() || name.front() == '/' || name.size() > 255) return false;
    for (std::string_view part : split(name, '/'))
        if (part.empty() || part == "." || part == "..") return false;
    return std::all_of(name.begin(), name.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.' || c == '/';
    });
}

/// The names in #include lines of `text`, with their 1-based line numbers. Every include
/// counts, also inside #if 0 or a comment: a conservative reading never misses one.
std::vector<std::pair<std::string, int>> includes_of(const std::string& text) {
    std::vector<std::pair<std::string, int>> found;
    int number = 0;
    for (std::string_view line : split(text, '\n')) {
        ++number;
        std::size_t i = line.find_first_not_of(" \t");
        if (i == std::string_view::npos || line[i] != '#') continue;
        i = line.find_first_not_of(" \t", i + 1);
        if (i == std::string_view::npos || line.substr(i, 7) != "include") continue;
        i = line.find_first_not_of(" \t", i + 7);
        if (i == std::string_view::npos || (line[i] != '"' && line[i] != '<')) continue;
        const char close = line[i] == '"' ? '"' : '>';
        const std::size_t end = line.find(close, i + 1);
        if (end == std::string_view::npos) continue;
        found.emplace_back(std::string(line.substr(i + 1, end - i - 1)), number);
    }
    return found;
}

const std::set<std::string> device_names = {"sm_count", "max_threads_per_sm", "shared_memory_per_sm",
                                            "max_shared_memory_per_block", "max_cluster_size"};

/// Reads one YAML spec, with every message prefixed by "<path>:<line>:".
class spec_reader {
public:
    spec_reader(const template_folder& folder, const std::string& yaml_name)
        : m_folder(folder), m_path(folder.path_of(yaml_name)) {}

    std::vector<kernel_spec> read(const std::string& yaml_text) {
        YAML::Node root;
        try {
            root = YAML::Load(yaml_text);
        } catch (const YAML::ParserException& failure) {
            throw error(m_path + ":" + std::to_string(failure.mark.line + 1) + ": YAML syntax error: " + failure.msg);
        }
        // Whatever yaml-cpp throws while the spec is read (a conversion, a subscript on the
        // wrong kind of node) is one line naming the file too.
        try {
            return read(root, yaml_text);
        } catch (const YAML::Exception& failure) {
            throw error(m_path + ":" + std::to_string(failure.mark.line + 1) + ": " + failure.msg);
        }
    }

private:
    const template_folder& m_folder;
    std::string m_path;

    /// The spec, then one spec per item of its `variants` (ops that differ only in their name,
    /// description, kernel and reference kernel, e.g. log_softmax beside softmax).
    std::vector<kernel_spec> read(const YAML::Node& root, const std::string& yaml_text) {
        std::vector<kernel_spec> specs = {read_spec(root, yaml_text)};
        const YAML::Node variants = root["variants"];
        if (!variants) return specs;
        if (!variants.IsSequence() || variants.size() == 0) fail(variants, "'variants' must be a non-empty list");
        for (const YAML::Node& item : variants) {
            if (!item.IsMap()) fail(item, "a variant maps name, kernel, reference_kernel and description");
            only_keys(item, {"name", "description", "kernel", "reference_kernel"});
            kernel_spec variant = specs.front();
            variant.name = identifier(required(item, "name"), "name");
            for (const kernel_spec& earlier : specs)
                if (earlier.name == variant.name) fail(item, "variant '" + variant.name + "' is named twice");
            variant.description = item["description"] ? scalar(item["description"]) : "";
            variant.kernel = kernel_name(required(item, "kernel"), "kernel");
            variant.reference_kernel = kernel_name(required(item, "reference_kernel"), "reference kernel");
            // Its own hash: caches keyed by the source hash (compiled programs, binaries) must
            // never hand one op's kernel to another.
            variant.source_hash = sha256_hex(specs.front().source_hash + "\n--\nvariant " + variant.name);
            specs.push_back(std::move(variant));
        }
        return specs;
    }

    kernel_spec read_spec(const YAML::Node& root, const std::string& yaml_text) {
        refuse_duplicate_keys(root);
        if (!root.IsMap()) fail(root, "a spec must be a YAML mapping");
        only_keys(root, {"name", "description", "source", "kernel", "reference", "dtypes", "problem", "arguments",
                         "validation", "bytes_moved", "parameters", "derived", "constraints", "problem_constraints", "launch", "default", "variants", "shapes", "regimes"});
        kernel_spec spec;
        spec.yaml_path = m_path;
        spec.name = identifier(required(root, "name"), "name");
        spec.description = root["description"] ? scalar(root["description"]) : "";
        read_source(required(root, "source"), spec);
        spec.source_hash = source_hash(yaml_text, spec);
        spec.kernel = kernel_name(required(root, "kernel"), "kernel");
        read_dtypes(required(root, "dtypes"), spec);
        if (root["problem"]) read_axes(root["problem"], spec);
        if (root["shapes"]) read_default_shapes(root["shapes"], spec);
        // A one-axis (elementwise) template that declares none: a ladder with points in each
        // of the regimes below (core/regime.hpp says which and why). leaky_relu's, given here
        // rather than in its YAML, whose text is part of the key of every row tuned with it.
        if (spec.default_shapes.empty() && spec.axes.size() == 1) spec.default_shapes = default_one_axis_shapes();
        std::set<std::string> parameter_names;  // of tuned and derived parameters and their values
        read_parameters(required(root, "parameters"), spec, parameter_names);
        try {
            check_space_size(spec);  // counted, not enumerated: before anything walks the space
        } catch (const error& failure) {
            fail(root["parameters"], failure.what());
        }

        std::set<std::string> space_names = {"sizeof(T)"};
        for (const param_spec& p : spec.params) {
            space_names.insert(p.name);
            space_names.insert(p.enum_names.begin(), p.enum_names.end());
        }
        const std::set<std::string> axis_names(spec.axes.begin(), spec.axes.end());
        if (root["derived"]) read_derived(root["derived"], spec, parameter_names, axis_names);
        for (const std::string& axis : spec.axes)
            if (parameter_names.count(axis) || device_names.count(axis) || regime_names().count(axis))
                fail(root["problem"], "axis '" + axis + "' is also the name of a parameter, value or device limit");
        read_arguments(required(root, "arguments"), spec, axis_names);
        if (root["validation"]) read_validation(root["validation"], spec);

        const YAML::Node constraints = root["constraints"];
        if (constraints && !constraints.IsSequence()) fail(constraints, "'constraints' must be a list of expressions");
        for (const YAML::Node& c : constraints) spec.constraints.push_back({parse(c, space_names), line(c)});

        std::set<std::string> launch_names = space_names;
        launch_names.insert(axis_names.begin(), axis_names.end());
        launch_names.insert(device_names.begin(), device_names.end());
        const YAML::Node problem_constraints = root["problem_constraints"];
        if (problem_constraints && !problem_constraints.IsSequence())
            fail(problem_constraints, "'problem_constraints' must be a list of expressions");
        for (const YAML::Node& c : problem_constraints) spec.problem_constraints.push_back({parse(c, launch_names), line(c)});
        const YAML::Node launch = required(root, "launch");
        spec.launch = read_launch(launch, launch_names, {"workspace"});
        if (launch["workspace"]) spec.launch.workspace_bytes = parse(launch["workspace"], launch_names);
        const bool takes_workspace = spec.workspace_count() > 0;
        if (takes_workspace != !spec.launch.workspace_bytes.empty())
            fail(takes_workspace ? launch : root["arguments"],
                 takes_workspace ? "the kernel takes a workspace, but 'launch' has no 'workspace' (its bytes)"
                                 : "'launch' has a 'workspace', but no argument is of kind workspace");
        std::set<std::string> reference_names = axis_names;
        reference_names.insert(device_names.begin(), device_names.end());
        reference_names.insert("sizeof(T)");
        const YAML::Node reference = required(root, "reference");
        spec.reference_launch = read_launch(reference, reference_names, {"kernel"});
        spec.reference_kernel = kernel_name(required(reference, "kernel"), "reference kernel");
        std::set<std::string> bytes_names = axis_names;
        bytes_names.insert("sizeof(T)");
        spec.bytes_moved = parse(required(root, "bytes_moved"), bytes_names);
        // Regimes: the spec's; `rows`, a row reduction's (row_reduction_regimes), whose ladder
        // comes before the spec's own shapes; else for a one-axis template launch-bound / L2 /
        // DRAM by bytes moved (default_one_axis_regimes); else one regime.
        std::set<std::string> regime_allowed = axis_names;
        regime_allowed.insert(regime_names().begin(), regime_names().end());
        if (root["regimes"] && root["regimes"].IsScalar() && root["regimes"].Scalar() == "rows")
            read_row_regimes(root["regimes"], spec);
        else if (root["regimes"])
            spec.regimes = parse(root["regimes"], regime_allowed);
        else if (spec.axes.size() == 1)
            spec.regimes = expression::parse(default_one_axis_regimes());

        const YAML::Node defaults = required(root, "default");
        if (!defaults.IsMap()) fail(defaults, "'default' must map every parameter to a value");
        std::set<std::string> default_names = {"sizeof(T)"};
        for (const param_spec& p : spec.params) default_names.insert(p.enum_names.begin(), p.enum_names.end());
        for (const param_spec& p : spec.params) {
            const YAML::Node value = defaults[p.name];
            if (!value) fail(defaults, "'default' lacks parameter " + p.name);
            spec.default_values.emplace_back(p.name, parse(value, default_names));
        }
        for (const auto& entry : defaults) {
            if (!entry.first.IsScalar()) fail(entry.first, "'default' has a complex key; it maps parameter names to values");
            const std::string key = entry.first.Scalar();
            if (std::none_of(spec.params.begin(), spec.params.end(), [&](const param_spec& p) { return p.name == key; }))
                fail(entry.first, "'default' names unknown parameter '" + key + "'");
        }
        for (dtype type : spec.dtypes) {
            try {
                default_config(spec, type);
                if (!has_config(spec, type)) throw error("no config satisfies the constraints");
            } catch (const error& failure) {
                fail(defaults, std::string(to_string(type)) + ": " + failure.what());
            }
        }
        return spec;
    }

    static int line(const YAML::Node& node) { return node.Mark().line + 1; }

    [[noreturn]] void fail(const YAML::Node& node, const std::string& what) const {
        throw error(m_path + ":" + std::to_string(line(node)) + ": " + what);
    }

    YAML::Node required(const YAML::Node& parent, const std::string& key) const {
        const YAML::Node node = parent[key];
        if (!node) fail(parent, "missing field '" + key + "'");
        return node;
    }

    void only_keys(const YAML::Node& node, std::initializer_list<std::string_view> allowed) const {
        if (!node.IsMap()) fail(node, "expected a mapping");
        for (const auto& entry : node) {
            const std::string key = entry.first.IsScalar() ? entry.first.Scalar() : "(a complex key)";
            if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) fail(entry.first, "unknown field '" + key + "'");
        }
    }

    std::string scalar(const YAML::Node& node) const {
        if (!node.IsScalar()) fail(node, "expected a single value");
        return node.Scalar();
    }

    std::string identifier(const YAML::Node& node, const std::string& what) const {
        const std::string text = scalar(node);
        if (!is_identifier(text)) fail(node, what + " '" + printable(text, quoted_length) + "' is not an identifier");
        return text;
    }

    std::string kernel_name(const YAML::Node& node, const std::string& what) const {
        const std::string text = scalar(node);
        if (!is_qualified_identifier(text))
            fail(node, what + " '" + printable(text, quoted_length) +
                           "' is not a C++ qualified name (identifiers joined by ::, e.g. kt::leaky_relu)");
        return text;
    }

    /// yaml-cpp keeps one value of a key given twice, and its lookups cannot tell; iterating a
    /// mapping still yields every entry, so every mapping of the document is walked and its keys
    /// counted. An explicit stack (documents may nest deeply), and a node reached again through an
    /// alias is walked once (aliases share the node: a chain of them must not multiply the walk).
    void refuse_duplicate_keys(const YAML::Node& root) const {
        std::vector<YAML::Node> pending = {root};
        std::set<std::pair<int, int>> walked;  // (position in the text, node type)
        while (!pending.empty()) {
            const YAML::Node node = pending.back();
            pending.pop_back();
            if (!node.IsMap() && !node.IsSequence()) continue;
            if (!walked.insert({node.Mark().pos, static_cast<int>(node.Type())}).second) continue;
            if (node.IsSequence()) {
                for (const YAML::Node& item : node) pending.push_back(item);
                continue;
            }
            std::map<std::string, int> first_line;
            for (const auto& entry : node) {
                if (entry.first.IsScalar()) {
                    const auto [earlier, added] = first_line.emplace(entry.first.Scalar(), line(entry.first));
                    if (!added)
                        fail(entry.first, "key '" + printable(entry.first.Scalar(), quoted_length) + "' is given twice (first on line " +
                                              std::to_string(earlier->second) + ")");
                } else {
                    pending.push_back(entry.first);
                }
                pending.push_back(entry.second);
            }
        }
    }

    expression parse(const YAML::Node& node, const std::set<std::string>& allowed) const {
        expression parsed;
        try {
            parsed = expression::parse(scalar(node));
        } catch (const error& failure) {
            fail(node, failure.what());
        }
        for (const std::string& name : parsed.names())
            if (!allowed.count(name)) fail(node, "expression '" + parsed.text() + "' uses unknown name '" + name + "'");
        return parsed;
    }

    double number(const YAML::Node& node) const {
        const std::string text = scalar(node);
        char* end = nullptr;
        const double value = std::strtod(text.c_str(), &end);
        if (text.empty() || *end != '\0') fail(node, "'" + text + "' is not a number");
        return value;
    }

    /// `regimes: rows`: the row reductions' regimes and ladder, for the axes they are written over.
    void read_row_regimes(const YAML::Node& node, kernel_spec& spec) const {
        if (spec.axes != std::vector<std::string>{"outer", "reduce", "inner"})
            fail(node, "'regimes: rows' needs the problem axes [outer, reduce, inner]");
        spec.regimes = expression::parse(row_reduction_regimes());
        std::vector<tensor_shape> ladder = row_reduction_shapes();
        for (const tensor_shape& own : spec.default_shapes)
            if (std::none_of(ladder.begin(), ladder.end(), [&](const tensor_shape& s) { return s.dims == own.dims; }))
                ladder.push_back(own);
        spec.default_shapes = ladder;
    }

    /// `shapes: [4096x393216, 65536x768]`: what a tune without --shape tunes, each read as
    /// --shape reads it without --dim (for a reduction, three dims are the axes).
    void read_default_shapes(const YAML::Node& node, kernel_spec& spec) const {
        if (!node.IsSequence() || node.size() == 0) fail(node, "'shapes' must be a non-empty list of shapes such as 4096x1024");
        for (const YAML::Node& item : node) {
            try {
                const tensor_shape shape = parse_shape(scalar(item));
                make_problem(spec.axes, shape);
                spec.default_shapes.push_back(shape);
            } catch (const error& failure) {
                fail(item, failure.what());
            }
        }
    }

    bool boolean(const YAML::Node& node) const {
        const std::string text = scalar(node);
        if (text != "true" && text != "false") fail(node, "'" + printable(text, quoted_length) + "' is not true or false");
        return text == "true";
    }

    /// The source file and, transitively, every header it includes from the template's folder
    /// or the support folder. Other includes must be CUDA's.
    void read_source(const YAML::Node& node, kernel_spec& spec) const {
        const std::string name = scalar(node);
        if (!is_inside_name(name)) fail(node, "source '" + name + "' must be a file name inside the template's folder");
        std::optional<std::string> text = read_file(m_folder, name, node);
        if (!text) fail(node, "cannot read " + m_folder.path_of(name) + ": no such file");
        spec.source_name = name;
        spec.source = std::move(*text);
        std::vector<std::pair<std::string, std::string>> pending = {{name, spec.source}};
        std::set<std::string> seen = {name};
        while (!pending.empty()) {
            const auto [file, content] = pending.back();
            pending.pop_back();
            for (const auto& [include, include_line] : includes_of(content)) {
                const std::string where = m_folder.path_of(file) + ":" + std::to_string(include_line) + ": ";
                if (!is_inside_name(include))
                    throw error(where + "include '" + include +
                                "' must be a relative name inside the template's folder, the support folder or CUDA's");
                if (seen.count(include)) continue;
                std::optional<std::string> header = read_file(m_folder, include, node);
                if (!header) header = read_file(template_folder::support(), include, node);
                if (!header) {
                    const std::string cuda = cuda_include_dir();
                    std::error_code ec;
                    if (cuda.empty() || !std::filesystem::is_regular_file(std::filesystem::path(cuda) / include, ec))
                        throw error(where + "include '" + include + "' is in neither " + m_folder.origin() +
                                    ", the support folder nor CUDA's include folder (" +
                                    (cuda.empty() ? "not found" : cuda) + ")");
                    continue;  // CUDA's own: NVRTC finds it on its include path
                }
                seen.insert(include);
                spec.headers.push_back({include, *header});
                pending.emplace_back(include, *header);
            }
        }
    }

    std::optional<std::string> read_file(const template_folder& folder, const std::string& name,
                                         const YAML::Node& node) const {
        try {
            return folder.read(name);
        } catch (const error& failure) {
            fail(node, failure.what());
        }
    }

    static std::string source_hash(const std::string& yaml_text, const kernel_spec& spec) {
        // The first two parts are what every earlier kerntune hashed: a template without headers
        // keeps its hash, and with it its tuned rows.
        std::string bundle = yaml_text + "\n--\n" + spec.source;
        for (const source_header& header : spec.headers) bundle += "\n--\n" + header.name + "\n" + header.text;
        return sha256_hex(bundle);
    }

    void read_axes(const YAML::Node& node, kernel_spec& spec) const {
        if (!node.IsSequence() || node.size() == 0 || node.size() > max_problem_axes)
            fail(node, "'problem' must list 1 to " + std::to_string(max_problem_axes) + " axis names, e.g. [rows, cols]");
        spec.axes.clear();
        for (const YAML::Node& item : node) {
            const std::string axis = identifier(item, "axis");
            if (std::find(spec.axes.begin(), spec.axes.end(), axis) != spec.axes.end()) fail(item, "axis '" + axis + "' is listed twice");
            spec.axes.push_back(axis);
        }
    }

    /// `block: BLOCK` or `block: [X, Y, Z]` (1 to 3 expressions), the same for grid, an
    /// optional shared_memory expression (dynamic shared memory bytes) and an optional cluster
    /// expression (blocks per thread-block cluster along x); `other_keys` are the caller's to read.
    launch_rule read_launch(const YAML::Node& node, const std::set<std::string>& allowed,
                            std::initializer_list<std::string_view> other_keys) const {
        std::vector<std::string_view> keys = {"block", "grid", "shared_memory", "cluster"};
        keys.insert(keys.end(), other_keys.begin(), other_keys.end());
        if (!node.IsMap()) fail(node, "expected a mapping");
        for (const auto& entry : node) {
            const std::string key = entry.first.IsScalar() ? entry.first.Scalar() : "(a complex key)";
            if (std::find(keys.begin(), keys.end(), key) == keys.end()) fail(entry.first, "unknown field '" + key + "'");
        }
        launch_rule rule;
        read_dimensions(required(node, "block"), allowed, rule.block);
        read_dimensions(required(node, "grid"), allowed, rule.grid);
        if (node["shared_memory"]) rule.shared_bytes = parse(node["shared_memory"], allowed);
        if (node["cluster"]) rule.cluster = parse(node["cluster"], allowed);
        return rule;
    }

    void read_dimensions(const YAML::Node& node, const std::set<std::string>& allowed, expression (&out)[3]) const {
        if (node.IsScalar()) {
            out[0] = parse(node, allowed);
            return;
        }
        if (!node.IsSequence() || node.size() == 0 || node.size() > 3) fail(node, "expected an expression or a list of 1 to 3");
        for (std::size_t d = 0; d < node.size(); ++d) out[d] = parse(node[d], allowed);
    }

    void read_dtypes(const YAML::Node& node, kernel_spec& spec) const {
        if (!node.IsSequence() || node.size() == 0) fail(node, "'dtypes' must be a non-empty list");
        for (const YAML::Node& item : node) {
            try {
                spec.dtypes.push_back(parse_dtype(scalar(item)));
            } catch (const error& failure) {
                fail(item, failure.what());
            }
            if (std::count(spec.dtypes.begin(), spec.dtypes.end(), spec.dtypes.back()) > 1)
                fail(item, "dtype " + scalar(item) + " is listed twice");
        }
    }

    void read_validation(const YAML::Node& node, kernel_spec& spec) const {
        only_keys(node, {"fill", "compare"});
        try {
            if (node["fill"]) spec.validation.fill = parse_fill_policy(scalar(node["fill"]));
            if (node["compare"]) spec.validation.compare = parse_compare_policy(scalar(node["compare"]));
        } catch (const error& failure) {
            fail(node, failure.what());
        }
    }

    /// One argument: the general forms
    ///   {name: x, buffer: in|out|inout, type: T|f32|..., extent: EXPR, optional: true|false}
    ///   {name: n, scalar: i32|i64|f32, value: EXPR}        (from the problem axes)
    ///   {name: alpha, scalar: f32, default: 0.5}           (given by the caller)
    /// or the elementwise shorthand of kind input, output (buffers of n elements of T), count
    /// (n as an i64) and f32 (a caller float with a default); or {name: w, kind: workspace}, the
    /// launch's zeroed workspace (launch.workspace gives its bytes; callers never pass it).
    kernel_arg read_argument(const YAML::Node& item, const std::set<std::string>& axes) const {
        only_keys(item, {"name", "kind", "buffer", "type", "extent", "optional", "scalar", "value", "default"});
        kernel_arg argument;
        argument.name = identifier(required(item, "name"), "argument name");
        const int forms = (item["kind"] ? 1 : 0) + (item["buffer"] ? 1 : 0) + (item["scalar"] ? 1 : 0);
        if (forms != 1) fail(item, "an argument has exactly one of 'buffer', 'scalar' or 'kind'");
        auto refuse = [&](std::initializer_list<const char*> keys) {
            for (const char* key : keys)
                if (item[key]) fail(item[key], "'" + std::string(key) + "' does not apply to argument " + argument.name);
        };
        if (item["kind"]) {
            refuse({"type", "extent", "value", "optional"});
            const std::string kind = scalar(item["kind"]);
            if (kind == "input" || kind == "output") {
                if (!axes.count("n")) fail(item, "kind " + kind + " means n elements, but the problem has no axis n");
                argument.access = kind == "input" ? buffer_access::in : buffer_access::out;
                argument.extent = expression::parse("n");
            } else if (kind == "count") {
                if (!axes.count("n")) fail(item, "kind count means n, but the problem has no axis n");
                argument.kind = arg_kind::scalar;
                argument.type = scalar_type::i64;
                argument.value = expression::parse("n");
            } else if (kind == "f32") {
                argument.kind = arg_kind::scalar;
                argument.default_value = number(required(item, "default"));
            } else if (kind == "workspace") {
                argument.kind = arg_kind::workspace;
            } else {
                fail(item, "argument kind '" + kind + "' is not one of input, output, count, f32, workspace");
            }
            if (kind != "f32" && item["default"]) fail(item["default"], "only f32 arguments have a default");
            return argument;
        }
        if (item["buffer"]) {
            refuse({"value", "default"});
            const std::string access = scalar(item["buffer"]);
            if (access == "in") argument.access = buffer_access::in;
            else if (access == "out") argument.access = buffer_access::out;
            else if (access == "inout") argument.access = buffer_access::inout;
            else fail(item["buffer"], "buffer access '" + access + "' is not one of in, out, inout");
            const std::string type = item["type"] ? scalar(item["type"]) : "T";
            if (type != "T") {
                try {
                    argument.element = parse_dtype(type);
                } catch (const error& failure) {
                    fail(item["type"], std::string(failure.what()) + " (or T, the template's element type)");
                }
            }
            argument.extent = parse(required(item, "extent"), axes);
            if (item["optional"]) {
                argument.optional = boolean(item["optional"]);
                if (argument.optional && argument.access != buffer_access::in)
                    fail(item["optional"], "only an 'in' buffer can be optional (the kernel reads nothing when it is NULL)");
            }
            return argument;
        }
        refuse({"type", "extent", "optional"});
        argument.kind = arg_kind::scalar;
        const std::string type = scalar(item["scalar"]);
        if (type == "i32") argument.type = scalar_type::i32;
        else if (type == "i64") argument.type = scalar_type::i64;
        else if (type == "f32") argument.type = scalar_type::f32;
        else fail(item["scalar"], "scalar type '" + type + "' is not one of i32, i64, f32");
        if (item["value"] && item["default"]) fail(item, "a scalar has a 'value' (from the axes) or a 'default' (given by the caller), not both");
        if (item["value"]) {
            argument.value = parse(item["value"], axes);
        } else {
            argument.default_value = number(required(item, "default"));
            try {
                scalar_bits(argument.type, argument.default_value);
            } catch (const error& failure) {
                fail(item["default"], std::string("default of ") + argument.name + ": " + failure.what());
            }
        }
        return argument;
    }

    void read_arguments(const YAML::Node& node, kernel_spec& spec, const std::set<std::string>& axes) const {
        if (!node.IsSequence() || node.size() == 0) fail(node, "'arguments' must be a non-empty list");
        std::set<std::string> names;
        for (const YAML::Node& item : node) {
            spec.arguments.push_back(read_argument(item, axes));
            if (!names.insert(spec.arguments.back().name).second) fail(item, "argument '" + spec.arguments.back().name + "' is declared twice");
        }
        if (spec.arguments.size() > 32) fail(node, "a kernel takes at most 32 arguments");
        if (spec.workspace_count() > 1) fail(node, "a kernel takes at most one workspace");
        if (spec.buffer_count() == 0) fail(node, "a kernel needs at least one buffer argument");
    }

    void read_parameters(const YAML::Node& node, kernel_spec& spec, std::set<std::string>& names) const {
        if (!node.IsSequence() || node.size() == 0) fail(node, "'parameters' must be a non-empty list");
        for (const YAML::Node& item : node) {
            only_keys(item, {"name", "short", "kind", "values", "doc"});
            const std::string kind = item["kind"] ? scalar(item["kind"]) : "template";
            if (kind != "template" && kind != "launch") fail(item["kind"], "parameter kind '" + kind + "' is not template or launch");
            spec.params.push_back(read_parameter(item, kind == "template" ? param_kind::template_arg : param_kind::launch, names));
        }
    }

    /// `derived`: template parameters whose value a rule over the problem gives (param_kind::derived).
    void read_derived(const YAML::Node& node, kernel_spec& spec, std::set<std::string>& names,
                      const std::set<std::string>& axes) const {
        if (!node.IsSequence() || node.size() == 0) fail(node, "'derived' must be a non-empty list");
        for (const YAML::Node& item : node) {
            only_keys(item, {"name", "short", "values", "value", "doc"});
            spec.derived.push_back(read_parameter(item, param_kind::derived, names));
        }
        std::set<std::string> rule_names = axes;
        rule_names.insert("sizeof(T)");
        for (const param_spec& p : spec.derived) rule_names.insert(p.enum_names.begin(), p.enum_names.end());
        std::size_t i = 0;
        for (const YAML::Node& item : node) spec.derived[i++].rule = parse(required(item, "value"), rule_names);
    }

    /// One parameter's name, domain and doc; `names` holds every name declared so far.
    param_spec read_parameter(const YAML::Node& item, param_kind kind, std::set<std::string>& names) const {
        param_spec p;
        p.kind = kind;
        p.name = identifier(required(item, "name"), "parameter name");
        p.doc = item["doc"] ? scalar(item["doc"]) : "";
        const YAML::Node values = required(item, "values");
        if (!values.IsSequence() || values.size() == 0) fail(values, "'values' must be a non-empty list");
        for (const YAML::Node& value : values) {
            const std::string text = scalar(value);
            if (is_identifier(text)) {
                p.values.push_back(static_cast<std::int64_t>(p.enum_names.size()));
                p.enum_names.push_back(text);
            } else {
                char* end = nullptr;
                p.values.push_back(std::strtoll(text.c_str(), &end, 10));
                if (text.empty() || *end != '\0') fail(value, "value '" + text + "' is neither an integer nor a name");
            }
        }
        if (!p.enum_names.empty() && p.enum_names.size() != p.values.size())
            fail(values, "values of " + p.name + " mix integers and names");
        if (!p.is_enum()) p.short_name = identifier(required(item, "short"), "short name");
        for (const std::string& n : p.enum_names)
            if (!names.insert(n).second) fail(values, "name '" + n + "' is declared twice");
        if (!names.insert(p.name).second) fail(item, "name '" + p.name + "' is declared twice");
        if (std::set<std::int64_t>(p.values.begin(), p.values.end()).size() != p.values.size())
            fail(values, p.name + " lists a value twice");
        return p;
    }
};

} // namespace

std::vector<kernel_spec> load_specs(const template_folder& folder, const std::string& yaml_name) {
    const std::optional<std::string> yaml_text = folder.read(yaml_name);
    if (!yaml_text) throw error("cannot read " + folder.path_of(yaml_name) + ": no such file");
    return spec_reader(folder, yaml_name).read(*yaml_text);
}

kernel_spec load_spec(const template_folder& folder, const std::string& yaml_name) {
    return load_specs(folder, yaml_name).front();
}

kernel_spec load_spec(const std::filesystem::path& yaml_file) {
    return load_spec(template_folder::on_disk(yaml_file.parent_path().empty() ? "." : yaml_file.parent_path()),
                     yaml_file.filename().string());
}

} // namespace kerntune
