// nvrtc label (links kerntune_tune), no GPU: the tuner <-> worker wire format. Fields parse
// strictly, replies decode only when they make sense, and a header's lengths are claims that
// cost no memory until the bytes arrive.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <thread>

#include "../support/peak_memory.hpp"
#include "../unit/test_core_support.hpp"
#include "core/error.hpp"
#include "tune/worker_protocol.hpp"

namespace kerntune {
namespace {

using test::contains;
using test::error_of;

worker_message with_field(const std::string& key, const std::string& value) {
    worker_message message;
    message.fields[key] = value;
    return message;
}

TEST(WorkerProtocolFields, IntegerReadsTheWholeTextInRange) {
    EXPECT_EQ(with_field("n", "0").integer("n"), 0);
    EXPECT_EQ(with_field("n", "-12").integer("n"), -12);
    EXPECT_EQ(with_field("n", "1048576").integer("n"), 1048576);
    EXPECT_EQ(with_field("n", "9223372036854775807").integer("n"), INT64_MAX);
    EXPECT_EQ(with_field("n", "-9223372036854775808").integer("n"), INT64_MIN);
}

// std::stoll accepted "12abc" as 12 and threw std::invalid_argument or std::out_of_range,
// which the tuner's catch (const error&) let through.
TEST(WorkerProtocolFields, IntegerRefusesAnythingElseWithAnErrorNamingFieldAndText) {
    EXPECT_EQ(error_of([] { with_field("samples", "12abc").integer("samples"); }),
              "worker message field 'samples' is not an integer: '12abc'");
    EXPECT_EQ(error_of([] { with_field("n", "99999999999999999999").integer("n"); }),
              "worker message field 'n' is out of range for an integer: '99999999999999999999'");
    for (const char* bad : {"", " 12", "12 ", "+12", "1.5", "1e3", "0x10", "abc", "-", "12\n"})
        EXPECT_TRUE(contains(error_of([&] { with_field("n", bad).integer("n"); }), "field 'n'")) << bad;
    EXPECT_EQ(error_of([] { worker_message().integer("n"); }), "worker message lacks field 'n'");
}

TEST(WorkerProtocolFields, NumberReadsWhatTheWorkerWrites) {
    EXPECT_EQ(with_field("x", std::to_string(12.5)).number("x"), 12.5);
    EXPECT_EQ(with_field("x", "-2e3").number("x"), -2000.0);
    EXPECT_EQ(with_field("x", "0.004000").number("x"), 0.004);
    EXPECT_EQ(with_field("x", "7").number("x"), 7.0);
    // Not finite values are numbers; decode_evaluation refuses them where they make no sense.
    EXPECT_TRUE(std::isinf(with_field("x", "inf").number("x")));
    EXPECT_TRUE(std::isnan(with_field("x", "nan").number("x")));
}

TEST(WorkerProtocolFields, NumberRefusesAnythingElseWithAnErrorNamingFieldAndText) {
    EXPECT_EQ(error_of([] { with_field("median_us", "fast").number("median_us"); }),
              "worker message field 'median_us' is not a number: 'fast'");
    EXPECT_EQ(error_of([] { with_field("median_us", "1e999").number("median_us"); }),
              "worker message field 'median_us' is out of range for a number: '1e999'");
    for (const char* bad : {"", " 1.5", "1.5 ", "1.5us", "+1.5", "1,5", "--1", "0x1p3"})
        EXPECT_TRUE(contains(error_of([&] { with_field("x", bad).number("x"); }), "field 'x'")) << bad;
    // A long field (an NVRTC log, say) is cut short in the message.
    const std::string message = error_of([] { with_field("x", std::string(5000, 'q')).number("x"); });
    EXPECT_LT(message.size(), 120u) << message;
    EXPECT_TRUE(contains(message, "qqq...'")) << message;
}

worker_message ok_reply() {
    worker_message reply;
    reply.fields = {{"status", "ok"}, {"median_us", "12.500000"}, {"noise", "0.004000"}, {"samples", "7"}};
    return reply;
}

TEST(WorkerProtocolEvaluation, OkReplyDecodesItsFigures) {
    const evaluation result = decode_evaluation(ok_reply());
    EXPECT_EQ(result.status, candidate_status::ok);
    EXPECT_EQ(result.median_us, 12.5);
    EXPECT_EQ(result.noise, 0.004);
    EXPECT_EQ(result.samples, 7);
    EXPECT_EQ(result.message, "");
}

TEST(WorkerProtocolEvaluation, FailureNeedsOnlyItsStatusAndKeepsItsMessage) {
    worker_message reply;
    reply.fields = {{"status", "wrong_answer"}, {"message", "3 of 1024 elements differ"}};
    const evaluation result = decode_evaluation(reply);
    EXPECT_EQ(result.status, candidate_status::wrong_answer);
    EXPECT_EQ(result.message, "3 of 1024 elements differ");
    EXPECT_EQ(result.median_us, 0.0);
    EXPECT_EQ(result.samples, 0);
}

TEST(WorkerProtocolEvaluation, MissingOrUnknownStatusIsAnError) {
    worker_message reply = ok_reply();
    reply.fields.erase("status");
    EXPECT_EQ(error_of([&] { decode_evaluation(reply); }), "worker message lacks field 'status'");
    reply.fields["status"] = "exploded";
    EXPECT_TRUE(contains(error_of([&] { decode_evaluation(reply); }), "unknown candidate status 'exploded'"));
}

TEST(WorkerProtocolEvaluation, OkFiguresThatMakeNoSenseAreErrorsNamingTheField) {
    const struct {
        const char* field;
        const char* value;
    } bad[] = {{"median_us", "0"}, {"median_us", "-3.5"}, {"median_us", "nan"}, {"median_us", "inf"},
               {"median_us", "x"}, {"noise", "-0.01"},    {"noise", "nan"},     {"noise", "inf"},
               {"samples", "0"},   {"samples", "-4"},     {"samples", "2.5"},   {"samples", "4294967296"}};
    for (const auto& [field, value] : bad) {
        worker_message reply = ok_reply();
        reply.fields[field] = value;
        const std::string message = error_of([&] { decode_evaluation(reply); });
        EXPECT_TRUE(contains(message, std::string("'") + field + "'"))
            << field << "=" << value << ": " << message;
    }
    for (const char* field : {"median_us", "noise", "samples"}) {
        worker_message reply = ok_reply();
        reply.fields.erase(field);
        EXPECT_EQ(error_of([&] { decode_evaluation(reply); }),
                  std::string("worker message lacks field '") + field + "'");
    }
    worker_message still_ok = ok_reply();
    still_ok.fields["noise"] = "0";  // a perfectly steady candidate
    EXPECT_EQ(decode_evaluation(still_ok).noise, 0.0);
}

/// A hello as src/tune/worker.cpp writes it for an H100 SXM.
worker_message h100_hello() {
    worker_message hello;
    hello.fields = {{"name", "NVIDIA H100 80GB HBM3"},
                    {"cc_major", "9"},
                    {"cc_minor", "0"},
                    {"sm_count", "132"},
                    {"max_threads_per_sm", "2048"},
                    {"shared_memory_per_sm", "233472"},
                    {"max_shared_memory_per_block", "232448"},
                    {"l2_bytes", "52428800"},
                    {"memory_clock_khz", "2619000"},
                    {"bus_width_bits", "5120"},
                    {"total_memory_bytes", "85045510144"},
                    {"driver_version", "13000"}};
    return hello;
}

TEST(WorkerProtocolHello, DecodesEveryFieldOfTheDevice) {
    const device_info info = decode_hello(h100_hello(), 3);
    EXPECT_EQ(info.ordinal, 3);
    EXPECT_EQ(info.name, "NVIDIA H100 80GB HBM3");
    EXPECT_EQ(info.cc_major, 9);
    EXPECT_EQ(info.cc_minor, 0);
    EXPECT_EQ(info.sm_count, 132);
    EXPECT_EQ(info.max_threads_per_sm, 2048);
    EXPECT_EQ(info.shared_memory_per_sm, 233472);
    EXPECT_EQ(info.max_shared_memory_per_block, 232448);
    EXPECT_EQ(info.l2_bytes, 52428800);
    EXPECT_EQ(info.memory_clock_khz, 2619000);
    EXPECT_EQ(info.bus_width_bits, 5120);
    EXPECT_EQ(info.total_memory_bytes, 85045510144);
    EXPECT_EQ(info.driver_version, 13000);
    EXPECT_EQ(info.arch(), "sm_90");
}

TEST(WorkerProtocolHello, MissingOrImpossibleFieldsAreErrorsNamingThem) {
    for (const auto& [field, value] : h100_hello().fields) {
        worker_message hello = h100_hello();
        hello.fields.erase(field);
        EXPECT_EQ(error_of([&] { decode_hello(hello, 0); }), "worker message lacks field '" + field + "'");
    }
    const struct {
        const char* field;
        const char* value;
    } bad[] = {{"name", ""},
               {"cc_major", "0"},
               {"cc_major", "nine"},
               {"sm_count", "0"},
               {"sm_count", "3000000000"},
               {"sm_count", "132.0"},
               {"l2_bytes", "-1"},
               {"max_shared_memory_per_block", "-5"},
               {"cc_minor", "-1"},
               {"total_memory_bytes", "80GB"}};
    for (const auto& [field, value] : bad) {
        worker_message hello = h100_hello();
        hello.fields[field] = value;
        const std::string message = error_of([&] { decode_hello(hello, 0); });
        EXPECT_TRUE(contains(message, std::string("'") + field + "'"))
            << field << "=" << value << ": " << message;
    }
}

/// Both ends of a fresh socket pair, closed at the end of the test.
struct socket_pair {
    int ours = -1, theirs = -1;
    socket_pair() {
        int fds[2];
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0)
            throw std::runtime_error("socketpair");
        ours = fds[0];
        theirs = fds[1];
    }
    ~socket_pair() {
        close_theirs();
        close(ours);
    }
    void close_theirs() {
        if (theirs >= 0) close(theirs);
        theirs = -1;
    }
    /// Writes raw bytes from the other end.
    void send_raw(const std::string& bytes) const {
        ASSERT_EQ(write(theirs, bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
    }
};

std::string header(std::uint32_t fields, std::uint32_t payload) {
    std::string bytes(8, '\0');
    std::memcpy(bytes.data(), &fields, 4);
    std::memcpy(bytes.data() + 4, &payload, 4);
    return bytes;
}

TEST(WorkerProtocolWire, MessageRoundTripsFieldsWithNewlinesAndALargePayload) {
    socket_pair pair;
    worker_message sent;
    sent.fields = {
        {"log", "line one\nline two \\ with a backslash\\n"}, {"empty", ""}, {"expression", "a=b"}};
    // Larger than a socket buffer and than one read, so that it arrives in many pieces.
    sent.payload.resize(5 << 20);
    for (std::size_t i = 0; i < sent.payload.size(); ++i) sent.payload[i] = static_cast<char>(i * 131 + 7);
    std::thread writer([&] { EXPECT_TRUE(send_message(pair.theirs, sent)); });
    const received_message got = receive_worker_message(pair.ours, 10'000);
    writer.join();
    ASSERT_EQ(got.status, receive_status::ok) << got.problem;
    EXPECT_EQ(got.message.fields.at("log"), sent.fields.at("log"));
    EXPECT_EQ(got.message.fields.at("empty"), "");
    EXPECT_EQ(got.message.fields.at("expression"), "a=b");
    EXPECT_TRUE(got.message.payload == sent.payload);
}

TEST(WorkerProtocolWire, PeerClosingBetweenMessagesIsClosedAndSilenceIsATimeout) {
    {
        socket_pair pair;
        EXPECT_EQ(receive_worker_message(pair.ours, 0).status, receive_status::timed_out);
        bool timed_out = false;
        EXPECT_FALSE(receive_message(pair.ours, 10, &timed_out).has_value());
        EXPECT_TRUE(timed_out);
        pair.close_theirs();
        EXPECT_EQ(receive_worker_message(pair.ours, 1000).status, receive_status::closed);
        EXPECT_FALSE(receive_message(pair.ours, 1000, &timed_out).has_value());
        EXPECT_FALSE(timed_out);
    }
    socket_pair pair;  // a header cut short is no clean close
    pair.send_raw(std::string(3, '\0'));
    pair.close_theirs();
    const received_message got = receive_worker_message(pair.ours, 1000);
    EXPECT_EQ(got.status, receive_status::malformed);
    EXPECT_TRUE(contains(got.problem, "3 bytes into a header")) << got.problem;
}

// The old reader allocated (and zero-filled) what the header claimed before reading a byte:
// 4 GiB for a corrupt header, or a bad_alloc that escaped the tuner.
TEST(WorkerProtocolWire, HeaderClaimsOverTheBoundsAreRefusedWithoutAllocating) {
    const std::int64_t before = testing::start_peak_measurement();
    {
        socket_pair pair;
        pair.send_raw(header(16, 0xffffffffu) + std::string(16, 'x'));
        const received_message got = receive_worker_message(pair.ours, 1000);
        EXPECT_EQ(got.status, receive_status::malformed);
        EXPECT_TRUE(contains(got.problem, "4294967295 bytes of payload, over the bound of 1073741824"))
            << got.problem;
    }
    {
        socket_pair pair;
        pair.send_raw(header(max_field_bytes + 1, 0));
        const received_message got = receive_worker_message(pair.ours, 1000);
        EXPECT_EQ(got.status, receive_status::malformed);
        EXPECT_TRUE(contains(got.problem, "67108865 bytes of fields, over the bound of 67108864"))
            << got.problem;
    }
    // 64 MiB: far below the claims, far above what the test itself uses.
    EXPECT_LT(testing::peak_rss_bytes() - before, std::int64_t{64} << 20);
}

TEST(WorkerProtocolWire, TruncatedMessageIsMalformedAndCostsOnlyTheBytesThatCame) {
    const std::int64_t before = testing::start_peak_measurement();
    socket_pair pair;
    // Within the bounds, so it is believed until the connection closes 30 bytes in.
    pair.send_raw(header(64, std::uint32_t{512} << 20) + "status=ok\nmedian_us=1\n" + std::string(8, 'p'));
    pair.close_theirs();
    const received_message got = receive_worker_message(pair.ours, 1000);
    EXPECT_EQ(got.status, receive_status::malformed);
    EXPECT_TRUE(contains(got.problem, "closed after 30 of the 536870976 bytes the header claims"))
        << got.problem;
    EXPECT_LT(testing::peak_rss_bytes() - before, std::int64_t{64} << 20)
        << "the claimed 512 MiB was allocated";
}

TEST(WorkerProtocolWire, FieldBlocksThatAreNotKeyValueLinesAreMalformed) {
    const struct {
        std::string text;
        std::string problem;
    } bad[] = {{"status=ok\nno equals sign\n", "a field line without '='"},
               {"status=ok\nstatus=timeout\n", "the field 'status' comes twice"},
               {"status=ok", "the fields do not end with a newline"}};
    for (const auto& [text, problem] : bad) {
        socket_pair pair;
        pair.send_raw(header(static_cast<std::uint32_t>(text.size()), 0) + text);
        const received_message got = receive_worker_message(pair.ours, 1000);
        EXPECT_EQ(got.status, receive_status::malformed) << text;
        EXPECT_TRUE(contains(got.problem, problem)) << got.problem;
    }
}

}  // namespace
}  // namespace kerntune
