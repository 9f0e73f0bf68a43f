// Shapes, dtypes, hashing and splitting: the values every other module passes around.
#include <gtest/gtest.h>

#include "core/dtype.hpp"
#include "core/error.hpp"
#include "core/problem.hpp"
#include "core/sha256.hpp"
#include "core/text.hpp"

namespace kerntune {
namespace {

TEST(Problem, ParsesShapesAndKeysThemByElementCount) {
    const problem p = parse_shape("4096x393216");
    EXPECT_EQ(p.shape, (std::vector<std::int64_t>{4096, 393216}));
    EXPECT_EQ(p.numel(), 1610612736);
    EXPECT_EQ(p.key(), "n=1610612736");
    EXPECT_EQ(p.to_string(), "4096x393216");
    EXPECT_EQ(parse_shape("1610612736").key(), p.key());
    EXPECT_EQ(parse_shape_list("4096x393216,1048576").size(), 2u);
}

TEST(Problem, RejectsEveryMalformedShape) {
    for (const char* bad : {"", "0", "0x5", "5x0", "-5", "4096x-1", "x5", "5x", "5xx5", "abc", "1.5", "5 ", "4096*2",
                            "99999999999999999999", "4294967296x4294967296"}) {
        EXPECT_THROW(parse_shape(bad), error) << "accepted '" << bad << "'";
    }
    EXPECT_THROW(parse_shape_list("1024,"), error);
}

TEST(Dtype, ParsesListsAndRejectsUnknownAndRepeatedNames) {
    EXPECT_EQ(parse_dtype_list("f32,f16,bf16"), (std::vector<dtype>{dtype::f32, dtype::f16, dtype::bf16}));
    EXPECT_EQ(dtype_size(dtype::bf16), 2u);
    EXPECT_EQ(cuda_type_name(dtype::f16), "__half");
    EXPECT_THROW(parse_dtype("f64"), error);
    EXPECT_THROW(parse_dtype_list("f32,f32"), error);
    EXPECT_THROW(parse_dtype_list("f32,"), error);
}

TEST(Sha256, MatchesTheFipsTestVectors) {
    EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    EXPECT_EQ(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
              "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    EXPECT_EQ(sha256_hex(std::string(1000000, 'a')), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Text, SplitKeepsEmptyPieces) {
    EXPECT_EQ(split("a,,b", ','), (std::vector<std::string_view>{"a", "", "b"}));
    EXPECT_EQ(split("", ','), (std::vector<std::string_view>{""}));
}

} // namespace
} // namespace kerntune
