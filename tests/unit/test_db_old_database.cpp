// A database written by kerntune before the catalogue (main 662010a, the dump in
// tests/fixtures/databases/main_662010a.sql) opens and serves its winners unchanged: the
// built-in leaky_relu keeps its source hash, problem keys keep their spelling, and the
// lookup chain finds each stored winner as an exact match.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <fstream>
#include <iterator>

#include "catalog/catalog.hpp"
#include "core/select_config.hpp"
#include "db/database.hpp"
#include "../support/temp_folder.hpp"

namespace kerntune {
namespace {

constexpr const char* fixture = KERNTUNE_TEST_FIXTURE_DIR "/../databases/main_662010a.sql";

std::filesystem::path database_from_dump() {
    std::ifstream in(fixture);
    const std::string sql{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    EXPECT_FALSE(sql.empty()) << fixture;
    const std::filesystem::path path = testing::scratch_path("main_662010a.db");
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    char* message = nullptr;
    EXPECT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &message), SQLITE_OK) << (message ? message : "");
    sqlite3_free(message);
    sqlite3_close(db);
    return path;
}

TEST(OldDatabase, WinnersOfMain662010aAreServedAsExactMatches) {
    const database db = database::open(database_from_dump(), open_mode::read_only);
    const kernel_spec spec = *catalog().at("leaky_relu");
    std::vector<tuned_row> rows;
    for (const winner& w : db.winners())
        rows.push_back({w.key.template_name, w.key.template_hash, w.key.dtype, w.key.problem_key, w.key.gpu_identity,
                        w.key.nvrtc_version, w.config});
    ASSERT_EQ(rows.size(), 4u);
    const std::string gpu = "NVIDIA H200|sm_90|132 SMs";
    struct expected_row {
        dtype type;
        std::int64_t n;
        const char* label;
    };
    for (const expected_row& e : {expected_row{dtype::f32, 1048576, "blk512.vec1.unr4.plain.stride.w4"},
                                  expected_row{dtype::f32, 1610612736, "blk256.vec4.unr1.bulk.tile.w0"},
                                  expected_row{dtype::f16, 1048576, "blk128.vec8.unr8.bulk.stride.w1"},
                                  expected_row{dtype::bf16, 1610612736, "blk256.vec8.unr1.bulk.tile.w0"}}) {
        const problem shape = make_problem(spec.axes, tensor_shape{{e.n}});
        const selection chosen = select_config(spec, e.type, shape, gpu, "13.0", rows);
        EXPECT_EQ(chosen.match, config_match::exact) << shape.key();
        EXPECT_EQ(chosen.label, e.label) << shape.key();
        EXPECT_TRUE(chosen.refused.empty());
    }
    // The same file's measurements resume under the keys today's tuner computes.
    const tuning_key key{spec.name, spec.source_hash, "f32", make_problem(spec.axes, tensor_shape{{4096, 393216}}).key(),
                         gpu, "13.0"};
    EXPECT_EQ(db.measurements(key).size(), 2u);
}

} // namespace
} // namespace kerntune
