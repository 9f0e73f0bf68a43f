#include "spec/spec_loader.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>

#include "core/config.hpp"
#include "core/error.hpp"
#include "core/sha256.hpp"

namespace kerntune {
namespace {

std::string read_text(const std::filesystem::path& path, const std::string& context) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw error(context + "cannot read " + path.string());
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

bool is_identifier(const std::string& text) {
    if (text.empty() || !(std::isalpha(static_cast<unsigned char>(text[0])) || text[0] == '_')) return false;
    return std::all_of(text.begin(), text.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; });
}

/// Reads one YAML spec, with every message prefixed by "<path>:<line>:".
class spec_reader {
public:
    spec_reader(const std::filesystem::path& path, std::function<std::string(const std::string&, int)> read_source)
        : m_path(path), m_read_source(std::move(read_source)) {}

    kernel_spec read(const std::string& yaml_text) {
        YAML::Node root;
        try {
            root = YAML::Load(yaml_text);
        } catch (const YAML::ParserException& failure) {
            throw error(m_path.string() + ":" + std::to_string(failure.mark.line + 1) + ": YAML syntax error: " + failure.msg);
        }
        if (!root.IsMap()) fail(root, "a spec must be a YAML mapping");
        only_keys(root, {"name", "description", "source", "kernel", "reference", "dtypes", "arguments", "bytes_moved",
                         "parameters", "constraints", "launch", "default"});
        kernel_spec spec;
        spec.yaml_path = m_path;
        spec.name = identifier(required(root, "name"), "name");
        spec.description = root["description"] ? scalar(root["description"]) : "";
        const YAML::Node source = required(root, "source");
        spec.source_path = m_path.parent_path() / scalar(source);
        spec.source = m_read_source(scalar(source), line(source));
        spec.source_hash = sha256_hex(yaml_text + "\n--\n" + spec.source);
        spec.kernel = scalar(required(root, "kernel"));
        read_dtypes(required(root, "dtypes"), spec);
        read_arguments(required(root, "arguments"), spec);
        read_parameters(required(root, "parameters"), spec);

        std::set<std::string> space_names = {"sizeof(T)"};
        for (const param_spec& p : spec.params) {
            space_names.insert(p.name);
            space_names.insert(p.enum_names.begin(), p.enum_names.end());
        }
        std::set<std::string> launch_names = space_names;
        launch_names.insert({"n", "sm_count", "max_threads_per_sm", "shared_memory_per_sm"});

        const YAML::Node constraints = root["constraints"];
        if (constraints && !constraints.IsSequence()) fail(constraints, "'constraints' must be a list of expressions");
        for (const YAML::Node& c : constraints) spec.constraints.push_back({parse(c, space_names), line(c)});

        const YAML::Node launch = required(root, "launch");
        only_keys(launch, {"block", "grid"});
        spec.launch = read_launch(launch, launch_names);
        const YAML::Node reference = required(root, "reference");
        only_keys(reference, {"kernel", "block", "grid"});
        spec.reference_kernel = scalar(required(reference, "kernel"));
        spec.reference_launch = read_launch(reference, {"n", "sm_count", "max_threads_per_sm", "shared_memory_per_sm", "sizeof(T)"});
        spec.bytes_moved = parse(required(root, "bytes_moved"), {"n", "sizeof(T)"});

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
            const std::string key = entry.first.as<std::string>();
            if (std::none_of(spec.params.begin(), spec.params.end(), [&](const param_spec& p) { return p.name == key; }))
                fail(entry.first, "'default' names unknown parameter '" + key + "'");
        }
        for (dtype type : spec.dtypes) {
            try {
                default_config(spec, type);
                if (enumerate_space(spec, type).empty()) throw error("no config satisfies the constraints");
            } catch (const error& failure) {
                fail(defaults, std::string(to_string(type)) + ": " + failure.what());
            }
        }
        return spec;
    }

private:
    std::filesystem::path m_path;
    std::function<std::string(const std::string&, int)> m_read_source;

    static int line(const YAML::Node& node) { return node.Mark().line + 1; }

    [[noreturn]] void fail(const YAML::Node& node, const std::string& what) const {
        throw error(m_path.string() + ":" + std::to_string(line(node)) + ": " + what);
    }

    YAML::Node required(const YAML::Node& parent, const std::string& key) const {
        const YAML::Node node = parent[key];
        if (!node) fail(parent, "missing field '" + key + "'");
        return node;
    }

