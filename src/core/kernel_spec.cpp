#include "core/kernel_spec.hpp"

#include <cstdlib>

namespace kerntune {

std::filesystem::path default_template_dir() {
    if (const char* dir = std::getenv("KERNTUNE_TEMPLATES"); dir != nullptr && *dir != '\0') return dir;
    std::error_code ec;
    const std::filesystem::path installed =
        std::filesystem::read_symlink("/proc/self/exe", ec).parent_path().parent_path() / "share" / "kerntune" / "templates";
    if (!ec && std::filesystem::is_directory(installed, ec)) return installed;
    return KERNTUNE_DEFAULT_TEMPLATE_DIR;
}

} // namespace kerntune
