#include "build/stored_code_trust.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <mutex>
#include <set>


namespace kerntune {
namespace {

std::string octal_mode(std::uint32_t mode) {
    char text[8];
    std::snprintf(text, sizeof(text), "%04o", static_cast<unsigned>(mode & 07777));
    return text;
}

file_facts facts_of(const std::filesystem::path& path, bool required) {
    file_facts facts;
    facts.path = path.string();
    facts.required = required;
    struct stat status {};
    if (::stat(path.c_str(), &status) == 0) {
        facts.exists = true;
        facts.owner = status.st_uid;
        facts.mode = status.st_mode;
    }
    return facts;
}

} // namespace

std::string stored_code_refusal(const std::vector<file_facts>& files, std::uint32_t user) {
    for (const file_facts& file : files) {
        if (!file.exists) {
            if (file.required) return file.path + " does not exist";
            continue;
        }
        if (file.owner != user && file.owner != 0)
            return file.path + " belongs to uid " + std::to_string(file.owner) + ", neither this user (uid " +
                   std::to_string(user) + ") nor root";
        const bool group = (file.mode & S_IWGRP) != 0, others = (file.mode & S_IWOTH) != 0;
        if (group || others)
            return file.path + " is writable by " + (group && others ? "its group and others" : group ? "its group" : "others") +
                   " (mode " + octal_mode(file.mode) + ")";
    }
    return "";
}

std::vector<file_facts> database_file_facts(const std::filesystem::path& path) {
    std::error_code ec;
    std::filesystem::path file = std::filesystem::canonical(path, ec);
    if (ec) file = std::filesystem::absolute(path, ec);
    std::vector<file_facts> facts = {facts_of(file, true), facts_of(file.parent_path(), true)};
    for (const char* sidecar : {"-wal", "-shm", "-journal"}) facts.push_back(facts_of(file.string() + sidecar, false));
    return facts;
}

bool stored_code_allowed(const std::filesystem::path& path, std::string_view instead, const warning_sink& warn) {
    const std::string refusal = stored_code_refusal(database_file_facts(path), static_cast<std::uint32_t>(::geteuid()));
    if (refusal.empty()) return true;
    static std::mutex warned_mutex;
    static std::set<std::string> warned;
    std::lock_guard<std::mutex> lock(warned_mutex);
    if (warned.insert(path.string() + "\n" + std::string(instead)).second)
        warn("not using the compiled code stored in " + path.string() + ": " + refusal + "; " + std::string(instead) +
             " instead. Code in a database runs on the GPU, so it is used only from a file and folder owned by you "
             "or root and writable by no one else (chmod go-w)");
    return false;
}

} // namespace kerntune
