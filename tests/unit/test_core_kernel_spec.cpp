// Loading kernel specs from YAML (spec/spec_loader.hpp fills core's kernel_spec): the shipped
// template, a fixture spec with every field, and every kind of mistake in small specs written to
// a temporary folder.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <sstream>
#include <string>

#include "core/config.hpp"
#include "core/kernel_arguments.hpp"
#include "core/regime.hpp"
#include "core/error.hpp"
#include "core/sha256.hpp"
#include "catalog/catalog.hpp"
#include "catalog/spec_loader.hpp"
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

// The shipped template loads; only what its name and files determine is checked here, so that
// editing its content cannot break this test (tests/nvrtc compiles its whole space).
TEST(CoreSpec, LoadsTheShippedLeakyReluTemplate) {
    const fs::path yaml = fs::path(KERNTUNE_TEST_TEMPLATE_DIR) / "leaky_relu.yaml";
    const kernel_spec spec = load_spec(yaml);
    EXPECT_EQ(spec.name, "leaky_relu");
    EXPECT_EQ(spec.yaml_path, yaml.string());
    EXPECT_EQ(spec.source, read_file(yaml.parent_path() / spec.source_name));
    std::string hashed = read_file(yaml) + "\n--\n" + spec.source;
    for (const source_header& header : spec.headers) hashed += "\n--\n" + header.name + "\n" + header.text;
    EXPECT_EQ(spec.source_hash, sha256_hex(hashed));
    EXPECT_FALSE(spec.headers.empty()) << "it includes the elementwise skeleton";
}

