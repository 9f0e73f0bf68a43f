// Loading kernel specs from YAML (spec/spec_loader.hpp fills core's kernel_spec): the real
// template, and every kind of mistake in small specs written to a temporary folder.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "core/config.hpp"
#include "core/error.hpp"
#include "core/sha256.hpp"
#include "spec/spec_loader.hpp"
#include "test_core_support.hpp"

namespace kerntune {
namespace {

namespace fs = std::filesystem;
using test::contains;
using test::error_of;

std::string read_file(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

TEST(CoreSpec, LoadsTheLeakyReluTemplate) {
    const fs::path yaml = fs::path(KERNTUNE_TEST_TEMPLATE_DIR) / "leaky_relu.yaml";
    const kernel_spec spec = load_spec(yaml);
    EXPECT_EQ(spec.name, "leaky_relu");
    EXPECT_EQ(spec.kernel, "kt::leaky_relu");
    EXPECT_EQ(spec.reference_kernel, "kt::leaky_relu_reference");
    EXPECT_EQ(spec.yaml_path, yaml);
    EXPECT_EQ(spec.source_path, yaml.parent_path() / "leaky_relu.cu");
    EXPECT_EQ(spec.source, read_file(spec.source_path));
    EXPECT_EQ(spec.source_hash, sha256_hex(read_file(yaml) + "\n--\n" + spec.source));
    EXPECT_EQ(spec.dtypes, (std::vector<dtype>{dtype::f32, dtype::f16, dtype::bf16}));

    ASSERT_EQ(spec.arguments.size(), 4u);
    EXPECT_EQ(spec.arguments[0].kind, arg_kind::input);
    EXPECT_EQ(spec.arguments[1].kind, arg_kind::output);
    EXPECT_EQ(spec.arguments[2].kind, arg_kind::count);
    EXPECT_EQ(spec.arguments[3].name, "negative_slope");
    EXPECT_EQ(spec.arguments[3].kind, arg_kind::f32);
    EXPECT_FLOAT_EQ(spec.arguments[3].default_value, 0.01f);

    ASSERT_EQ(spec.params.size(), 6u);
    EXPECT_EQ(spec.params[0].name, "BLOCK");
    EXPECT_EQ(spec.params[0].short_name, "blk");
    EXPECT_EQ(spec.params[0].kind, param_kind::template_arg);
    EXPECT_EQ(spec.params[0].values, (std::vector<std::int64_t>{128, 256, 512, 1024}));
    EXPECT_FALSE(spec.params[0].is_enum());
    EXPECT_EQ(spec.params[0].doc, "threads per block");
    EXPECT_EQ(spec.params[3].name, "LOAD");
    EXPECT_EQ(spec.params[3].kind, param_kind::template_arg);
    EXPECT_EQ(spec.params[3].enum_names, (std::vector<std::string>{"plain", "bulk"}));
    EXPECT_EQ(spec.params[4].name, "GRID");
    EXPECT_EQ(spec.params[4].kind, param_kind::launch);
    EXPECT_TRUE(spec.params[4].is_enum());
    EXPECT_EQ(spec.params[4].enum_names, (std::vector<std::string>{"tile", "stride"}));
    EXPECT_EQ(spec.params[4].values, (std::vector<std::int64_t>{0, 1}));
    EXPECT_EQ(spec.params[5].short_name, "w");

    ASSERT_EQ(spec.constraints.size(), 5u);
    EXPECT_EQ(spec.constraints[0].expr.text(), "VEC * sizeof(T) <= 16");
    EXPECT_EQ(spec.constraints[0].line, 42);
    EXPECT_EQ(spec.constraints[2].line, 44);
    EXPECT_EQ(spec.constraints[4].expr.text(), "LOAD == plain || BLOCK * UNROLL <= 1024");
    EXPECT_EQ(spec.bytes_moved.text(), "2 * n * sizeof(T)");
    EXPECT_EQ(spec.launch.block.text(), "BLOCK");
    EXPECT_EQ(spec.reference_launch.grid.text(), "cdiv(n, 256)");
    ASSERT_EQ(spec.default_values.size(), 6u);
    EXPECT_EQ(spec.default_values[1].first, "VEC");
    EXPECT_EQ(spec.default_values[1].second.text(), "16 / sizeof(T)");
}

// A small valid spec; tests break one line at a time. The line numbers matter: see expect_error.
constexpr const char* tiny_yaml = R"yaml(name: tiny
source: tiny.cu
kernel: kt::tiny
reference: {kernel: kt::tiny_reference, block: 256, grid: "cdiv(n, 256)"}
dtypes: [f32, f16]
arguments:
  - {name: x, kind: input}
  - {name: y, kind: output}
  - {name: n, kind: count}
bytes_moved: 2 * n * sizeof(T)
parameters:
  - {name: BLOCK, short: blk, kind: template, values: [128, 256]}
  - {name: VEC, short: vec, kind: template, values: [1, 2, 4]}
  - {name: GRID, kind: launch, values: [tile, stride]}
constraints:
  - VEC * sizeof(T) <= 8
launch: {block: BLOCK, grid: "GRID == tile ? cdiv(n, BLOCK * VEC) : sm_count"}
default: {BLOCK: 256, VEC: 2, GRID: tile}
)yaml";

class CoreSpecFile : public ::testing::Test {
protected:
    void SetUp() override {
        const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
        m_dir = fs::temp_directory_path() /
                ("kerntune_core_" + std::string(info->name()) + "_" + std::to_string(::getpid()));
        fs::remove_all(m_dir);
        fs::create_directories(m_dir);
        write("tiny.cu", "// tiny kernel\n");
    }
    void TearDown() override { fs::remove_all(m_dir); }

