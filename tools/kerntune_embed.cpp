// Build tool: compiles the specs of templates/ into C++ for libkerntune, so that applications
// carry their templates and need neither the template files nor a YAML parser.
//   kerntune-embed TEMPLATE_DIR OUTPUT.cpp
// Every spec is loaded and checked exactly as `kerntune tune` loads it, so the source hash in
// the library equals the tuner's for the same files.
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "core/config.hpp"
#include "core/error.hpp"
#include "spec/spec_loader.hpp"

namespace {

using namespace kerntune;

constexpr const char* delimiter = "kt_embed";

std::string raw(const std::string& text) {
    if (text.find(std::string(")") + delimiter + "\"") != std::string::npos)
        throw error("template text contains the raw-string delimiter " + std::string(delimiter));
    return std::string("R\"") + delimiter + "(" + text + ")" + delimiter + "\"";
}

std::string expr(const expression& e) { return "expression::parse(" + raw(e.text()) + ")"; }

std::string spec_code(const kernel_spec& s) {
    std::ostringstream out;
    out << "    {\n        kernel_spec s;\n";
    out << "        s.name = " << raw(s.name) << ";\n        s.description = " << raw(s.description) << ";\n";
    out << "        s.yaml_path = " << raw(s.yaml_path.filename().string()) << ";\n";
    out << "        s.source_path = " << raw(s.source_path.filename().string()) << ";\n";
    out << "        s.source = " << raw(s.source) << ";\n";
    out << "        s.source_hash = " << raw(s.source_hash) << ";\n";
    out << "        s.kernel = " << raw(s.kernel) << ";\n        s.reference_kernel = " << raw(s.reference_kernel) << ";\n";
    out << "        s.reference_launch = {" << expr(s.reference_launch.block) << ", " << expr(s.reference_launch.grid) << "};\n";
    for (dtype type : s.dtypes) out << "        s.dtypes.push_back(parse_dtype(\"" << to_string(type) << "\"));\n";
    for (const kernel_arg& a : s.arguments)
        out << "        s.arguments.push_back({" << raw(a.name) << ", static_cast<arg_kind>(" << static_cast<int>(a.kind)
            << "), " << std::hexfloat << a.default_value << std::defaultfloat << "f});\n";
    out << "        s.bytes_moved = " << expr(s.bytes_moved) << ";\n";
    for (const param_spec& p : s.params) {
        out << "        s.params.push_back({" << raw(p.name) << ", " << raw(p.short_name) << ", static_cast<param_kind>("
            << static_cast<int>(p.kind) << "), {";
        for (std::size_t i = 0; i < p.values.size(); ++i) out << (i ? ", " : "") << p.values[i] << "LL";
        out << "}, {";
        for (std::size_t i = 0; i < p.enum_names.size(); ++i) out << (i ? ", " : "") << raw(p.enum_names[i]);
        out << "}, " << raw(p.doc) << "});\n";
    }
    for (const named_constraint& c : s.constraints)
        out << "        s.constraints.push_back({" << expr(c.expr) << ", " << c.line << "});\n";
    out << "        s.launch = {" << expr(s.launch.block) << ", " << expr(s.launch.grid) << "};\n";
    for (const auto& [name, value] : s.default_values)
        out << "        s.default_values.emplace_back(" << raw(name) << ", " << expr(value) << ");\n";
    out << "        specs.push_back(std::move(s));\n    }\n";
    return out.str();
}

} // namespace

int main(int argc, char** argv) {
    if (argc != 3) {
        std::fprintf(stderr, "usage: kerntune-embed TEMPLATE_DIR OUTPUT.cpp\n");
        return 2;
    }
    try {
        std::ostringstream code;
        code << "// Generated from templates/ by tools/kerntune_embed.cpp: do not edit.\n"
             << "#include \"core/config.hpp\"\n#include \"runtime/embedded_specs.hpp\"\n\n"
             << "namespace kerntune {\n\nconst std::vector<kernel_spec>& embedded_specs() {\n"
             << "    static const std::vector<kernel_spec> all = [] {\n    std::vector<kernel_spec> specs;\n";
        for (const kernel_spec& spec : load_specs(argv[1])) code << spec_code(spec);
        code << "    return specs;\n    }();\n    return all;\n}\n\n} // namespace kerntune\n";
        // Write only on change, so that an unchanged template rebuilds nothing.
        std::ifstream existing(argv[2]);
        std::stringstream old;
        old << existing.rdbuf();
        if (old.str() != code.str()) std::ofstream(argv[2]) << code.str();
        return 0;
    } catch (const std::exception& failure) {
        std::fprintf(stderr, "kerntune-embed: %s\n", failure.what());
        return 1;
    }
}
