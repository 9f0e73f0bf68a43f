// nvrtc label (src/build links NVRTC), no GPU: compiled code stored in a database is used only
// from a file and folder owned by this user or root and writable by no one else
// (src/build/stored_code_trust.hpp). The pure check with made-up stat results, the facts read
// from real files, and the call the runtime makes for its binaries (find_stored_binary).
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "../support/temp_folder.hpp"
#include "build/binary_cache.hpp"
#include "build/stored_code_trust.hpp"
#include "core/sha256.hpp"
#include "db/database.hpp"

namespace kerntune {
namespace {

namespace fs = std::filesystem;

constexpr std::uint32_t me = 1000, someone = 1001, root = 0;
constexpr std::uint32_t regular = S_IFREG, folder = S_IFDIR;

file_facts facts(const std::string& path, std::uint32_t owner, std::uint32_t mode, bool required = true) {
    return {path, true, required, owner, mode};
}

/// The database /db/t.db, its folder /db and (absent) sidecars, as database_file_facts lists them.
std::vector<file_facts> db_files(std::uint32_t file_owner, std::uint32_t file_mode, std::uint32_t folder_owner,
                                 std::uint32_t folder_mode) {
    std::vector<file_facts> files = {facts("/db/t.db", file_owner, regular | file_mode),
                                     facts("/db", folder_owner, folder | folder_mode)};
    for (const char* sidecar : {"-wal", "-shm", "-journal"}) files.push_back({"/db/t.db" + std::string(sidecar), false, false});
    return files;
}

TEST(StoredCodeTrust, OnlyFilesOwnedByThisUserOrRootAndWritableByNoOneElseAreTrusted) {
    EXPECT_EQ(stored_code_refusal(db_files(me, 0644, me, 0755), me), "");
    EXPECT_EQ(stored_code_refusal(db_files(me, 0600, me, 0700), me), "");
    EXPECT_EQ(stored_code_refusal(db_files(root, 0644, root, 0755), me), "") << "a shipped, root-owned database";
    EXPECT_EQ(stored_code_refusal(db_files(me, 0444, root, 0555), me), "");
    EXPECT_EQ(stored_code_refusal(db_files(root, 0644, root, 0755), root), "");

    EXPECT_EQ(stored_code_refusal(db_files(me, 0666, me, 0755), me), "/db/t.db is writable by its group and others (mode 0666)");
    EXPECT_EQ(stored_code_refusal(db_files(me, 0664, me, 0755), me), "/db/t.db is writable by its group (mode 0664)");
    EXPECT_EQ(stored_code_refusal(db_files(me, 0646, me, 0755), me), "/db/t.db is writable by others (mode 0646)");
    EXPECT_EQ(stored_code_refusal(db_files(someone, 0644, me, 0755), me),
              "/db/t.db belongs to uid 1001, neither this user (uid 1000) nor root");
    EXPECT_EQ(stored_code_refusal(db_files(me, 0644, someone, 0755), me),
              "/db belongs to uid 1001, neither this user (uid 1000) nor root");
    EXPECT_EQ(stored_code_refusal(db_files(me, 0644, me, 0777), me), "/db is writable by its group and others (mode 0777)");
    // /tmp itself: the sticky bit stops others renaming the file, not adding a -wal beside it.
    EXPECT_EQ(stored_code_refusal(db_files(me, 0644, root, 01777), me), "/db is writable by its group and others (mode 1777)");
    EXPECT_EQ(stored_code_refusal(db_files(me, 0644, me, 0775), me), "/db is writable by its group (mode 0775)");
    EXPECT_EQ(stored_code_refusal(db_files(me, 0644, me, 0755), root),
              "/db/t.db belongs to uid 1000, neither this user (uid 0) nor root")
        << "root trusts only root's files";

    std::vector<file_facts> wal = db_files(me, 0644, me, 0755);
    wal[2] = facts("/db/t.db-wal", me, regular | 0666, false);
    EXPECT_EQ(stored_code_refusal(wal, me), "/db/t.db-wal is writable by its group and others (mode 0666)");
    wal[2] = facts("/db/t.db-wal", someone, regular | 0644, false);
    EXPECT_EQ(stored_code_refusal(wal, me), "/db/t.db-wal belongs to uid 1001, neither this user (uid 1000) nor root");

    std::vector<file_facts> missing = db_files(me, 0644, me, 0755);
    missing[0].exists = false;
    EXPECT_EQ(stored_code_refusal(missing, me), "/db/t.db does not exist");
}

class StoredCodeTrustFiles : public testing::temp_folder_test {
protected:
    StoredCodeTrustFiles() : temp_folder_test("kerntune-trust") {}
};

TEST_F(StoredCodeTrustFiles, FactsFollowLinksToTheFileAndItsFolderAndListTheSidecars) {
    const fs::path real = m_folder / "real";
    fs::create_directory(real);
    std::ofstream(real / "t.db") << "x";
    fs::create_symlink(real / "t.db", m_folder / "link.db");
    const std::vector<file_facts> found = database_file_facts(m_folder / "link.db");
    ASSERT_EQ(found.size(), 5u);
    const fs::path canonical = fs::canonical(real / "t.db");
    EXPECT_EQ(found[0].path, canonical.string());
    EXPECT_TRUE(found[0].exists);
    EXPECT_TRUE(S_ISREG(found[0].mode));
    EXPECT_EQ(found[0].owner, static_cast<std::uint32_t>(geteuid()));
    EXPECT_EQ(found[1].path, canonical.parent_path().string());
    EXPECT_TRUE(S_ISDIR(found[1].mode));
    EXPECT_EQ(found[2].path, canonical.string() + "-wal");
    EXPECT_FALSE(found[2].exists);
    EXPECT_FALSE(found[2].required);
    EXPECT_EQ(found[3].path, canonical.string() + "-shm");
    EXPECT_EQ(found[4].path, canonical.string() + "-journal");
}

// The runtime takes a stored cubin through find_stored_binary (runtime_state::load_function);
// what it does not get, it compiles from source. Before the check, a row replaced by whoever
// could write the file (other bytes, recomputed digest) was loaded and launched.
TEST_F(StoredCodeTrustFiles, ABinaryFromADatabaseOthersCanWriteIsNotUsed) {
    const fs::path dir = m_folder / "dbs";
    fs::create_directory(dir);
    fs::permissions(dir, fs::perms(0755));
    const fs::path path = dir / "tuning.db";
    const binary_key key{"hash", "blk256.vec4", "f32", "sm_90", "13.0"};
    const std::string cubin = "\x7f" "ELF an attacker's kernel";
    {
        database writer = database::open(path, open_mode::read_write);
        writer.store_binary({key, "_Z6kernelv", sha256_hex(cubin), cubin});
    }
    fs::permissions(path, fs::perms(0644));
    const database db = database::open(path, open_mode::read_only);
    std::vector<std::string> warnings;
    const warning_sink record = [&warnings](const std::string& message) { warnings.push_back(message); };
    ASSERT_TRUE(find_stored_binary(db, key, record).has_value()) << "owned by this user, writable by no one else";
    EXPECT_TRUE(warnings.empty());

    fs::permissions(path, fs::perms(0666));
    EXPECT_FALSE(find_stored_binary(db, key, record).has_value()) << "a file anyone can write";
    ASSERT_EQ(warnings.size(), 1u) << "one warning saying why";
    EXPECT_NE(warnings[0].find("compiling kernels from source"), std::string::npos) << warnings[0];
    EXPECT_TRUE(db.find_binary(key).has_value()) << "the row is there: the check is what refuses it";
    fs::permissions(path, fs::perms(0664));
    EXPECT_FALSE(find_stored_binary(db, key, record).has_value()) << "a file its group can write";
    fs::permissions(path, fs::perms(0644));
    fs::permissions(dir, fs::perms(0777));
    EXPECT_FALSE(find_stored_binary(db, key, record).has_value()) << "a folder anyone can write";
    fs::permissions(dir, fs::perms(0755));
    EXPECT_TRUE(find_stored_binary(db, key, record).has_value());

    // SQLite reads a -wal beside the file: one that others can write is refused too.
    std::ofstream(path.string() + "-wal").flush();
    fs::permissions(path.string() + "-wal", fs::perms(0666));
    EXPECT_FALSE(find_stored_binary(db, key, record).has_value()) << "a -wal anyone can write";
    fs::remove(path.string() + "-wal");
    EXPECT_TRUE(find_stored_binary(db, key, record).has_value());

    if (geteuid() == 0) {  // only root can give a file away
        ASSERT_EQ(::chown(path.c_str(), 65534, 65534), 0);
        EXPECT_FALSE(find_stored_binary(db, key, record).has_value()) << "a file of user nobody, read by root";
        ASSERT_EQ(::chown(path.c_str(), 0, 0), 0);
    }
}

} // namespace
} // namespace kerntune
