#include "catalog/template_folder.hpp"

#include <algorithm>
#include <fstream>
#include <sstream>

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
    if (ec || !std::filesystem::exists(status)) throw error("no template folder at " + dir.string());
    if (!std::filesystem::is_directory(status)) throw error(dir.string() + " is not a folder");
    std::filesystem::directory_iterator probe(dir, ec);
    if (ec) throw error("cannot read the template folder " + dir.string() + ": " + ec.message());
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
    if (ec || !std::filesystem::exists(status)) return std::nullopt;
    // FIFOs, devices and folders are never opened: a read of one could block or never end.
    if (!std::filesystem::is_regular_file(status)) throw error(path.string() + " is not a regular file");
    const std::uintmax_t size = std::filesystem::file_size(path, ec);
    if (ec) throw error("cannot read " + path.string() + ": " + ec.message());
    if (size > max_file_bytes)
        throw error(path.string() + " has " + std::to_string(size) + " bytes, more than the " +
                    std::to_string(max_file_bytes) + " a template file may have");
    std::ifstream in(path, std::ios::binary);
    if (!in) throw error("cannot read " + path.string());
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

} // namespace kerntune
