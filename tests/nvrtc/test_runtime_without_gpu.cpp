// nvrtc label: the C ABI on a machine without a GPU or driver never crashes and says why.
#include <gtest/gtest.h>

#include <string>

#include "cuda/driver.hpp"
#include "kerntune/kerntune.h"

namespace {

TEST(RuntimeWithoutGpu, NullArgumentsGiveAStatusAndAMessage) {
    EXPECT_EQ(kt_leaky_relu(nullptr, KT_F32, nullptr, nullptr, 1, 0.01f, nullptr), KT_ERROR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(kt_last_error()).find("NULL"), std::string::npos) << kt_last_error();
    EXPECT_EQ(kt_launch(nullptr, "leaky_relu", KT_F32, 1, nullptr, 0, nullptr, 0, nullptr), KT_ERROR_INVALID_ARGUMENT);
    EXPECT_EQ(kt_runtime_create(nullptr, nullptr), KT_ERROR_INVALID_ARGUMENT);
    kt_runtime_destroy(nullptr);  // allowed, does nothing
}

TEST(RuntimeWithoutGpu, CreateFailsWithNoDeviceAndAClearMessage) {
    if (kerntune::driver_available()) GTEST_SKIP() << "this machine has a GPU";
    kt_runtime* rt = reinterpret_cast<kt_runtime*>(0x1);
    EXPECT_EQ(kt_runtime_create(nullptr, &rt), KT_ERROR_NO_DEVICE);
    EXPECT_EQ(rt, nullptr);
    EXPECT_NE(std::string(kt_last_error()).find("libcuda.so.1"), std::string::npos) << kt_last_error();
}

} // namespace
