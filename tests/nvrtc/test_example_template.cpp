// nvrtc label: the user template of examples/templates (axpby, the one docs/TEMPLATES.md writes)
// loads, has the space its constraints give, compiles in every variant for an explicit arch
// with the toolkit alone, and joins a catalogue beside the built-ins exactly once.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "../support/temp_folder.hpp"
#include "catalog/catalog.hpp"
#include "catalog/spec_loader.hpp"
#include "catalog/template_folder.hpp"
#include "core/config.hpp"
#include "core/error.hpp"
#include "core/problem.hpp"
#include "tune/tuner.hpp"

namespace kerntune {
namespace {

std::filesystem::path example_folder() {
    return (std::filesystem::path(KERNTUNE_TEST_TEMPLATE_DIR) / ".." / "examples" / "templates").lexically_normal();
}

kernel_spec load_example() { return load_spec(example_folder() / "axpby.yaml"); }

/// Values of VEC with VEC * sizeof(T) in [4, 16], counted here from the YAML's domain and
/// constraints rather than by the code under test.
std::size_t valid_vector_widths(dtype type) {
    std::size_t count = 0;
    for (std::size_t vec : {1, 2, 4, 8})
        if (vec * dtype_size(type) <= 16 && vec * dtype_size(type) >= 4) ++count;
    return count;
}

/// The space of axpby for `type`: BLOCK (3 values) x VEC x UNROLL (3) x the (GRID, WAVES) pairs
/// with WAVES > 0 exactly for the stride policy.
std::size_t expected_space_size(dtype type) {
    std::size_t grid_policies = 0;
    for (bool stride : {false, true})
        for (int waves : {0, 1, 4})
            if (stride == (waves > 0)) ++grid_policies;
    return 3 * valid_vector_widths(type) * 3 * grid_policies;
}

/// Distinct instantiations: GRID and WAVES are launch parameters, so only BLOCK x VEC x UNROLL.
int expected_kernels(dtype type) { return static_cast<int>(3 * valid_vector_widths(type) * 3); }

TEST(ExampleTemplate, LoadsWithTheDeclaredSignatureAndPolicies) {
    const kernel_spec spec = load_example();
    EXPECT_EQ(spec.name, "axpby");
    EXPECT_EQ(spec.kernel, "kt_example::axpby");
    EXPECT_EQ(spec.reference_kernel, "kt_example::axpby_reference");
    EXPECT_EQ(spec.axes, std::vector<std::string>{"n"});
    EXPECT_EQ(spec.dtypes, (std::vector<dtype>{dtype::f32, dtype::f16, dtype::bf16}));
    // kt_convert.cuh is found in the support folder (it is not in examples/templates) and joins
    // the hash; the CUDA headers it includes do not.
    ASSERT_EQ(spec.headers.size(), 1u);
    EXPECT_EQ(spec.headers[0].name, "kt_convert.cuh");
    EXPECT_EQ(spec.headers[0].text, *template_folder::support().read("kt_convert.cuh"));

    ASSERT_EQ(spec.arguments.size(), 6u);
    const char* const names[] = {"x", "z", "y", "n", "a", "b"};
    for (std::size_t i = 0; i < 6; ++i) EXPECT_EQ(spec.arguments[i].name, names[i]);
    for (std::size_t i = 0; i < 3; ++i) {
        EXPECT_EQ(spec.arguments[i].kind, arg_kind::buffer);
        EXPECT_FALSE(spec.arguments[i].element.has_value()) << "type T";
        EXPECT_EQ(spec.arguments[i].extent.text(), "n");
    }
    EXPECT_EQ(spec.arguments[0].access, buffer_access::in);
    EXPECT_EQ(spec.arguments[1].access, buffer_access::in);
    EXPECT_EQ(spec.arguments[2].access, buffer_access::out);
    EXPECT_EQ(spec.arguments[3].kind, arg_kind::scalar);
    EXPECT_EQ(spec.arguments[3].type, scalar_type::i64);
    EXPECT_FALSE(spec.arguments[3].is_caller_scalar());
    for (std::size_t i = 4; i < 6; ++i) {
        EXPECT_TRUE(spec.arguments[i].is_caller_scalar());
        EXPECT_EQ(spec.arguments[i].type, scalar_type::f32);
        EXPECT_EQ(spec.arguments[i].default_value, 1.0);
    }
    EXPECT_EQ(spec.buffer_count(), 3);
    EXPECT_EQ(spec.caller_scalar_count(), 2);

    EXPECT_EQ(spec.validation.fill.kind, fill_policy::bits);
    EXPECT_EQ(spec.validation.compare.kind, compare_policy::bits);
    const problem shape = make_problem(spec.axes, std::vector<std::int64_t>{1000003});
    EXPECT_EQ(bytes_moved(spec, dtype::f32, shape), 3 * 1000003 * 4);
    EXPECT_EQ(bytes_moved(spec, dtype::bf16, shape), 3 * 1000003 * 2);

    EXPECT_EQ(label(spec, default_config(spec, dtype::f32)), "blk256.vec4.unr2.tile.w0");
    EXPECT_EQ(label(spec, default_config(spec, dtype::f16)), "blk256.vec8.unr2.tile.w0");
    EXPECT_EQ(name_expression(spec, default_config(spec, dtype::bf16), {}, dtype::bf16),
              "kt_example::axpby<__nv_bfloat16, 256, 8, 2>");
    EXPECT_EQ(reference_name_expression(spec, dtype::f16), "kt_example::axpby_reference<__half>");
}

TEST(ExampleTemplate, SpaceSizePerDtypeIsWhatTheConstraintsGive) {
    const kernel_spec spec = load_example();
    for (dtype type : spec.dtypes) {
        SCOPED_TRACE(std::string(to_string(type)));
        EXPECT_EQ(enumerate_space(spec, type).size(), expected_space_size(type));
        EXPECT_EQ(expected_space_size(type), 81u);  // 3 blocks x 3 vector widths x 3 unrolls x 3 grids
    }
}

TEST(ExampleTemplate, LaunchRuleGivesOneTilePerBlockOrACappedGrid) {
    const kernel_spec spec = load_example();
    const device_limits h100{132, 2048, 228 * 1024, 227 * 1024};  // a fictional device with H100's figures
    const problem small = make_problem(spec.axes, std::vector<std::int64_t>{1000003});
    const problem large = make_problem(spec.axes, std::vector<std::int64_t>{std::int64_t{1} << 28});
    // blk256.vec4.unr2: tiles of 2048 elements.
    const config tile = parse_label(spec, "blk256.vec4.unr2.tile.w0");
    const config stride = parse_label(spec, "blk256.vec4.unr2.stride.w4");
    EXPECT_EQ(candidate_launch(spec, tile, dtype::f32, small, h100).grid[0], (1000003 + 2047) / 2048);
    EXPECT_EQ(candidate_launch(spec, tile, dtype::f32, large, h100).grid[0], (std::int64_t{1} << 28) / 2048);
    EXPECT_EQ(candidate_launch(spec, stride, dtype::f32, small, h100).grid[0], (1000003 + 2047) / 2048);
    EXPECT_EQ(candidate_launch(spec, stride, dtype::f32, large, h100).grid[0], 4 * 132 * (2048 / 256));
    EXPECT_EQ(candidate_launch(spec, stride, dtype::f32, large, h100).block[0], 256);
    const launch_geometry reference = reference_launch(spec, dtype::f32, small, h100);
    EXPECT_EQ(reference.grid[0], (1000003 + 255) / 256);
    EXPECT_EQ(reference.block[0], 256);
}

TEST(ExampleTemplate, EveryVariantCompilesForSm90) {
    const kernel_spec spec = load_example();
    const std::vector<compile_outcome> outcomes = compile_space(spec, spec.dtypes, "sm_90");
    ASSERT_EQ(outcomes.size(), spec.dtypes.size());
    for (const compile_outcome& outcome : outcomes) {
        SCOPED_TRACE(std::string(to_string(outcome.type)));
        EXPECT_EQ(outcome.candidates, static_cast<int>(expected_space_size(outcome.type)));
        EXPECT_EQ(outcome.kernels, expected_kernels(outcome.type));
        EXPECT_GT(outcome.programs, 0);
        EXPECT_EQ(outcome.failed, 0) << (outcome.failures.empty() ? "" : outcome.failures.front().kernel + ": " + outcome.failures.front().log);
        EXPECT_TRUE(outcome.failures.empty());
    }
}

std::vector<std::string> names_of(const catalog& templates) {
    std::vector<std::string> names;
    for (const auto& spec : templates.specs()) names.push_back(spec->name);
    return names;
}

TEST(ExampleTemplate, JoinsTheBuiltInsInACatalog) {
    catalog templates;
    const std::size_t builtins = templates.specs().size();
    templates.add_folder(example_folder());
    const std::vector<std::string> names = names_of(templates);
    EXPECT_NE(std::find(names.begin(), names.end(), "leaky_relu"), names.end());
    EXPECT_NE(std::find(names.begin(), names.end(), "axpby"), names.end());
    EXPECT_EQ(names.size(), builtins + 1);
    EXPECT_EQ(names.back(), "axpby") << "folders come after the built-ins";
    ASSERT_NE(templates.find("axpby"), nullptr);
    EXPECT_EQ(templates.find("axpby")->source_hash, load_example().source_hash)
        << "the catalogue and load_spec read the same files";
}

TEST(ExampleTemplate, TheSameTemplateTwiceIsOnceAndAnotherDefinitionIsADuplicateNamingBothFiles) {
    const std::string original = (example_folder() / "axpby.yaml").string();
    catalog templates;
    templates.add_folder(example_folder());
    const std::size_t before = templates.specs().size();
    // The same files again (a folder in $KERNTUNE_TEMPLATES that the application also adds).
    EXPECT_NO_THROW(templates.add_folder(example_folder()));
    EXPECT_EQ(templates.specs().size(), before) << "nothing added twice";

    // An identical copy in another folder is the same template: nothing is added. An edited copy
    // is another definition under a name already taken: the message names the copy and the original.
    const std::filesystem::path copy = testing::make_temp_folder("kerntune-axpby-copy");
    std::filesystem::copy_file(example_folder() / "axpby.yaml", copy / "axpby.yaml");
    std::filesystem::copy_file(example_folder() / "axpby.cu", copy / "axpby.cu");
    EXPECT_NO_THROW(templates.add_folder(copy));
    EXPECT_EQ(templates.specs().size(), before);
    std::ofstream(copy / "axpby.yaml", std::ios::app) << "# edited\n";
    try {
        templates.add_folder(copy);
        ADD_FAILURE() << "a second folder defining axpby was accepted";
    } catch (const error& failure) {
        const std::string message = failure.what();
        EXPECT_EQ(message.find((copy / "axpby.yaml").string()), 0u) << message;
        EXPECT_NE(message.find("already defined by " + original), std::string::npos) << message;
    }
    EXPECT_EQ(templates.specs().size(), before);
    std::filesystem::remove_all(copy);
}

} // namespace
} // namespace kerntune
