// nvrtc label (links kerntune_tune), no GPU: which kerntune-worker a tuner starts, in the build
// tree (beside it) and installed (bin/kerntune starts libexec/kerntune/kerntune-worker).
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

#include "../support/temp_folder.hpp"
#include "tune/worker_client.hpp"

namespace kerntune {
namespace {

namespace fs = std::filesystem;

class worker_lookup_test : public testing::temp_folder_test {
protected:
    void TearDown() override {
        unsetenv("KERNTUNE_WORKER");
        temp_folder_test::TearDown();
    }
    fs::path make_program(const fs::path& relative) {
        fs::create_directories((m_folder / relative).parent_path());
        std::ofstream(m_folder / relative) << "#!/bin/sh\n";
        return m_folder / relative;
    }
};
class WorkerLookup : public worker_lookup_test {};

TEST_F(WorkerLookup, AnInstalledProgramFindsTheWorkerInLibexec) {
    fs::create_directories(m_folder / "bin");
    const fs::path worker = make_program("libexec/kerntune/kerntune-worker");
    EXPECT_TRUE(fs::equivalent(find_worker_executable(m_folder / "bin"), worker))
        << find_worker_executable(m_folder / "bin");
}

TEST_F(WorkerLookup, AWorkerBesideTheProgramComesFirst) {
    const fs::path beside = make_program("bin/kerntune-worker");
    make_program("libexec/kerntune/kerntune-worker");
    EXPECT_EQ(find_worker_executable(m_folder / "bin"), beside);
}

TEST_F(WorkerLookup, WithNeitherItIsTheBuildTreesWorker) {
    fs::create_directories(m_folder / "bin/kerntune-worker");  // a folder is no program
    EXPECT_TRUE(fs::equivalent(find_worker_executable(m_folder / "bin"), KERNTUNE_TEST_WORKER_PATH))
        << find_worker_executable(m_folder / "bin");
}

TEST_F(WorkerLookup, KerntuneWorkerNamesItFirst) {
    setenv("KERNTUNE_WORKER", "/somewhere/else/kerntune-worker", 1);
    EXPECT_EQ(default_worker_executable(), "/somewhere/else/kerntune-worker");
    unsetenv("KERNTUNE_WORKER");
    // The test program lives in build/tests, beside no worker, and the build tree has one.
    EXPECT_TRUE(fs::equivalent(default_worker_executable(), KERNTUNE_TEST_WORKER_PATH));
}

} // namespace
} // namespace kerntune
