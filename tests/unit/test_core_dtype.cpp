#include <gtest/gtest.h>

#include <string>

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

} // namespace
} // namespace kerntune
