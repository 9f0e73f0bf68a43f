// The shipped database's rules (src/db/shipped_rows, read_jsonl_lenient): a bad line or row is
// left out with one warning and the rest used; a winner that disagrees with its measurements is
// tampered; stale rows are never used and said once per template; the file `db export --winners`
// writes imports and exports back byte for byte; where the files are found; and the
// repository's own tuning_db/ is current with the repository's templates.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "catalog/catalog.hpp"
#include "core/config.hpp"
#include "core/select_config.hpp"
#include "db/database.hpp"
#include "db/jsonl.hpp"
#include "db/label_domain.hpp"
#include "db/shipped_rows.hpp"
#include "test_db_support.hpp"

namespace kerntune {
namespace {

using namespace db_testing;

const std::string hash_a = "8f791a378ebdd3fd706310c91ba3b52e6e41a8ea4519909e318cb9932fb56d20";
const std::string hash_b = "0c3726f11825a7e8046ddc4369ff16cd8f791a378ebdd3fd706310c91ba3b52e";
const std::string h200 = "NVIDIA H200|sm_90|132 SMs";

tuning_key key_of(const std::string& problem, const std::string& type = "f32", const std::string& hash = hash_a) {
    return {"leaky_relu", hash, type, problem, h200, "13.0"};
}

measurement ok_row(const tuning_key& key, const std::string& config, double median_us) {
    measurement m{key, config, candidate_status::ok, median_us, 0.004, 1000.0 / median_us, 7, "", ""};
    m.method = "cuda-events.l2-flushed.median";
    m.driver_version = "13.0";
    return m;
}

winner winner_of(const measurement& m) {
    winner w{m.key, m.config, m.median_us, m.gbps, 80.5, 92.25, 2, 0, 1.5, ""};
    w.method = m.method;
    w.driver_version = m.driver_version;
    return w;
}

/// Collects warnings, one string each.
struct warnings {
    std::vector<std::string> lines;
    warning_sink sink() {
        return [this](const std::string& message) { lines.push_back(message); };
    }
};

class ShippedRows : public db_test {
protected:
    /// A tuned database: two keys of leaky_relu f32 on the H200, each with a winner and a slower
    /// candidate, and a failed one; an H100 device nobody's winner names.
    fs::path tuned_database() const {
        database db = database::open(file("tuned.db"), open_mode::read_write);
        device_record d = sample_device(h200);
        d.name = "NVIDIA H200";
        db.upsert_device(d);
        db.upsert_device(sample_device());
        for (const std::string problem : {"n=1048576", "n=16777216"}) {
            const tuning_key key = key_of(problem);
            const measurement best = ok_row(key, "blk128.vec4.unr1.plain.tile.w0", problem == "n=1048576" ? 5.824 : 35.68);
            db.record_measurement(best);
            db.record_measurement(ok_row(key, "blk256.vec4.unr2.plain.tile.w0", best.median_us * 1.1));
            measurement failed{key, "blk1024.vec4.unr8.plain.tile.w0", candidate_status::timeout, 0, 0, 0, 0, "killed", ""};
            db.record_measurement(failed);
            db.set_winner(winner_of(best));
        }
        return file("tuned.db");
    }

    /// The shipped file of tuned_database(), as `db export --winners` writes it.
    std::string shipped_text() const {
        std::ostringstream text;
        write_jsonl(winners_only(database::open(tuned_database(), open_mode::read_only).records()), text);
        return text.str();
    }

    static std::vector<std::string> lines_of(const std::string& text) {
        std::vector<std::string> lines;
        std::istringstream in(text);
        for (std::string line; std::getline(in, line);) lines.push_back(line);
        return lines;
    }
    static std::string joined(const std::vector<std::string>& lines) {
        std::string text;
        for (const std::string& line : lines) text += line + "\n";
        return text;
    }
    /// The number of the first line containing `part` (0-based), or fails.
    static std::size_t line_with(const std::vector<std::string>& lines, const std::string& part) {
        for (std::size_t i = 0; i < lines.size(); ++i)
            if (lines[i].find(part) != std::string::npos) return i;
        ADD_FAILURE() << "no line holds " << part;
        return 0;
    }

