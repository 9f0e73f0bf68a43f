// The real `kerntune` program (KERNTUNE_CLI_PATH), for what it prints: tables whose cells are
// cut, not padded to the widest value; nothing a terminal would act on echoed raw; no half
// table on stdout before an error; and a write to a full or closed stdout that fails is exit 1
// with one line, not exit 0.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "core/text.hpp"
#include "db/database.hpp"
#include "test_core_support.hpp"
#include "../support/cli_run.hpp"
#include "../support/expectations.hpp"
#include "../support/run_sql.hpp"
#include "../support/temp_folder.hpp"

namespace kerntune {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using test::contains;
using testing::cli_run;
using testing::standard_output;

const std::string gpu = "NVIDIA H100 80GB HBM3|sm_90|132 SMs";

/// The most characters a table cell shows (text_table::max_cell_width, src/tune/report.hpp).
constexpr std::size_t cell_limit = 60;

using testing::lines_of;

class CliOutput : public testing::temp_folder_test {
protected:
    CliOutput() : temp_folder_test("kerntune-cli-output") {}

    fs::path db() const { return m_folder / "tuning.db"; }

    cli_run run_cli(const std::vector<std::string>& args, standard_output stdout_to = standard_output::captured,
                    const std::map<std::string, std::string>& env = {}) const {
        return testing::run_kerntune(m_folder, args, env, false, stdout_to);
    }

    /// A database of `keys` keys of leaky_relu, each with one ok measurement and its winner;
    /// `edit` may change key i's measurement and winner before they are written.
    void create_database(int keys, const std::function<void(int, measurement&, winner&)>& edit = {}) const {
        database out = database::open(db(), open_mode::read_write);
        out.upsert_device({gpu, "NVIDIA H100 80GB HBM3", 9, 0, 132, 2'619'000, 5120, 52'428'800, 3352.3, 2890.5, "12.4"});
        for (int k = 0; k < keys; ++k) {
            const tuning_key key{"leaky_relu", "3f2a9c", "f32", "n=" + std::to_string(1024 * (k + 1)), gpu, "13.0"};
            measurement m{key, "blk256.vec4.unr2.plain.tile.w0", candidate_status::ok, 5.0, 0.01, 1500, 30, "", ""};
            winner w{key, m.config, 5.0, 1500, 45, 52, 1, 0, 3.5, ""};
            if (edit) edit(k, m, w);
            if (m.key.gpu_identity != gpu) out.upsert_device({m.key.gpu_identity, m.key.gpu_identity, 9, 0, 132, 1, 1, 1, 1, 1, "12.4"});
            out.record_measurement(m);
            out.set_winner(w);
        }
    }