    fs::path write(const std::string& name, const std::string& text) const {
        std::ofstream(m_dir / name, std::ios::binary) << text;
        return m_dir / name;
    }

    // tiny_yaml with `from` replaced by `to` (which must occur exactly once).
    static std::string tiny_with(const std::string& from, const std::string& to) {
        std::string text = tiny_yaml;
        const std::size_t at = text.find(from);
        EXPECT_NE(at, std::string::npos) << from;
        EXPECT_EQ(text.find(from, at + 1), std::string::npos) << from;
        return at == std::string::npos ? text : text.replace(at, from.size(), to);
    }

    // Loading `yaml` fails with a message that starts with "<path>:<line>: " and contains `what`.
    void expect_error(const std::string& yaml, int line, const std::string& what) const {
        const fs::path path = write("tiny.yaml", yaml);
        const std::string message = error_of([&] { load_spec(path); });
        const std::string prefix = path.string() + ":" + std::to_string(line) + ": ";
        EXPECT_EQ(message.substr(0, prefix.size()), prefix) << message;
        EXPECT_TRUE(contains(message, what)) << message;
    }

    fs::path m_dir;
};

TEST_F(CoreSpecFile, TinySpecLoadsAndItsSourceIsRelativeToTheYaml) {
    const kernel_spec spec = load_spec(write("tiny.yaml", tiny_yaml));
    EXPECT_EQ(spec.source, "// tiny kernel\n");
    EXPECT_EQ(spec.source_path, m_dir / "tiny.cu");
    EXPECT_EQ(spec.constraints.at(0).line, 16);
    EXPECT_EQ(enumerate_space(spec, dtype::f32).size(), 2u * 2u * 2u);  // VEC 1, 2
    EXPECT_EQ(enumerate_space(spec, dtype::f16).size(), 2u * 3u * 2u);  // VEC 1, 2, 4
}

TEST_F(CoreSpecFile, SourceHashChangesWithTheYamlAndWithTheSource) {
    const std::string first = load_spec(write("tiny.yaml", tiny_yaml)).source_hash;
    const std::string yaml_edited =
        load_spec(write("tiny.yaml", tiny_with("name: tiny\n", "name: tiny  # edited\n"))).source_hash;
    write("tiny.cu", "// tiny kernel, edited\n");
    const std::string source_edited = load_spec(write("tiny.yaml", tiny_yaml)).source_hash;
    EXPECT_NE(first, yaml_edited);
    EXPECT_NE(first, source_edited);
    EXPECT_NE(yaml_edited, source_edited);
}

TEST_F(CoreSpecFile, YamlSyntaxErrorGivesFileAndLine) {
    expect_error(tiny_with("dtypes: [f32, f16]", "dtypes: [f32, f16"), 6, "syntax error");
}

TEST_F(CoreSpecFile, MissingFieldIsNamed) {
    expect_error(tiny_with("kernel: kt::tiny\n", ""), 1, "missing field 'kernel'");
    expect_error(tiny_with("{name: VEC, short: vec, kind: template, values: [1, 2, 4]}",
                           "{name: VEC, kind: template, values: [1, 2, 4]}"),
                 13, "missing field 'short'");
    expect_error(tiny_with("block: BLOCK, grid:", "grid:"), 17, "missing field 'block'");
    expect_error(tiny_with(", GRID: tile}", "}"), 18, "lacks parameter GRID");
}

TEST_F(CoreSpecFile, UnknownFieldsAreErrorsToCatchTypos) {
    expect_error(tiny_with("bytes_moved:", "bytes_moves:"), 10, "unknown field 'bytes_moves'");
    expect_error(tiny_with("{name: x, kind: input}", "{name: x, knid: input}"), 7, "unknown field 'knid'");
    expect_error(tiny_with("short: blk,", "shrot: blk,"), 12, "unknown field 'shrot'");
    expect_error(tiny_with("block: 256, grid:", "block: 256, grids:"), 4, "unknown field 'grids'");
}

TEST_F(CoreSpecFile, UnknownNamesInExpressionsAreErrors) {
    expect_error(tiny_with("VEC * sizeof(T) <= 8", "VEC * sizeof(T) <= WIDTH"), 16, "unknown name 'WIDTH'");
    // Constraints describe the space: problem and device variables are for launch rules only.
    expect_error(tiny_with("VEC * sizeof(T) <= 8", "VEC <= n"), 16, "unknown name 'n'");
    expect_error(tiny_with("sm_count\"}", "sms\"}"), 17, "unknown name 'sms'");
    expect_error(tiny_with("2 * n * sizeof(T)", "2 * n * VEC"), 10, "unknown name 'VEC'");
    // The reference has no config: parameters are unknown there.
    expect_error(tiny_with("block: 256, grid", "block: BLOCK, grid"), 4, "unknown name 'BLOCK'");
    expect_error(tiny_with("VEC: 2,", "VEC: 2 * WIDTH,"), 18, "unknown name 'WIDTH'");
}

TEST_F(CoreSpecFile, MalformedExpressionsAndValuesAreErrors) {
    expect_error(tiny_with("VEC * sizeof(T) <= 8", "VEC * <= 8"), 16, "column");
    expect_error(tiny_with("values: [128, 256]", "values: [128, 2.5]"), 12, "'2.5'");
    expect_error(tiny_with("values: [128, 256]", "values: [128, big]"), 12, "mix integers and names");
    expect_error(tiny_with("values: [tile, stride]", "values: [tile, ti-le]"), 14, "'ti-le'");
    expect_error(tiny_with("values: [128, 256]", "values: []"), 12, "non-empty");
    expect_error(tiny_with("values: [128, 256]", "values: [128, 128]"), 12, "twice");
    expect_error(tiny_with("kind: template, values: [1, 2, 4]", "kind: templat, values: [1, 2, 4]"), 13,
                 "templat");
    expect_error(tiny_with("dtypes: [f32, f16]", "dtypes: [f32, f64]"), 5, "unknown dtype 'f64'");
}

TEST_F(CoreSpecFile, DefaultOutsideTheDomainIsAnError) {
    expect_error(tiny_with("BLOCK: 256,", "BLOCK: 300,"), 18, "BLOCK = 300 is not one of 128, 256");
    expect_error(tiny_with("GRID: tile}", "GRID: 2}"), 18, "GRID = 2 is not one of tile, stride");
}

TEST_F(CoreSpecFile, DefaultViolatingAConstraintForOneDtypeIsAnError) {
    // VEC 4: 16 bytes for f32 (over the 8-byte limit), 8 bytes for f16.
    expect_error(tiny_with("VEC: 2,", "VEC: 4,"), 18, "f32");
    expect_error(tiny_with("VEC: 2,", "VEC: 4,"), 18, "VEC * sizeof(T) <= 8");
}

TEST_F(CoreSpecFile, DuplicateAndInvalidNamesAreErrors) {
    expect_error(tiny_with("{name: VEC, short: vec", "{name: BLOCK, short: vec"), 13,
                 "'BLOCK' is declared twice");
    // Enum value names are bound in expressions, so they must not shadow parameters.
    expect_error(tiny_with("values: [tile, stride]", "values: [tile, VEC]"), 14, "'VEC' is declared twice");
    expect_error(tiny_with("{name: BLOCK,", "{name: BL-OCK,"), 12, "not an identifier");
    expect_error(tiny_with("{name: BLOCK,", "{name: 1BLOCK,"), 12, "not an identifier");
}

TEST_F(CoreSpecFile, MissingSourceFileIsAnError) {
    expect_error(tiny_with("source: tiny.cu", "source: missing.cu"), 2, "missing.cu");
}

TEST_F(CoreSpecFile, LoadSpecsReadsEveryYamlSortedByName) {
    write("zeta.yaml", tiny_with("name: tiny", "name: zeta"));
    write("alpha.yaml", tiny_with("name: tiny", "name: alpha"));
    write("notes.txt", "not a spec");
    const std::vector<kernel_spec> specs = load_specs(m_dir);
    ASSERT_EQ(specs.size(), 2u);
    EXPECT_EQ(specs[0].name, "alpha");
    EXPECT_EQ(specs[1].name, "zeta");
}

TEST_F(CoreSpecFile, FindSpecLoadsAnOpOrListsTheKnownOnes) {
    write("zeta.yaml", tiny_with("name: tiny", "name: zeta"));
    write("alpha.yaml", tiny_with("name: tiny", "name: alpha"));
    EXPECT_EQ(find_spec(m_dir, "zeta").name, "zeta");
    const std::string message = error_of([&] { find_spec(m_dir, "gelu"); });
    EXPECT_TRUE(contains(message, "unknown op 'gelu': known ops are ")) << message;
    EXPECT_TRUE(contains(message, "alpha")) << message;
    EXPECT_TRUE(contains(message, "zeta")) << message;
    EXPECT_THROW(find_spec(m_dir, "../zeta"), error);
}

TEST(CoreSpec, DefaultTemplateDirHonoursKerntuneTemplates) {
    const char* saved = std::getenv("KERNTUNE_TEMPLATES");
    const std::string previous = saved ? saved : "";
    ::setenv("KERNTUNE_TEMPLATES", "/somewhere/templates", 1);
    EXPECT_EQ(default_template_dir(), fs::path("/somewhere/templates"));
    ::unsetenv("KERNTUNE_TEMPLATES");
    // The test binary is not installed, so the source tree's folder is compiled in.
    EXPECT_EQ(default_template_dir(), fs::path(KERNTUNE_TEST_TEMPLATE_DIR));
    if (saved) ::setenv("KERNTUNE_TEMPLATES", previous.c_str(), 1);
}

} // namespace
} // namespace kerntune
