#pragma once
// Temporary folders for tests: each test gets its own, so tests never share or leave files.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <string>

namespace kerntune::testing {

/// A new, empty folder under the system's temporary folder, named after `prefix`.
inline std::filesystem::path make_temp_folder(const std::string& prefix) {
    std::string pattern = (std::filesystem::temp_directory_path() / (prefix + "-XXXXXX")).string();
    if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed for " + pattern);
    return pattern;
}

/// A path for a new file in this test process's own scratch folder (removed first if present).
inline std::filesystem::path scratch_path(const std::string& name) {
    static const std::filesystem::path folder = make_temp_folder("kerntune-test-" + std::to_string(getpid()));
    std::filesystem::remove(folder / name);
    return folder / name;
}

/// A fresh temporary folder per test (m_folder), removed afterwards, read-only parts included.
class temp_folder_test : public ::testing::Test {
protected:
    explicit temp_folder_test(std::string prefix = "kerntune") : m_prefix(std::move(prefix)) {}
    void SetUp() override { m_folder = make_temp_folder(m_prefix); }
    void TearDown() override {
        std::error_code ignored;
        for (const auto& entry : std::filesystem::recursive_directory_iterator(m_folder, ignored))
            if (entry.is_directory()) std::filesystem::permissions(entry.path(), std::filesystem::perms::owner_all,
                                                                   std::filesystem::perm_options::add, ignored);
        std::filesystem::permissions(m_folder, std::filesystem::perms::owner_all, std::filesystem::perm_options::add,
                                     ignored);
        std::filesystem::remove_all(m_folder, ignored);
    }

    std::filesystem::path m_folder;

private:
    std::string m_prefix;
};

} // namespace kerntune::testing
