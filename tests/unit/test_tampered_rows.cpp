// Tampered and stale rows in the tuning database (label nvrtc: runtime/binary_cache links NVRTC;
// no GPU). Labels outside the template's declared domain come back from the database verbatim
// and are refused by parse_label, so nothing of them reaches a name expression; hostile text in
// every field is stored and read back as data, never as SQL; and a cubin whose bytes no longer
// match its digest is refused by digest_matches before any module load.
// The exhaustive spelling checks of parse_label are in tests/unit/test_core_config.cpp
// (CoreConfig.ParseLabelRejectsAnythingOutsideTheDeclaredDomain and
// CoreConfig.ConfigsOutsideTheDomainNeverReachSourceLabelsOrLaunches); these tests follow the
// rows through the database.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cctype>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/config.hpp"
#include "core/error.hpp"
#include "core/sha256.hpp"
#include "db/database.hpp"
#include "../support/temp_folder.hpp"
#include "build/binary_cache.hpp"
#include "catalog/catalog.hpp"
#include "catalog/spec_loader.hpp"

namespace kerntune {
namespace {

namespace fs = std::filesystem;

const std::string gpu = "NVIDIA H100 80GB HBM3|sm_90|132 SMs";

const kernel_spec& leaky_relu() {
    static const kernel_spec spec = *catalog().at("leaky_relu");
    return spec;
}

device_record device_named(const std::string& identity) {
    return {identity, "NVIDIA H100 80GB HBM3", 9, 0, 132, 2'619'000, 5120, 52'428'800, 3352.3, 2890.5,
            "13.0"};
}

/// A fresh database in a fresh temporary folder per test, removed afterwards.
class ReliabilityTamperedRows : public testing::temp_folder_test {
protected:
    ReliabilityTamperedRows() : temp_folder_test("kerntune-tampered") {}

