#include "core/cuda_include_dir.hpp"

#include <cstdlib>
#include <filesystem>
#include <utility>
#include <vector>

namespace kerntune {

std::string cuda_include_dir() {
    std::vector<std::string> candidates;
    const std::pair<const char*, const char*> variables[] = {
        {"KERNTUNE_CUDA_INCLUDE", ""}, {"CUDA_HOME", "/include"}, {"CUDA_PATH", "/include"}};
    for (const auto& [variable, suffix] : variables) {
        const char* value = std::getenv(variable);
        if (value != nullptr && *value != '\0') candidates.emplace_back(std::string(value) + suffix);
    }
    candidates.emplace_back(KERNTUNE_CUDA_INCLUDE_DIR);
    candidates.emplace_back("/usr/local/cuda/include");
    for (const std::string& dir : candidates) {
        std::error_code ec;
        if (std::filesystem::exists(std::filesystem::path(dir) / "cuda_fp16.h", ec)) return dir;
    }
    return {};
}

} // namespace kerntune