// Every field, from a fixture spec written for this test (tests/fixtures/templates/spec_fields.yaml):
// the line numbers below are that file's.
TEST(CoreSpec, LoadsEveryFieldOfTheFixtureSpec) {
    const fs::path yaml = fs::path(KERNTUNE_TEST_FIXTURE_DIR) / "spec_fields.yaml";
    const kernel_spec spec = load_spec(yaml);
    EXPECT_EQ(spec.name, "spec_fields");
    EXPECT_EQ(spec.description, "Loader fixture: y = x * factor, with every kind of field and parameter");
    EXPECT_EQ(spec.kernel, "kt_fixture::scale");
    EXPECT_EQ(spec.reference_kernel, "kt_fixture::scale_reference");
    EXPECT_EQ(spec.reference_launch.block[0].text(), "128");
    EXPECT_EQ(spec.reference_launch.grid[0].text(), "cdiv(n, 128)");
    EXPECT_TRUE(spec.reference_launch.block[1].empty());
    EXPECT_EQ(spec.yaml_path, yaml.string());
    EXPECT_EQ(spec.source_name, "spec_fields.cu");
    EXPECT_EQ(spec.source, read_file(yaml.parent_path() / "spec_fields.cu"));
    EXPECT_TRUE(spec.headers.empty());
    EXPECT_EQ(spec.axes, (std::vector<std::string>{"n"}));
    EXPECT_EQ(spec.source_hash, sha256_hex(read_file(yaml) + "\n--\n" + spec.source));
    EXPECT_EQ(spec.dtypes, (std::vector<dtype>{dtype::f32, dtype::f16, dtype::bf16}));

    ASSERT_EQ(spec.arguments.size(), 4u);
    EXPECT_EQ(spec.arguments[0].name, "x");
    // The elementwise shorthand: input and output are buffers of n elements of T, count is n
    // as an i64, f32 a caller scalar with its default.
    EXPECT_EQ(spec.arguments[0].kind, arg_kind::buffer);
    EXPECT_EQ(spec.arguments[0].access, buffer_access::in);
    EXPECT_FALSE(spec.arguments[0].element.has_value());
    EXPECT_EQ(spec.arguments[0].extent.text(), "n");
    EXPECT_EQ(spec.arguments[1].kind, arg_kind::buffer);
    EXPECT_EQ(spec.arguments[1].access, buffer_access::out);
    EXPECT_EQ(spec.arguments[2].kind, arg_kind::scalar);
    EXPECT_EQ(spec.arguments[2].type, scalar_type::i64);
    EXPECT_EQ(spec.arguments[2].value.text(), "n");
    EXPECT_EQ(spec.arguments[3].name, "factor");
    EXPECT_TRUE(spec.arguments[3].is_caller_scalar());
    EXPECT_EQ(spec.arguments[3].type, scalar_type::f32);
    EXPECT_EQ(spec.arguments[3].default_value, 0.5);
    EXPECT_EQ(spec.validation.fill.kind, fill_policy::bits);
    EXPECT_EQ(spec.validation.compare.kind, compare_policy::bits);
    EXPECT_EQ(spec.bytes_moved.text(), "2 * n * sizeof(T)");

    ASSERT_EQ(spec.params.size(), 5u);
    EXPECT_EQ(spec.params[0].name, "BLOCK");
    EXPECT_EQ(spec.params[0].short_name, "blk");
    EXPECT_EQ(spec.params[0].kind, param_kind::template_arg);
    EXPECT_EQ(spec.params[0].values, (std::vector<std::int64_t>{64, 128, 256}));
    EXPECT_FALSE(spec.params[0].is_enum());
    EXPECT_EQ(spec.params[0].doc, "threads per block");
    EXPECT_EQ(spec.params[2].name, "ORDER");
    EXPECT_EQ(spec.params[2].kind, param_kind::template_arg);
    EXPECT_EQ(spec.params[2].enum_names, (std::vector<std::string>{"forward", "backward"}));
    EXPECT_EQ(spec.params[2].values, (std::vector<std::int64_t>{0, 1}));
    EXPECT_EQ(spec.params[2].doc, "the order of a thread's elements");
    EXPECT_EQ(spec.params[3].name, "GRID");
    EXPECT_EQ(spec.params[3].kind, param_kind::launch);
    EXPECT_TRUE(spec.params[3].is_enum());
    EXPECT_EQ(spec.params[3].enum_names, (std::vector<std::string>{"tile", "stride"}));
    EXPECT_EQ(spec.params[4].name, "WAVES");
    EXPECT_EQ(spec.params[4].short_name, "w");
    EXPECT_EQ(spec.params[4].kind, param_kind::launch);
    EXPECT_FALSE(spec.params[4].is_enum());
    EXPECT_EQ(spec.params[4].values, (std::vector<std::int64_t>{0, 2}));

    ASSERT_EQ(spec.constraints.size(), 3u);
    EXPECT_EQ(spec.constraints[0].expr.text(), "VEC * sizeof(T) <= 8");
    EXPECT_EQ(spec.constraints[0].line, 26);
    EXPECT_EQ(spec.constraints[1].expr.text(), "(GRID == stride) == (WAVES > 0)");
    EXPECT_EQ(spec.constraints[1].line, 28) << "the comment line above it counts";
    EXPECT_EQ(spec.constraints[2].expr.text(), "ORDER == forward || VEC > 1");
    EXPECT_EQ(spec.constraints[2].line, 29);
    EXPECT_EQ(spec.launch.block[0].text(), "BLOCK");
    EXPECT_EQ(spec.launch.grid[0].text(),
              "GRID == tile ? cdiv(n, BLOCK * VEC) : min(cdiv(n, BLOCK * VEC), WAVES * sm_count)");

    ASSERT_EQ(spec.default_values.size(), 5u);
    EXPECT_EQ(spec.default_values[1].first, "VEC");
    EXPECT_EQ(spec.default_values[1].second.text(), "4 / sizeof(T)");
    EXPECT_EQ(default_config(spec, dtype::f32).values, (std::vector<std::int64_t>{128, 1, 0, 0, 0}));
    EXPECT_EQ(default_config(spec, dtype::f16).values, (std::vector<std::int64_t>{128, 2, 0, 0, 0}));
    // 3 blocks x (VEC, ORDER) pairs allowed x 2 (GRID, WAVES) pairs: VEC 1 only forward, and
    // VEC 4 only for 2-byte types.
    EXPECT_EQ(enumerate_space(spec, dtype::f32).size(), 3u * (1u + 2u) * 2u);
    EXPECT_EQ(enumerate_space(spec, dtype::bf16).size(), 3u * (1u + 2u + 2u) * 2u);
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
    EXPECT_EQ(spec.source_name, "tiny.cu");
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

// Derived parameters: template arguments after the tuned ones, whose value a rule over the
// problem gives. They are not in the space, the labels of configs or the constraints.
TEST_F(CoreSpecFile, DerivedParametersAreTemplateArgumentsThatTheProblemGives) {
    const std::string derived =
        "derived:\n"
        "  - {name: WIDE, values: [narrow, wide], value: \"n % (16 / sizeof(T)) == 0 ? wide : narrow\", doc: whole vectors}\n"
        "  - {name: LANES, short: l, values: [1, 2], value: \"n % 3 + 1\"}\n"
        "constraints:\n";
    const kernel_spec spec = load_spec(write("tiny.yaml", tiny_with("constraints:\n", derived)));
    ASSERT_EQ(spec.derived.size(), 2u);
    EXPECT_EQ(spec.derived[0].kind, param_kind::derived);
    EXPECT_EQ(spec.derived[0].rule.text(), "n % (16 / sizeof(T)) == 0 ? wide : narrow");
    EXPECT_EQ(spec.derived[0].doc, "whole vectors");
    EXPECT_EQ(enumerate_space(spec, dtype::f32).size(), 2u * 2u * 2u);  // as without them
    EXPECT_EQ(every_derived(spec), (std::vector<derived_values>{{0, 1}, {0, 2}, {1, 1}, {1, 2}}));
    const problem whole = make_problem(spec.axes, parse_shape("1024"));  // 1024 % 3 == 1
    const problem odd = make_problem(spec.axes, parse_shape("1026"));    // not whole f32 vectors; 1026 % 3 == 0
    EXPECT_EQ(derive(spec, dtype::f32, whole), (derived_values{1, 2}));
    EXPECT_EQ(derive(spec, dtype::f32, odd), (derived_values{0, 1}));
    EXPECT_EQ(derive(spec, dtype::f16, make_problem(spec.axes, parse_shape("1030"))), (derived_values{0, 2}));  // 1030 % 8 == 6, 1030 % 3 == 1
    const config c = default_config(spec, dtype::f32);
    EXPECT_EQ(name_expression(spec, c, {1, 2}, dtype::f32), "kt::tiny<float, 256, 2, 1, 2>");
    EXPECT_EQ(kernel_label(spec, c, {1, 2}), label(spec, c) + ".wide.l2");
    // A rule's value outside the domain is an error naming it; so are values given by hand.
    const std::string message = error_of([&] { derive(spec, dtype::f32, make_problem(spec.axes, parse_shape("1025"))); });
    EXPECT_TRUE(contains(message, "derived parameter LANES = 3 for 1025 is not one of 1, 2")) << message;
    for (const derived_values& bad : {derived_values{1, 3}, derived_values{2, 1}, derived_values{1}, derived_values{}}) {
        EXPECT_THROW(name_expression(spec, c, bad, dtype::f32), error);
        EXPECT_THROW(kernel_label(spec, c, bad), error);
    }
    // The rule reads the axes, sizeof(T) and the derived values' names; nothing of the config.
    expect_error(tiny_with("constraints:\n", "derived:\n  - {name: WIDE, values: [0, 1], short: w, value: BLOCK}\nconstraints:\n"),
                 16, "unknown name 'BLOCK'");
    expect_error(tiny_with("constraints:\n", "derived:\n  - {name: VEC, values: [0, 1], short: w, value: 0}\nconstraints:\n"),
                 16, "'VEC' is declared twice");
    expect_error(tiny_with("constraints:\n", "derived:\n  - {name: WIDE, values: [0, 1], short: w}\nconstraints:\n"), 16,
                 "missing field 'value'");
    expect_error(tiny_with("constraints:\n", "derived:\n  - {name: WIDE, kind: template, values: [0, 1], short: w, value: 0}\nconstraints:\n"),
                 16, "unknown field 'kind'");
    expect_error(tiny_with("constraints:\n", "derived: []\nconstraints:\n"), 15, "'derived' must be a non-empty list");
    // Constraints and launch rules cannot read them: the tuned space is the same for every problem.
    expect_error(tiny_with("VEC * sizeof(T) <= 8", "VEC <= WIDE"), 16, "unknown name 'WIDE'");
    expect_error(tiny_with("constraints:\n  - VEC * sizeof(T) <= 8\n", derived + "  - VEC <= WIDE\n"), 19, "unknown name 'WIDE'");
}

// problem_constraints read what launch rules read (the parameters, the axes, the device limits);
// a config is a candidate at a problem only where all of them hold, and the space is unchanged.
TEST_F(CoreSpecFile, ProblemConstraintsSayAtWhichProblemsAConfigIsACandidate) {
    const kernel_spec spec = load_spec(write(
        "tiny.yaml", tiny_with("launch:", "problem_constraints:\n  - BLOCK * VEC <= max(128, n)\n  - GRID == tile || n > sm_count\nlaunch:")));
    ASSERT_EQ(spec.problem_constraints.size(), 2u);
    EXPECT_EQ(spec.problem_constraints[0].expr.text(), "BLOCK * VEC <= max(128, n)");
    EXPECT_EQ(spec.problem_constraints[0].line, 18);
    EXPECT_EQ(enumerate_space(spec, dtype::f32).size(), 2u * 2u * 2u);  // as without them
    const device_limits h200{132, 2048, 233472};
    const problem short_row = make_problem(spec.axes, parse_shape("100")), long_row = make_problem(spec.axes, parse_shape("4096"));
    const config wide = parse_label(spec, "blk256.vec2.tile"), narrow = parse_label(spec, "blk128.vec1.tile");
    EXPECT_FALSE(candidate_at(spec, wide, dtype::f32, short_row, h200));
    EXPECT_TRUE(candidate_at(spec, wide, dtype::f32, long_row, h200));
    EXPECT_TRUE(candidate_at(spec, narrow, dtype::f32, short_row, h200));
    EXPECT_FALSE(candidate_at(spec, parse_label(spec, "blk128.vec1.stride"), dtype::f32, short_row, h200))
        << "every constraint must hold";
    // A spec without any: every config is a candidate everywhere.
    const kernel_spec plain = load_spec(write("tiny.yaml", tiny_yaml));
    EXPECT_TRUE(candidate_at(plain, parse_label(plain, "blk256.vec2.stride"), dtype::f32, short_row, h200));

    expect_error(tiny_with("launch:", "problem_constraints:\n  - BLOCK <= width\nlaunch:"), 18, "unknown name 'width'");
    expect_error(tiny_with("launch:", "problem_constraints: BLOCK <= n\nlaunch:"), 17,
                 "'problem_constraints' must be a list of expressions");
}

TEST_F(CoreSpecFile, DeclaredShapesAreCheckedAgainstTheAxes) {
    const kernel_spec spec = load_spec(write("tiny.yaml", tiny_with("dtypes: [f32, f16]", "dtypes: [f32, f16]\nshapes: [1024, 8x128]")));
    ASSERT_EQ(spec.default_shapes.size(), 2u);
    EXPECT_EQ(spec.default_shapes[1].to_string(), "8x128");
    expect_error(tiny_with("dtypes: [f32, f16]", "dtypes: [f32, f16]\nshapes: [1024, 0x5]"), 6, "0x5");
    expect_error(tiny_with("dtypes: [f32, f16]", "dtypes: [f32, f16]\nshapes: []"), 6, "'shapes' must be a non-empty list");
    // A one-axis spec without shapes gets the elementwise defaults (leaky_relu's: its YAML,
    // part of its tuned rows' key, stays as it was).
    EXPECT_EQ(load_spec(write("tiny.yaml", tiny_yaml)).default_shapes.size(), 7u);
    EXPECT_EQ(catalog().at("leaky_relu")->default_shapes.at(6).to_string(), "4096x393216");
}

TEST_F(CoreSpecFile, DeclaredRegimesReadTheAxesBytesMovedAndDeviceFactsOnly) {
    const kernel_spec spec =
        load_spec(write("tiny.yaml", tiny_with("dtypes: [f32, f16]", "dtypes: [f32, f16]\nregimes: \"n * sizeof(T) > l2_bytes\"")));
    EXPECT_EQ(spec.regimes.text(), "n * sizeof(T) > l2_bytes");
    expect_error(tiny_with("dtypes: [f32, f16]", "dtypes: [f32, f16]\nregimes: \"BLOCK > 2\""), 6,
                 "uses unknown name 'BLOCK'");  // a regime is the problem's, never the config's
    expect_error(tiny_with("dtypes: [f32, f16]", "dtypes: [f32, f16]\nregimes: \"n >\""), 6, "n >");
    // Without the field a one-axis spec gets launch-bound / L2 / DRAM.
    EXPECT_EQ(load_spec(write("tiny.yaml", tiny_yaml)).regimes.text(), default_one_axis_regimes());
    // `rows`, the row reductions' scheme, is written over [outer, reduce, inner]: not n.
    expect_error(tiny_with("dtypes: [f32, f16]", "dtypes: [f32, f16]\nregimes: rows"), 6,
                 "'regimes: rows' needs the problem axes [outer, reduce, inner]");
}

TEST_F(CoreSpecFile, RowRegimesBringTheirLadderBeforeTheSpecsOwnShapesEachOnce) {
    const kernel_spec spec = load_spec(write("rows.yaml", R"yaml(name: rows
source: tiny.cu
kernel: kt::tiny
reference: {kernel: kt::tiny_reference, block: 256, grid: "cdiv(outer * inner, 8)"}
dtypes: [f32]
problem: [outer, reduce, inner]
regimes: rows
shapes: [65536x768, 16x4194304]
arguments:
  - {name: x, buffer: in, type: T, extent: outer * reduce * inner}
  - {name: y, buffer: out, type: T, extent: outer * inner}
  - {name: outer, scalar: i64, value: outer}
  - {name: reduce, scalar: i64, value: reduce}
  - {name: inner, scalar: i64, value: inner}
bytes_moved: (outer * reduce * inner + outer * inner) * sizeof(T)
parameters:
  - {name: BLOCK, short: blk, kind: template, values: [128, 256]}
launch: {block: BLOCK, grid: outer}
default: {BLOCK: 256}
)yaml"));
    EXPECT_EQ(spec.regimes.text(), row_reduction_regimes());
    std::vector<std::string> expected = test::shape_texts(row_reduction_shapes());
    expected.push_back("16x4194304");  // 65536x768 is on the ladder already: tuned once
    EXPECT_EQ(test::shape_texts(spec.default_shapes), expected);
}

TEST_F(CoreSpecFile, OnlyAnInBufferCanBeOptional) {
    const std::string weighted = "  - {name: w, buffer: in, type: T, extent: n, optional: true}\n  - {name: y, kind: output}";
    const kernel_spec spec = load_spec(write("tiny.yaml", tiny_with("  - {name: y, kind: output}", weighted)));
    ASSERT_EQ(spec.arguments.size(), 4u);
    EXPECT_TRUE(spec.arguments[1].optional);
    EXPECT_FALSE(spec.arguments[0].optional);
    expect_error(tiny_with("  - {name: y, kind: output}", "  - {name: y, buffer: out, extent: n, optional: true}"), 8,
                 "only an 'in' buffer can be optional");
    expect_error(tiny_with("  - {name: y, kind: output}", "  - {name: y, kind: output, optional: true}"), 8,
                 "'optional' does not apply to argument y");
    expect_error(tiny_with("  - {name: y, kind: output}", "  - {name: w, buffer: in, extent: n, optional: yes}\n  - {name: y, kind: output}"), 8,
                 "'yes' is not true or false");
}

TEST_F(CoreSpecFile, AWorkspaceIsAnArgumentWithItsBytesInTheLaunchRuleNeverOneWithoutTheOther) {
    const std::string with_workspace =
        tiny_with("  - {name: n, kind: count}\n", "  - {name: n, kind: count}\n  - {name: w, kind: workspace}\n");
    const std::string rule = "launch: {block: BLOCK, grid: \"GRID == tile ? cdiv(n, BLOCK * VEC) : sm_count\"}";
    const std::string rule_with_bytes =
        "launch: {block: BLOCK, grid: \"GRID == tile ? cdiv(n, BLOCK * VEC) : sm_count\", workspace: \"GRID == stride ? 16 * sm_count : 0\"}";
    std::string both = with_workspace;
    both.replace(both.find(rule), rule.size(), rule_with_bytes);
    const kernel_spec spec = load_spec(write("tiny.yaml", both));
    EXPECT_EQ(spec.arguments.at(3).kind, arg_kind::workspace);
    EXPECT_EQ(spec.buffer_count(), 2);  // callers pass x and y only
    const problem shape = make_problem(spec.axes, parse_shape("1000"));
    const device_limits h200{132, 2048, 233472, 232448, 16};
    EXPECT_EQ(to_string(candidate_launch(spec, parse_label(spec, "blk256.vec2.stride"), dtype::f32, shape, h200)),
              "132x1x1/256x1x1/0/w2112");
    EXPECT_EQ(to_string(candidate_launch(spec, parse_label(spec, "blk256.vec2.tile"), dtype::f32, shape, h200)),
              "2x1x1/256x1x1/0");
    // The bound arguments carry the workspace through the worker protocol.
    const std::vector<bound_arg> bound = bind_arguments(spec, dtype::f32, shape);
    EXPECT_EQ(to_string(bound), "buffer:in:f32:1000,buffer:out:f32:1000,scalar:i64:3e8,workspace");
    EXPECT_EQ(parse_bound_args(to_string(bound)), bound);
    expect_error(with_workspace, 18, "the kernel takes a workspace, but 'launch' has no 'workspace'");
    std::string bytes_only = tiny_yaml;
    bytes_only.replace(bytes_only.find(rule), rule.size(), rule_with_bytes);
    expect_error(bytes_only, 7, "'launch' has a 'workspace', but no argument is of kind workspace");
    expect_error(tiny_with("  - {name: n, kind: count}\n",
                           "  - {name: n, kind: count}\n  - {name: w, kind: workspace}\n  - {name: v, kind: workspace}\n"),
                 7, "at most one workspace");
}

TEST_F(CoreSpecFile, MissingSourceFileIsAnError) {
    expect_error(tiny_with("source: tiny.cu", "source: missing.cu"), 2, "missing.cu");
}

TEST_F(CoreSpecFile, AFolderAddsEveryYamlSortedByNameAfterTheBuiltIns) {
    write("zeta.yaml", tiny_with("name: tiny", "name: zeta"));
    write("alpha.yaml", tiny_with("name: tiny", "name: alpha"));
    write("notes.txt", "not a spec");
    catalog templates;
    const std::size_t builtins = templates.specs().size();
    ASSERT_GE(builtins, 1u);
    EXPECT_EQ(templates.specs().front()->name, "layer_norm");  // built-ins sorted by file name
    templates.add_folder(m_dir);
    ASSERT_EQ(templates.specs().size(), builtins + 2);
    EXPECT_EQ(templates.specs()[builtins]->name, "alpha");
    EXPECT_EQ(templates.specs()[builtins + 1]->name, "zeta");
    EXPECT_EQ(templates.at("zeta")->name, "zeta");
    const std::string message = error_of([&] { templates.at("gelu_exact"); });
    EXPECT_TRUE(contains(message, "unknown op 'gelu_exact': known ops are layer_norm, leaky_relu, rms_norm, softmax, "
                                  "log_softmax, sum, mean, relu, sigmoid,")) << message;
    EXPECT_TRUE(contains(message, "new_gelu, alpha, zeta")) << message;
    EXPECT_THROW(templates.at("../zeta"), error);
}

TEST_F(CoreSpecFile, ANameTakenTwiceNamesBothFilesAndAddsNothing) {
    write("alpha.yaml", tiny_with("name: tiny", "name: alpha"));
    write("beta.yaml", tiny_with("name: tiny", "name: leaky_relu"));
    catalog templates;
    const std::size_t before = templates.specs().size();
    const std::string message = error_of([&] { templates.add_folder(m_dir); });
    EXPECT_TRUE(contains(message, (m_dir / "beta.yaml").string() + ": template 'leaky_relu' is already defined by <built-in>/leaky_relu.yaml"))
        << message;
    EXPECT_EQ(templates.specs().size(), before) << "all or nothing: alpha is not added either";
    EXPECT_FALSE(templates.find("alpha"));

    fs::remove(m_dir / "beta.yaml");
    templates.add_folder(m_dir);
    EXPECT_NO_THROW(templates.add_folder(m_dir)) << "the same files again are already there";
    EXPECT_EQ(templates.specs().size(), before + 1);
    write("alpha.yaml", tiny_with("name: tiny", "name: alpha  # edited"));
    const std::string edited = error_of([&] { templates.add_folder(m_dir); });
    EXPECT_TRUE(contains(edited, "template 'alpha' is already defined by " + (m_dir / "alpha.yaml").string())) << edited;
}

TEST_F(CoreSpecFile, AMissingOrBrokenFolderIsOneLineAndChangesNothing) {
    catalog templates;
    const std::size_t before = templates.specs().size();
    const std::string missing = error_of([&] { templates.add_folder(m_dir / "nope"); });
    EXPECT_TRUE(contains(missing, "no template folder at " + (m_dir / "nope").string())) << missing;
    write("broken.yaml", tiny_with("dtypes: [f32, f16]", "dtypes: [f32, f99]"));
    const std::string broken = error_of([&] { templates.add_folder(m_dir); });
    EXPECT_TRUE(contains(broken, (m_dir / "broken.yaml").string() + ":")) << broken;
    EXPECT_EQ(templates.specs().size(), before);
}

TEST_F(CoreSpecFile, TheSourceTreesTemplatesFolderAddsNothingToTheBuiltIns) {
    // Before the catalogue, KERNTUNE_TEMPLATES named a copy of templates/ to use instead of the
    // built-ins; such a folder still works: its specs are the built-ins, so nothing is added.
    catalog templates;
    const std::size_t before = templates.specs().size();
    EXPECT_NO_THROW(templates.add_folder(KERNTUNE_TEST_TEMPLATE_DIR));
    EXPECT_EQ(templates.specs().size(), before);
    EXPECT_EQ(templates.at("leaky_relu")->yaml_path, "<built-in>/leaky_relu.yaml");
}

TEST_F(CoreSpecFile, TheBuiltInTemplatesHashAsTheirFilesDo) {
    // The tuner and libkerntune both load the compiled-in text; a tune from the source tree's
    // folder must give the same keys, and so must every earlier kerntune (the hash of
    // leaky_relu is that of 662010a, whose databases must keep serving their winners).
    const kernel_spec builtin = *catalog().at("leaky_relu");
    const kernel_spec on_disk = load_spec(fs::path(KERNTUNE_TEST_TEMPLATE_DIR) / "leaky_relu.yaml");
    EXPECT_EQ(builtin.source_hash, on_disk.source_hash);
    EXPECT_EQ(builtin.yaml_path, "<built-in>/leaky_relu.yaml");
}

TEST_F(CoreSpecFile, IncludesResolveInTheFolderThenSupportAndJoinTheHash) {
    write("helper.cuh", "#pragma once\n#include <cuda_fp16.h>\n#include \"deeper.cuh\"\n");
    write("deeper.cuh", "// deeper\n");
    write("tiny.cu", "// tiny kernel\n#include \"helper.cuh\"\n#include <cuda_bf16.h>\n");
    const kernel_spec spec = load_spec(write("tiny.yaml", tiny_yaml));
    ASSERT_EQ(spec.headers.size(), 2u);
    EXPECT_EQ(spec.headers[0].name, "helper.cuh");
    EXPECT_EQ(spec.headers[1].name, "deeper.cuh");
    EXPECT_EQ(spec.source_hash, sha256_hex(std::string(tiny_yaml) + "\n--\n" + spec.source + "\n--\nhelper.cuh\n" +
                                           spec.headers[0].text + "\n--\ndeeper.cuh\n" + spec.headers[1].text));
    write("deeper.cuh", "// deeper, edited\n");
    EXPECT_NE(load_spec(m_dir / "tiny.yaml").source_hash, spec.source_hash) << "editing a header retires tuned rows";
}

TEST_F(CoreSpecFile, IncludesThatEscapeOrDoNotExistAreRefused) {
    for (const std::string name : {"/etc/passwd", "../outside.cuh", "sub/../../x.cuh", "nowhere.cuh"}) {
        write("tiny.cu", "// tiny\n\n#include \"" + name + "\"\n");
        const std::string message = error_of([&] { load_spec(write("tiny.yaml", tiny_yaml)); });
        EXPECT_TRUE(contains(message, (m_dir / "tiny.cu").string() + ":3: include '" + name + "'")) << message;
    }
}

TEST_F(CoreSpecFile, ExpressionsPastTheLengthOrNestingLimitAreOneLineNamingFileLineAndLimit) {
    // Before the limits, `kerntune list` overflowed the stack on each of these (exit 139).
    const std::string parentheses = std::string(20'000, '(') + "1" + std::string(20'000, ')');
    expect_error(tiny_with("VEC * sizeof(T) <= 8", "\"" + parentheses + "\""), 16,
                 "40001 characters, longer than the limit of 4096 at column 4097");
    expect_error(tiny_with("VEC * sizeof(T) <= 8", std::string(100, '-') + "VEC"), 16,
                 "nested deeper than the limit of 64 levels at column 65");
}

TEST_F(CoreSpecFile, ASpaceOverAMillionConfigsIsRefusedAtTheParametersWithoutEnumerating) {
    std::string values;
    for (int i = 0; i < 400; ++i) values += (i ? ", " : "") + std::to_string(i);
    const std::string extra = "  - {name: GRID, kind: launch, values: [tile, stride]}\n"
                              "  - {name: A, short: a, kind: launch, values: [" + values + "]}\n"
                              "  - {name: B, short: b, kind: launch, values: [" + values + "]}\n";
    std::string yaml = tiny_with("  - {name: GRID, kind: launch, values: [tile, stride]}\n", extra);
    yaml = yaml.substr(0, yaml.find("default: {")) + "default: {BLOCK: 256, VEC: 2, GRID: tile, A: 0, B: 0}\n";
    const auto started = std::chrono::steady_clock::now();
    expect_error(yaml, 12,
                 "the space of tiny has 1920000 configs before constraints (BLOCK 2 x VEC 3 x GRID 2 x A 400 x B 400), "
                 "more than the limit of 1000000");
    EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count(), 0.5);
}

/// The message of the kerntune::error `action` throws, which must come within a second. A read
/// blocked on a FIFO is released by opening the FIFOs in `fifos` for writing (the reader then
/// sees the end of the file), and the test fails.
std::string error_within_a_second(const std::function<void()>& action, const std::vector<fs::path>& fifos = {}) {
    std::future<std::string> outcome = std::async(std::launch::async, [&] { return error_of(action); });
    if (outcome.wait_for(std::chrono::seconds(1)) != std::future_status::ready) {
        ADD_FAILURE() << "still reading after a second";
        for (const fs::path& fifo : fifos) {
            const int fd = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK);
            if (fd >= 0) ::close(fd);
        }
    }
    return outcome.get();
}

TEST_F(CoreSpecFile, FilesThatAreNotSmallRegularFilesInsideTheFolderAreOneLineErrorsWithoutHanging) {
    // A FIFO named like a spec: listing the folder finds it, reading it would wait for a writer.
    ASSERT_EQ(::mkfifo((m_dir / "fifo.yaml").c_str(), 0644), 0);
    write("tiny.yaml", tiny_yaml);
    catalog templates;
    const std::size_t before = templates.specs().size();
    const std::string listed = error_within_a_second([&] { templates.add_folder(m_dir); }, {m_dir / "fifo.yaml"});
    EXPECT_EQ(listed, (m_dir / "fifo.yaml").string() + " is not a regular file");
    EXPECT_EQ(templates.specs().size(), before);
    fs::remove(m_dir / "fifo.yaml");

    ASSERT_EQ(::mkfifo((m_dir / "pipe.cu").c_str(), 0644), 0);
    fs::create_symlink("/dev/zero", m_dir / "zero.cu");
    fs::create_directory(m_dir / "folder.cu");
    write("big.cu", std::string(5 << 20, 'x'));  // 5 MiB
    const std::string inside = "' must be a file name inside the template's folder";
    const struct {
        std::string source, what;
    } cases[] = {
        {"pipe.cu", (m_dir / "pipe.cu").string() + " is not a regular file"},
        {"zero.cu", (m_dir / "zero.cu").string() + " is not a regular file"},  // a link to a device
        {"folder.cu", (m_dir / "folder.cu").string() + " is not a regular file"},
        {"big.cu", (m_dir / "big.cu").string() + " has 5242880 bytes, more than the 4194304 a template file may have"},
        {"/dev/zero", "source '/dev/zero" + inside},
        {"../x.cu", "source '../x.cu" + inside},
        {"sub/../../x.cu", "source 'sub/../../x.cu" + inside},
    };
    for (const auto& c : cases) {
        const fs::path yaml = write("tiny.yaml", tiny_with("source: tiny.cu", "source: " + c.source));
        const std::string message = error_within_a_second([&] { load_spec(yaml); }, {m_dir / "pipe.cu"});
        EXPECT_EQ(message, yaml.string() + ":2: " + c.what) << c.source;
        EXPECT_EQ(message.find('\n'), std::string::npos) << c.source;
    }
    // The spec itself past the cap: 5 MiB of comment after a valid spec.
    const fs::path big_yaml = write("tiny.yaml", std::string(tiny_yaml) + "#" + std::string(5 << 20, 'x') + "\n");
    EXPECT_TRUE(contains(error_within_a_second([&] { load_spec(big_yaml); }), "more than the 4194304"));
}

TEST_F(CoreSpecFile, KernelNamesMustBeCppQualifiedNames) {
    // Before the check each of these loaded: the name went into every NVRTC name expression,
    // and a newline in it split the compile worker's list of expressions.
    const std::string rule = "is not a C++ qualified name (identifiers joined by ::, e.g. kt::leaky_relu)";
    const struct {
        std::string yaml_value, shown;
    } refused[] = {
        {"", ""},
        {"kt::a\\nkt::b", "kt::a\\nkt::b"},
        {"kt/tiny", "kt/tiny"},
        {"templates/", "templates/"},
        {"kt::", "kt::"},
        {"::kt::tiny", "::kt::tiny"},
        {"kt:::tiny", "kt:::tiny"},
        {"kt::tiny<float>", "kt::tiny<float>"},
        {"kt::tiny; asm", "kt::tiny; asm"},
        {"1kt::tiny", "1kt::tiny"},
        {"kt::ti-ny", "kt::ti-ny"},
        {"kt::\\ttiny", "kt::\\x09tiny"},
    };
    for (const auto& c : refused) {
        // Double-quoted, so that YAML reads every character as given (escapes included).
        const std::string quoted = "\"" + c.yaml_value + "\"";
        expect_error(tiny_with("kernel: kt::tiny\n", "kernel: " + quoted + "\n"), 3, "kernel '" + c.shown + "' " + rule);
        expect_error(tiny_with("{kernel: kt::tiny_reference,", "{kernel: " + quoted + ","), 4,
                     "reference kernel '" + c.shown + "' " + rule);
    }
    // A block scalar over two lines.
    expect_error(tiny_with("kernel: kt::tiny\n", "kernel: |\n  kt::a\n  kt::b\n"), 3, "kernel 'kt::a\\nkt::b\\n' " + rule);
    for (const std::string name : {"tiny", "kt::tiny", "a::b_c", "_x::_y::z9"}) {
        const kernel_spec spec = load_spec(write("tiny.yaml", tiny_with("kernel: kt::tiny\n", "kernel: " + name + "\n")));
        EXPECT_EQ(spec.kernel, name);
    }
}

TEST_F(CoreSpecFile, AKeyGivenTwiceInAnyMappingIsAnErrorNamingBothLines) {
    // yaml-cpp keeps one of the two values; before the check the spec loaded with it.
    expect_error(std::string(tiny_yaml) + "kernel: kt::other\n", 19, "key 'kernel' is given twice (first on line 3)");
    expect_error(tiny_with("GRID: tile}", "GRID: tile, BLOCK: 128}"), 18, "key 'BLOCK' is given twice (first on line 18)");
    expect_error(tiny_with("{name: BLOCK, short: blk,", "{name: BLOCK, short: blk, short: b,"), 12,
                 "key 'short' is given twice (first on line 12)");
    expect_error(tiny_with("{kernel: kt::tiny_reference, block: 256,", "{kernel: kt::tiny_reference, block: 256, block: 128,"),
                 4, "key 'block' is given twice");
    expect_error(tiny_with("dtypes: [f32, f16]\n", "dtypes: [f32, f16]\ndtypes: [f32]\n"), 6,
                 "key 'dtypes' is given twice (first on line 5)");
    // Aliases share their node: 40 levels of lists of two aliases name 2^40 paths to the first
    // list, walked once each node (the walk keeps what it visited), so the loader gets to the
    // unknown field at once.
    std::string laughs = "a0: &a0 [{x: 1, y: 2}, {x: 1, y: 2}]\n";
    for (int i = 1; i <= 40; ++i)
        laughs += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [*a" + std::to_string(i - 1) + ", *a" +
                  std::to_string(i - 1) + "]\n";
    const auto started = std::chrono::steady_clock::now();
    expect_error(std::string(tiny_yaml) + laughs, 19, "unknown field 'a0'");
    EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count(), 1.0);
}

TEST_F(CoreSpecFile, AComplexKeyIsAnErrorNamingTheFileAndLine) {
    expect_error(std::string(tiny_yaml) + "? [a, b]\n: 1\n", 19, "unknown field '(a complex key)'");
    // In `default`, before the fix, yaml-cpp's bad conversion escaped without the file's name.
    expect_error(tiny_with("GRID: tile}", "GRID: tile, [a, b]: 1}"), 18, "'default' has a complex key");
    expect_error(tiny_with("{name: x, kind: input}", "{name: x, kind: input, {a: 1}: 2}"), 7, "unknown field '(a complex key)'");
}

TEST(CoreSpec, KerntuneTemplatesIsAColonSeparatedListOfFolders) {
    const char* saved = std::getenv("KERNTUNE_TEMPLATES");
    const std::string previous = saved ? saved : "";
    ::setenv("KERNTUNE_TEMPLATES", "/a/templates::/b", 1);
    EXPECT_EQ(template_folders_from_environment(), (std::vector<fs::path>{"/a/templates", "/b"}));
    ::unsetenv("KERNTUNE_TEMPLATES");
    EXPECT_TRUE(template_folders_from_environment().empty());
    if (saved) ::setenv("KERNTUNE_TEMPLATES", previous.c_str(), 1);
}

} // namespace
} // namespace kerntune

