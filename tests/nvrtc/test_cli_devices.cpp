// nvrtc label, no GPU: `kerntune tune --devices` through the real program with fake workers
// (tests/fixtures/fake_worker.cpp) playing the GPUs: every fake describes the same H100 whatever
// its index, so --devices 0,1 is two lanes of one group here. --devices 0 prints what --device 0
// prints; 0,1 says which GPU measured each key; a worker killed mid-tune (the fake kills itself
// with SIGKILL, once) is handed over, nothing lost, and said on stderr with exit 1.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <map>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "../support/cli_run.hpp"
#include "../support/expectations.hpp"
#include "../support/temp_folder.hpp"
#include "db/database.hpp"

namespace kerntune {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using testing::cli_run;
using testing::contains;
using testing::lines_of;

/// The output without what differs from run to run: each table row's two time columns (the
/// last two) and the wall time.
std::string without_times(const std::string& out) {
    static const std::regex row_times(R"(\s+[0-9]+\.[0-9]{2}\s+[0-9]+\.[0-9]{2}$)");
    static const std::regex wall(R"(^wall time [0-9.]+ s)");
    std::string kept;
    for (const std::string& line : lines_of(out))
        kept += std::regex_replace(std::regex_replace(line, row_times, " T"), wall, "wall time W") + "\n";
    return kept;
}

class CliDevices : public testing::temp_folder_test {
protected:
    CliDevices() : temp_folder_test("kerntune-cli-devices") {}

    cli_run tune(const fs::path& db, std::vector<std::string> extra, std::map<std::string, std::string> env = {}) const {
        std::vector<std::string> args{"tune", "--templates", KERNTUNE_TEST_FIXTURE_DIR, "--op", "faulty",
                                      "--dtype", "f32", "--shape", "1000,100003,1048576,4000037", "--db", db.string()};
        args.insert(args.end(), extra.begin(), extra.end());
        env.insert({{"KERNTUNE_WORKER", KERNTUNE_FAKE_WORKER_PATH}, {"KERNTUNE_FAKE_WORKER_MODE", "varied"}});
        return testing::run_kerntune(m_folder, args, env);
    }
};

TEST_F(CliDevices, DevicesOfOneGpuPrintsWhatDevicePrints) {
    const cli_run device = tune(m_folder / "device.db", {"--device", "0"});
    const cli_run devices = tune(m_folder / "devices.db", {"--devices", "0"});
    ASSERT_EQ(device.exit_code, 0) << device.err;
    ASSERT_EQ(devices.exit_code, 0) << devices.err;
    std::string expected = without_times(device.out);
    expected.replace(expected.find("device.db"), 9, "devices.db");
    EXPECT_EQ(without_times(devices.out), expected);
    EXPECT_FALSE(contains(devices.out, " gpu ")) << devices.out;
    EXPECT_EQ(devices.err, device.err) << "the compile logs of the two candidates that do not compile, and nothing else";
}

TEST_F(CliDevices, TwoGpusSayWhichMeasuredEachKey) {
    const fs::path db = m_folder / "two.db";
    const cli_run run = tune(db, {"--devices", "1,0"});
    ASSERT_EQ(run.exit_code, 0) << run.err;
    const std::vector<std::string> lines = lines_of(run.out);
    ASSERT_GE(lines.size(), 8u) << run.out;
    EXPECT_EQ(lines[0].rfind("faulty on GPUs 0,1: NVIDIA H100 80GB HBM3 (fake) (sm_90, 132 SMs", 0), 0u) << run.out;
    EXPECT_EQ(lines[1].rfind("dtype  shape    gpu  winner", 0), 0u) << run.out;
    for (std::size_t row = 3; row < 7; ++row) {
        SCOPED_TRACE(lines[row]);
        EXPECT_TRUE(std::regex_search(lines[row], std::regex(R"(^f32\s+[0-9]+\s+[01]\s+[a-z_]+\.\S+\s+[0-9]+\.[0-9])"))) << "a winner per key";
    }
    EXPECT_EQ(database::open(db, open_mode::read_only).winners().size(), 4u);

    const cli_run as_json = tune(m_folder / "two-json.db", {"--devices", "0,1", "--json"});
    ASSERT_EQ(as_json.exit_code, 0) << as_json.err;
    const json document = json::parse(as_json.out);
    EXPECT_EQ(document.at("kerntune").at("gpu"), "NVIDIA H100 80GB HBM3 (fake)|sm_90|132 SMs") << "one group: its GPU";
    const json& result = document.at("result");
    ASSERT_EQ(result.at("devices").size(), 2u);
    ASSERT_EQ(result.at("results").size(), 4u);
    for (const json& key : result.at("results")) {
        EXPECT_TRUE(key.at("gpu_index") == 0 || key.at("gpu_index") == 1) << key.dump();
        EXPECT_FALSE(key.at("winner").is_null()) << key.dump();
    }
    EXPECT_TRUE(result.at("lost_gpus").empty());
    EXPECT_TRUE(result.at("unmeasured_keys").empty());
}

TEST_F(CliDevices, AWorkerKilledMidTuneIsHandedOverNothingLostAndSaidWithExitOne) {
    const fs::path db = m_folder / "killed.db";
    const cli_run run = tune(db, {"--devices", "0,1"}, {{"KERNTUNE_FAKE_WORKER_KILL_ONCE", (m_folder / "killed").string()}});
    ASSERT_TRUE(fs::exists(m_folder / "killed")) << "no worker killed itself";
    EXPECT_EQ(run.exit_code, 1) << run.err;
    // One line for the lost GPU, naming the key and the GPU that measured it again (the other
    // lines are the compile log of the candidates that do not compile).
    std::vector<std::string> err;
    for (const std::string& line : lines_of(run.err))
        if (line.rfind("kerntune:", 0) == 0) err.push_back(line);
    ASSERT_EQ(err.size(), 1u) << run.err;
    EXPECT_TRUE(std::regex_search(err[0], std::regex(R"(^kerntune: GPU [01] was lost mid-tune: worker killed by signal )"
                                                     R"(Killed during f32 [0-9]+ .*; f32 [0-9]+ went to GPU [01], which )"
                                                     R"(measured it again from scratch$)")))
        << err[0];
    // Nothing lost: every key has its winner, every candidate its row, none a fault.
    database stored = database::open(db, open_mode::read_only);
    EXPECT_EQ(stored.winners().size(), 4u);
    std::map<std::string, int> statuses;
    for (const measurement& row : stored.find_measurements({})) ++statuses[std::string(to_string(row.status))];
    EXPECT_EQ(statuses, (std::map<std::string, int>{{"compile_failed", 8}, {"ok", 48}}));
    for (const std::string& line : lines_of(run.out)) EXPECT_FALSE(contains(line, "(not measured)")) << line;
}

} // namespace
} // namespace kerntune
