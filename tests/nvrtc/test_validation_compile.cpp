// nvrtc label: every instantiation of the validation kernels (templates/support/validation.cu,
// compiled into the tuner as validation_source) compiles for sm_90 with the toolkit alone.
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "cuda/nvrtc.hpp"
#include "catalog/template_folder.hpp"

namespace kerntune {
namespace {

/// "kt_validation::<kernel><<type>>" for each kernel and element type it is written for.
std::vector<std::string> every_instantiation() {
    const std::vector<std::string> floats = {"float", "__half", "__nv_bfloat16"};
    std::vector<std::string> expressions;
    auto add = [&](const std::string& kernel, const std::vector<std::string>& types) {
        for (const std::string& type : types)
            expressions.push_back("kt_validation::" + kernel + "<" + type + ">");
    };
    add("fill_random", {"float", "__half", "__nv_bfloat16", "int", "long long"});
    add("compare_bits", {"unsigned short", "unsigned int", "unsigned long long"});
    add("fill_finite", floats);
    add("compare_ulp", floats);
    add("compare_tolerance", floats);
    return expressions;
}

TEST(ValidationKernels, EveryInstantiationCompilesForSm90) {
    const std::vector<std::string> expressions = every_instantiation();
    const compiled_program program = compile({{"validation.cu", *template_folder::support().read("validation.cu")}, expressions, "sm_90"});
    ASSERT_TRUE(program.ok) << program.log;
    ASSERT_EQ(program.lowered_names.size(), expressions.size());
    std::set<std::string> distinct;
    for (std::size_t i = 0; i < expressions.size(); ++i) {
        SCOPED_TRACE(expressions[i]);
        const std::string& lowered = program.lowered_names[i];
        ASSERT_FALSE(lowered.empty());
        EXPECT_TRUE(distinct.insert(lowered).second) << lowered << " names two instantiations";
        // The symbol table of the cubin names every kernel it holds.
        EXPECT_NE(program.cubin.find(lowered), std::string::npos) << lowered << " is not in the cubin";
    }
}

TEST(ValidationKernels, FiniteFillsAndTolerantComparisonsRefuseIntegerTypes) {
    // fill_finite, compare_ulp and compare_tolerance read T's floating-point layout: an integer
    // T has none, and must fail to compile rather than do something meaningless.
    for (const char* expression : {"kt_validation::fill_finite<int>", "kt_validation::compare_ulp<long long>",
                                   "kt_validation::compare_tolerance<int>"}) {
        SCOPED_TRACE(expression);
        const compiled_program program = compile({{"validation.cu", *template_folder::support().read("validation.cu")}, {expression}, "sm_90"});
        EXPECT_FALSE(program.ok);
        EXPECT_NE(program.log.find("format_of<"), std::string::npos)
            << "refused for another reason: " << program.log;
    }
}

}  // namespace
}  // namespace kerntune