namespace kerntune {
namespace {

TEST_F(CoreSpecFile, VariantsAreTheSameTemplateUnderOtherNamesAndKernels) {
    const std::string variants =
        "variants:\n  - {name: tiny_b, description: \"the other\", kernel: kt::tiny_b, reference_kernel: kt::tiny_b_ref}\n";
    const std::vector<kernel_spec> specs =
        load_specs(template_folder::on_disk(m_dir), write("tiny.yaml", std::string(tiny_yaml) + variants).filename().string());
    ASSERT_EQ(specs.size(), 2u);
    EXPECT_EQ(specs[1].name, "tiny_b");
    EXPECT_EQ(specs[1].kernel, "kt::tiny_b");
    EXPECT_EQ(specs[1].reference_kernel, "kt::tiny_b_ref");
    EXPECT_EQ(specs[1].description, "the other");
    EXPECT_EQ(specs[1].params.size(), specs[0].params.size());
    // Its own hash, so that no cache keyed by the source hash serves one op's kernel for another
    // (seen on the H200 before: log_softmax launched softmax's cached cubin).
    EXPECT_NE(specs[1].source_hash, specs[0].source_hash);
    EXPECT_EQ(specs[1].source_hash.size(), specs[0].source_hash.size());
    const std::string base = tiny_yaml;
    const int line = 1 + static_cast<int>(std::count(base.begin(), base.end(), '\n'));
    expect_error(base + "variants:\n  - {name: tiny_b, kernel: kt::tiny_b}\n", line + 1, "missing field 'reference_kernel'");
    expect_error(base + "variants:\n  - {name: tiny, kernel: kt::a, reference_kernel: kt::b}\n", line + 1,
                 "variant 'tiny' is named twice");
    expect_error(base + "variants:\n  - {name: b, kernel: kt::a, reference_kernel: kt::b, block: 4}\n", line + 1,
                 "unknown field 'block'");
    expect_error(base + "variants: []\n", line, "'variants' must be a non-empty list");
}

TEST(BuiltinReductions, SoftmaxAndLogSoftmaxShareOneTemplateWithClusteredLaunches) {
    const catalog templates;
    const kernel_spec& softmax = *templates.at("softmax");
    const kernel_spec& log_softmax = *templates.at("log_softmax");
    EXPECT_EQ(softmax.axes, (std::vector<std::string>{"outer", "reduce", "inner"}));
    EXPECT_EQ(log_softmax.kernel, "kt::log_softmax");
    EXPECT_EQ(log_softmax.reference_kernel, "kt::log_softmax_reference");
    const device_limits h200{132, 2048, 233472, 232448, 8};
    const problem rows = make_problem(softmax.axes, parse_shape("4096x393216"));
    // A cluster of 8 blocks per row; each caches an eighth of the row (196,608 bytes) and has a
    // 16-byte step more (a part off 16 bytes is cached at its offset modulo 16).
    const launch_geometry clustered = candidate_launch(softmax, parse_label(softmax, "t1024.r1.c8.s1.g0"), dtype::f32, rows, h200);
    EXPECT_EQ(to_string(clustered), "32768x1x1/1024x1x1/196624/c8");
    EXPECT_EQ(to_string(parse_launch_geometry(to_string(clustered))), to_string(clustered));
    // The same cluster told not to cache: no shared memory, the row read twice.
    EXPECT_EQ(to_string(candidate_launch(softmax, parse_label(softmax, "t1024.r1.c8.s0.g0"), dtype::f32, rows, h200)),
              "32768x1x1/1024x1x1/0/c8");
    // One block per row: the row does not fit, so nothing is cached and the kernel streams it.
    EXPECT_EQ(to_string(candidate_launch(softmax, parse_label(softmax, "t1024.r1.c1.s1.g0"), dtype::f32, rows, h200)),
              "4096x1x1/1024x1x1/0");
    // A device without clusters cannot launch it: the tuner stores launch_failed, the runtime
    // falls back to the default config.
    const device_limits no_clusters{132, 2048, 233472, 232448, 1};
    const std::string message = error_of(
        [&] { candidate_launch(softmax, parse_label(softmax, "t1024.r1.c8.s1.g0"), dtype::f32, rows, no_clusters); });
    EXPECT_TRUE(contains(message, "a cluster of 8 blocks is outside 1..1 (this device's limit)")) << message;
    EXPECT_EQ(to_string(candidate_launch(softmax, default_config(softmax, dtype::bf16), dtype::bf16, rows, no_clusters)),
              "4096x1x1/256x1x1/0");
    // Columns (dim 1 of 8 x 64 x 32 x 32): a thread per column, the grid a multiple of the cluster.
    const problem columns = make_problem(softmax.axes, parse_shape("8x64x32x32"), 1);
    EXPECT_EQ(to_string(candidate_launch(softmax, parse_label(softmax, "t256.r1.c8.s1.g0"), dtype::f16, columns, h200)),
              "32x1x1/256x1x1/0/c8");
    for (const char* bad : {"8x1x1/256x1x1/0/c1", "6x1x1/256x1x1/0/c4", "8x1x1/256x1x1/0/x8", "8x1x1/256x1x1/0/c", "32x1x1/1x1x1/0/c32"})
        EXPECT_THROW(parse_launch_geometry(bad), error) << bad;
}

// The row templates' kernels are compiled for the code path the problem takes (their derived
// PATH, kt_reduce.cuh's row_path: vectors 0, elements 1, columns 2, peeled 3, held32 4 to
// held2048 10), after THREADS and ROWS. softmax holds rows of at most 4 KiB in registers, a
// kernel for each power of two of their length; the others read them.
TEST(BuiltinReductions, RowKernelsAreCompiledForTheCodePathTheProblemTakes) {
    const catalog templates;
    for (const char* op : {"softmax", "log_softmax", "layer_norm", "rms_norm", "sum", "mean"}) {
        const kernel_spec& spec = *templates.at(op);
        const bool holds = spec.kernel == "kt::softmax" || spec.kernel == "kt::log_softmax";
        const auto path = [&](const char* shape, dtype type, int dim = -1) {
            const derived_values values = derive(spec, type, make_problem(spec.axes, parse_shape(shape), dim));
            return kernel_label(spec, default_config(spec, type), values).substr(label(spec, default_config(spec, type)).size());
        };
        const auto held = [&](const char* length, const char* otherwise) { return holds ? std::string(".held") + length : otherwise; };
        EXPECT_EQ(path("4096x16384", dtype::f32), ".vectors") << op;
        EXPECT_EQ(path("4095x4097", dtype::f32), ".peeled") << op;
        EXPECT_EQ(path("16x1028", dtype::f32), ".vectors") << op;   // whole 16-byte vectors of 4 floats, over 4 KiB
        EXPECT_EQ(path("16x1028", dtype::bf16), held("2048", ".peeled")) << op;  // not of 8 bf16; 2056 bytes
        EXPECT_EQ(path("16x2049", dtype::bf16), ".peeled") << op;  // 4098 bytes
        EXPECT_EQ(path("16x1024", dtype::f32), held("1024", ".vectors")) << op;  // 4096 bytes
        EXPECT_EQ(path("16x1025", dtype::f32), ".peeled") << op;
        EXPECT_EQ(path("16x63", dtype::bf16), held("64", ".elements")) << op;   // and under 160 bytes
        EXPECT_EQ(path("16x39", dtype::f32), held("64", ".elements")) << op;    // 156 bytes
        EXPECT_EQ(path("16x41", dtype::f32), held("64", ".peeled")) << op;      // 164 bytes
        EXPECT_EQ(path("16x129", dtype::f32), held("256", ".peeled")) << op;
        EXPECT_EQ(path("16x1", dtype::f16), held("32", ".elements")) << op;
        EXPECT_EQ(path("8x64x32x32", dtype::f32, 1), ".columns") << op;
        EXPECT_EQ(every_derived(spec), holds ? (std::vector<derived_values>{{0}, {1}, {2}, {3}, {4}, {5}, {6}, {7}, {8}, {9}, {10}})
                                             : (std::vector<derived_values>{{0}, {1}, {2}, {3}}))
            << op;
        EXPECT_EQ(name_expression(spec, default_config(spec, dtype::f16), {2}, dtype::f16),
                  spec.kernel + "<__half, 256, 1, 2>")
            << op;
    }
}

TEST(BuiltinReductions, FewLongRowsSplitOverACooperativeGridWithAWorkspace) {
    const catalog templates;
    const device_limits h200{132, 2048, 233472, 232448, 16};
    const kernel_spec& layer_norm = *templates.at("layer_norm");
    const problem few = make_problem(layer_norm.axes, parse_shape("16x4194304"));
    // A block per SM, two rows at a time: teams of 66 blocks, each caching its 63,552 bf16
    // (127,104 bytes, and a 16-byte step more); 2 x 128 bytes of arrival counters and 132 x 2 exchanged values of 8 bytes.
    EXPECT_EQ(to_string(candidate_launch(layer_norm, parse_label(layer_norm, "t1024.r1.c1.g2"), dtype::bf16, few, h200)),
              "66x2x1/1024x1x1/127120/w2368");
    // Four rows at a time: teams of 33 blocks, whose parts (508 KB) are not cached.
    EXPECT_EQ(to_string(candidate_launch(layer_norm, parse_label(layer_norm, "t512.r1.c1.g4"), dtype::f32, few, h200)),
              "33x4x1/512x1x1/0/w2624");
    // More rows than SMs: the config is a block per row, without a workspace.
    const problem many = make_problem(layer_norm.axes, parse_shape("4096x4096"));
    EXPECT_EQ(to_string(candidate_launch(layer_norm, parse_label(layer_norm, "t512.r1.c1.g2"), dtype::f32, many, h200)),
              "4096x1x1/512x1x1/16400");
    // So are columns (dim 1 of 4 x 64 x 32): a thread per column.
    const problem columns = make_problem(layer_norm.axes, parse_shape("4x64x32"), 1);
    EXPECT_EQ(to_string(candidate_launch(layer_norm, parse_label(layer_norm, "t512.r1.c1.g2"), dtype::f32, columns, h200)),
              "1x1x1/512x1x1/131072");
    for (const char* op : {"softmax", "log_softmax", "layer_norm", "rms_norm", "sum", "mean"}) {
        const kernel_spec& spec = *templates.at(op);
        EXPECT_EQ(spec.arguments.back().kind, arg_kind::workspace) << op;
        EXPECT_FALSE(spec.launch.workspace_bytes.empty()) << op;
    }
    EXPECT_EQ(to_string(parse_launch_geometry("33x4x1/512x1x1/0/w2624")), "33x4x1/512x1x1/0/w2624");
    for (const char* bad : {"8x1x1/256x1x1/0/w0", "8x1x1/256x1x1/0/w", "8x1x1/256x1x1/0/c8/w64", "8x1x1/256x1x1/0/w64/c8",
                            "8x1x1/256x1x1/0/w99999999999", "8x1x1/256x1x1/0/w64/w64"})
        EXPECT_THROW(parse_launch_geometry(bad), error) << bad;
}

} // namespace
} // namespace kerntune
