// nvrtc label (it links the runtime's objects): the C ABI's version and status names.
#include <gtest/gtest.h>

#include <string>

#include "kerntune/kerntune.h"
#include "kerntune/version.h"

namespace {

TEST(CAbiVersion, IsTheProjectVersionAndTheHeaders) {
    EXPECT_STREQ(kt_get_version(), KERNTUNE_TEST_PROJECT_VERSION);  // CMake's project(VERSION)
    EXPECT_STREQ(kt_get_version(), KERNTUNE_VERSION_STRING);
    EXPECT_EQ(std::string(KERNTUNE_VERSION_STRING), std::to_string(KERNTUNE_VERSION_MAJOR) + "." +
                                                        std::to_string(KERNTUNE_VERSION_MINOR) + "." +
                                                        std::to_string(KERNTUNE_VERSION_PATCH));
}

TEST(CAbiStatusString, NamesEveryStatus) {
    EXPECT_STREQ(kt_status_string(KT_OK), "ok");
    EXPECT_STREQ(kt_status_string(KT_ERROR_INVALID_ARGUMENT), "invalid argument");
    EXPECT_STREQ(kt_status_string(KT_ERROR_NO_DEVICE), "no device");
    EXPECT_STREQ(kt_status_string(KT_ERROR_CUDA), "CUDA error");
    EXPECT_STREQ(kt_status_string(KT_ERROR_COMPILE), "compile error");
    EXPECT_STREQ(kt_status_string(KT_ERROR_INTERNAL), "internal error");
}

TEST(CAbiStatusString, AnOtherValueIsUnknown) {
    // In C++ a kt_status holds 0..7 (the smallest bit-field for its enumerators); a C caller can
    // pass any int, which takes the same way out of the switch.
    EXPECT_STREQ(kt_status_string(static_cast<kt_status>(6)), "unknown status");
    EXPECT_STREQ(kt_status_string(static_cast<kt_status>(7)), "unknown status");
}

} // namespace
