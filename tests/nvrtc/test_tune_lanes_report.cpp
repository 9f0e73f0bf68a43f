// What `kerntune tune` prints of a tune on lanes (src/tune/report, src/tune/progress_view; links
// the tuner, so nvrtc label; no GPU), from fictional reports: on one lane exactly what a tune
// printed before lanes, on several a gpu column, a heading line per group, the JSON of every
// GPU and every loss, and the progress lines a terminal is sent.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <string>
#include <vector>

#include "core/problem.hpp"
#include "cuda/nvrtc.hpp"
#include "tune/progress_view.hpp"
#include "tune/report.hpp"

namespace kerntune {
namespace {

using json = nlohmann::ordered_json;

device_record gpu(const std::string& name) {
    return {name + "|sm_90|132 SMs", name, 9, 0, 132, 2'619'000, 5120, 52'428'800, 4800.4, 3901.6, "13.0"};
}

problem shape(const char* text) { return make_problem({"n"}, parse_shape(text)); }

/// A key measured on `lane` (GPU `device`) with a winner.
tune_outcome measured(const char* size, std::size_t lane, int device) {
    tune_outcome o{dtype::f32, shape(size)};
    o.lane = lane;
    o.device = device;
    o.ok = 12;
    o.failed = 2;
    o.seconds = 1.5;
    o.compile_seconds = 0.25;
    winner w;
    w.key = {"leaky_relu", "hash", "f32", o.shape.key(), "NVIDIA H200|sm_90|132 SMs", nvrtc_version()};
    w.config = "blk256.vec4.unr2";
    w.median_us = 10.5;
    w.gbps = 3000;
    w.candidates_ok = 12;
    w.candidates_failed = 2;
    o.best = w;
    return o;
}

/// One lane on GPU 0.
tune_report one_lane() {
    tune_report report;
    report.devices = {0};
    report.records = {gpu("NVIDIA H200")};
    report.groups = {{"NVIDIA H200|sm_90|132 SMs", {0}}};
    report.outcomes = {measured("1024", 0, 0), measured("1048576", 0, 0)};
    return report;
}

/// Lanes on GPUs 0 and 2 (one group); GPU 2 was lost on n=1048576, which GPU 0 measured again,
/// and then GPU 0 was lost on n=4096 too: n=4096 is not measured.
tune_report two_lanes() {
    tune_report report;
    report.devices = {0, 2};
    report.records = {gpu("NVIDIA H200"), gpu("NVIDIA H200")};
    report.groups = {{"NVIDIA H200|sm_90|132 SMs", {0, 1}}};
    tune_outcome unmeasured{dtype::f32, shape("4096")};
    report.outcomes = {measured("1024", 1, 2), measured("1048576", 0, 0), unmeasured};
    report.lost = {{1, 2, "worker killed by signal Killed during f32 1048576 blk128.vec2.unr1",
                    work_item{dtype::f32, shape("1048576")}, true},
                   {0, 0, "cannot start the worker", work_item{dtype::f32, shape("4096")}, false}};
    return report;
}

TEST(LanesReport, OneLanePrintsWhatATuneOnOneGpuAlwaysPrinted) {
    const tune_report report = one_lane();
    EXPECT_EQ(tune_table(report).render(), tune_table(report.outcomes).render());
    EXPECT_EQ(tune_table(report).headers.at(2), "winner") << "no gpu column";
    EXPECT_EQ(tune_heading("leaky_relu", report),
              "leaky_relu on NVIDIA H200 (sm_90, 132 SMs, theoretical 4800 GB/s, measured copy 3902 GB/s), NVRTC " +
                  nvrtc_version() + "\n");
    EXPECT_EQ(tune_json("leaky_relu", report).dump(), tune_json("leaky_relu", report.records[0], report.outcomes).dump());
    EXPECT_TRUE(tune_losses_text(report).empty());
}

TEST(LanesReport, SeveralLanesSayWhichGpuMeasuredEachKeyAndWhatWasNot) {
    const tune_report report = two_lanes();
    const text_table table = tune_table(report);
    ASSERT_EQ(table.headers.at(2), "gpu");
    ASSERT_EQ(table.rows.size(), 3u);
    EXPECT_EQ(table.rows[0].at(2), "2");
    EXPECT_EQ(table.rows[0].at(3), "blk256.vec4.unr2");
    EXPECT_EQ(table.rows[1].at(2), "0");
    EXPECT_EQ(table.rows[2].at(2), "-");
    EXPECT_EQ(table.rows[2].at(3), "(not measured)");
    EXPECT_EQ(table.rows[2].size(), table.headers.size());
    EXPECT_EQ(tune_heading("leaky_relu", report),
              "leaky_relu on GPUs 0,2: NVIDIA H200 (sm_90, 132 SMs, theoretical 4800 GB/s, measured copy 3902 GB/s), "
              "NVRTC " + nvrtc_version() + "\n");

    const std::vector<std::string> lines = tune_losses_text(report);
    ASSERT_EQ(lines.size(), 3u);
    EXPECT_EQ(lines[0], "GPU 2 was lost mid-tune: worker killed by signal Killed during f32 1048576 blk128.vec2.unr1; "
                        "f32 1048576 went to GPU 0, which measured it again from scratch");
    EXPECT_EQ(lines[1], "GPU 0 was lost mid-tune: cannot start the worker; f32 4096 is not measured");
    EXPECT_EQ(lines[2], "f32 4096 was not measured on GPUs 0,2 (NVIDIA H200|sm_90|132 SMs): no GPU of the group was "
                        "left; the same command again measures it");
}

TEST(LanesReport, SeveralLanesJsonHasEveryGpuAndEveryLoss) {
    const json result = tune_json("leaky_relu", two_lanes());
    EXPECT_FALSE(result.contains("device"));
    ASSERT_EQ(result.at("devices").size(), 2u);
    EXPECT_EQ(result.at("devices")[1].at("index"), 2);
    EXPECT_EQ(result.at("devices")[1].at("identity"), "NVIDIA H200|sm_90|132 SMs");
    const json& results = result.at("results");
    ASSERT_EQ(results.size(), 3u);
    EXPECT_EQ(results[0].at("gpu_index"), 2);
    EXPECT_EQ(results[0].at("gpu"), "NVIDIA H200|sm_90|132 SMs");
    EXPECT_EQ(results[0].at("winner").at("config"), "blk256.vec4.unr2");
    // The GPU comes right after the key, as in the table.
    std::vector<std::string> keys;
    for (auto it = results[0].begin(); it != results[0].end(); ++it) keys.push_back(it.key());
    EXPECT_EQ(keys, (std::vector<std::string>{"dtype", "shape", "problem", "gpu_index", "gpu", "candidates", "ok", "failed", "resumed",
                                              "unmeasured", "compile_seconds", "seconds", "winner"}));
    EXPECT_TRUE(results[2].at("gpu_index").is_null());
    EXPECT_TRUE(results[2].at("winner").is_null());
    const json& lost = result.at("lost_gpus");
    ASSERT_EQ(lost.size(), 2u);
    EXPECT_EQ(lost[0].at("gpu_index"), 2);
    EXPECT_EQ(lost[0].at("interrupted").at("problem"), "n=1048576");
    EXPECT_EQ(lost[0].at("handed_over"), true);
    EXPECT_EQ(lost[1].at("handed_over"), false);
    ASSERT_EQ(result.at("unmeasured_keys").size(), 1u);
    EXPECT_EQ(result.at("unmeasured_keys")[0].at("problem"), "n=4096");
    EXPECT_EQ(result.at("unmeasured_keys")[0].at("gpu"), "NVIDIA H200|sm_90|132 SMs");
}

TEST(LanesReport, OneLaneThatWasLostAddsItsLossesToTheJsonItAlwaysPrinted) {
    tune_report report = one_lane();
    report.outcomes[1] = tune_outcome{dtype::f32, shape("1048576")};
    report.lost = {{0, 0, "cannot start the worker", work_item{dtype::f32, shape("1048576")}, false}};
    const json result = tune_json("leaky_relu", report);
    EXPECT_EQ(result.at("device").at("name"), "NVIDIA H200");
    EXPECT_EQ(result.at("lost_gpus").size(), 1u);
    EXPECT_EQ(result.at("unmeasured_keys").size(), 1u);
    EXPECT_EQ(tune_table(report).rows.at(1).at(2), "(not measured)");
    EXPECT_EQ(tune_losses_text(report).size(), 2u);
}

tune_progress step(const problem& key, int done, int total, std::size_t lane, int device) {
    tune_progress p{dtype::f32, &key, done, total, "blk256.vec4.unr2"};
    p.lane = lane;
    p.device = device;
    return p;
}

TEST(ProgressView, OneLaneDrawsTheBarATuneOnOneGpuAlwaysDrew) {
    const problem key = shape("1024");
    progress_view view({3}, 80);
    const auto now = std::chrono::steady_clock::now();
    EXPECT_EQ(view.update(step(key, 3, 10, 0, 3), now),
              "\r\033[Kf32 1024 [#########.....................] 3/10 blk256.vec4.unr2");
    // Every step is drawn, and a key's last one clears the line.
    EXPECT_EQ(view.update(step(key, 10, 10, 0, 3), now),
              "\r\033[Kf32 1024 [##############################] 10/10 blk256.vec4.unr2\r\033[K");
    EXPECT_EQ(view.finish(), "");
}

TEST(ProgressView, SeveralLanesDrawALinePerGpuAndGoBackUp) {
    const problem small = shape("1024"), large = shape("4096x393216");
    progress_view view({0, 2}, 80);
    const auto start = std::chrono::steady_clock::now();
    const std::string first = view.update(step(large, 3, 10, 1, 2), start);
    EXPECT_EQ(first, "\r\033[KGPU 0  \n\033[KGPU 2  f32 4096x393216 [#########.....................] 3/10 "
                     "blk256.vec4.unr2\n\033[2A");
    // Within the interval nothing is drawn; the next frame shows what came meanwhile.
    EXPECT_EQ(view.update(step(small, 1, 10, 0, 0), start + std::chrono::milliseconds(10)), "");
    const std::string next = view.update(step(large, 4, 10, 1, 2), start + progress_view::redraw_interval);
    EXPECT_NE(next.find("GPU 0  f32 1024 [###......"), std::string::npos) << next;
    EXPECT_NE(next.find("GPU 2  f32 4096x393216 [############......"), std::string::npos) << next;
    EXPECT_EQ(view.finish(), "\r\033[J");
    EXPECT_EQ(view.finish(), "") << "cleared once";
}

TEST(ProgressView, LinesAreCutToTheTerminalSoThatNoneWraps) {
    const problem key = shape("1024");
    progress_view view({0, 1}, 20);
    const std::string frame = view.update(step(key, 1, 2, 0, 0), std::chrono::steady_clock::now());
    EXPECT_NE(frame.find("\033[KGPU 0  f32 1024 [##\n"), std::string::npos) << frame;  // 19 columns
}

} // namespace
} // namespace kerntune
