// gpu label: the shipped tuning rows (tuning_db/) as an application meets them: read beneath
// the user's database, reported by kt_query_choice and launch_choice, a user's row winning, a
// tampered row left out; and the repository's own tuning_db/ answering on the GPU it was made on.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>

#include "catalog/catalog.hpp"
#include "core/config.hpp"
#include "cuda/device.hpp"
#include "cuda/nvrtc.hpp"
#include "db/database.hpp"
#include "db/jsonl.hpp"
#include "db/shipped_rows.hpp"
#include "kernel_harness.hpp"
#include "kerntune/kerntune.h"
#include "kerntune/kerntune.hpp"
#include "runtime/runtime_state.hpp"

namespace kerntune::testing {
namespace {

namespace fs = std::filesystem;

/// Sets KERNTUNE_SHIPPED_DB for one test (nullptr: unset, the default location), restoring the
/// tests' "off" afterwards.
class shipped_setting {
public:
    explicit shipped_setting(const char* value) {
        if (value)
            setenv("KERNTUNE_SHIPPED_DB", value, 1);
        else
            unsetenv("KERNTUNE_SHIPPED_DB");
    }
    ~shipped_setting() { setenv("KERNTUNE_SHIPPED_DB", "off", 1); }
};

class ShippedRuntime : public testing::gpu_context_test {
protected:
    void SetUp() override {
        gpu_context_test::SetUp();
        if (IsSkipped()) return;
        m_device = query_device(0);
        m_folder = fs::temp_directory_path() / ("kerntune-shipped-" + std::to_string(getpid()));
        fs::create_directories(m_folder);
    }
    void TearDown() override {
        std::error_code ec;
        if (!m_folder.empty()) fs::remove_all(m_folder, ec);
    }

    /// A database of this GPU holding leaky_relu f32 winners `label` at each n, with their
    /// measurements (the runtime's database, or the source of a shipped file).
    fs::path database_with(const std::string& name, const std::string& label, std::initializer_list<std::int64_t> sizes) {
        const fs::path path = m_folder / name;
        database db = database::open(path, open_mode::read_write);
        db.upsert_device({m_device.identity(), m_device.name, m_device.cc_major, m_device.cc_minor, m_device.sm_count});
        const kernel_spec spec = *catalog().at("leaky_relu");
        for (std::int64_t n : sizes) {
            const tuning_key key{"leaky_relu", spec.source_hash, "f32", "n=" + std::to_string(n), m_device.identity(),
                                 nvrtc_version()};
            measurement m{key, label, candidate_status::ok, 10.0, 0.002, 100.0, 5, "", ""};
            m.method = "cuda-events.l2-flushed.median";
            db.record_measurement(m);
            winner w{key, label, 10.0, 100.0, 2.0, 2.5, 1, 0, 0.5, ""};
            w.method = m.method;
            db.set_winner(w);
        }
        return path;
    }

    /// That database as a shipped file (db export --winners), with `edit` applied to its text.
    fs::path shipped_file(const std::string& label, const std::function<void(std::string&)>& edit = {}) {
        std::ostringstream text;
        write_jsonl(winners_only(database::open(database_with("source.db", label, {65536}), open_mode::read_only).records()),
                    text);
        std::string bytes = text.str();
        if (edit) edit(bytes);
        const fs::path file = m_folder / "shipped.jsonl";
        std::ofstream(file, std::ios::binary | std::ios::trunc) << bytes;
        return file;
    }

