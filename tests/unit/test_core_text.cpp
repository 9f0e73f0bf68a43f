#include <gtest/gtest.h>

#include "core/text.hpp"

namespace kerntune {
namespace {

TEST(CoreText, SplitKeepsEmptyPieces) {
    EXPECT_EQ(split("a,,b", ','), (std::vector<std::string_view>{"a", "", "b"}));
    EXPECT_EQ(split("", ','), (std::vector<std::string_view>{""}));
    EXPECT_EQ(split("4096x393216", 'x'), (std::vector<std::string_view>{"4096", "393216"}));
}

TEST(CoreText, JsonStringEscapesQuotesBackslashesAndControlCharacters) {
    EXPECT_EQ(json_string("plain"), "\"plain\"");
    EXPECT_EQ(json_string("a\"b\\c\nd\te"), "\"a\\\"b\\\\c\\nd\\te\"");
    EXPECT_EQ(json_string(std::string("\x01", 1)), "\"\\u0001\"");
}

TEST(CoreText, PrintableEscapesEverythingATerminalWouldActOn) {
    EXPECT_EQ(printable("leaky_relu n=1048576"), "leaky_relu n=1048576");
    EXPECT_EQ(printable("a\nb"), "a\\nb");
    EXPECT_EQ(printable("\x1b[31mred\x1b[0m"), "\\x1b[31mred\\x1b[0m");  // ESC: colours, cursor moves, titles
    EXPECT_EQ(printable(std::string("nul\0tab\tcr\rdel\x7f", 15)), "nul\\x00tab\\x09cr\\x0ddel\\x7f");
    // C1 controls as UTF-8 (U+009B is CSI on terminals that take C1), and as lone bytes, which
    // are not UTF-8 and which 8-bit terminals take as C1.
    EXPECT_EQ(printable("csi\xc2\x9b" "2J nel\xc2\x85"), "csi\\xc2\\x9b2J nel\\xc2\\x85");
    EXPECT_EQ(printable("\x9b" "2J"), "\\x9b" "2J");
    // Not UTF-8: a stray continuation byte, an overlong '/', a surrogate, past U+10FFFF, cut short.
    EXPECT_EQ(printable("\x80 \xc0\xaf \xed\xa0\x80 \xf4\x90\x80\x80 \xe2\x82"),
              "\\x80 \\xc0\\xaf \\xed\\xa0\\x80 \\xf4\\x90\\x80\\x80 \\xe2\\x82");
    // Printable characters past ASCII stay: U+00A0 and up, the euro sign, an emoji.
    EXPECT_EQ(printable("\xc2\xa0 caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"), "\xc2\xa0 caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
}

TEST(CoreText, PrintableCutsToTheLimitWithAnEllipsisNeverInsideAnEscapeOrACharacter) {
    EXPECT_EQ(printable("0123456789", 10), "0123456789");
    EXPECT_EQ(printable("0123456789a", 10), "0123456...");
    EXPECT_EQ(printable("01234\n7890", 10), "01234\\n...") << "the escape of the newline is whole";
    EXPECT_EQ(printable("012345\n789", 10), "012345...") << "no half escape";
    EXPECT_EQ(printable("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", 4), "\xc3\xa9...") << "characters, not bytes";
    const std::string huge(10'000'000, 'x');
    EXPECT_EQ(printable(huge, 60), std::string(57, 'x') + "...");
}

TEST(CoreText, DisplayWidthCountsCharactersNotBytes) {
    EXPECT_EQ(display_width(""), 0u);
    EXPECT_EQ(display_width("abc"), 3u);
    EXPECT_EQ(display_width("caf\xc3\xa9 \xe2\x82\xac"), 6u);
    EXPECT_EQ(display_width(printable("\x1b")), 4u);
}

} // namespace
} // namespace kerntune