    void only_keys(const YAML::Node& node, std::initializer_list<std::string_view> allowed) const {
        if (!node.IsMap()) fail(node, "expected a mapping");
        for (const auto& entry : node) {
            const std::string key = entry.first.as<std::string>();
            if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) fail(entry.first, "unknown field '" + key + "'");
        }
    }

    std::string scalar(const YAML::Node& node) const {
        if (!node.IsScalar()) fail(node, "expected a single value");
        return node.Scalar();
    }

    std::string identifier(const YAML::Node& node, const std::string& what) const {
        const std::string text = scalar(node);
        if (!is_identifier(text)) fail(node, what + " '" + text + "' is not an identifier");
        return text;
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

    launch_rule read_launch(const YAML::Node& node, const std::set<std::string>& allowed) const {
        return {parse(required(node, "block"), allowed), parse(required(node, "grid"), allowed)};
    }

    void read_dtypes(const YAML::Node& node, kernel_spec& spec) const {
        if (!node.IsSequence() || node.size() == 0) fail(node, "'dtypes' must be a non-empty list");
        for (const YAML::Node& item : node) {
            try {
                spec.dtypes.push_back(parse_dtype(scalar(item)));
            } catch (const error& failure) {
                fail(item, failure.what());
            }
        }
    }

    void read_arguments(const YAML::Node& node, kernel_spec& spec) const {
        if (!node.IsSequence() || node.size() == 0) fail(node, "'arguments' must be a non-empty list");
        for (const YAML::Node& item : node) {
            only_keys(item, {"name", "kind", "default"});
            kernel_arg argument;
            argument.name = identifier(required(item, "name"), "argument name");
            const std::string kind = scalar(required(item, "kind"));
            if (kind == "input") argument.kind = arg_kind::input;
            else if (kind == "output") argument.kind = arg_kind::output;
            else if (kind == "count") argument.kind = arg_kind::count;
            else if (kind == "f32") argument.kind = arg_kind::f32;
            else fail(item, "argument kind '" + kind + "' is not one of input, output, count, f32");
            if (argument.kind == arg_kind::f32) {
                const YAML::Node value = required(item, "default");
                char* end = nullptr;
                const std::string text = scalar(value);
                argument.default_value = std::strtof(text.c_str(), &end);
                if (text.empty() || *end != '\0') fail(value, "default '" + text + "' is not a number");
            } else if (item["default"]) {
                fail(item["default"], "only f32 arguments have a default");
            }
            spec.arguments.push_back(argument);
        }
    }

    void read_parameters(const YAML::Node& node, kernel_spec& spec) const {
        if (!node.IsSequence() || node.size() == 0) fail(node, "'parameters' must be a non-empty list");
        std::set<std::string> names;
        for (const YAML::Node& item : node) {
            only_keys(item, {"name", "short", "kind", "values", "doc"});
            param_spec p;
            p.name = identifier(required(item, "name"), "parameter name");
            const std::string kind = item["kind"] ? scalar(item["kind"]) : "template";
            if (kind == "template") p.kind = param_kind::template_arg;
            else if (kind == "launch") p.kind = param_kind::launch;
            else fail(item["kind"], "parameter kind '" + kind + "' is not template or launch");
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
            spec.params.push_back(std::move(p));
        }
    }
};

} // namespace

kernel_spec load_spec(const std::filesystem::path& yaml_file) {
    const std::string yaml_text = read_text(yaml_file, "");
    return spec_reader(yaml_file, [&](const std::string& name, int line) {
               return read_text(yaml_file.parent_path() / name, yaml_file.string() + ":" + std::to_string(line) + ": ");
           }).read(yaml_text);
}

std::vector<kernel_spec> load_specs(const std::filesystem::path& dir) {
    std::error_code ec;
    if (!std::filesystem::is_directory(dir, ec)) throw error("no template folder at " + dir.string());
    std::vector<std::filesystem::path> files;
    for (const auto& entry : std::filesystem::directory_iterator(dir))
        if (entry.path().extension() == ".yaml") files.push_back(entry.path());
    std::sort(files.begin(), files.end());
    std::vector<kernel_spec> specs;
    for (const auto& file : files) specs.push_back(load_spec(file));
    return specs;
}

kernel_spec find_spec(const std::filesystem::path& dir, std::string_view op) {
    const std::filesystem::path file = dir / (std::string(op) + ".yaml");
    std::error_code ec;
    if (std::filesystem::exists(file, ec) && is_identifier(std::string(op))) return load_spec(file);
    std::string known;
    for (const auto& entry : std::filesystem::directory_iterator(dir, ec))
        if (entry.path().extension() == ".yaml") known += (known.empty() ? "" : ", ") + entry.path().stem().string();
    throw error("unknown op '" + std::string(op) + "': known ops are " + (known.empty() ? "(none in " + dir.string() + ")" : known));
}

} // namespace kerntune