    device_info m_device;
    fs::path m_folder;
};

// Both valid leaky_relu f32 configs, neither the default (blk256.vec4.unr2.plain.tile.w0).
const std::string shipped_label = "blk128.vec4.unr1.plain.tile.w0";
const std::string users_label = "blk512.vec4.unr1.plain.tile.w0";

TEST_F(ShippedRuntime, AShippedRowIsUsedWithoutAUserDatabaseAndSaidToBeShipped) {
    const shipped_setting setting(shipped_file(shipped_label).c_str());
    runtime rt((m_folder / "no-such.db").string());
    const launch_choice exact = rt.query("leaky_relu", KT_F32, 65536);
    EXPECT_EQ(exact.match, KT_MATCH_EXACT);
    EXPECT_EQ(exact.label, shipped_label);
    EXPECT_TRUE(exact.shipped);
    // Nearest within its regime (2^16 and 2^17 floats are both launch-bound on any data-center GPU).
    const launch_choice nearest = rt.query("leaky_relu", KT_F32, 131072);
    EXPECT_EQ(nearest.match, KT_MATCH_NEAREST);
    EXPECT_TRUE(nearest.shipped);
    // Another dtype: nothing shipped, the default.
    const launch_choice other = rt.query("leaky_relu", KT_F16, 65536);
    EXPECT_EQ(other.match, KT_MATCH_DEFAULT);
    EXPECT_FALSE(other.shipped);

    // The C ABI says the same through kt_query_choice.
    kt_runtime* c_rt = nullptr;
    ASSERT_EQ(kt_runtime_create((m_folder / "no-such.db").c_str(), &c_rt), KT_OK);
    kt_choice choice{};
    choice.size = sizeof choice;
    char label[128] = {};
    const std::int64_t n = 65536;
    ASSERT_EQ(kt_query_choice(c_rt, "leaky_relu", KT_F32, &n, 1, &choice, label, sizeof label), KT_OK);
    EXPECT_EQ(choice.match, KT_MATCH_EXACT);
    EXPECT_EQ(choice.shipped, 1);
    EXPECT_EQ(std::string(label), shipped_label);
    kt_choice too_small{};
    too_small.size = sizeof(size_t);  // a caller that set no size
    EXPECT_EQ(kt_query_choice(c_rt, "leaky_relu", KT_F32, &n, 1, &too_small, label, sizeof label), KT_ERROR_INVALID_ARGUMENT);
    kt_runtime_destroy(c_rt);
}

TEST_F(ShippedRuntime, AUsersRowWinsOverTheShippedRowOfItsKeyAndIsNotMarked) {
    const shipped_setting setting(shipped_file(shipped_label).c_str());
    runtime rt(database_with("user.db", users_label, {65536}).string());
    const launch_choice exact = rt.query("leaky_relu", KT_F32, 65536);
    EXPECT_EQ(exact.match, KT_MATCH_EXACT);
    EXPECT_EQ(exact.label, users_label);
    EXPECT_FALSE(exact.shipped);
    const launch_choice nearest = rt.query("leaky_relu", KT_F32, 131072);  // both tuned 2^16: the user's first
    EXPECT_EQ(nearest.label, users_label);
    EXPECT_FALSE(nearest.shipped);
}

TEST_F(ShippedRuntime, ATamperedShippedRowIsIgnoredWithOneWarning) {
    // The winner's label edited to another valid one: its measurement line no longer agrees.
    const fs::path file = shipped_file(shipped_label, [](std::string& text) {
        const std::size_t winners = text.find("{\"table\":\"winners\"");
        const std::size_t at = text.find(shipped_label, winners);
        text.replace(at, shipped_label.size(), users_label);
    });
    const shipped_setting setting(file.c_str());
    std::vector<std::string> warnings;
    set_log_callback([&warnings](kt_log_level level, const std::string& message) {
        if (level == KT_LOG_WARN) warnings.push_back(message);
    });
    {
        runtime rt((m_folder / "no-such.db").string());
        const launch_choice choice = rt.query("leaky_relu", KT_F32, 65536);
        EXPECT_EQ(choice.match, KT_MATCH_DEFAULT);
        EXPECT_FALSE(choice.shipped);
        rt.query("leaky_relu", KT_F32, 65537);  // a second lookup says nothing more
    }
    set_log_callback({});
    ASSERT_EQ(warnings.size(), 1u);
    EXPECT_NE(warnings[0].find("does not agree with its measurements"), std::string::npos) << warnings[0];
}

// The repository's tuning_db/ (what a fresh install ships), found from the build tree as an
// installed library finds share/kerntune/tuning_db: on the GPU it was made on, every built-in op
// has rows for this template version and NVRTC, and a runtime with no user database answers
// each of them as an exact, shipped match. Skipped on other GPUs.
TEST_F(ShippedRuntime, TheRepositorysShippedFileAnswersEveryBuiltInOpOnItsGpu) {
    const shipped_setting setting(nullptr);
    const catalog templates;
    const std::vector<winner> shipped = detail::read_runtime_shipped_winners(templates);
    std::vector<winner> mine;
    for (const winner& w : shipped)
        if (w.key.gpu_identity == m_device.identity() && w.key.nvrtc_version == nvrtc_version()) mine.push_back(w);
    if (mine.empty()) GTEST_SKIP() << "tuning_db/ holds no rows for " << m_device.identity() << " and NVRTC " << nvrtc_version();
    kt_runtime* rt = nullptr;
    ASSERT_EQ(kt_runtime_create((m_folder / "no-such.db").c_str(), &rt), KT_OK);
    for (const auto& spec : templates.specs()) {
        int current = 0;
        for (const winner& w : mine) {
            if (w.key.template_name != spec->name || w.key.template_hash != spec->source_hash) continue;
            ++current;
            const problem shape = parse_problem_key(spec->axes, w.key.problem_key);
            kt_choice choice{};
            choice.size = sizeof choice;
            char label[256] = {};
            const kt_dtype type = w.key.dtype == "f32" ? KT_F32 : w.key.dtype == "f16" ? KT_F16 : KT_BF16;
            ASSERT_EQ(kt_query_choice(rt, spec->name.c_str(), type, shape.extents.data(), static_cast<int>(shape.extents.size()),
                                      &choice, label, sizeof label),
                      KT_OK)
                << kt_last_error();
            EXPECT_EQ(choice.match, KT_MATCH_EXACT) << spec->name << " " << w.key.dtype << " " << w.key.problem_key;
            EXPECT_EQ(choice.shipped, 1) << spec->name << " " << w.key.dtype << " " << w.key.problem_key;
            EXPECT_EQ(std::string(label), w.config) << spec->name << " " << w.key.dtype << " " << w.key.problem_key;
        }
        EXPECT_GT(current, 0) << "tuning_db/ has no rows of " << spec->name << " at its current hash "
                              << spec->source_hash.substr(0, 12) << ": regenerate it (docs/SHIPPED.md)";
    }
    kt_runtime_destroy(rt);
}

} // namespace
} // namespace kerntune::testing