    /// Expects exit status 1, nothing on stdout, and one line on stderr: `kerntune: error: ` and `message`.
    static void expect_one_line_failure(const cli_run& run, const std::string& message) {
        EXPECT_EQ(run.exit_code, 1) << run.err;
        EXPECT_EQ(run.out, "");
        EXPECT_EQ(run.err, "kerntune: error: " + message + "\n");
    }
};

TEST_F(CliOutput, LongCellsAreCutSoThatOneRowCannotWidenEveryOther) {
    // One label, template name, GPU identity and message of 100,000 characters among 300 keys:
    // padded to the widest cell, every row of `db show` was 100 kB wide (30 MB in all).
    const std::string long_label(100'000, 'L'), long_name(100'000, 'N'), long_gpu(100'000, 'G'), long_message(100'000, 'M');
    create_database(300, [&](int k, measurement& m, winner& w) {
        if (k == 7) m.config = w.config = long_label;
        if (k == 8) m.key.template_name = w.key.template_name = long_name;
        if (k == 9) m.key.gpu_identity = w.key.gpu_identity = long_gpu;
        if (k == 10) m.message = long_message;
    });
    const std::size_t most = 12 * (cell_limit + 2);  // 12 columns at most, 2 spaces between
    for (const bool candidates : {false, true}) {
        SCOPED_TRACE(candidates ? "db show --candidates" : "db show");
        std::vector<std::string> args{"db", "show", "--db", db().string()};
        if (candidates) args.push_back("--candidates");
        const cli_run run = run_cli(args);
        ASSERT_EQ(run.exit_code, 0) << run.err;
        EXPECT_LT(run.out.size(), 300 * most) << "stdout has " << run.out.size() << " bytes";
        for (const std::string& line : lines_of(run.out)) ASSERT_LE(display_width(line), most) << line.substr(0, 200);
        // Cut to 60 characters, the last three "...".
        EXPECT_TRUE(contains(run.out, std::string(57, 'L') + "...")) << run.out.substr(0, 2000);
        EXPECT_FALSE(contains(run.out, std::string(58, 'L')));
        for (const char c : {'N', 'G'}) EXPECT_TRUE(contains(run.out, std::string(57, c) + "...")) << c;
        if (candidates) {
            EXPECT_TRUE(contains(run.out, std::string(57, 'M') + "..."));
        }
    }
    // JSON keeps every value whole.
    const cli_run run = run_cli({"db", "show", "--candidates", "--json", "--db", db().string()});
    ASSERT_EQ(run.exit_code, 0) << run.err;
    const json rows = json::parse(run.out).at("result").at("measurements");
    std::vector<std::string> configs, names, gpus, messages;
    for (const json& row : rows) {
        configs.push_back(row.at("config"));
        names.push_back(row.at("template"));
        gpus.push_back(row.at("gpu"));
        messages.push_back(row.at("message"));
    }
    EXPECT_EQ(std::count(configs.begin(), configs.end(), long_label), 1);
    EXPECT_EQ(std::count(names.begin(), names.end(), long_name), 1);
    EXPECT_EQ(std::count(gpus.begin(), gpus.end(), long_gpu), 1);
    EXPECT_EQ(std::count(messages.begin(), messages.end(), long_message), 1);
}

/// The bytes of `text` that are neither printable ASCII nor a newline, as numbers. In these
/// tests every byte past ASCII comes from a hostile value, so none may be left raw.
std::string raw_bytes(const std::string& text) {
    std::string found;
    for (const char c : text) {
        const auto byte = static_cast<unsigned char>(c);
        if ((byte < 0x20 && byte != '\n') || byte >= 0x7f) found += std::to_string(byte) + " ";
    }
    return found;
}

TEST_F(CliOutput, ControlCharactersInOpNamesAndRowsAreEscapedAndEachMessageIsOneLine) {
    // An op name that would set the terminal's title and clear its screen.
    const std::string op = "evil\n\x1b]0;pwned\x07\x1b[2J";
    cli_run run = run_cli({"tune", "--op", op, "--db", db().string()});
    EXPECT_EQ(run.exit_code, 1) << run.err;
    EXPECT_EQ(run.err.rfind("kerntune: error: unknown op 'evil\\n\\x1b]0;pwned\\x07\\x1b[2J': known ops are ", 0), 0u)
        << run.err;
    EXPECT_EQ(run.err.find('\n'), run.err.size() - 1) << "not one line:\n" << run.err;
    EXPECT_EQ(raw_bytes(run.err), "");

    // Rows whose every text holds a newline, ESC, DEL or a C1 control (CSI, NEL), and a byte
    // that is not UTF-8.
    const std::string hostile = "a\nb\x1b[31mc\x7f" "d\xc2\x9b" "2Je\xc2\x85" "f\x9b" "1m";
    create_database(3, [&](int k, measurement& m, winner& w) {
        if (k != 1) return;
        m.key.template_name = w.key.template_name = "leaky" + hostile;
        m.key.problem_key = w.key.problem_key = "n=" + hostile;
        m.key.gpu_identity = w.key.gpu_identity = "gpu" + hostile;
        m.config = w.config = "blk" + hostile;
        m.message = "message" + hostile;
    });
    for (const std::vector<std::string>& args :
         {std::vector<std::string>{"db", "show", "--db", db().string()}, {"db", "show", "--candidates", "--db", db().string()},
          {"db", "forget", "--op", "leaky" + hostile, "--gpu", "gpu" + hostile, "--db", db().string()}}) {
        SCOPED_TRACE(args[1]);
        run = run_cli(args);
        EXPECT_EQ(run.exit_code, 0) << run.err;
        EXPECT_EQ(raw_bytes(run.out), "") << run.out;
        EXPECT_TRUE(contains(run.out, "a\\nb\\x1b[31mc\\x7f" "d\\xc2\\x9b" "2Je\\xc2\\x85" "f\\x9b" "1m")) << run.out;
    }
    EXPECT_TRUE(contains(run.out, "forgot 1 measurement and 1 winner of leakya\\nb")) << run.out;
}

TEST_F(CliOutput, ARowLeftOutIsOneEscapedWarningLineAndTheRestIsShown) {
    // A row further down with a status this build does not know and a label with a newline and
    // an escape code: the database leaves it out with a warning (earlier, the whole command
    // failed after the devices table; stdout is held until a command has finished, so such a
    // failure leaves no half table).
    create_database(3, [](int k, measurement& m, winner&) {
        if (k == 2) m.config = "blk256\n\x1b[2J";
    });
    ASSERT_EQ(testing::run_sql(db(), "PRAGMA ignore_check_constraints = ON; UPDATE measurements SET status = 'exploded' "
                                     "WHERE problem_key = 'n=3072'"),
              "");
    for (const bool json : {false, true}) {
        std::vector<std::string> args{"db", "show", "--candidates", "--db", db().string()};
        if (json) args.push_back("--json");
        SCOPED_TRACE(json ? "--json" : "text");
        const cli_run run = run_cli(args);
        EXPECT_EQ(run.exit_code, 0) << run.err;
        EXPECT_TRUE(contains(run.out, "n=2048")) << run.out;
        EXPECT_FALSE(contains(run.out, "n=3072")) << run.out;
        EXPECT_TRUE(contains(run.err, "ignoring the measurement of leaky_relu f32 n=3072 config blk256\\n\\x1b[2J on ")) << run.err;
        EXPECT_TRUE(contains(run.err, "unknown candidate status 'exploded'")) << run.err;
        EXPECT_EQ(run.err.find('\n'), run.err.size() - 1) << "not one line:\n" << run.err;
        EXPECT_FALSE(contains(run.err, "\x1b")) << run.err;
    }
}

TEST_F(CliOutput, AWriteToAFullOrClosedStdoutIsExitOneWithOneLine) {
    create_database(2'000);  // db show: about 300 kB, more than one write of a pipe's or a file's buffer
    const std::vector<std::vector<std::string>> commands = {
        {"list"}, {"list", "--json"}, {"db", "show", "--db", db().string()},
        {"db", "show", "--candidates", "--json", "--db", db().string()}, {"db", "check", "--db", db().string()},
        {"--help"}, {"tune", "--help"}, {"--version"}};
    for (const auto& [stdout_to, why] : {std::pair{standard_output::full, "No space left on device"},
                                         std::pair{standard_output::closed, "Bad file descriptor"}}) {
        for (const std::vector<std::string>& args : commands) {
            SCOPED_TRACE(args[0] + (args.size() > 1 ? " " + args[1] : "") + ": " + why);
            expect_one_line_failure(run_cli(args, stdout_to), std::string("cannot write to standard output: ") + why);
        }
    }
    // The same commands print, and exit 0, when stdout takes what they write.
    for (const std::vector<std::string>& args : commands) {
        const cli_run run = run_cli(args);
        EXPECT_EQ(run.exit_code, 0) << run.err;
        EXPECT_FALSE(run.out.empty());
    }
}

} // namespace
} // namespace kerntune