    std::vector<winner> usable(const std::string& text, warnings& said, const label_check& labels = {}) const {
        const fs::path shipped = file("h200.jsonl");
        write_bytes(shipped, text);
        return read_shipped_winners({shipped}, labels, said.sink());
    }
};

TEST_F(ShippedRows, TheWinnersExportHoldsEachWinnerItsMeasurementAndItsDeviceOnly) {
    const std::vector<std::string> lines = lines_of(shipped_text());
    // header, one device (the H100 no winner names is left out), two measurements, two winners
    ASSERT_EQ(lines.size(), 6u) << joined(lines);
    EXPECT_NE(lines[1].find("\"table\":\"devices\",\"identity\":\"" + h200), std::string::npos);
    EXPECT_EQ(lines[2].find("blk256"), std::string::npos);
    EXPECT_NE(lines[2].find("\"config\":\"blk128.vec4.unr1.plain.tile.w0\""), std::string::npos);
    EXPECT_NE(lines[4].find("\"table\":\"winners\""), std::string::npos);
}

TEST_F(ShippedRows, ImportThenExportGivesTheShippedFileBackByteForByteAndMergingItAgainChangesNothing) {
    const std::string text = shipped_text();
    database db = database::open(file("fresh.db"), open_mode::read_write);
    std::istringstream in(text);
    const record_set records = read_jsonl(in, "h200.jsonl", {});
    db.merge({records});
    std::ostringstream full, winners;
    write_jsonl(db.records(), full);
    write_jsonl(winners_only(db.records()), winners);
    EXPECT_EQ(full.str(), text);     // `db export` of the imported file
    EXPECT_EQ(winners.str(), text);  // and `db export --winners`
    const merge_report again = db.merge({db.records()});
    EXPECT_EQ(again.measurements.added + again.measurements.replaced + again.winners.added + again.winners.replaced, 0);
    EXPECT_TRUE(again.conflicts.empty());
}

TEST_F(ShippedRows, AGoodFileGivesEveryWinnerAndNoWarning) {
    warnings said;
    EXPECT_EQ(usable(shipped_text(), said).size(), 2u);
    EXPECT_TRUE(said.lines.empty()) << said.lines.front();
}

TEST_F(ShippedRows, ALabelOutOfItsDomainIsOneWarningAndTheRestAreUsed) {
    std::vector<std::string> lines = lines_of(shipped_text());
    const std::size_t row = line_with(lines, "\"problem_key\":\"n=16777216\",\"gpu_identity\":\"" + h200 +
                                                    "\",\"nvrtc_version\":\"13.0\",\"config\":\"blk128.vec4.unr1.plain.tile.w0\",\"median_us\":35.68,\"gbps\"");
    const std::size_t at = lines[row].find("blk128");
    lines[row].replace(at, 6, "blk999");
    // The domain as the runtime checks it: BLOCK of 128 to 1024 only.
    const label_check labels = [](const tuning_key&, const std::string& config) -> std::string {
        return config.rfind("blk999", 0) == 0 ? "BLOCK must be one of 128, 256, 512, 1024" : "";
    };
    warnings said;
    const std::vector<winner> kept = usable(joined(lines), said, labels);
    ASSERT_EQ(kept.size(), 1u);
    EXPECT_EQ(kept[0].key.problem_key, "n=1048576");
    ASSERT_EQ(said.lines.size(), 1u);
    EXPECT_NE(said.lines[0].find("h200.jsonl:" + std::to_string(row + 1) + ": "), std::string::npos) << said.lines[0];
    EXPECT_NE(said.lines[0].find("BLOCK must be one of"), std::string::npos) << said.lines[0];
    EXPECT_NE(said.lines[0].find("line ignored"), std::string::npos) << said.lines[0];
}

TEST_F(ShippedRows, AHashThatIsNoDigestAndALineThatIsNoJsonAreOneWarningEach) {
    std::vector<std::string> lines = lines_of(shipped_text());
    const std::size_t first = line_with(lines, "\"table\":\"winners\"");
    lines[first].replace(lines[first].find(hash_a), 64, "3f2a9c");
    lines.insert(lines.begin() + 2, "{\"table\":\"measurements\", not json");
    warnings said;
    const std::vector<winner> kept = usable(joined(lines), said);
    EXPECT_EQ(kept.size(), 1u);
    ASSERT_EQ(said.lines.size(), 2u);
    EXPECT_NE(said.lines[0].find(":3: not JSON"), std::string::npos) << said.lines[0];
    EXPECT_NE(said.lines[1].find("is not a SHA-256 hex digest"), std::string::npos) << said.lines[1];
}

TEST_F(ShippedRows, AWinnerEditedToAnotherValidLabelOrMedianDisagreesWithItsMeasurementAndIsIgnored) {
    const std::vector<std::string> original = lines_of(shipped_text());
    const std::size_t row = line_with(original, "\"table\":\"winners\"");
    struct edit {
        std::string from, to, why;
    };
    for (const edit& e : {edit{"blk128.vec4.unr1.plain.tile.w0", "blk512.vec4.unr1.plain.tile.w0", "no measurement line of its config"},
                          edit{"\"median_us\":5.824", "\"median_us\":4.5", "is not its measurement's"}}) {
        std::vector<std::string> lines = original;
        const std::size_t at = lines[row].find(e.from);
        ASSERT_NE(at, std::string::npos) << lines[row];
        lines[row].replace(at, e.from.size(), e.to);
        warnings said;
        const std::vector<winner> kept = usable(joined(lines), said);
        ASSERT_EQ(kept.size(), 1u) << e.to;
        EXPECT_EQ(kept[0].key.problem_key, "n=16777216");
        ASSERT_EQ(said.lines.size(), 1u) << e.to;
        EXPECT_NE(said.lines[0].find("winner of leaky_relu f32 n=1048576"), std::string::npos) << said.lines[0];
        EXPECT_NE(said.lines[0].find(e.why), std::string::npos) << said.lines[0];
    }
}

TEST_F(ShippedRows, AWinnerSlowerThanAnotherOkMeasurementOfItsKeyIsIgnored) {
    record_set records = database::open(tuned_database(), open_mode::read_only).records();
    records.origin = "edited.jsonl";
    warnings said;
    EXPECT_EQ(consistent_winners(records, said.sink()).size(), 2u);  // the whole export: consistent
    EXPECT_TRUE(said.lines.empty());
    for (measurement& m : records.measurements)
        if (m.config == "blk256.vec4.unr2.plain.tile.w0" && m.key.problem_key == "n=16777216") m.median_us = 1.0;
    const std::vector<winner> kept = consistent_winners(records, said.sink());
    ASSERT_EQ(kept.size(), 1u);
    ASSERT_EQ(said.lines.size(), 1u);
    EXPECT_NE(said.lines[0].find("edited.jsonl: the winner of leaky_relu f32 n=16777216"), std::string::npos) << said.lines[0];
    EXPECT_NE(said.lines[0].find("blk256.vec4.unr2.plain.tile.w0 is faster"), std::string::npos) << said.lines[0];
}

TEST_F(ShippedRows, AFileThatIsNoExportIsOneWarningAndGivesNothing) {
    warnings said;
    EXPECT_TRUE(usable("{\"format\":\"something-else\"}\n", said).empty());
    ASSERT_EQ(said.lines.size(), 1u);
    EXPECT_NE(said.lines[0].find("ignoring the shipped tuning file"), std::string::npos) << said.lines[0];
    EXPECT_NE(said.lines[0].find("not a kerntune export"), std::string::npos) << said.lines[0];
}

TEST(ShippedStale, OneLinePerTemplateOfThisGpuAndNvrtcAtAnotherHashAndNothingElse) {
    std::vector<winner> rows;
    for (const std::string problem : {"n=1", "n=2", "n=3"}) rows.push_back(winner_of(ok_row(key_of(problem, "f32", hash_b), "blk128", 1)));
    rows.push_back(winner_of(ok_row(key_of("n=4"), "blk128", 1)));  // current: not stale
    winner other_gpu = rows[0];
    other_gpu.key.gpu_identity = "NVIDIA H100 80GB HBM3|sm_90|132 SMs";
    winner other_nvrtc = rows[0];
    other_nvrtc.key.nvrtc_version = "12.9";
    winner unknown = rows[0];
    unknown.key.template_name = "nobodys_template";
    rows.insert(rows.end(), {other_gpu, other_nvrtc, unknown});
    const auto current = [](const std::string& name) -> std::optional<std::string> {
        return name == "leaky_relu" ? std::optional<std::string>(hash_a) : std::nullopt;
    };
    const std::vector<std::string> lines = stale_template_lines(rows, h200, "13.0", current);
    ASSERT_EQ(lines.size(), 1u);
    EXPECT_NE(lines[0].find("3 winners of leaky_relu"), std::string::npos) << lines[0];
    EXPECT_NE(lines[0].find(hash_b.substr(0, 12)), std::string::npos) << lines[0];
    EXPECT_NE(lines[0].find("not " + hash_a.substr(0, 12)), std::string::npos) << lines[0];
    EXPECT_TRUE(stale_template_lines(rows, "Another GPU", "13.0", current).empty());
}

/// Sets an environment variable for one test's scope, restoring what was there.
class scoped_env {
public:
    scoped_env(const char* name, const char* value) : m_name(name) {
        if (const char* old = getenv(name)) m_old = old;
        if (value)
            setenv(name, value, 1);
        else
            unsetenv(name);
    }
    ~scoped_env() {
        if (m_old)
            setenv(m_name, m_old->c_str(), 1);
        else
            unsetenv(m_name);
    }

private:
    const char* m_name;
    std::optional<std::string> m_old;
};

TEST_F(ShippedRows, FilesAreTheVariablesTheBuildTreesOrTheInstalledOnes) {
    for (const std::string name : {"build/tuning_db", "source/tuning_db", "prefix/bin", "prefix/share/kerntune/tuning_db", "own"})
        fs::create_directories(file(name));
    write_bytes(file("source/tuning_db/b.jsonl"), "");
    write_bytes(file("source/tuning_db/a.jsonl"), "");
    write_bytes(file("source/tuning_db/notes.txt"), "");
    write_bytes(file("prefix/share/kerntune/tuning_db/h200.jsonl"), "");
    write_bytes(file("own/mine.jsonl"), "");
    const shipped_location where{file("build"), file("source/tuning_db"), "../share/kerntune/tuning_db"};
    {
        const scoped_env unset("KERNTUNE_SHIPPED_DB", nullptr);
        // A binary inside the build tree reads the source's files, sorted, *.jsonl only.
        EXPECT_EQ(shipped_files(file("build/tools"), where),
                  (std::vector<fs::path>{file("source/tuning_db/a.jsonl"), file("source/tuning_db/b.jsonl")}));
        // An installed one, those beside it by the relative path.
        const std::vector<fs::path> installed = shipped_files(file("prefix/bin"), where);
        ASSERT_EQ(installed.size(), 1u);
        EXPECT_TRUE(fs::equivalent(installed[0], file("prefix/share/kerntune/tuning_db/h200.jsonl")));
        EXPECT_TRUE(shipped_files(file("own"), where).empty());  // nothing there: none
    }
    {
        const scoped_env off("KERNTUNE_SHIPPED_DB", "off");
        EXPECT_TRUE(shipped_files(file("build/tools"), where).empty());
    }
    {
        const std::string list = file("own").string() + "::" + file("prefix/share/kerntune/tuning_db/h200.jsonl").string() +
                                 ":" + file("missing.jsonl").string();
        const scoped_env chosen("KERNTUNE_SHIPPED_DB", list.c_str());
        EXPECT_EQ(shipped_files(file("build/tools"), where),
                  (std::vector<fs::path>{file("own/mine.jsonl"), file("prefix/share/kerntune/tuning_db/h200.jsonl")}));
    }
}

// The repository's tuning_db/ (what a fresh install ships) against the templates of the same
// commit, with no GPU: every file reads without a warning, every built-in op has rows, and every
// row of a built-in op carries its template's current hash. A template edit, a comment in a
// support header included, retires its rows (a miss on every GPU, which only the gpu label would
// see): the edit and the regenerated file (docs/SHIPPED.md) land together.
TEST(TheRepositorysShippedFile, IsCurrentWithTheBuiltInTemplates) {
    const catalog templates;
    const scoped_env folder("KERNTUNE_SHIPPED_DB", KERNTUNE_TEST_SHIPPED_DIR);  // its *.jsonl, as the runtime lists them
    const std::vector<fs::path> files = shipped_files({}, {});
    ASSERT_FALSE(files.empty()) << KERNTUNE_TEST_SHIPPED_DIR;
    warnings said;
    const std::vector<winner> shipped = read_shipped_winners(files, declared_domain(templates.specs()), said.sink());
    EXPECT_TRUE(said.lines.empty()) << said.lines.front();
    std::string why, ops;  // the out-of-date ops: what is wrong with each, and their names
    for (const auto& spec : templates.specs()) {
        int current = 0, stale = 0;
        for (const winner& w : shipped)
            if (w.key.template_name == spec->name) ++(w.key.template_hash == spec->source_hash ? current : stale);
        if (current > 0 && stale == 0) continue;
        why += spec->name + ": " + std::to_string(current) + " rows at its current hash " + spec->source_hash.substr(0, 12) +
               ", " + std::to_string(stale) + " at another\n";
        ops += " " + spec->name;
    }
    EXPECT_TRUE(ops.empty()) << why << "retune them on their GPU and commit the file with the templates (docs/SHIPPED.md): "
                             << "tools/ship_tuning_db.sh build tuning_db/h200.jsonl" << ops;
}

} // namespace
} // namespace kerntune
