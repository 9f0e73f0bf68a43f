#include "db/recovered_copy.hpp"

#include <stdlib.h>

#include <fstream>
#include <iterator>
#include <string>
#include <system_error>

namespace kerntune::detail {
namespace {

/// A new folder only this user can enter (mkdtemp: mode 0700), removed with what it holds.
class private_folder {
public:
    explicit private_folder(const std::string& label) {
        std::string pattern = (std::filesystem::temp_directory_path() / "kerntune-recovery-XXXXXX").string();
        if (mkdtemp(pattern.data()) == nullptr)
            throw error(label + ": cannot make a temporary folder to read it in: " + std::generic_category().message(errno));
        m_path = pattern;
    }
    ~private_folder() {
        std::error_code ignored;
        std::filesystem::remove_all(m_path, ignored);
    }
    private_folder(const private_folder&) = delete;
    private_folder& operator=(const private_folder&) = delete;

    const std::filesystem::path& path() const { return m_path; }

private:
    std::filesystem::path m_path;
};

/// What identifies one state of a sidecar: its size and first bytes (a journal's header holds a
/// random nonce; a WAL's header its salts). Empty when the file is gone.
std::string identity_of(const std::filesystem::path& file) {
    std::ifstream in(file, std::ios::binary);
    if (!in) return "";
    std::error_code ignored;
    std::string head(32, '\0');
    in.read(head.data(), static_cast<std::streamsize>(head.size()));
    head.resize(static_cast<std::size_t>(in.gcount()));
    return std::to_string(std::filesystem::file_size(file, ignored)) + ":" + head;
}

void copy(const std::filesystem::path& from, const std::filesystem::path& to, const std::string& label) {
    std::error_code failed;
    std::filesystem::copy_file(from, to, std::filesystem::copy_options::overwrite_existing, failed);
    if (failed) throw error(label + ": cannot read " + from.string() + ": " + failed.message());
}

/// Copies the database and its sidecar into `folder`: true when the sidecar was the same after.
bool copy_consistently(const std::filesystem::path& path, const char* sidecar, const std::filesystem::path& folder,
                       const std::string& label) {
    const std::filesystem::path side = path.string() + sidecar;
    const std::string before = identity_of(side);
    if (before.empty()) return false;
    copy(side, folder / (std::string("copy.db") + sidecar), label);
    copy(path, folder / "copy.db", label);
    return identity_of(side) == before;
}

} // namespace

connection recovered_copy(const std::filesystem::path& path, const char* sidecar) {
    const std::string label = path.string();
    const private_folder folder(label);
    constexpr int tries = 3;
    bool consistent = false;
    for (int attempt = 0; attempt < tries && !consistent; ++attempt)
        consistent = copy_consistently(path, sidecar, folder.path(), label);
    if (!consistent)
        throw error(label + ": cannot read it: its " + std::string(sidecar) + " changed (or went) while it was copied " +
                    std::to_string(tries) + " times; try again");
    sqlite3_int64 size = 0;
    unsigned char* image = nullptr;
    {
        const connection copy((folder.path() / "copy.db").string(), SQLITE_OPEN_READWRITE, label);
        // Reading recovers the copy (rolls its journal back, or reads its WAL); a rollback
        // journal mode folds the WAL into the file, which an in-memory database needs.
        statement(copy, "recover a copy of it", "SELECT count(*) FROM sqlite_schema").step();
        statement(copy, "recover a copy of it", "PRAGMA journal_mode = DELETE").step();
        statement pages(copy, "recover a copy of it", "PRAGMA page_count");
        pages.step();
        // Nothing was committed (a journal of the transaction that made the file): an empty database.
        if (pages.int64(0) == 0) return connection(":memory:", SQLITE_OPEN_READONLY, label);
        image = sqlite3_serialize(copy.get(), "main", &size, 0);
        if (image == nullptr) throw copy.failure("read a copy of it into memory");
    }
    connection memory(":memory:", SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, label);
    if (sqlite3_deserialize(memory.get(), "main", image, size, size,
                            SQLITE_DESERIALIZE_FREEONCLOSE | SQLITE_DESERIALIZE_READONLY) != SQLITE_OK)
        throw memory.failure("read a copy of it into memory");
    return memory;
}

} // namespace kerntune::detail
