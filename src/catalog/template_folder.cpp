#include "catalog/template_folder.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "catalog/builtin_files.hpp"
#include "core/error.hpp"

namespace kerntune {
namespace {

template_folder builtin_folder(std::string_view prefix, std::string origin) {
    std::map<std::string, std::string> files;
    for (const auto& [name, text] : detail::builtin_files())
        if (name.substr(0, prefix.size()) == prefix && name.find('/', prefix.size()) == std::string_view::npos)
            files.emplace(std::string(name.substr(prefix.size())), std::string(text));
    return template_folder::from_files(std::move(origin), std::move(files));
}

} // namespace

template_folder template_folder::on_disk(const std::filesystem::path& dir) {
    std::error_code ec;
    const auto status = std::filesystem::status(dir, ec);
    if (status.type() == std::filesystem::file_type::not_found) throw error("no template folder at " + dir.string());
    const std::string unreadable = "cannot read the template folder " + dir.string() + ": ";
    if (ec) throw error(unreadable + ec.message());  // e.g. a folder above it that cannot be entered
    if (!std::filesystem::is_directory(status)) throw error(dir.string() + " is not a folder");
    std::filesystem::directory_iterator probe(dir, ec);
    if (ec) throw error(unreadable + ec.message());
    // Listing it needs read permission; opening its files needs search permission too.
    if (access(dir.c_str(), X_OK) != 0) throw error(unreadable + std::strerror(errno));
    template_folder folder;
    // Absolute, so that one folder named two ways (relative and absolute) is one origin.
    const std::filesystem::path absolute = std::filesystem::weakly_canonical(dir, ec);
    folder.m_dir = ec ? dir : absolute;
    folder.m_origin = folder.m_dir->string();
    return folder;
}

template_folder template_folder::from_files(std::string origin, std::map<std::string, std::string> files) {
    template_folder folder;
    folder.m_origin = std::move(origin);
    folder.m_files = std::move(files);
    return folder;
}

const template_folder& template_folder::builtin() {
    static const template_folder folder = builtin_folder("", "<built-in>");
    return folder;
}

const template_folder& template_folder::support() {
    static const template_folder folder = builtin_folder("support/", "<built-in>/support");
    return folder;
}

std::vector<std::string> template_folder::spec_files() const {
    std::vector<std::string> names;
    if (!m_dir) {
        for (const auto& [name, text] : m_files)
            if (name.size() > 5 && name.substr(name.size() - 5) == ".yaml") names.push_back(name);
        return names;  // std::map keeps them sorted
    }
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(*m_dir, ec))
        if (entry.path().extension() == ".yaml") names.push_back(entry.path().filename().string());
    if (ec) throw error("cannot read the template folder " + m_origin + ": " + ec.message());
    std::sort(names.begin(), names.end());
    return names;
}

std::string template_folder::path_of(const std::string& name) const { return m_origin + "/" + name; }

std::optional<std::string> template_folder::read(const std::string& name) const {
    if (!m_dir) {
        const auto found = m_files.find(name);
        if (found == m_files.end()) return std::nullopt;
        return found->second;
    }
    const std::filesystem::path path = *m_dir / name;
    std::error_code ec;
    const auto status = std::filesystem::status(path, ec);
    if (status.type() == std::filesystem::file_type::not_found) return std::nullopt;
    if (ec) throw error("cannot read " + path.string() + ": " + ec.message());  // there, but not to be reached
    // FIFOs, devices and folders are never read: a read of one could block or never end. The
    // check is made again on the opened file (O_NONBLOCK: opening a FIFO does not wait for a
    // writer), so a file swapped for a FIFO after the first check is refused too.
    if (!std::filesystem::is_regular_file(status)) throw error(path.string() + " is not a regular file");
    const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) throw error("cannot read " + path.string() + ": " + std::strerror(errno));
    struct stat opened {};
    if (fstat(fd, &opened) != 0 || !S_ISREG(opened.st_mode)) {
        ::close(fd);
        throw error(path.string() + " is not a regular file");
    }
    auto too_large = [&](std::uintmax_t size) {
        ::close(fd);
        throw error(path.string() + " has " + std::to_string(size) + " bytes, more than the " +
                    std::to_string(max_file_bytes) + " a template file may have");
    };
    if (static_cast<std::uintmax_t>(opened.st_size) > max_file_bytes) too_large(static_cast<std::uintmax_t>(opened.st_size));
    // At most one byte past the cap, so that a file growing while it is read is refused too.
    std::string text;
    char buffer[1 << 16];
    while (true) {
        const ssize_t got = ::read(fd, buffer, sizeof(buffer));
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) {
            const int failure = errno;
            ::close(fd);
            throw error("cannot read " + path.string() + ": " + std::strerror(failure));
        }
        if (got == 0) break;
        text.append(buffer, static_cast<std::size_t>(got));
        if (text.size() > max_file_bytes) too_large(text.size());
    }
    ::close(fd);
    return text;
}

} // namespace kerntune
