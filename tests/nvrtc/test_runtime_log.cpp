// nvrtc label (links the runtime, no GPU): libkerntune's log (src/runtime/runtime_log) and its
// setters in the C ABI and the C++ API. What reaches a real application's stdout and stderr, and
// KERNTUNE_LOG_LEVEL (read once per process), are checked by tests/logging/.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "kerntune/kerntune.h"
#include "kerntune/kerntune.hpp"
#include "runtime/runtime_log.hpp"

namespace {

using kerntune::detail::log_warn;

struct received {
    std::vector<std::pair<kt_log_level, std::string>> messages;
};

void remember(kt_log_level level, const char* message, void* user_data) {
    static_cast<received*>(user_data)->messages.emplace_back(level, message);
}

/// Every test starts and ends with the defaults: level warn, messages to stderr.
class RuntimeLog : public testing::Test {
protected:
    void SetUp() override { reset(); }
    void TearDown() override { reset(); }
    static void reset() {
        ASSERT_EQ(kt_set_log_callback(nullptr, nullptr), KT_OK);
        ASSERT_EQ(kt_set_log_level(KT_LOG_WARN), KT_OK);
    }
};

TEST_F(RuntimeLog, SetLogLevelRefusesLevelsOutsideOffToDebugAndKeepsTheLevel) {
    ASSERT_EQ(kt_set_log_level(KT_LOG_ERROR), KT_OK);
    EXPECT_EQ(kt_set_log_level(static_cast<kt_log_level>(5)), KT_ERROR_INVALID_ARGUMENT);
    EXPECT_NE(std::string(kt_last_error()).find("5 is not a log level"), std::string::npos) << kt_last_error();
    EXPECT_EQ(kt_set_log_level(static_cast<kt_log_level>(7)), KT_ERROR_INVALID_ARGUMENT);
    EXPECT_TRUE(kerntune::detail::log_enabled(KT_LOG_ERROR));  // still error: nothing changed
    EXPECT_FALSE(kerntune::detail::log_enabled(KT_LOG_WARN));
    try {
        kerntune::set_log_level(static_cast<kt_log_level>(5));
        ADD_FAILURE() << "kerntune::set_log_level accepted 5";
    } catch (const kerntune::runtime_error& failure) {
        EXPECT_EQ(failure.status(), KT_ERROR_INVALID_ARGUMENT);
    }
}

TEST_F(RuntimeLog, TheLevelAdmitsItsOwnMessagesAndThoseMoreSevere) {
    received got;
    ASSERT_EQ(kt_set_log_callback(remember, &got), KT_OK);
    ASSERT_EQ(kt_set_log_level(KT_LOG_ERROR), KT_OK);
    kerntune::detail::log_warn("dropped");
    kerntune::detail::log_error("kept ", 1);
    ASSERT_EQ(kt_set_log_level(KT_LOG_DEBUG), KT_OK);
    kerntune::detail::log_debug("kept ", 2);
    ASSERT_EQ(kt_set_log_level(KT_LOG_OFF), KT_OK);
    kerntune::detail::log_error("dropped");
    ASSERT_EQ(got.messages.size(), 2u);
    EXPECT_EQ(got.messages[0], std::make_pair(KT_LOG_ERROR, std::string("kept 1")));
    EXPECT_EQ(got.messages[1], std::make_pair(KT_LOG_DEBUG, std::string("kept 2")));
}

TEST_F(RuntimeLog, ACallbackReplacesStderrAndNullRestoresIt) {
    received got;
    ASSERT_EQ(kt_set_log_callback(remember, &got), KT_OK);
    testing::internal::CaptureStderr();
    log_warn("to the callback");
    EXPECT_EQ(testing::internal::GetCapturedStderr(), "");
    ASSERT_EQ(got.messages.size(), 1u);
    EXPECT_EQ(got.messages[0], std::make_pair(KT_LOG_WARN, std::string("to the callback")));

    ASSERT_EQ(kt_set_log_callback(nullptr, nullptr), KT_OK);
    testing::internal::CaptureStderr();
    log_warn("to stderr again");
    EXPECT_EQ(testing::internal::GetCapturedStderr(), "kerntune: warning: to stderr again\n");
    EXPECT_EQ(got.messages.size(), 1u);  // the old callback is not called any more
}

TEST_F(RuntimeLog, TheCppCallbackGetsMessagesAndAnEmptyOneRestoresStderr) {
    std::vector<std::string> got;
    kerntune::set_log_callback([&got](kt_log_level level, const std::string& message) {
        got.push_back(std::string(kerntune::detail::log_level_name(level)) + " " + message);
    });
    kerntune::detail::log_error("it broke");
    kerntune::set_log_callback({});
    testing::internal::CaptureStderr();
    kerntune::detail::log_error("it broke again");
    EXPECT_EQ(testing::internal::GetCapturedStderr(), "kerntune: error: it broke again\n");
    EXPECT_EQ(got, std::vector<std::string>{"error it broke"});
}

TEST_F(RuntimeLog, AnExceptionFromACppCallbackStaysInside) {
    kerntune::set_log_callback(
        [](kt_log_level, const std::string&) { throw std::runtime_error("from the callback"); });
    EXPECT_NO_THROW(log_warn("a message"));
}

void try_setters(kt_log_level, const char*, void* user_data) {
    auto* statuses = static_cast<std::vector<kt_status>*>(user_data);
    statuses->push_back(kt_set_log_callback(nullptr, nullptr));
    statuses->push_back(kt_set_log_level(KT_LOG_DEBUG));
    log_warn("logged from inside the callback");  // dropped, not a deadlock or a recursion
}

TEST_F(RuntimeLog, SettersCalledFromInsideACallbackAreRefusedInsteadOfDeadlocking) {
    std::vector<kt_status> statuses;
    ASSERT_EQ(kt_set_log_callback(try_setters, &statuses), KT_OK);
    log_warn("first");
    EXPECT_EQ(statuses, (std::vector<kt_status>{KT_ERROR_INVALID_ARGUMENT, KT_ERROR_INVALID_ARGUMENT}));
    EXPECT_FALSE(kerntune::detail::log_enabled(KT_LOG_DEBUG));  // the level stayed warn
    statuses.clear();
    log_warn("second");  // the callback is still set: the refused reset changed nothing
    EXPECT_EQ(statuses.size(), 2u);
}

TEST_F(RuntimeLog, MessagesFromManyThreadsReachTheCallbackOnceEach) {
    std::atomic<int> count{0};
    kerntune::set_log_callback([&count](kt_log_level, const std::string&) { count.fetch_add(1); });
    constexpr int threads = 4, each = 500;
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t)
        workers.emplace_back([] {
            for (int i = 0; i < each; ++i) log_warn("message ", i);
        });
    // Meanwhile, the level is set again and again (to what it is): setters and loggers race.
    for (int i = 0; i < 100; ++i) EXPECT_EQ(kt_set_log_level(KT_LOG_WARN), KT_OK);
    for (std::thread& worker : workers) worker.join();
    EXPECT_EQ(count.load(), threads * each);
}

