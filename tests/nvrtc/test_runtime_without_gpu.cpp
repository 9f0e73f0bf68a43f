// nvrtc label: the C ABI on a machine without a GPU or driver never crashes and says why; the
// checks of a call's arguments (runtime/call_arguments), which need no GPU, give
// KT_ERROR_INVALID_ARGUMENT with a message naming what is wrong.
#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <limits>
#include <string>

#include "catalog/catalog.hpp"
#include "cuda/driver.hpp"
#include "kerntune/kerntune.h"
#include "kerntune/kerntune.hpp"
#include "runtime/call_arguments.hpp"

namespace {

using namespace kerntune;

/// The status and message of the runtime_error `call` throws; KT_OK and "" when it throws none.
std::pair<kt_status, std::string> refusal_of(const std::function<void()>& call) {
    try {
        call();
    } catch (const runtime_error& failure) {
        return {failure.status(), failure.what()};
    }
    return {KT_OK, ""};
}

std::shared_ptr<const kernel_spec> leaky_relu() { return catalog().at("leaky_relu"); }

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

// Before, sizes that passed binding (n up to 2^60 in f32) failed later in the launch rule, a
// kerntune::error the API reported as KT_ERROR_INTERNAL.
TEST(RuntimeWithoutGpu, SizesPastWhatAGpuCanHoldAreInvalidArgumentsNamingN) {
    const std::shared_ptr<const kernel_spec> spec = leaky_relu();
    for (const std::int64_t n : {std::int64_t{1} << 62, std::numeric_limits<std::int64_t>::max(), std::int64_t{1} << 59,
                                 (std::int64_t{1} << 47) + 1}) {
        SCOPED_TRACE(n);
        const auto [status, message] = refusal_of([&] { detail::bind_call(*spec, dtype::f32, &n, 1); });
        EXPECT_EQ(status, KT_ERROR_INVALID_ARGUMENT);
        EXPECT_EQ(message, "leaky_relu n=" + std::to_string(n) + ": buffer x of " + std::to_string(n) +
                               " f32 elements is over 2^49 bytes (512 TiB), more than a GPU can address");
    }
    // 2^45 elements can be bound (2^47 bytes), but no grid of the default config covers them.
    const std::int64_t n = std::int64_t{1} << 45;
    const detail::bound_call call = detail::bind_call(*spec, dtype::f32, &n, 1);
    const device_limits h100{132, 2048, 233472, 232448};
    const auto [status, message] =
        refusal_of([&] { detail::call_geometry(*spec, default_config(*spec, dtype::f32), dtype::f32, call.shape, h100); });
    EXPECT_EQ(status, KT_ERROR_INVALID_ARGUMENT);
    EXPECT_EQ(message.rfind("leaky_relu n=35184372088832: no launch for this problem: ", 0), 0u) << message;
    EXPECT_NE(message.find("grid dimension x of 17179869184 blocks is outside 1..2147483647"), std::string::npos) << message;
    const std::int64_t fits = std::int64_t{1} << 30;
    EXPECT_NO_THROW(detail::call_geometry(*spec, default_config(*spec, dtype::f32), dtype::f32,
                                          detail::bind_call(*spec, dtype::f32, &fits, 1).shape, h100));
}

TEST(RuntimeWithoutGpu, AProblemOrDtypeTheOpLacksIsAnInvalidArgument) {
    const std::shared_ptr<const kernel_spec> spec = leaky_relu();
    const std::int64_t two[] = {4, 5};
    EXPECT_EQ(refusal_of([&] { detail::bind_call(*spec, dtype::f32, two, 2); }).first, KT_ERROR_INVALID_ARGUMENT);
    const auto [status, message] = refusal_of([&] { detail::bind_call(*spec, dtype::i32, two, 1); });
    EXPECT_EQ(status, KT_ERROR_INVALID_ARGUMENT);
    EXPECT_EQ(message, "leaky_relu has no i32 kernel");
    const std::int64_t negative = -1;
    EXPECT_EQ(refusal_of([&] { detail::check_extents(&negative, 1); }).second, "extent 0 must be >= 0, not -1");
    EXPECT_EQ(refusal_of([&] { detail::check_extents(nullptr, 1); }).second, "a problem has 1 to 4 extents (got 1, extents is NULL)");
    const std::int64_t zero = 0;
    EXPECT_FALSE(detail::check_extents(&zero, 1)) << "nothing to launch";
}

// Before, kt_launch with buffers == NULL and num_buffers 2 said "leaky_relu takes 2 buffers, not
// a NULL array".
TEST(RuntimeWithoutGpu, ANullBufferArrayOrBufferIsNamedAsSuch) {
    const std::shared_ptr<const kernel_spec> held = leaky_relu();  // the spec lives as long as this
    const kernel_spec& spec = *held;
    int x = 0, y = 0;
    void* both[] = {&x, &y};
    void* second_null[] = {&x, nullptr};
    EXPECT_EQ(refusal_of([&] { detail::check_buffers(spec, nullptr, 2); }),
              std::make_pair(KT_ERROR_INVALID_ARGUMENT, std::string("leaky_relu: the buffer array is NULL (it takes 2 buffers)")));
    EXPECT_EQ(refusal_of([&] { detail::check_buffers(spec, second_null, 2); }).second, "leaky_relu: buffer 1 (y) is NULL");
    EXPECT_EQ(refusal_of([&] { detail::check_buffers(spec, both, 1); }).second, "leaky_relu takes 2 buffers, not 1");
    EXPECT_EQ(refusal_of([&] { detail::check_buffers(spec, nullptr, 0); }).second, "leaky_relu takes 2 buffers, not 0");
    EXPECT_EQ(refusal_of([&] { detail::check_buffers(spec, both, 2); }).first, KT_OK);
}

// layer_norm's weight and bias are optional, as torch's: NULL is accepted for them alone.
TEST(RuntimeWithoutGpu, OnlyAnOptionalBufferMayBeNull) {
    const std::shared_ptr<const kernel_spec> held = catalog().at("layer_norm");
    const kernel_spec& spec = *held;
    int x = 0, y = 0;
    void* without_affine[] = {&x, nullptr, nullptr, &y};
    void* without_input[] = {nullptr, nullptr, nullptr, &y};
    EXPECT_EQ(refusal_of([&] { detail::check_buffers(spec, without_affine, 4); }).first, KT_OK);
    EXPECT_EQ(refusal_of([&] { detail::check_buffers(spec, without_input, 4); }).second, "layer_norm: buffer 0 (x) is NULL");
}

} // namespace
