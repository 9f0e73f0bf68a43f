// src/tune/report (links the tuner, so nvrtc label; no GPU): the devices table's index column,
// compile logs grouped by what they say, and the JSON document every --json prints.
#include <gtest/gtest.h>

#include <limits>
#include <string>
#include <vector>

#include "core/version.hpp"
#include "tune/report.hpp"

namespace kerntune {
namespace {

device_record gpu(const std::string& name) {
    return {name + "|sm_90|132 SMs", name, 9, 0, 132, 2'619'000, 5120, 52'428'800, 3352.3, 2890.5, "13.0"};
}

TEST(Report, DevicesTableNumbersTheGpusHereAndNotTheStoredOnes) {
    const std::vector<device_record> devices = {gpu("NVIDIA H200"), gpu("NVIDIA H100")};
    const text_table numbered = devices_table(devices, true);
    ASSERT_EQ(numbered.headers.front(), "index");
    ASSERT_EQ(numbered.rows.size(), 2u);
    EXPECT_EQ(numbered.rows[0][0], "0");
    EXPECT_EQ(numbered.rows[1][0], "1");
    EXPECT_EQ(numbered.rows[1][1], "NVIDIA H100");
    EXPECT_EQ(devices_table(devices).headers.front(), "gpu");
}

TEST(Report, CompileLogsThatDifferOnlyInTheirKernelsNamesAreOneGroup) {
    // As NVRTC writes them: the name expression verbatim and spaced its own way, and the
    // instantiation's arguments.
    auto typo = [](const std::string& args) {
        return compile_failure{"kt::leaky_reluu<float, " + args + ">",
                               "-arch=sm_90\n__nv_name_map(2): error: namespace \"kt\" has no member \"leaky_reluu\"\n"
                               "  #pragma nv_mangled_name kt::leaky_reluu<float, " + args + ">\n"
                               "Input name expression was: \" kt :: leaky_reluu < float, " + args + " >\"\n"};
    };
    auto assertion = [](const std::string& block) {
        return compile_failure{"kt::k<float, 4, " + block + ">",
                               "k.cu(10): error: static assertion failed\n  detected during instantiation of \"void "
                               "kt::k<T,MODE,BLOCK>(T *) [with T=float, MODE=4, BLOCK=" + block + "]\"\n"};
    };
    const std::vector<compile_log_group> groups =
        group_by_log({typo("128, 1"), assertion("128"), typo("1024, 8"), assertion("256"), typo("256, 2"),
                      {"kt::other<float>", "other.cu(3): error: expected a ';'\n"}});
    ASSERT_EQ(groups.size(), 3u);
    EXPECT_EQ(groups[0].kernels, (std::vector<std::string>{"kt::leaky_reluu<float, 128, 1>", "kt::leaky_reluu<float, 1024, 8>",
                                                           "kt::leaky_reluu<float, 256, 2>"}));
    EXPECT_EQ(groups[0].log, typo("128, 1").log) << "the first kernel's log, verbatim";
    EXPECT_EQ(groups[1].kernels.size(), 2u);
    EXPECT_EQ(groups[2].kernels, (std::vector<std::string>{"kt::other<float>"}));

    const std::string text = compile_failures_text(groups);
    EXPECT_NE(text.find("compile failed: kt::leaky_reluu<float, 128, 1> and 2 more kernels with the same log:\n-arch=sm_90"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("compile failed: kt::other<float>:\nother.cu(3)"), std::string::npos) << text;
}

TEST(Report, JsonDocumentHasTheEnvelopeNullForNonFiniteNumbersAndValidUtf8) {
    nlohmann::ordered_json result = {{"inf", std::numeric_limits<double>::infinity()},
                                     {"nan", std::numeric_limits<double>::quiet_NaN()},
                                     {"path", "/tmp/a\xff" "b"}};
    const std::string text = json_document({"kerntune db show --json", "13.0", "GPU|sm_90|132 SMs"}, result);
    const nlohmann::json document = nlohmann::json::parse(text);
    EXPECT_EQ(document.at("kerntune").at("version"), std::string(kerntune_version()));
    EXPECT_EQ(document.at("kerntune").at("schema_version"), known_schema_version());
    EXPECT_EQ(document.at("kerntune").at("command"), "kerntune db show --json");
    EXPECT_EQ(document.at("kerntune").at("driver"), "13.0");
    EXPECT_EQ(document.at("kerntune").at("gpu"), "GPU|sm_90|132 SMs");
    EXPECT_TRUE(document.at("result").at("inf").is_null());
    EXPECT_TRUE(document.at("result").at("nan").is_null());
    EXPECT_EQ(document.at("result").at("path"), "/tmp/a\xef\xbf\xbd" "b");
    EXPECT_EQ(text.back(), '\n');
    // Without a GPU, no driver and no gpu.
    const nlohmann::json bare = nlohmann::json::parse(json_document({"kerntune list --json"}, nlohmann::ordered_json::object()));
    EXPECT_FALSE(bare.at("kerntune").contains("driver"));
    EXPECT_FALSE(bare.at("kerntune").contains("gpu"));
}

} // namespace
} // namespace kerntune
