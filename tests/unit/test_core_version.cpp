#include <gtest/gtest.h>

#include <string>

#include "core/version.hpp"

namespace kerntune {
namespace {

TEST(CoreVersion, IsTheCMakeProjectVersion) {
    EXPECT_EQ(kerntune_version(), KERNTUNE_TEST_PROJECT_VERSION);
    // kt_get_version returns data(): the view must end at a NUL.
    EXPECT_EQ(std::string(kerntune_version().data()), KERNTUNE_TEST_PROJECT_VERSION);
}

// The build is the version, or the version, "+", the commit (12 hex digits) and maybe ".dirty".
TEST(CoreVersion, TheBuildIsTheVersionAndTheCommitItWasBuiltFrom) {
    const std::string build(kerntune_build());
    const std::string version(kerntune_version());
    ASSERT_EQ(build.compare(0, version.size(), version), 0) << build;
    if (build == version) return;  // not built from a git checkout
    std::string commit = build.substr(version.size());
    ASSERT_EQ(commit.front(), '+') << build;
    commit.erase(0, 1);
    if (commit.size() > 6 && commit.compare(commit.size() - 6, 6, ".dirty") == 0) commit.resize(commit.size() - 6);
    EXPECT_EQ(commit.size(), 12u) << build;
    EXPECT_EQ(commit.find_first_not_of("0123456789abcdef"), std::string::npos) << build;
    EXPECT_EQ(std::string(kerntune_build().data()), build) << "a NUL-terminated literal";
}

} // namespace
} // namespace kerntune
