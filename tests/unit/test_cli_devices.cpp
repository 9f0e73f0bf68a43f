// `kerntune tune --devices` given a malformed list, or with --device: the real program
// (KERNTUNE_CLI_PATH), no GPU needed. Each is a malformed command line (exit 2), found before any
// GPU or database is asked: one line on stderr naming the problem, nothing on stdout, no
// database created.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "../support/cli_run.hpp"
#include "../support/temp_folder.hpp"
#include "test_core_support.hpp"

namespace kerntune {
namespace {

namespace fs = std::filesystem;
using test::contains;

class CliDevices : public testing::temp_folder_test {
protected:
    CliDevices() : temp_folder_test("kerntune-cli-devices") {}
};

TEST_F(CliDevices, AMalformedDeviceListOrBothDeviceOptionsIsOneLineExitTwo) {
    struct bad_line {
        std::vector<std::string> devices;
        std::string message;
    };
    const std::vector<bad_line> cases = {
        {{"--devices", "0,,1"}, "kerntune: --devices: empty item in device list '0,,1'"},
        {{"--devices", "all,1"}, "kerntune: --devices: 'all' stands alone, not as an item in device list 'all,1'"},
        {{"--devices", "0,0"}, "kerntune: --devices: GPU 0 is given twice in device list '0,0'"},
        {{"--devices", "-1"}, "kerntune: --devices: '-1' in device list '-1' is negative"},
        {{"--devices", ""}, "kerntune: --devices: empty device list"},
        {{"--device", "0", "--devices", "1"}, "kerntune: --device excludes --devices"},
        {{"--devices", "0,1", "--device", "1"}, "kerntune: --device excludes --devices"},
        {{"--dry-run", "--arch", "sm_90", "--devices", "0,1"}, "kerntune: --devices has no meaning with --dry-run"},
    };
    const fs::path db = m_folder / "tune.db";
    for (const bad_line& bad : cases) {
        std::vector<std::string> args{"tune", "--op", "leaky_relu"};
        if (bad.devices.front() != "--dry-run") args.insert(args.end(), {"--db", db.string()});  // refused by a dry run first
        args.insert(args.end(), bad.devices.begin(), bad.devices.end());
        const testing::cli_run run = testing::run_kerntune(m_folder, args);
        SCOPED_TRACE(bad.devices.back());
        EXPECT_EQ(run.exit_code, 2) << run.err;
        EXPECT_TRUE(contains(run.err, bad.message)) << run.err;
        EXPECT_TRUE(contains(run.err, "(see kerntune tune --help)")) << run.err;
        EXPECT_EQ(std::count(run.err.begin(), run.err.end(), '\n'), 1) << run.err;
        EXPECT_EQ(run.out, "");
        EXPECT_FALSE(fs::exists(db));
    }
}

TEST_F(CliDevices, TuneHelpDescribesDevices) {
    const testing::cli_run run = testing::run_kerntune(m_folder, {"tune", "--help"});
    EXPECT_EQ(run.exit_code, 0) << run.err;
    EXPECT_TRUE(contains(run.out, "[--device N | --devices LIST]")) << run.out;
    EXPECT_TRUE(contains(run.out, "--devices all (or 0,2,3)")) << run.out;
}

} // namespace
} // namespace kerntune
