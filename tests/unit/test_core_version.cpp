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

} // namespace
} // namespace kerntune
