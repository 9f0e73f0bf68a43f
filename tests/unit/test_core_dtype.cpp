#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "core/dtype.hpp"
#include "core/error.hpp"
#include "test_core_support.hpp"

namespace kerntune {
namespace {

using test::error_of;

TEST(CoreDtype, NamesRoundTripAndMapToCudaTypes) {
    for (dtype type : {dtype::f32, dtype::f16, dtype::bf16}) EXPECT_EQ(parse_dtype(to_string(type)), type);
    EXPECT_EQ(to_string(dtype::bf16), "bf16");
    EXPECT_EQ(dtype_size(dtype::f32), 4u);
    EXPECT_EQ(dtype_size(dtype::f16), 2u);
    EXPECT_EQ(dtype_size(dtype::bf16), 2u);
    EXPECT_EQ(cuda_type_name(dtype::f32), "float");
    EXPECT_EQ(cuda_type_name(dtype::f16), "__half");
    EXPECT_EQ(cuda_type_name(dtype::bf16), "__nv_bfloat16");
}

TEST(CoreDtype, UnknownNameErrorListsTheKnownOnes) {
    EXPECT_EQ(error_of([] { parse_dtype("f64"); }), "unknown dtype 'f64': expected f32, f16, bf16, i32 or i64");
    EXPECT_THROW(parse_dtype("F32"), error);
    EXPECT_THROW(parse_dtype(""), error);
    EXPECT_THROW(parse_dtype("f32 "), error);
}

TEST(CoreDtype, ListKeepsOrderAndRejectsEmptyItemsAndDuplicates) {
    EXPECT_EQ(parse_dtype_list("bf16,f32"), (std::vector<dtype>{dtype::bf16, dtype::f32}));
    EXPECT_EQ(parse_dtype_list("f16"), (std::vector<dtype>{dtype::f16}));
    for (const char* bad : {"", ",", "f32,", ",f32", "f32,,f16", "f32,f16,f32", "f32,f64"})
        EXPECT_THROW(parse_dtype_list(bad), error) << "accepted '" << bad << "'";
}

TEST(CoreDtype, TorchAndNumpySpellingsInAnyCaseParseToTheCanonicalOne) {
    const std::vector<std::pair<const char*, dtype>> spellings = {
        {"f32", dtype::f32},           {"F32", dtype::f32},          {"float32", dtype::f32},
        {"Float32", dtype::f32},       {"float", dtype::f32},        {"torch.float32", dtype::f32},
        {"torch.float", dtype::f32},   {"np.float32", dtype::f32},   {"numpy.float32", dtype::f32},
        {"single", dtype::f32},        {"f16", dtype::f16},          {"float16", dtype::f16},
        {"half", dtype::f16},          {"torch.half", dtype::f16},   {"torch.float16", dtype::f16},
        {"np.float16", dtype::f16},    {"HALF", dtype::f16},         {"bf16", dtype::bf16},
        {"BF16", dtype::bf16},         {"bfloat16", dtype::bf16},    {"torch.bfloat16", dtype::bf16},
        {"int32", dtype::i32},         {"torch.int", dtype::i32},    {"torch.int32", dtype::i32},
        {"int64", dtype::i64},         {"torch.long", dtype::i64},   {"np.int64", dtype::i64},
    };
    for (const auto& [text, type] : spellings) EXPECT_EQ(parse_dtype_name(text), type) << text;
    // The canonical spelling is what goes back to databases and tables.
    EXPECT_EQ(to_string(parse_dtype_name("torch.bfloat16")), "bf16");
}

TEST(CoreDtype, NamesParseDoesNotGuessAtUnsupportedOrMangledSpellings) {
    EXPECT_EQ(error_of([] { parse_dtype_name("float64"); }),
              "unknown dtype 'float64': expected f32, f16, bf16, i32 or i64, or a torch or numpy name such as "
              "float32, torch.half, bfloat16");
    for (const char* bad : {"", "f64", "double", "torch.float64", "torch.", "np.", "float 32", " f32", "f32 ",
                            "torch.torch.float32", "tf.float32", "fp32", "float32x"})
        EXPECT_THROW(parse_dtype_name(bad), error) << "accepted '" << bad << "'";
}

TEST(CoreDtype, CanonicalParseStaysStrictForSpecsAndDatabases) {
    for (const char* spelling : {"F32", "float32", "torch.float32", "half"})
        EXPECT_THROW(parse_dtype(spelling), error) << "accepted '" << spelling << "'";
}

TEST(CoreDtype, ListTakesEveryUserSpellingAndFindsDuplicatesAfterCanonicalising) {
    EXPECT_EQ(parse_dtype_list("Float32,torch.half,BF16"), (std::vector<dtype>{dtype::f32, dtype::f16, dtype::bf16}));
    EXPECT_EQ(error_of([] { parse_dtype_list("f32,float32"); }), "dtype float32 (f32) given twice in 'f32,float32'");
    EXPECT_EQ(error_of([] { parse_dtype_list("f16,f16"); }), "dtype f16 given twice in 'f16,f16'");
}

} // namespace
} // namespace kerntune
