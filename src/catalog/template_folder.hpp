#pragma once
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace kerntune {

/// The files of one folder of templates: its specs (*.yaml), their sources and headers. Either
/// a folder on disk, read lazily (regular files only, at most max_file_bytes each), or the
/// built-in templates compiled into the program, which are read by the same loader.
class template_folder {
public:
    /// Files larger than this are refused: a template source is text of a few hundred KiB at most.
    static constexpr std::uintmax_t max_file_bytes = 4 << 20;

    /// A folder on disk; throws when it is missing, not a folder, or cannot be listed and
    /// entered ("cannot read the template folder <dir>: Permission denied").
    static template_folder on_disk(const std::filesystem::path& dir);
    /// Files held in memory under `origin` (the built-in folders; tests).
    static template_folder from_files(std::string origin, std::map<std::string, std::string> files);
    /// The templates/ folder of the source tree, compiled in.
    static const template_folder& builtin();
    /// templates/support: shared device code on every template's include path, compiled in.
    static const template_folder& support();

    /// Where the files come from, for messages: the folder's path or "<built-in>".
    const std::string& origin() const { return m_origin; }
    /// The *.yaml files, sorted.
    std::vector<std::string> spec_files() const;
    /// The file `name` (relative, no "..") inside the folder, or none when there is no such file.
    /// Throws when it exists but is not a regular file, is too large or cannot be read.
    std::optional<std::string> read(const std::string& name) const;
    /// origin() joined with name, for messages.
    std::string path_of(const std::string& name) const;

private:
    std::string m_origin;
    std::optional<std::filesystem::path> m_dir;        // on disk
    std::map<std::string, std::string> m_files;       // built-in
};

} // namespace kerntune