    database open() const { return database::open(m_folder / "tuning.db", open_mode::read_write); }

};

/// The runtime's and the tuner's way from a stored label to NVRTC: parse_label first, and only
/// what it accepts is turned into a name expression. Returns the expression, or "" when the
/// label was refused (counting the refusals).
std::string expression_for_stored_label(const std::string& stored, dtype type, int& refused) {
    config c;
    try {
        c = parse_label(leaky_relu(), stored);
    } catch (const error&) {
        ++refused;
        return "";
    }
    return name_expression(leaky_relu(), c, {}, type);
}

/// The f32 default config's label (e.g. "blk256.vec4.unr2.plain.tile.w0") with its part `index`
/// (counted from the end when negative) replaced: tampered labels follow the template's
/// parameters as they change.
std::string default_label_with(int index, const std::string& replacement) {
    const std::string text = label(leaky_relu(), default_config(leaky_relu(), dtype::f32));
    std::vector<std::string> parts{""};
    for (const char c : text) {
        if (c == '.') {
            parts.emplace_back();
        } else {
            parts.back().push_back(c);
        }
    }
    parts.at(static_cast<std::size_t>(index < 0 ? static_cast<int>(parts.size()) + index : index)) =
        replacement;
    std::string joined;
    for (const std::string& part : parts) joined += (joined.empty() ? "" : ".") + part;
    return joined;
}

/// A config that is the f32 default but for the named parameters' values.
config default_with(dtype type, const std::vector<std::pair<std::string, std::int64_t>>& values) {
    config c = default_config(leaky_relu(), type);
    for (const auto& [name, value] : values)
        for (std::size_t i = 0; i < leaky_relu().params.size(); ++i)
            if (leaky_relu().params[i].name == name) c.values[i] = value;
    return c;
}

TEST_F(ReliabilityTamperedRows, LabelsOutsideTheDeclaredDomainComeBackVerbatimAndNeverReachANameExpression) {
    const std::string control = label(leaky_relu(), default_config(leaky_relu(), dtype::f32));
    ASSERT_EQ(control.rfind("blk256.vec4.", 0), 0u) << "the tampered labels below assume it: " << control;
    // The list: a block of 2^20, negative values, non-integers, source text; and values
    // that only a number parser would wrap or round into the domain.
    const std::string trap = ");asm(\"trap\");//";
    const std::vector<std::string> tampered = {
        default_label_with(0, "blk1048576"),
        default_label_with(0, "blk-256"),
        default_label_with(1, "vec-4"),
        default_label_with(-1, "w-1"),
        default_label_with(0, "blk256.5"),
        default_label_with(0, "blk2.56e2"),
        default_label_with(0, "blk256.0"),
        default_label_with(0, "blk18446744073709551872"),  // 2^64 + 256: wraps to 256 in 64 bits
        default_label_with(0, "blk4294967552"),            // 2^32 + 256: wraps to 256 in 32 bits
        "1" + trap,
        control + trap,
        default_label_with(0, "blk256" + trap),
        control + "'; DROP TABLE winners; --",
        control + std::string(1, '\0') + trap,
    };
    const tuning_key key{"leaky_relu", leaky_relu().source_hash, "f32", "n=1048576", gpu, "13.0.48"};
    {
        database db = open();
        db.upsert_device(device_named(gpu));
        for (std::size_t i = 0; i < tampered.size(); ++i) {
            tuning_key k = key;
            k.problem_key = "n=" + std::to_string(1024 + i);
            db.record_measurement({k, tampered[i], candidate_status::ok, 1.0, 0.01, 3000, 30, "", ""});
            db.set_winner({k, tampered[i], 1.0, 3000, 90, 95, 1, 0, 2.0, ""});
        }
        db.set_winner({key, control, 5.0, 3000, 90, 95, 1, 0, 2.0, ""});
    }

    const database db = database::open(m_folder / "tuning.db", open_mode::read_only);
    const std::vector<winner> rows = db.winners();
    ASSERT_EQ(rows.size(), tampered.size() + 1);
    int refused = 0;
    std::vector<std::string> expressions;
    for (const winner& row : rows) {
        const bool is_tampered = row.key.problem_key != key.problem_key;
        if (is_tampered) {
            const std::size_t i = std::stoul(row.key.problem_key.substr(2)) - 1024;
            EXPECT_EQ(row.config, tampered.at(i)) << "the database changed the stored text";
            EXPECT_EQ(db.measurements(row.key).at(0).config, tampered.at(i));
        }
        const std::string expression = expression_for_stored_label(row.config, dtype::f32, refused);
        if (!expression.empty()) expressions.push_back(expression);
    }
    EXPECT_EQ(refused, static_cast<int>(tampered.size()));
    ASSERT_EQ(expressions.size(), 1u) << "only the control may reach a name expression";
    EXPECT_EQ(expressions[0].rfind("kt::leaky_relu<float, 256, 4, 2", 0), 0u) << expressions[0];
}

TEST_F(ReliabilityTamperedRows, LabelsInTheDomainButAgainstTheConstraintsAreRefusedForTheirDtype) {
    // parse_label checks the domain; the runtime then checks the constraints per dtype
    // (runtime_state::make_entry) before anything is compiled.
    const std::vector<std::pair<config, dtype>> against = {
        {default_with(dtype::f32, {{"VEC", 8}}), dtype::f32},                 // 32-byte vector accesses
        {default_with(dtype::bf16, {{"VEC", 1}}), dtype::bf16},               // 2-byte accesses
        {default_with(dtype::f32, {{"GRID", 1}, {"WAVES", 0}}), dtype::f32},  // stride without waves
        {default_with(dtype::f32, {{"GRID", 0}, {"WAVES", 4}}), dtype::f32},  // waves without stride
    };
    for (const auto& [values, type] : against) {
        const std::string stored = label(leaky_relu(), values);
        const config c = parse_label(leaky_relu(), stored);
        EXPECT_EQ(c, values) << stored;
        EXPECT_FALSE(satisfies_constraints(leaky_relu(), c, type)) << stored;
    }
}

/// Text that would break a statement built by pasting values into SQL, or be cut at a NUL.
std::vector<std::string> hostile_texts() {
    return {"'; DROP TABLE winners; --",
            "\"; DROP TABLE measurements; --",
            "' OR '1'='1",
            "'",
            "''",
            "\\",
            "%_*?[",
            "); DELETE FROM binaries; --",
            std::string("nul\0inside", 10),
            std::string("\0", 1),
            std::string("trailing nul\0", 13),
            " spaced ",
            "line\nbreak\r\n",
            "\xc3\xa9\xe2\x88\x91\xf0\x9f\x98\x80",
            std::string(10'000, 'x')};
}

TEST_F(ReliabilityTamperedRows,
       SqlMetacharactersAndNulBytesInEveryTextFieldRoundTripVerbatimAndTheTablesSurvive) {
    const std::vector<std::string> hostile = hostile_texts();
    const tuning_key plain{"leaky_relu", "hash", "f32", "n=1", gpu, "13.0.48"};
    auto key_for = [&](const std::string& text) {
        return tuning_key{text, text + "h", text + "d", text + "p", text, text + "v"};
    };
    auto binary_for = [](const std::string& text) {
        return kernel_binary{
            {text, text + "c", text + "d", text + "a", text + "v"}, text + "n", text + "g", text + "bytes"};
    };
    {
        database db = open();
        db.upsert_device(device_named(gpu));
        db.record_measurement(
            {plain, "blk256.vec4.unr2.plain.tile.w0", candidate_status::ok, 2.0, 0.01, 3000, 30, "", ""});
        db.set_winner({plain, "blk256.vec4.unr2.plain.tile.w0", 2.0, 3000, 90, 95, 1, 0, 2.0, ""});
        for (const std::string& text : hostile) {
            device_record device = device_named(text);
            device.name = text;
            device.driver_version = text;
            db.upsert_device(device);
            const tuning_key key = key_for(text);
            db.record_measurement({key, text, candidate_status::wrong_answer, 0, 0, 0, 0, text, ""});
            db.record_measurements({{key, text + "2", candidate_status::ok, 1.5, 0.01, 3000, 30, text, ""}},
                                   winner{key, text + "2", 1.5, 3000, 90, 95, 1, 1, 2.0, ""});
            db.store_binary(binary_for(text));
            db.store_program({text + "k", text + "\n" + text, text + "g", text + "cubin"});
        }
    }

    const database db = database::open(m_folder / "tuning.db", open_mode::read_only);
    EXPECT_EQ(db.integrity_check(), "ok");
    for (const std::string& text : hostile) {
        SCOPED_TRACE(::testing::PrintToString(text.substr(0, 40)));
        const std::optional<device_record> device = db.find_device(text);
        ASSERT_TRUE(device.has_value());
        EXPECT_EQ(device->name, text);
        EXPECT_EQ(device->driver_version, text);

        const tuning_key key = key_for(text);
        const std::vector<measurement> rows = db.measurements(key);
        ASSERT_EQ(rows.size(), 2u);
        EXPECT_EQ(rows[0].config, text + "2");  // ok first
        EXPECT_EQ(rows[1].config, text);
        EXPECT_EQ(rows[1].message, text);
        EXPECT_EQ(rows[1].key.template_name, text);
        EXPECT_EQ(rows[1].key.nvrtc_version, text + "v");
        const std::optional<winner> best = db.find_winner(key);
        ASSERT_TRUE(best.has_value());
        EXPECT_EQ(best->config, text + "2");
        EXPECT_EQ(best->key.problem_key, text + "p");

        const kernel_binary stored = binary_for(text);
        const std::optional<kernel_binary> binary = db.find_binary(stored.key);
        ASSERT_TRUE(binary.has_value());
        EXPECT_EQ(binary->lowered_name, stored.lowered_name);
        EXPECT_EQ(binary->digest, stored.digest);
        EXPECT_EQ(binary->cubin, stored.cubin);
        const std::optional<cached_program> program = db.find_program(text + "k");
        ASSERT_TRUE(program.has_value());
        EXPECT_EQ(program->lowered_names, text + "\n" + text);
        EXPECT_EQ(program->cubin, text + "cubin");
    }
    // Nothing was dropped, deleted or matched too widely: every row is still there, and the
    // row written before the hostile ones is untouched.
    EXPECT_EQ(db.devices().size(), hostile.size() + 1);
    EXPECT_EQ(db.winners().size(), hostile.size() + 1);
    EXPECT_EQ(db.measurements(plain).size(), 1u);
    ASSERT_TRUE(db.find_winner(plain).has_value());
    EXPECT_EQ(db.find_winner(plain)->config, "blk256.vec4.unr2.plain.tile.w0");
}

TEST_F(ReliabilityTamperedRows, TextWithANulByteIsADifferentKeyFromItsPrefix) {
    // A value cut at its NUL would make "nul\0inside" find the row of "nul".
    database db = open();
    db.upsert_device(device_named(gpu));
    const tuning_key with_nul{std::string("leaky_relu\0evil", 15), "h", "f32", "n=1", gpu, "13.0.48"};
    tuning_key prefix = with_nul;
    prefix.template_name = "leaky_relu";
    db.set_winner({with_nul, "blk128.vec4.unr1.plain.tile.w0", 1.0, 1, 1, 1, 1, 0, 1, ""});
    EXPECT_FALSE(db.find_winner(prefix).has_value());
    db.set_winner({prefix, "blk256.vec4.unr2.plain.tile.w0", 1.0, 1, 1, 1, 1, 0, 1, ""});
    EXPECT_EQ(db.find_winner(with_nul).value().config, "blk128.vec4.unr1.plain.tile.w0");
    EXPECT_EQ(db.find_winner(prefix).value().config, "blk256.vec4.unr2.plain.tile.w0");
}

TEST_F(ReliabilityTamperedRows, DigestMatchesRefusesACubinWithAnyByteFlippedCutOrAdded) {
    // A real cubin (NVRTC, sm_90, no GPU needed), stored and read back as the runtime does.
    const config chosen = default_config(leaky_relu(), dtype::f32);
    const kernel_binary compiled = compile_binary(leaky_relu(), chosen, {}, dtype::f32, "sm_90");
    ASSERT_GT(compiled.cubin.size(), 1000u);
    database db = open();
    auto stored_and_read_back = [&](const kernel_binary& binary) {
        db.store_binary(binary);
        return db.find_binary(binary.key).value();
    };
    EXPECT_TRUE(digest_matches(stored_and_read_back(compiled)));

    std::vector<kernel_binary> tampered;
    for (const std::size_t at : {std::size_t{0}, compiled.cubin.size() / 2, compiled.cubin.size() - 1})
        for (const unsigned char mask : {0x01, 0x80}) {
            kernel_binary flipped = compiled;  // the old digest, one bit of the cubin changed
            flipped.cubin[at] = static_cast<char>(flipped.cubin[at] ^ mask);
            tampered.push_back(flipped);
        }
    kernel_binary cut = compiled, added = compiled, wrong_digest = compiled, upper_digest = compiled,
                  no_digest = compiled, empty = compiled;
    cut.cubin.pop_back();
    added.cubin.push_back('\0');
    wrong_digest.digest[10] = wrong_digest.digest[10] == '0' ? '1' : '0';
    for (char& c : upper_digest.digest) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    no_digest.digest.clear();
    empty.cubin.clear();
    tampered.insert(tampered.end(), {cut, added, wrong_digest, no_digest, empty});
    ASSERT_NE(upper_digest.digest, compiled.digest) << "the digest has hex letters to change";
    tampered.push_back(upper_digest);
    for (std::size_t i = 0; i < tampered.size(); ++i)
        EXPECT_FALSE(digest_matches(stored_and_read_back(tampered[i]))) << "tampered binary " << i;
    EXPECT_EQ(compiled.digest, sha256_hex(compiled.cubin));
}

} // namespace
} // namespace kerntune
