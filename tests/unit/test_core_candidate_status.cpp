#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "core/candidate_status.hpp"
#include "core/error.hpp"
#include "test_core_support.hpp"

namespace kerntune {
namespace {

using test::error_of;

TEST(CoreCandidateStatus, EveryStatusRoundTripsThroughItsOneSpelling) {
    std::set<std::string> spellings;
    for (candidate_status status : all_candidate_statuses) {
        EXPECT_EQ(parse_candidate_status(to_string(status)), status) << to_string(status);
        spellings.emplace(to_string(status));
    }
    EXPECT_EQ(spellings.size(), all_candidate_statuses.size()) << "two statuses share a spelling";
}

// The database's CHECK constraint (tuning_db/schema.sql) and files written before the enum
// existed hold exactly these texts: they must keep reading as the same statuses.
TEST(CoreCandidateStatus, SpellingsAreTheOnesStoredInDatabases) {
    EXPECT_EQ(to_string(candidate_status::ok), "ok");
    EXPECT_EQ(to_string(candidate_status::compile_failed), "compile_failed");
    EXPECT_EQ(to_string(candidate_status::resource_limit), "resource_limit");
    EXPECT_EQ(to_string(candidate_status::launch_failed), "launch_failed");
    EXPECT_EQ(to_string(candidate_status::runtime_fault), "runtime_fault");
    EXPECT_EQ(to_string(candidate_status::timeout), "timeout");
    EXPECT_EQ(to_string(candidate_status::wrong_answer), "wrong_answer");
}

TEST(CoreCandidateStatus, UnknownTextIsAnErrorNamingIt) {
    EXPECT_EQ(
        error_of([] { parse_candidate_status("crashed"); }),
        "unknown candidate status 'crashed': expected ok, compile_failed, resource_limit, launch_failed, "
        "runtime_fault, timeout or wrong_answer");
    for (const char* bad : {"", "OK", "ok ", " ok", "timeout\n", "wrong-answer"})
        EXPECT_THROW(parse_candidate_status(bad), error) << "accepted '" << bad << "'";
}

TEST(CoreCandidateStatus, OnlyTimeoutsLaunchFailuresAndRuntimeFaultsMayBeTheEnvironments) {
    std::vector<candidate_status> environmental;
    for (candidate_status status : all_candidate_statuses)
        if (may_be_environmental(status)) environmental.push_back(status);
    EXPECT_EQ(environmental, (std::vector<candidate_status>{candidate_status::launch_failed,
                                                             candidate_status::runtime_fault, candidate_status::timeout}));
}

}  // namespace
}  // namespace kerntune