TEST_F(RuntimeLog, LevelNamesParseInAnyCase) {
    using kerntune::detail::parse_log_level;
    EXPECT_EQ(parse_log_level("off"), KT_LOG_OFF);
    EXPECT_EQ(parse_log_level("ERROR"), KT_LOG_ERROR);
    EXPECT_EQ(parse_log_level("Warn"), KT_LOG_WARN);
    EXPECT_EQ(parse_log_level("warning"), KT_LOG_WARN);
    EXPECT_EQ(parse_log_level("info"), KT_LOG_INFO);
    EXPECT_EQ(parse_log_level("dEbUg"), KT_LOG_DEBUG);
    EXPECT_FALSE(parse_log_level("loud").has_value());
    EXPECT_FALSE(parse_log_level("").has_value());
    EXPECT_FALSE(parse_log_level("2").has_value());
    EXPECT_FALSE(parse_log_level("debug ").has_value());
}

// The runtime itself, through the public API: a broken $KERNTUNE_TEMPLATES folder is reported
// (before the device is looked for, so on this machine without a GPU as well) to the callback.
TEST_F(RuntimeLog, ABrokenTemplateFolderIsReportedToTheCallbackWithOrWithoutAGpu) {
    received got;
    ASSERT_EQ(kt_set_log_callback(remember, &got), KT_OK);
    ASSERT_EQ(setenv("KERNTUNE_TEMPLATES", "/nonexistent", 1), 0);
    kt_runtime* rt = nullptr;
    const kt_status status = kt_runtime_create("/nonexistent/kerntune.db", &rt);
    unsetenv("KERNTUNE_TEMPLATES");
    EXPECT_TRUE(status == KT_OK || status == KT_ERROR_NO_DEVICE) << status << ": " << kt_last_error();
    kt_runtime_destroy(rt);
    ASSERT_EQ(got.messages.size(), 1u);
    EXPECT_EQ(got.messages[0].first, KT_LOG_WARN);
    const std::string expected = "ignoring the template folder /nonexistent from KERNTUNE_TEMPLATES: ";
    EXPECT_EQ(got.messages[0].second.rfind(expected, 0), 0u) << got.messages[0].second;
}

} // namespace
